/**
 * Evidence from git history. Some subjects take new values over time (a re-rendered instance, a
 * cluster profile or a compute environment that changed, an approval given again after it) and a
 * rendered instance is removed when its contract ends, so an anchored value may no longer be in the
 * working tree; it is recomputed from the commits that held it. What an auditor can recompute:
 *
 *   rendered-manifest  the folder clusters/<cluster>/<id>/ in a commit      (directory digest)
 *   environment        the folder environments/<name>/ in a commit          (directory digest)
 *   cluster-profile    clusters/<cluster>/cluster.yaml in a commit           (RFC 8785 digest of the parsed profile)
 *   role-image         the pod image a committed cluster.yaml pinned         (its reference and digest)
 *   approval           contracts/<id>/approvals/<file> in a commit           (sha256 of the bytes)
 *   instance-template  a committed approval that signed that instance digest (the rendering itself needs the
 *                      generator of that time, so the data owner's signature over it is what is checked)
 */

import { sha256Hex } from "../contract/canonical.js";
import { parseProfile } from "../compile/profile.js";
import { profileDigest } from "../compile/prepare.js";
import { InputError } from "../errors.js";
import { filesDigest } from "../evidence/collect.js";
import { git } from "./exec.js";

/** Whether `repo` is inside a git work tree. */
export async function isGitRepo(repo: string): Promise<boolean> {
  const result = await git(repo, ["rev-parse", "--is-inside-work-tree"]);
  return result.ok && result.stdout.toString("utf8").trim() === "true";
}

/**
 * The ids of every contract git history ever held (contracts/<id>/contract.json in any commit). A
 * contract is never removed in its life, so one that left the working tree is audited all the same.
 */
export async function historicalContractIds(repo: string): Promise<string[]> {
  const log = await git(repo, ["log", "--format=", "--name-only", "--relative", "--", "contracts/*/contract.json"]);
  if (!log.ok) return [];
  const ids = new Set<string>();
  for (const line of log.stdout.toString("utf8").split("\n")) {
    const match = /^contracts\/([a-z]([-a-z0-9]*[a-z0-9])?)\/contract\.json$/.exec(line.trim());
    if (match) ids.add(match[1]);
  }
  return [...ids].sort();
}

/** The commits that changed `path` (relative to `repo`), newest first. */
async function commitsOf(repo: string, path: string): Promise<string[]> {
  const log = await git(repo, ["log", "--format=%H", "--", path]);
  return log.ok ? log.stdout.toString("utf8").split("\n").filter(Boolean) : [];
}

/** The files under folder `dir` in `commit`: relative name → bytes. */
async function filesAt(repo: string, commit: string, dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const tree = await git(repo, ["ls-tree", "-r", "-z", "--name-only", commit, "--", `${dir}/`]);
  if (!tree.ok) return files;
  for (const name of tree.stdout.toString("utf8").split("\0").filter(Boolean)) {
    const blob = await git(repo, ["cat-file", "blob", `${commit}:./${name}`]);
    if (blob.ok) files.set(name.slice(dir.length + 1), blob.stdout);
  }
  return files;
}

/**
 * The digest (as `directoryDigest` computes it) of folder `dir` (relative to `repo`, forward
 * slashes, no trailing slash) in every commit that changed it, newest first: digest → commit.
 */
export async function historicalDirectoryDigests(repo: string, dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const commit of await commitsOf(repo, dir)) {
    const files = await filesAt(repo, commit, dir);
    if (files.size === 0) continue;
    const digest = filesDigest(files);
    if (!found.has(digest)) found.set(digest, commit);
  }
  return found;
}

/** Every committed version of file `path`: sha256 of its bytes → { commit, bytes }. */
export async function historicalFiles(repo: string, path: string): Promise<Map<string, { commit: string; bytes: Uint8Array }>> {
  const found = new Map<string, { commit: string; bytes: Uint8Array }>();
  for (const commit of await commitsOf(repo, path)) {
    const blob = await git(repo, ["cat-file", "blob", `${commit}:./${path}`]);
    if (!blob.ok) continue;
    const digest = sha256Hex(blob.stdout);
    if (!found.has(digest)) found.set(digest, { commit, bytes: blob.stdout });
  }
  return found;
}

export interface HistoricalProfile {
  readonly commit: string;
  /** The profile's digest, as approvals and evidence pin it. */
  readonly digest: string;
  /** `image:tag@sha256:…` of the role (pod) image it pinned. */
  readonly roleImage: string;
}

/** Every committed version of clusters/<cluster>/cluster.yaml that parses, newest first. */
export async function historicalProfiles(repo: string, cluster: string): Promise<HistoricalProfile[]> {
  const path = `clusters/${cluster}/cluster.yaml`;
  const profiles: HistoricalProfile[] = [];
  for (const { commit, bytes } of (await historicalFiles(repo, path)).values()) {
    try {
      const profile = parseProfile(Buffer.from(bytes).toString("utf8"), `${path}@${commit.slice(0, 12)}`, cluster);
      const pod = profile.images.pod;
      profiles.push({ commit, digest: profileDigest(profile), roleImage: `${pod.image}:${pod.tag}@${pod.digest}` });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      // A version that does not parse pinned nothing an approval could cover.
    }
  }
  return profiles;
}

/** Every committed version of every file under contracts/<id>/approvals/: { commit, name, value }. */
export async function historicalApprovals(repo: string, id: string): Promise<{ commit: string; name: string; value: unknown }[]> {
  const dir = `contracts/${id}/approvals`;
  const seen = new Set<string>();
  const found: { commit: string; name: string; value: unknown }[] = [];
  for (const commit of await commitsOf(repo, dir)) {
    for (const [name, bytes] of await filesAt(repo, commit, dir)) {
      const key = `${name}\u0000${sha256Hex(bytes)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      try {
        found.push({ commit, name, value: JSON.parse(Buffer.from(bytes).toString("utf8")) as unknown });
      } catch {
        // not JSON: not an approval
      }
    }
  }
  return found;
}
