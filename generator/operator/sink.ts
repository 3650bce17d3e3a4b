/**
 * Where the operator's records go: a commit pushed to the repository (the operator owns a clone of
 * it: in the lab, the loopback git server), or, with GitHub, a `repository_dispatch` that the
 * receipt workflow commits (rendered to a folder here: GitHub is not reachable from these
 * machines). Only this module starts processes: `git`, with argument arrays, never a shell.
 */

import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ServiceError, InputError } from "../errors.js";
import { toJsonText, writeFileAtomic } from "../repo/files.js";

export const OPERATOR_COMMITTER = { name: "datomspod operator", email: "operator@datomspod.invalid" } as const;

function git(dir: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      ["-C", dir, "-c", `user.name=${OPERATOR_COMMITTER.name}`, "-c", `user.email=${OPERATOR_COMMITTER.email}`, "-c", "commit.gpgsign=false", ...args],
      { encoding: "utf8", env: { ...process.env, LC_ALL: "C", GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0" }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error === null) resolve(stdout);
        else
          reject(
            new ServiceError(`git ${args[0] ?? ""} failed in ${dir}: ${stderr.trim() || error.message}`, [
              { file: dir, path: "$", message: `git ${args.join(" ")} failed`, fix: "check the operator's clone and its remote" },
            ]),
          );
      },
    );
  });
}

/**
 * A clone the operator owns: it is reset to the remote branch before every decision, so a crash
 * between writing and pushing leaves nothing behind (the record is made again from the cluster).
 */
export class GitSink {
  readonly location: string;

  constructor(
    private readonly dir: string,
    private readonly remote = "origin",
    private readonly branch = "main",
  ) {
    this.location = `${dir} (${remote}/${branch})`;
  }

  /** Clones `url` into the (empty) folder: the operator's Deployment starts with an empty volume. */
  async cloneInto(url: string): Promise<void> {
    await git(this.dir, ["clone", "--quiet", "--branch", this.branch, "--origin", this.remote, "--", url, "."]);
  }

  /** Refuses a work tree with changes of its own: the operator resets it, so it must own it. */
  async assertOwned(): Promise<void> {
    const status = await git(this.dir, ["status", "--porcelain", "--untracked-files=no"]);
    if (status.trim() !== "")
      throw InputError.of({
        file: this.dir,
        path: "$",
        message: "has uncommitted changes",
        fix: "give the operator a clone of its own (git clone URL DIR); it resets that clone to the remote before every decision",
      });
  }

  async sync(): Promise<void> {
    await git(this.dir, ["fetch", "--quiet", this.remote, this.branch]);
    await git(this.dir, ["checkout", "--quiet", "-B", this.branch, `${this.remote}/${this.branch}`]);
    await git(this.dir, ["reset", "--quiet", "--hard", `${this.remote}/${this.branch}`]);
    // A record written before a crash but never committed must not pass for one that was: untracked files go too.
    await git(this.dir, ["clean", "--quiet", "-d", "--force"]);
  }

  /** Commits the files (paths relative to the work tree, already written) and pushes; returns the commit. */
  async record(files: readonly string[], message: string): Promise<string> {
    await git(this.dir, ["add", "--", ...files]);
    await git(this.dir, ["commit", "--quiet", "--no-verify", "-m", message]);
    for (let attempt = 1; ; attempt++) {
      try {
        await git(this.dir, ["push", "--quiet", this.remote, `HEAD:${this.branch}`]);
        break;
      } catch (error) {
        // Someone pushed meanwhile: put the operator's commit on top of theirs (its files are its own) and try again.
        if (attempt >= 3) throw error;
        await git(this.dir, ["fetch", "--quiet", this.remote, this.branch]);
        await git(this.dir, ["rebase", "--quiet", `${this.remote}/${this.branch}`]);
      }
    }
    return (await git(this.dir, ["rev-parse", "HEAD"])).trim();
  }
}

/**
 * With GitHub: records are sent as `repository_dispatch` events (POST /repos/OWNER/NAME/dispatches,
 * body `{event_type, client_payload}`) that the receipt workflow commits. GitHub is not reachable
 * from these machines, so each event is rendered into `dir` as the request body, one file per
 * event, named by contract and run; a rendered event is never rendered again.
 */
export class DispatchRenderer {
  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  exists(name: string): boolean {
    return existsSync(this.path(name));
  }

  render(name: string, eventType: string, payload: unknown): string {
    mkdirSync(this.dir, { recursive: true });
    const path = this.path(name);
    writeFileAtomic(path, toJsonText({ event_type: eventType, client_payload: payload }));
    return path;
  }
}
