/**
 * Publishing a run's sealed volume: every blob the manifest lists is checked (size, sha256, and the
 * CID recomputed in-process must equal the CID the pod computed) and then put into the publisher,
 * which must answer the same CID. Only ciphertext is ever published.
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { InputError, ServiceError, VerdictError, type Issue } from "../errors.js";
import { readRegularFile } from "../repo/files.js";
import { SEALED_FILES, readRoleJson } from "../pod/roles/files.js";
import { asReceipt, type Receipt } from "../pod/roles/receipt.js";
import { asManifest, type SealedManifest } from "../seal/manifest.js";
import type { Publisher } from "./publisher.js";
import { cidOf } from "./unixfs.js";

export interface PublishedBlob {
  readonly name: string;
  readonly cid: string;
  readonly size: number;
}

/** The manifest of a sealed folder. */
export function readSealedManifest(dir: string): SealedManifest {
  const path = join(dir, SEALED_FILES.manifest);
  const value = readRoleJson(path, 4 * 1024 * 1024);
  if (value === undefined)
    throw InputError.of({ file: path, path: "$", message: "file not found", fix: "datomspace-out writes it; did the pod run to the end?" });
  return asManifest(value, path);
}

/** The receipt the oracle wrote in a sealed folder. */
export function readSealedReceipt(dir: string): Receipt {
  const path = join(dir, SEALED_FILES.receipt);
  const value = readRoleJson(path, 1024 * 1024);
  if (value === undefined) throw InputError.of({ file: path, path: "$", message: "file not found", fix: "the oracle writes it; did the pod run to the end?" });
  return asReceipt(value, path);
}

/**
 * Checks and publishes every sealed blob of the folder `dir` (the run's sealed volume). Throws a
 * VerdictError naming every blob that differs from the manifest (nothing is published then), a
 * ServiceError when the publisher fails.
 */
export async function publishSealed(dir: string, publisher: Publisher): Promise<PublishedBlob[]> {
  const manifest = readSealedManifest(dir);
  const manifestFile = join(dir, SEALED_FILES.manifest);
  const issues: Issue[] = [];
  const blobs: { name: string; bytes: Uint8Array; cid: string }[] = [];
  for (const [i, entry] of manifest.files.entries()) {
    const path = join(dir, entry.blob);
    const bytes = readRegularFile(path, path, 16 * 1024 * 1024 * 1024);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const cid = await cidOf(bytes);
    const at = `$.files[${i}]`;
    if (bytes.length !== entry.size)
      issues.push({
        file: manifestFile,
        path: `${at}.size`,
        message: `is ${entry.size} but ${entry.blob} has ${bytes.length} bytes`,
        fix: "the sealed volume was altered: run again",
      });
    if (sha256 !== entry.ciphertextSha256)
      issues.push({
        file: manifestFile,
        path: `${at}.ciphertextSha256`,
        message: `differs from the sha256 of ${entry.blob} (${sha256})`,
        fix: "the sealed volume was altered: run again",
      });
    if (cid !== entry.cid)
      issues.push({
        file: manifestFile,
        path: `${at}.cid`,
        message: `differs from the CID of ${entry.blob} (${cid})`,
        fix: "the sealed volume was altered: run again",
      });
    blobs.push({ name: entry.name, bytes, cid });
  }
  if (issues.length > 0)
    throw new VerdictError(
      `${manifestFile}: ${issues.length} sealed blob${issues.length === 1 ? "" : "s"} differ from the manifest; nothing was published`,
      issues,
    );
  const published: PublishedBlob[] = [];
  for (const blob of blobs) {
    const cid = await publisher.put(blob.bytes);
    if (cid !== blob.cid) throw new ServiceError(`${publisher.location} stored ${blob.name} as ${cid}, expected ${blob.cid}`);
    published.push({ name: blob.name, cid, size: blob.bytes.length });
  }
  return published;
}
