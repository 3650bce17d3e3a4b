/**
 * The one place of the audit stage that starts processes: `git`, read-only, with argument arrays
 * (execFile, never a shell string), to recompute evidence that has left the working tree.
 */

import { execFile } from "node:child_process";

export interface GitResult {
  readonly ok: boolean;
  readonly stdout: Buffer;
}

/** Runs `git -C repo ...args`; never throws (a missing git or a failing command gives ok: false). */
export function git(repo: string, args: readonly string[]): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile(
      "git",
      ["-C", repo, ...args],
      { encoding: "buffer", maxBuffer: 256 * 1024 * 1024, env: { ...process.env, GIT_OPTIONAL_LOCKS: "0", LC_ALL: "C" } },
      (error, stdout) => {
        resolve({ ok: error === null, stdout: stdout ?? Buffer.alloc(0) });
      },
    );
  });
}
