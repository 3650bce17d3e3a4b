/**
 * The sealed manifest (`/sealed/manifest.json`): datomspace-out's account of what it sealed and for
 * whom. Everything in it is safe in clear: ciphertext digests and CIDs, subject names chosen by
 * datomspace-out (never the algorithm's file names), wrapped keys, and the public policy verdict.
 */

import { InputError, type Issue } from "../../errors.js";
import type { PublicViolation } from "./policy.js";
import { SEALED_KINDS, type SEAL_FORMAT, type SealedKind } from "./crypto.js";

export interface SealedEntry {
  /** Subject name: `outputs/<n>`, `logs/<n>`, or `logs/datomspace-out` for the sealed policy report. */
  readonly name: string;
  readonly kind: SealedKind;
  /** Path of the blob below the sealed folder. */
  readonly blob: string;
  readonly size: number;
  readonly ciphertextSha256: string;
  readonly cid: string;
}

export interface SealedManifest {
  readonly version: 1;
  readonly contractId: string;
  readonly contractHash: string;
  readonly runId: string;
  readonly files: readonly SealedEntry[];
  readonly policy: { readonly ok: boolean; readonly outputBytes: number; readonly violations: readonly PublicViolation[] };
  readonly ownerReview: boolean;
  /** Addresses the data key is wrapped for, sorted. */
  readonly sealedFor: readonly string[];
  /** Address → ECIES-wrapped data key (base64). */
  readonly wrappedKeys: Readonly<Record<string, string>>;
  readonly encryption: typeof SEAL_FORMAT;
  /** Set when sealing itself failed: nothing was sealed. */
  readonly error: string | null;
}

const HEX64 = /^[0-9a-f]{64}$/;
const SUBJECT = /^(outputs|logs)\/([0-9]{1,4}|datomspace-out)$/;

/** Checks the shape of a manifest read back from the sealed volume; returns every problem. */
export function manifestIssues(value: unknown, file: string): Issue[] {
  const issues: Issue[] = [];
  const add = (path: string, message: string): void => {
    issues.push({ file, path, message, fix: "datomspace-out writes this file; run the pod again" });
  };
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return [{ file, path: "$", message: "is not a JSON object", fix: "datomspace-out writes this file; run the pod again" }];
  const m = value as Record<string, unknown>;
  if (m["version"] !== 1) add("$.version", "is not 1");
  for (const key of ["contractId", "contractHash", "runId"]) if (typeof m[key] !== "string") add(`$.${key}`, "is not a string");
  if (!Array.isArray(m["files"])) add("$.files", "is not a list");
  else {
    m["files"].forEach((entry: unknown, i: number) => {
      const e = (entry ?? {}) as Record<string, unknown>;
      const path = `$.files[${i}]`;
      if (typeof e["name"] !== "string" || !SUBJECT.test(e["name"])) add(`${path}.name`, "is not a subject name");
      if (!(SEALED_KINDS as readonly unknown[]).includes(e["kind"])) add(`${path}.kind`, "is not output, log or report");
      if (typeof e["blob"] !== "string" || !/^blobs\/[0-9]{1,4}$/.test(e["blob"])) add(`${path}.blob`, "is not blobs/<n>");
      if (!Number.isSafeInteger(e["size"])) add(`${path}.size`, "is not an integer");
      if (typeof e["ciphertextSha256"] !== "string" || !HEX64.test(e["ciphertextSha256"])) add(`${path}.ciphertextSha256`, "is not a sha256");
      if (typeof e["cid"] !== "string" || !/^b[a-z2-7]{20,}$/.test(e["cid"])) add(`${path}.cid`, "is not a CIDv1");
    });
  }
  if (!Array.isArray(m["sealedFor"])) add("$.sealedFor", "is not a list");
  if (m["wrappedKeys"] === null || typeof m["wrappedKeys"] !== "object") add("$.wrappedKeys", "is not an object");
  const policy = m["policy"] as Record<string, unknown> | undefined;
  if (policy === undefined || typeof policy["ok"] !== "boolean" || !Array.isArray(policy["violations"]))
    add("$.policy", "is not {ok, outputBytes, violations}");
  return issues;
}

export function asManifest(value: unknown, file: string): SealedManifest {
  const issues = manifestIssues(value, file);
  if (issues.length > 0) throw InputError.many(`${file}: not a sealed manifest`, issues);
  return value as SealedManifest;
}
