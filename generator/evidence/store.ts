/**
 * Where evidence lives in the repository, and its files:
 *
 *   contracts/<id>/evidence/batches/<root>.json  a batch: items, proofs, the DSSE-enveloped statement
 *   contracts/<id>/evidence/anchors/<root>.json  where the root was anchored: chain, contract, tx, block
 *
 * Both are written as JSON with sorted keys, two-space indent and LF, and must stay byte-identical
 * to that form: a record that differs from its own canonical rendering was edited by hand.
 */

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { ValidateFunction } from "ajv";
import { newAjv } from "../contract/schema.js";
import { parseStrictJson } from "../contract/json.js";
import { InputError } from "../errors.js";
import { readRegularFile, writeFileAtomic } from "../repo/files.js";
import { contractDir } from "../repo/layout.js";
import { BATCH_RECORD_SCHEMA, type BatchRecord } from "./batch.js";
import { repoPath } from "./collect.js";

export const ANCHOR_RECORD_VERSION = 1;

export interface AnchorRecord {
  readonly version: typeof ANCHOR_RECORD_VERSION;
  /** The Merkle root, hex without prefix (the file name). */
  readonly root: string;
  readonly chainId: number;
  /** The anchor contract, EIP-55. */
  readonly contract: string;
  readonly txHash: string;
  readonly blockNumber: number;
  readonly blockHash: string;
  /** The account that sent the anchor transaction, EIP-55. */
  readonly anchorer: string;
}

export const ANCHOR_RECORD_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["version", "root", "chainId", "contract", "txHash", "blockNumber", "blockHash", "anchorer"],
  properties: {
    version: { const: ANCHOR_RECORD_VERSION },
    root: { type: "string", pattern: "^[0-9a-f]{64}$" },
    chainId: { type: "integer", minimum: 1 },
    contract: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
    txHash: { type: "string", pattern: "^0x[0-9a-f]{64}$" },
    blockNumber: { type: "integer", minimum: 0 },
    blockHash: { type: "string", pattern: "^0x[0-9a-f]{64}$" },
    anchorer: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
  },
} as const;

export function evidenceDir(repo: string, id: string): string {
  return join(contractDir(repo, id), "evidence");
}

export function batchFile(repo: string, id: string, root: string): string {
  return join(evidenceDir(repo, id), "batches", `${root}.json`);
}

export function anchorFile(repo: string, id: string, root: string): string {
  return join(evidenceDir(repo, id), "anchors", `${root}.json`);
}

/** Recursively sorts object keys (arrays keep their order); undefined members are dropped. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** The one text form of an evidence file: sorted keys, two-space indent, LF, trailing newline. */
export function stableJsonText(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

export function writeBatch(repo: string, batch: BatchRecord): string {
  const path = batchFile(repo, batch.contractId, batch.root);
  writeFileAtomic(path, stableJsonText(batch));
  return path;
}

export function writeAnchor(repo: string, contractId: string, record: AnchorRecord): string {
  const path = anchorFile(repo, contractId, record.root);
  writeFileAtomic(path, stableJsonText(record));
  return path;
}

/** A record file as read: the value when it is well-formed, and every problem found. */
export interface StoredRecord<T> {
  readonly file: string;
  /** The root the file name gives. */
  readonly root: string;
  readonly value?: T;
  readonly problems: readonly string[];
}

let batchValidator: ValidateFunction | undefined;
let anchorValidator: ValidateFunction | undefined;

function readRecord<T>(repo: string, path: string, root: string, validate: ValidateFunction): StoredRecord<T> {
  const file = repoPath(repo, path);
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(readRegularFile(path, file, 64 * 1024 * 1024));
    value = parseStrictJson(text, file, 64 * 1024 * 1024);
  } catch (error) {
    if (error instanceof InputError) return { file, root, problems: [error.issues[0]?.message ?? error.message] };
    if (error instanceof TypeError) return { file, root, problems: ["is not valid UTF-8"] };
    throw error;
  }
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`);
    return { file, root, problems: [`does not have the shape of its record: ${problems.join("; ")}`] };
  }
  const problems: string[] = [];
  if ((value as { root: string }).root !== root) problems.push(`is named after root ${root} but holds root ${(value as { root: string }).root}`);
  if (stableJsonText(value) !== text) problems.push("is not byte-identical to its canonical form (sorted keys, two-space indent, LF): it was edited");
  return { file, root, value: value as T, problems };
}

function rootsIn(dir: string): { roots: string[]; strays: string[] } {
  if (!existsSync(dir)) return { roots: [], strays: [] };
  const roots: string[] = [];
  const strays: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const match = /^([0-9a-f]{64})\.json$/.exec(name);
    if (match) roots.push(match[1]);
    else strays.push(name);
  }
  return { roots, strays };
}

export interface StoredEvidence {
  readonly batches: readonly StoredRecord<BatchRecord>[];
  readonly anchors: ReadonlyMap<string, StoredRecord<AnchorRecord>>;
  /** Files in evidence/batches or evidence/anchors that are not named <root>.json. */
  readonly strays: readonly string[];
}

/** Reads every batch and anchor record of a contract. */
export function readStoredEvidence(repo: string, id: string): StoredEvidence {
  batchValidator ??= newAjv().compile(BATCH_RECORD_SCHEMA);
  anchorValidator ??= newAjv().compile(ANCHOR_RECORD_SCHEMA);
  const dir = evidenceDir(repo, id);
  const batchesDir = join(dir, "batches");
  const anchorsDir = join(dir, "anchors");
  const batchNames = rootsIn(batchesDir);
  const anchorNames = rootsIn(anchorsDir);
  const batches = batchNames.roots.map((root) => readRecord<BatchRecord>(repo, join(batchesDir, `${root}.json`), root, batchValidator!));
  const anchors = new Map(anchorNames.roots.map((root) => [root, readRecord<AnchorRecord>(repo, join(anchorsDir, `${root}.json`), root, anchorValidator!)]));
  const strays = [...batchNames.strays.map((n) => repoPath(repo, join(batchesDir, n))), ...anchorNames.strays.map((n) => repoPath(repo, join(anchorsDir, n)))];
  return { batches, anchors, strays };
}
