/**
 * The sealed manifest (`/sealed/manifest.json`): datomspace-out's account of what it sealed and for
 * whom. Everything in it is public and carries nothing the algorithm chose beyond what public.ts
 * counts: the three subjects datomspace-out names, the padded ciphertext sizes, digests and CIDs,
 * the wrapped keys, and whether the policy held with the set of the rules broken.
 */

import { InputError, type Issue } from "../errors.js";
import type { Rule } from "./policy.js";
import { SEALED_KINDS, type SEAL_FORMAT, type SealedKind } from "./format.js";

/** Which key a blob is sealed with: the run's data key (recipients, or the owners reviewing) or the owners' key. */
export const SEAL_KEYS = ["data", "owners"] as const;
export type SealKey = (typeof SEAL_KEYS)[number];

export interface SealedEntry {
  /** Subject name: `outputs/0`, `logs/0`, or `logs/datomspace-out` for the sealed report. */
  readonly name: string;
  readonly kind: SealedKind;
  readonly key: SealKey;
  /** Path of the blob below the sealed folder. */
  readonly blob: string;
  readonly size: number;
  readonly ciphertextSha256: string;
  readonly cid: string;
}

export interface PublicPolicy {
  readonly ok: boolean;
  /** The rules broken, sorted, each once. */
  readonly rules: readonly Rule[];
}

export interface SealedManifest {
  readonly version: 2;
  readonly contractId: string;
  readonly contractHash: string;
  readonly runId: string;
  readonly files: readonly SealedEntry[];
  readonly policy: PublicPolicy;
  readonly ownerReview: boolean;
  /** Addresses the data key is wrapped for, sorted. */
  readonly sealedFor: readonly string[];
  /** Address → ECIES-wrapped data key (base64). */
  readonly wrappedKeys: Readonly<Record<string, string>>;
  /** Data owner → ECIES-wrapped owners' key (base64): the report, and the logs when the contract sets minGroupSize. */
  readonly ownerKeys: Readonly<Record<string, string>>;
  readonly encryption: typeof SEAL_FORMAT;
  /** Set when sealing itself failed: nothing was sealed. */
  readonly error: string | null;
}

const HEX64 = /^[0-9a-f]{64}$/;
const SUBJECT = /^(outputs\/0|logs\/0|logs\/datomspace-out)$/;

/** Checks the shape of a manifest read back from the sealed volume; returns every problem. */
export function manifestIssues(value: unknown, file: string): Issue[] {
  const issues: Issue[] = [];
  const add = (path: string, message: string): void => {
    issues.push({ file, path, message, fix: "datomspace-out writes this file; run the pod again" });
  };
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return [{ file, path: "$", message: "is not a JSON object", fix: "datomspace-out writes this file; run the pod again" }];
  const m = value as Record<string, unknown>;
  if (m["version"] !== 2) add("$.version", "is not 2");
  for (const key of ["contractId", "contractHash", "runId"]) if (typeof m[key] !== "string") add(`$.${key}`, "is not a string");
  if (!Array.isArray(m["files"])) add("$.files", "is not a list");
  else {
    m["files"].forEach((entry: unknown, i: number) => {
      const e = (entry ?? {}) as Record<string, unknown>;
      const path = `$.files[${i}]`;
      if (typeof e["name"] !== "string" || !SUBJECT.test(e["name"])) add(`${path}.name`, "is not a subject name");
      if (!(SEALED_KINDS as readonly unknown[]).includes(e["kind"])) add(`${path}.kind`, "is not output, log or report");
      if (!(SEAL_KEYS as readonly unknown[]).includes(e["key"])) add(`${path}.key`, "is not data or owners");
      if (typeof e["blob"] !== "string" || !/^blobs\/[0-9]{1,4}$/.test(e["blob"])) add(`${path}.blob`, "is not blobs/<n>");
      if (!Number.isSafeInteger(e["size"])) add(`${path}.size`, "is not an integer");
      if (typeof e["ciphertextSha256"] !== "string" || !HEX64.test(e["ciphertextSha256"])) add(`${path}.ciphertextSha256`, "is not a sha256");
      if (typeof e["cid"] !== "string" || !/^b[a-z2-7]{20,}$/.test(e["cid"])) add(`${path}.cid`, "is not a CIDv1");
    });
  }
  if (!Array.isArray(m["sealedFor"])) add("$.sealedFor", "is not a list");
  for (const key of ["wrappedKeys", "ownerKeys"]) if (m[key] === null || typeof m[key] !== "object") add(`$.${key}`, "is not an object");
  const policy = m["policy"] as Record<string, unknown> | undefined;
  if (policy === undefined || policy === null || typeof policy["ok"] !== "boolean" || !Array.isArray(policy["rules"])) add("$.policy", "is not {ok, rules}");
  return issues;
}

export function asManifest(value: unknown, file: string): SealedManifest {
  const issues = manifestIssues(value, file);
  if (issues.length > 0) throw InputError.many(`${file}: not a sealed manifest`, issues);
  return value as SealedManifest;
}
