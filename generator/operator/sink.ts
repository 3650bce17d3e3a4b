/**
 * Where the operator's records go: a commit pushed to the repository (the operator owns a clone of
 * it: in the lab, the loopback git server), or, with GitHub, a `repository_dispatch` that the
 * receipt workflow commits (rendered to a folder here: GitHub is not reachable from these
 * machines). Git is spoken by isomorphic-git (clone, fetch, commit, push over smart HTTP(S)), so
 * neither the operator's image nor its host needs a `git` program; this module starts no process.
 */

import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync } from "node:fs";
import * as fs from "node:fs";
import { dirname, join } from "node:path";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import { ServiceError, InputError } from "../errors.js";
import { toJsonText, writeFileAtomic } from "../repo/files.js";

export const OPERATOR_COMMITTER = { name: "datomspod operator", email: "operator@datomspod.invalid" } as const;

/** How many times a push refused because someone else pushed first is put on top of theirs and tried again. */
const PUSH_ATTEMPTS = 3;

/** Runs one git step; any failure is the remote's or the clone's, named with the step and the fix. */
async function step<T>(dir: string, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ServiceError(`git ${what} failed in ${dir}: ${message}`, [
      {
        file: dir,
        path: "$",
        message: `git ${what} failed: ${message.slice(0, 300)}`,
        fix: "check the operator's clone and its remote (an http:// or https:// URL that accepts the operator's push)",
      },
    ]);
  }
}

/** Only http(s) remotes: isomorphic-git speaks git's smart HTTP protocol, not ssh:// or a local path. */
export function assertRemoteUrl(url: string, where: string): void {
  if (/^https?:\/\/[^/\s]+\/\S*$/.test(url)) return;
  throw InputError.of({
    file: where,
    path: "$",
    message: `the repository ${JSON.stringify(url)} is not an http:// or https:// URL`,
    fix: "serve the repository over smart HTTP(S) (git http-backend or any git host) and give the operator that URL",
  });
}

/**
 * A clone the operator owns: it is reset to the remote branch before every decision, so a crash
 * between writing and pushing leaves nothing behind (the record is made again from the cluster).
 */
export class GitSink {
  readonly location: string;
  /** The commit the work tree, index and branch were last known to equal exactly (nothing else in the tree). */
  private cleanAt: string | undefined;

  constructor(
    private readonly dir: string,
    private readonly remote = "origin",
    private readonly branch = "main",
  ) {
    this.location = `${dir} (${remote}/${branch})`;
  }

  /** Clones `url` into the (empty) folder: the operator's Deployment starts with an empty volume. */
  async cloneInto(url: string): Promise<void> {
    assertRemoteUrl(url, "--clone");
    await step(this.dir, "clone", () => git.clone({ fs, http, dir: this.dir, url, ref: this.branch, remote: this.remote, singleBranch: true, noTags: true }));
  }

  /** Refuses a work tree with changes of its own (tracked files changed or staged): the operator resets it, so it must own it. */
  async assertOwned(): Promise<void> {
    const url = await step(this.dir, "remote", () => git.getConfig({ fs, dir: this.dir, path: `remote.${this.remote}.url` }) as Promise<string | undefined>);
    assertRemoteUrl(String(url ?? ""), `${this.dir}/.git/config remote.${this.remote}.url`);
    const changed = (await this.status()).filter(([, head, workdir, stage]) => (head === 1 ? workdir !== 1 || stage !== 1 : stage !== 0));
    if (changed.length > 0)
      throw InputError.of({
        file: this.dir,
        path: "$",
        message: `has uncommitted changes (${changed
          .slice(0, 3)
          .map(([file]) => file)
          .join(", ")})`,
        fix: "give the operator a clone of its own (git clone URL DIR); it resets that clone to the remote before every decision",
      });
  }

  /**
   * `fetch`, then the branch, the index and the work tree set to the remote's commit; files git does
   * not track (and are not ignored) go. The work tree is walked (slow on a large repository with
   * isomorphic-git) only when it may differ from the remote's commit: at the first sync, when the
   * remote moved, or after `willWrite` (a decision that writes records) without a push since.
   */
  async sync(): Promise<void> {
    await step(this.dir, "fetch", () => git.fetch({ fs, http, dir: this.dir, remote: this.remote, ref: this.branch, singleBranch: true, tags: false }));
    const oid = await step(this.dir, "fetch", () => git.resolveRef({ fs, dir: this.dir, ref: `refs/remotes/${this.remote}/${this.branch}` }));
    if (this.cleanAt === oid) return;
    this.cleanAt = undefined;
    await step(this.dir, "reset", async () => {
      await git.writeRef({ fs, dir: this.dir, ref: `refs/heads/${this.branch}`, value: oid, force: true });
      await git.checkout({ fs, dir: this.dir, ref: this.branch, force: true });
      // A record written before a crash but never committed must not pass for one that was: what HEAD does not hold goes too.
      for (const [file, head, workdir, stage] of await this.status()) {
        if (head === 0) {
          if (stage !== 0) await git.remove({ fs, dir: this.dir, filepath: file });
          rmSync(join(this.dir, file), { force: true });
        } else if (workdir !== 1 || stage !== 1) {
          await git.resetIndex({ fs, dir: this.dir, filepath: file });
          await git.checkout({ fs, dir: this.dir, ref: this.branch, filepaths: [file], force: true });
        }
      }
      removeEmptyFolders(this.dir);
    });
    this.cleanAt = oid;
  }

  /** Says that the current decision writes files into the work tree: the next sync walks it, whatever happens until then. */
  willWrite(): void {
    this.cleanAt = undefined;
  }

  /** Commits the files (paths relative to the work tree, already written) and pushes; returns the commit. */
  async record(files: readonly string[], message: string): Promise<string> {
    this.willWrite();
    for (let attempt = 1; ; attempt++) {
      const commit = await step(this.dir, "commit", async () => {
        await git.add({ fs, dir: this.dir, filepath: [...files] });
        return git.commit({ fs, dir: this.dir, message, author: { ...OPERATOR_COMMITTER }, committer: { ...OPERATOR_COMMITTER } });
      });
      try {
        await git.push({ fs, http, dir: this.dir, remote: this.remote, ref: this.branch, remoteRef: this.branch });
        // The work tree is the pushed commit (only the recorded files were written since the last sync).
        this.cleanAt = commit;
        return commit;
      } catch (error) {
        if (attempt >= PUSH_ATTEMPTS) return step(this.dir, "push", () => Promise.reject(error as Error));
        // Someone pushed meanwhile: put the operator's files on top of their commit (the files are its own) and try again.
        const written = files.map((file) => ({ file, text: readFileSync(join(this.dir, file)) }));
        await this.sync();
        this.willWrite();
        for (const { file, text } of written) {
          if (existsSync(join(this.dir, file)))
            throw new ServiceError(`${file} was committed by someone else meanwhile`, [
              {
                file,
                path: "$",
                message: "was committed to the remote while the operator recorded it",
                fix: "nothing to do: the operator decides again from the newest commit",
              },
            ]);
          mkdirSync(dirname(join(this.dir, file)), { recursive: true });
          writeFileAtomic(join(this.dir, file), text);
        }
      }
    }
  }

  /** git's status matrix: [file, HEAD, work tree, index] (0 absent, 1 as HEAD, 2/3 changed), ignored files left out. */
  private status(): Promise<[string, number, number, number][]> {
    return step(this.dir, "status", () => git.statusMatrix({ fs, dir: this.dir }) as Promise<[string, number, number, number][]>);
  }
}

/** Folders left empty below the work tree (git tracks no folders), .git excepted. */
function removeEmptyFolders(dir: string, top = true): boolean {
  let empty = true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (top && entry.name === ".git") {
      empty = false;
      continue;
    }
    if (entry.isDirectory() && removeEmptyFolders(join(dir, entry.name), false)) rmdirSync(join(dir, entry.name));
    else empty = false;
  }
  return empty && !top;
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
