/**
 * Evidence from git history. A rendered instance (clusters/<cluster>/<id>/) is removed when its
 * contract ends and re-rendered when a run is requested, so an anchored rendering may no longer be
 * in the working tree; it is recomputed from the commits that held it.
 */

import { filesDigest } from "../evidence/collect.js";
import { git } from "./exec.js";

/** Whether `repo` is inside a git work tree. */
export async function isGitRepo(repo: string): Promise<boolean> {
  const result = await git(repo, ["rev-parse", "--is-inside-work-tree"]);
  return result.ok && result.stdout.toString("utf8").trim() === "true";
}

/**
 * The digest (as `directoryDigest` computes it) of folder `dir` (relative to `repo`, forward
 * slashes, no trailing slash) in every commit that changed it, newest first: digest → commit.
 */
export async function historicalDirectoryDigests(repo: string, dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const log = await git(repo, ["log", "--format=%H", "--", dir]);
  if (!log.ok) return found;
  for (const commit of log.stdout.toString("utf8").split("\n").filter(Boolean)) {
    const tree = await git(repo, ["ls-tree", "-r", "-z", "--name-only", commit, "--", `${dir}/`]);
    if (!tree.ok) continue;
    const names = tree.stdout.toString("utf8").split("\0").filter(Boolean);
    if (names.length === 0) continue;
    const files = new Map<string, Uint8Array>();
    for (const name of names) {
      const blob = await git(repo, ["cat-file", "blob", `${commit}:./${name}`]);
      if (!blob.ok) continue;
      files.set(name.slice(dir.length + 1), blob.stdout);
    }
    const digest = filesDigest(files);
    if (!found.has(digest)) found.set(digest, commit);
  }
  return found;
}
