/**
 * Committing the records a command wrote, as the cluster's operator does for its runs: only those
 * files, with a message that says what they are (other staged or changed files are left as they
 * are). The one place outside the demo that starts `git`: execFile with an argument array.
 */

import { execFile } from "node:child_process";

export type CommitOutcome =
  { readonly committed: true; readonly commit: string } | { readonly committed: false; readonly reason: string; readonly fix: string };

function git(repo: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("git", ["-C", repo, ...args], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as NodeJS.ErrnoException & { code?: unknown }).code === "number" ? (error.code as unknown as number) : -1;
      resolve({ code, stdout, stderr: error !== null && stderr === "" ? error.message : stderr });
    });
  });
}

/** Commits exactly `files` (paths relative to `repo`); never throws: says why not and how to do it by hand. */
export async function commitFiles(repo: string, files: readonly string[], message: string): Promise<CommitOutcome> {
  const byHand = `git add ${files.join(" ")} && git commit -m ${JSON.stringify(message)}`;
  const inside = await git(repo, ["rev-parse", "--is-inside-work-tree"]);
  if (inside.code !== 0 || inside.stdout.trim() !== "true") {
    return { committed: false, reason: `${repo} is not a git repository`, fix: `commit them where the contracts are kept: ${byHand}` };
  }
  const added = await git(repo, ["add", "--", ...files]);
  const committed = added.code === 0 ? await git(repo, ["commit", "--quiet", "--no-verify", "-m", message, "--", ...files]) : added;
  if (committed.code !== 0) {
    const why = committed.stderr.trim().split("\n").slice(-3).join(" ");
    return {
      committed: false,
      reason: `git could not commit them (${why})`,
      fix: /user\.(email|name)|identity/i.test(why) ? `git config user.name NAME; git config user.email EMAIL; then ${byHand}` : byHand,
    };
  }
  const head = await git(repo, ["rev-parse", "HEAD"]);
  return { committed: true, commit: head.stdout.trim() };
}
