/**
 * Digests of folders: sha256 of the RFC 8785 JSON object mapping each file's path (relative to the
 * folder, forward slashes) to the sha256 of its bytes. Used for rendered instances and compute
 * environments, in evidence and in approvals.
 */

import { readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { canonicalize, sha256Hex } from "../contract/canonical.js";
import { readRegularFile } from "../repo/files.js";

/** Large enough for algorithm code and manifests; records are far smaller. */
export const MAX_EVIDENCE_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Digest of a folder of rendered manifests: sha256 of the RFC 8785 JSON object mapping each file's
 * path (relative to the folder, forward slashes) to the sha256 of its bytes. Throws InputError when
 * a file cannot be read (a link, not a regular file).
 */
export function directoryDigest(dir: string, shown: string): string {
  const files: Record<string, string> = {};
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const rel = relative(dir, path).split(sep).join("/");
      if (entry.isDirectory()) walk(path);
      else files[rel] = sha256Hex(readRegularFile(path, `${shown}${rel}`, MAX_EVIDENCE_FILE_BYTES));
    }
  };
  walk(dir);
  return sha256Hex(canonicalize(files));
}

/** Digest of a set of files given as {relative path: bytes}; the same as `directoryDigest` of a folder holding them. */
export function filesDigest(files: ReadonlyMap<string, Uint8Array>): string {
  const map: Record<string, string> = {};
  for (const [name, bytes] of files) map[name] = sha256Hex(bytes);
  return sha256Hex(canonicalize(map));
}
