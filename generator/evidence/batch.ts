/**
 * An evidence batch: the items of one contract that are anchored together, the RFC 6962 tree over
 * their leaves, one inclusion proof per item, and an in-toto Statement (v1) of the batch inside a
 * DSSE envelope signed by the anchorer. The batches of a contract form a chain: each names the
 * root before it (zero for the first) and its place in the chain, and where it is anchored (the
 * contract's chain id and anchor contract), all of it in the signed statement, so a batch cannot be
 * moved to another place in history or to another anchor without its signature breaking. A batch
 * record is a pure function of its items, its link and the signing key (Ethereum signatures are
 * deterministic, RFC 6979), so rebuilding it gives the same bytes.
 */

import { getAddress, isAddress, keccak256, toUtf8Bytes, type Signer } from "ethers";
import { canonicalize } from "../contract/canonical.js";
import { BATCH_KINDS, EVIDENCE_KINDS, SHA256_HEX, batchKindOf, compareItems, itemKey, leafData, type BatchKind, type EvidenceItem } from "./items.js";
import { allInclusionProofs, leafHash, merkleRoot, rootFromInclusionProof, equalBytes } from "./merkle.js";
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope, verifyEnvelope, type DsseEnvelope } from "./dsse.js";

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const PREDICATE_TYPE = "https://datomspod.dev/attestations/evidence-batch/v1";
export const TREE_ALGORITHM = "rfc6962-sha256";
export const BATCH_RECORD_VERSION = 2;
/** The previous root of a contract's first batch. */
export const ZERO_ROOT = "0".repeat(64);

export interface BatchItem {
  /** Position of the leaf in the tree. */
  readonly index: number;
  readonly kind: EvidenceItem["kind"];
  readonly subject: string;
  readonly digest: string;
  /** The RFC 6962 audit path, hex, from the leaf's sibling upwards. */
  readonly proof: readonly string[];
}

/** Where a batch sits: after which root, as which one, on which anchor contract. */
export interface BatchLink {
  /** The root of the contract's batch before this one, hex without prefix; ZERO_ROOT for the first. */
  readonly previousRoot: string;
  /** The batch's place in the contract's chain, from 1. */
  readonly sequence: number;
  /** The chain and anchor contract the contract pins (chainId, evidence.anchor.address). */
  readonly anchor: { readonly chainId: number; readonly address: string };
}

export interface BatchRecord extends BatchLink {
  readonly version: typeof BATCH_RECORD_VERSION;
  readonly contractId: string;
  readonly kind: BatchKind;
  /** The Merkle tree head, hex without prefix; also the batch file's name. */
  readonly root: string;
  readonly size: number;
  readonly tree: typeof TREE_ALGORITHM;
  readonly items: readonly BatchItem[];
  readonly envelope: DsseEnvelope;
}

export function contractIdHash(contractId: string): string {
  return keccak256(toUtf8Bytes(contractId));
}

export function toItem(contractId: string, item: Pick<BatchItem, "kind" | "subject" | "digest">): EvidenceItem {
  return { kind: item.kind, contractId, subject: item.subject, digest: item.digest };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function unhex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "hex"));
}

/**
 * The in-toto Statement of a batch: every item is a subject; the predicate names the tree, the
 * root before it in the contract's chain, its place there, and the anchor contract it goes to.
 */
export function batchStatement(
  batch: Pick<BatchRecord, "contractId" | "kind" | "root" | "previousRoot" | "sequence" | "anchor"> & {
    readonly items: readonly Pick<BatchItem, "kind" | "subject" | "digest">[];
  },
): Record<string, unknown> {
  return {
    _type: STATEMENT_TYPE,
    subject: batch.items.map((item) => ({ name: `${item.kind}:${item.subject}`, digest: { sha256: item.digest } })),
    predicateType: PREDICATE_TYPE,
    predicate: {
      contractId: batch.contractId,
      contractIdHash: contractIdHash(batch.contractId),
      kind: batch.kind,
      kindCode: BATCH_KINDS[batch.kind],
      merkleRoot: batch.root,
      treeSize: batch.items.length,
      tree: TREE_ALGORITHM,
      leaf: "SHA-256(0x00 || RFC 8785 JSON of {contractId, digest, kind, subject})",
      previousRoot: batch.previousRoot,
      sequence: batch.sequence,
      anchor: { chainId: batch.anchor.chainId, address: batch.anchor.address },
    },
  };
}

/** Orders and de-duplicates items, computes the tree and its proofs, links it after `link.previousRoot`, and signs the statement. */
export async function buildBatch(contractId: string, items: readonly EvidenceItem[], link: BatchLink, signer: Signer): Promise<BatchRecord> {
  if (items.length === 0) throw new RangeError("a batch needs at least one item");
  const seen = new Set<string>();
  const sorted = [...items].sort(compareItems).filter((item) => {
    if (item.contractId !== contractId) throw new RangeError(`item of ${item.contractId} in a batch of ${contractId}`);
    const key = itemKey(item);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const leaves = sorted.map((item) => leafHash(leafData(item)));
  const root = hex(merkleRoot(leaves));
  const proofs = allInclusionProofs(leaves);
  const kind = batchKindOf(sorted);
  const batchItems = sorted.map((item, index) => ({ index, kind: item.kind, subject: item.subject, digest: item.digest, proof: proofs[index].map(hex) }));
  return signBatch(
    {
      version: BATCH_RECORD_VERSION,
      contractId,
      kind,
      root,
      size: sorted.length,
      tree: TREE_ALGORITHM,
      previousRoot: link.previousRoot,
      sequence: link.sequence,
      anchor: { chainId: link.anchor.chainId, address: getAddress(link.anchor.address) },
      items: batchItems,
      envelope: { payload: "", payloadType: IN_TOTO_PAYLOAD_TYPE, signatures: [] },
    },
    signer,
  );
}

/** The batch with its envelope signed (again) by `signer`; the tree and the link are unchanged. */
export async function signBatch(batch: BatchRecord, signer: Signer): Promise<BatchRecord> {
  const payload = new TextEncoder().encode(canonicalize(batchStatement(batch)));
  return { ...batch, envelope: await signEnvelope(signer, IN_TOTO_PAYLOAD_TYPE, payload) };
}

export interface BatchCheck {
  /** Problems with the batch as a whole (root, order, statement, envelope). */
  readonly problems: readonly string[];
  /** Problems of single items, by index in `items`. */
  readonly itemProblems: ReadonlyMap<number, string>;
  /** Addresses whose DSSE signatures verified. */
  readonly signers: readonly string[];
}

/**
 * Checks a batch record on its own: the root is the tree head of its items, every proof leads to
 * that root, items are in leaf order without repeats, and the envelope is a valid signature over
 * exactly the statement of these items. The chain is not consulted here.
 */
export function checkBatch(batch: BatchRecord, contractId: string): BatchCheck {
  const problems: string[] = [];
  const itemProblems = new Map<number, string>();
  if (batch.contractId !== contractId) problems.push(`is a batch of contract ${JSON.stringify(batch.contractId)}, not of ${JSON.stringify(contractId)}`);
  if (batch.size !== batch.items.length) problems.push(`says it has ${batch.size} items but lists ${batch.items.length}`);
  if (!SHA256_HEX.test(batch.root)) problems.push("its root is not 64 hex digits");
  if (!SHA256_HEX.test(batch.previousRoot)) problems.push("its previous root is not 64 hex digits");
  else if (batch.previousRoot === batch.root) problems.push("names itself as its previous root");
  if ((batch.sequence === 1) !== (batch.previousRoot === ZERO_ROOT))
    problems.push(
      batch.sequence === 1
        ? "is the contract's first batch but names a previous root"
        : `is batch ${batch.sequence} of its contract but names no previous root`,
    );
  if (!isAddress(batch.anchor.address) || getAddress(batch.anchor.address) !== batch.anchor.address)
    problems.push("its anchor address is not an EIP-55 checksummed address");

  const items = batch.items.map((item) => toItem(batch.contractId, item));
  const leaves = items.map((item) => leafHash(leafData(item)));
  const root = hex(merkleRoot(leaves));
  if (root !== batch.root) problems.push(`its items hash to the root ${root}, not to ${batch.root}`);
  if (batch.kind !== batchKindOf(items)) problems.push(`its kind is ${JSON.stringify(batch.kind)} but its items make it ${JSON.stringify(batchKindOf(items))}`);

  const rootBytes = SHA256_HEX.test(batch.root) ? unhex(batch.root) : new Uint8Array(0);
  for (const [i, item] of batch.items.entries()) {
    if (item.index !== i) itemProblems.set(i, `has index ${item.index} at position ${i}`);
    else if (i > 0 && compareItems(items[i - 1], items[i]) >= 0) itemProblems.set(i, "is out of order or repeated");
    else if (!item.proof.every((p) => SHA256_HEX.test(p))) itemProblems.set(i, "has a proof step that is not 64 hex digits");
    else {
      const computed = rootFromInclusionProof(i, batch.items.length, leaves[i], item.proof.map(unhex));
      if (computed === undefined || !equalBytes(computed, rootBytes)) itemProblems.set(i, "its inclusion proof does not lead to the batch root");
    }
  }

  const envelope = verifyEnvelope(batch.envelope);
  problems.push(...envelope.problems.map((p) => `envelope: ${p}`));
  if (batch.envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    problems.push(`envelope: payloadType is ${JSON.stringify(batch.envelope.payloadType)}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
  if (envelope.payload !== undefined) {
    const expected = canonicalize(batchStatement(batch));
    if (Buffer.from(envelope.payload).toString("utf8") !== expected)
      problems.push("envelope: the signed statement is not the statement of these items and this root");
  }
  return { problems, itemProblems, signers: envelope.signers };
}

/** JSON Schema of a batch record file (ajv, 2020-12). */
export const BATCH_RECORD_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["version", "contractId", "kind", "root", "size", "tree", "previousRoot", "sequence", "anchor", "items", "envelope"],
  properties: {
    version: { const: BATCH_RECORD_VERSION },
    contractId: { type: "string", pattern: "^[a-z]([-a-z0-9]*[a-z0-9])?$", maxLength: 40 },
    kind: { enum: Object.keys(BATCH_KINDS) },
    root: { type: "string", pattern: "^[0-9a-f]{64}$" },
    size: { type: "integer", minimum: 1 },
    tree: { const: TREE_ALGORITHM },
    previousRoot: { type: "string", pattern: "^[0-9a-f]{64}$" },
    sequence: { type: "integer", minimum: 1, maximum: 9007199254740991 },
    anchor: {
      type: "object",
      additionalProperties: false,
      required: ["chainId", "address"],
      properties: {
        chainId: { type: "integer", minimum: 1, maximum: 9007199254740991 },
        address: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
      },
    },
    items: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["index", "kind", "subject", "digest", "proof"],
        properties: {
          index: { type: "integer", minimum: 0 },
          kind: { enum: [...EVIDENCE_KINDS] },
          subject: { type: "string", minLength: 1, maxLength: 4096 },
          digest: { type: "string", pattern: "^[0-9a-f]{64}$" },
          proof: { type: "array", maxItems: 64, items: { type: "string", pattern: "^[0-9a-f]{64}$" } },
        },
      },
    },
    envelope: {
      type: "object",
      additionalProperties: false,
      required: ["payload", "payloadType", "signatures"],
      properties: {
        payload: { type: "string" },
        payloadType: { type: "string" },
        signatures: {
          type: "array",
          items: {
            type: "object",
            additionalProperties: false,
            required: ["keyid", "sig"],
            properties: { keyid: { type: "string" }, sig: { type: "string" } },
          },
        },
      },
    },
  },
} as const;
