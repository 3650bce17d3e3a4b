/**
 * Evidence items: every fact of a contract's life, named by kind and subject and pinned by a
 * sha256. An item is a leaf of a batch's Merkle tree; its leaf data is the RFC 8785 canonical JSON
 * of `{contractId, digest, kind, subject}`, so a leaf cannot be mistaken for another contract's, for
 * another kind, or for another file. Pure.
 */

import { canonicalize } from "../contract/canonical.js";

/**
 * The kinds of evidence, in the order of the contract's life. Files are hashed byte for byte; the
 * contract is also pinned by its canonical hash (what the parties signed).
 */
export const EVIDENCE_KINDS = [
  "contract-hash",
  "contract-file",
  "signature",
  "approval",
  "algorithm-code",
  "image-digest",
  "entrypoint",
  "environment",
  "cluster-profile",
  "role-image",
  "instance-template",
  "rendered-manifest",
  "run-request",
  "receipt",
  "receipt-signature",
  "output",
  "log",
  "release",
  "ack",
  "revocation",
  "deletion",
  "settlement",
] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

/** The lifecycle stage a batch evidences, as stored on chain (`kind` of the anchor contract). */
export const BATCH_KINDS = { agreement: 1, instance: 2, run: 3, deletion: 4, settlement: 5 } as const;
export type BatchKind = keyof typeof BATCH_KINDS;

const STAGE: Record<EvidenceKind, BatchKind> = {
  "contract-hash": "agreement",
  "contract-file": "agreement",
  signature: "agreement",
  approval: "agreement",
  "algorithm-code": "agreement",
  "image-digest": "agreement",
  entrypoint: "agreement",
  environment: "agreement",
  "cluster-profile": "agreement",
  "role-image": "agreement",
  "instance-template": "agreement",
  "rendered-manifest": "instance",
  "run-request": "run",
  receipt: "run",
  "receipt-signature": "run",
  output: "run",
  log: "run",
  release: "run",
  ack: "run",
  revocation: "deletion",
  deletion: "deletion",
  settlement: "settlement",
};

/**
 * Kinds whose subject legitimately takes new values over time: the rendered instance changes when a
 * run is requested or the generator changes, and is removed when the contract ends; the cluster
 * profile, the environment, the role image and the instance template are shared or versioned
 * with datomspod (a new value invalidates the approvals, which then have to be given again). Every
 * other subject is written once; a second value for it is tampering.
 */
export const MUTABLE_KINDS: readonly EvidenceKind[] = ["rendered-manifest", "environment", "cluster-profile", "role-image", "instance-template"];

export interface EvidenceItem {
  readonly kind: EvidenceKind;
  readonly contractId: string;
  /** What the digest is of: a repository path, `path#name` for a receipt subject, or an image reference. */
  readonly subject: string;
  /** sha256, lower-case hex without prefix. */
  readonly digest: string;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isEvidenceKind(value: unknown): value is EvidenceKind {
  return typeof value === "string" && (EVIDENCE_KINDS as readonly string[]).includes(value);
}

/** The bytes hashed into the item's leaf: RFC 8785 JSON of the four fields. */
export function leafData(item: EvidenceItem): Uint8Array {
  return new TextEncoder().encode(canonicalize({ contractId: item.contractId, digest: item.digest, kind: item.kind, subject: item.subject }));
}

/** Identifies what an item is about, regardless of its digest. */
export function subjectKey(item: Pick<EvidenceItem, "kind" | "subject">): string {
  return `${item.kind}\u0000${item.subject}`;
}

/** Identifies an item, digest included. */
export function itemKey(item: Pick<EvidenceItem, "kind" | "subject" | "digest">): string {
  return `${item.kind}\u0000${item.subject}\u0000${item.digest}`;
}

/** The order of leaves in a batch: by kind (life order), then subject, then digest. */
export function compareItems(a: EvidenceItem, b: EvidenceItem): number {
  const byKind = EVIDENCE_KINDS.indexOf(a.kind) - EVIDENCE_KINDS.indexOf(b.kind);
  if (byKind !== 0) return byKind;
  if (a.subject !== b.subject) return a.subject < b.subject ? -1 : 1;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

/** The stage of a batch: the latest stage of its items. */
export function batchKindOf(items: readonly EvidenceItem[]): BatchKind {
  let kind: BatchKind = "agreement";
  for (const item of items) if (BATCH_KINDS[STAGE[item.kind]] > BATCH_KINDS[kind]) kind = STAGE[item.kind];
  return kind;
}

export function isMutableKind(kind: EvidenceKind): boolean {
  return MUTABLE_KINDS.includes(kind);
}
