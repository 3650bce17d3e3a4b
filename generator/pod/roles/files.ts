/**
 * What the pod's roles hand each other through their shared volumes, and how they read it:
 *
 *   <verified>/datomspace-in.json   datomspace-in's verdict on the code and the inputs
 *   <verified>/inputs-verified      the gate: exists only when the verdict is ok
 *   <verified>/input-rows.idx       fingerprints of the inputs' rows (noRawRecords)
 *   <status>/computing.json         the supervisor's status of the algorithm
 *   <sealed>/blobs/<n>              ciphertext only
 *   <sealed>/manifest.json          datomspace-out's account of what it sealed, for whom
 *   <sealed>/receipt.json           the oracle's in-toto statement
 *
 * `<verified>` is the status volume unless the Job gives datomspace-in a volume of its own that the
 * computing container mounts read-only (recommended: the algorithm then cannot touch the verdict
 * or the row index).
 */

import { lstatSync, readFileSync, statSync } from "node:fs";
import { InputError } from "../../errors.js";
import { contractHash } from "../../contract/load.js";
import { parseStrictJson, type JsonValue } from "../../contract/json.js";
import { validateContract } from "../../contract/load.js";
import type { Contract } from "../../contract/types.generated.js";

export const VERIFIED_FILES = {
  verdict: "datomspace-in.json",
  gate: "inputs-verified",
  rows: "input-rows.idx",
} as const;

export const STATUS_FILES = {
  computing: "computing.json",
} as const;

export const SEALED_FILES = {
  blobs: "blobs",
  manifest: "manifest.json",
  receipt: "receipt.json",
} as const;

/** Where the supervisor is in the pod image; datomspace-in copies it to the tools volume. */
export const SUPERVISOR_IN_IMAGE = "/opt/datomspod/bin/supervise";

export interface PodContract {
  readonly file: string;
  readonly contract: Contract;
  /** sha256 of the canonical contract without "$schema": the hash every party signed. */
  readonly hash: string;
}

/**
 * Reads and validates the contract mounted into the pod. A ConfigMap volume presents its keys as
 * symbolic links into a hidden folder of the same volume, so the link is followed here; the file it
 * leads to must be a regular file.
 */
export function readPodContract(path: string): PodContract {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw InputError.of({ file: path, path: "$", message: "file not found", fix: "mount the contract ConfigMap at /datomspod/contract" });
  }
  if (!stat.isFile() || stat.size > 1024 * 1024)
    throw InputError.of({ file: path, path: "$", message: "is not a regular file of at most 1 MiB", fix: "mount the contract ConfigMap" });
  const value = parseStrictJson(new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path)), path);
  const id = value !== null && typeof value === "object" && !Array.isArray(value) && typeof value["id"] === "string" ? value["id"] : "";
  const issues = validateContract(value, path, id);
  if (issues.length > 0) throw InputError.many(`${path}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`, issues);
  const contract = value as unknown as Contract;
  return { file: path, contract, hash: contractHash(contract) };
}

/**
 * A JSON file another container wrote, or undefined when it does not exist. Symbolic links and
 * other non-regular files are refused (a container sharing the volume could plant one).
 */
export function readRoleJson(path: string, maxBytes = 1024 * 1024): JsonValue | undefined {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) throw InputError.of({ file: path, path: "$", message: "is not a regular file", fix: "only the pod's roles write this file" });
  if (stat.size > maxBytes)
    throw InputError.of({ file: path, path: "$", message: `is larger than ${maxBytes} bytes`, fix: "only the pod's roles write this file" });
  return parseStrictJson(new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path)), path, maxBytes);
}

/** Whether `path` exists as a regular file (not a link). */
export function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}
