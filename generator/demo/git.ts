/**
 * The demo's workspace is a real git repository, so the history of every file (who changed it,
 * when, in which commit) is there to see, as in a repository the parties share. The one place of
 * the demo that starts processes: `git`, with argument arrays (execFile, never a shell string).
 */

import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ServiceError } from "../errors.js";

/** The committer of every demo commit: fixed, in the workspace's own git config. */
export const DEMO_COMMITTER = { name: "datomspod demo", email: "demo@datomspod.invalid" } as const;

/** What the workspace keeps out of git: keys, the provider's data, delivered outputs, local state, the rendered site. */
const IGNORED = ["/keys/", "/provider-data/", "/delivered/", "/opsc/", "/site/", "/.datomspod/"];

function git(dir: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("git", ["-C", dir, ...args], { encoding: "utf8", env: { ...process.env, LC_ALL: "C", GIT_CONFIG_NOSYSTEM: "1" } }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else
        reject(
          new ServiceError(`git ${args[0] ?? ""} failed in ${dir}: ${stderr.trim() || error.message}`, [
            { file: dir, path: "$", message: `git ${args.join(" ")} failed`, fix: "install git (apt-get install git) and check the workspace folder" },
          ]),
        );
    });
  });
}

/** Makes `dir` a git repository on branch main with the demo's committer and a .gitignore. */
export async function initRepository(dir: string): Promise<void> {
  writeFileSync(join(dir, ".gitignore"), `${IGNORED.join("\n")}\n`);
  await git(dir, ["init", "--quiet", "--initial-branch", "main"]);
  await git(dir, ["config", "user.name", DEMO_COMMITTER.name]);
  await git(dir, ["config", "user.email", DEMO_COMMITTER.email]);
  await git(dir, ["config", "commit.gpgsign", "false"]);
}

/** Commits every change in the workspace with `message`; returns the commit, or undefined when nothing changed. */
export async function commitAll(dir: string, message: string): Promise<string | undefined> {
  await git(dir, ["add", "--all"]);
  const staged = await git(dir, ["diff", "--cached", "--name-only"]);
  if (staged.trim() === "") return undefined;
  await git(dir, ["commit", "--quiet", "--no-verify", "--message", message]);
  return (await git(dir, ["rev-parse", "HEAD"])).trim();
}
