/**
 * The datomspace-out role: applies the contract's output policy to what the algorithm left, then
 * seals exactly three blobs, each padded to a size bucket (public.ts):
 * - `outputs/0`: every output, names and all, with the run's data key, wrapped for the recipients
 *   (or, with owner review, for the data owners, who release later); empty when the policy broke;
 * - `logs/0`: the supervisor's log, with the data key, or with the owners' key when the contract
 *   sets minGroupSize (no group size can be checked in free text) or the policy broke (then only
 *   its head, at most min(maxBytes, 64 KiB));
 * - `logs/datomspace-out`: the report, with the owners' key, wrapped for the data owners only: the
 *   violations with the real names, the exact exit status and usage, what each blob holds.
 * Nothing in clear on the sealed volume comes from the algorithm beyond what public.ts counts.
 * CIDs are computed here (no network in the pod); the runner publishes the blobs.
 */

import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { getAddress } from "../../contract/address.js";
import { toJsonText, writeFileAtomic } from "../../repo/files.js";
import { assertRunId } from "../../repo/layout.js";
import type { Contract } from "../../contract/types.generated.js";
import { cidOf } from "../../publish/unixfs.js";
import { SEAL_FORMAT, newDataKey, sealContext, sealFile, wrapKey, type SealSource, type SealedFile, type SealedKind } from "../../seal/crypto.js";
import type { SealKey, SealedEntry, SealedManifest } from "../../seal/manifest.js";
import { MAX_LISTED_VIOLATIONS, VIOLATION_LOG_BYTES, applyOutputPolicy, type Candidate, type PolicyResult, type Rule } from "../../seal/policy.js";
import { REPORT_MAX_BYTES, paddedSize, type BLOB_SUBJECTS } from "../../seal/public.js";
import { RowIndex } from "../../seal/rows.js";
import { parseComputingStatus, type ComputingStatus } from "./computing.js";
import { algorithmStatus } from "./receipt.js";
import { SEALED_FILES, STATUS_FILES, VERIFIED_FILES, isRegularFile, readPodContract, readRoleJson, type PodContract } from "./files.js";

export interface DatomspaceOutOptions {
  readonly contract: string;
  readonly run: string;
  readonly outputs: string;
  readonly logs: string;
  readonly status: string;
  /** Where datomspace-in left the row index; default: the status folder. */
  readonly verified?: string;
  readonly sealed: string;
}

/** The data owners (providers of the inputs), checksummed, sorted, each once. */
export function dataOwners(contract: Contract): string[] {
  return [...new Set(contract.inputs.data.map((asset) => getAddress(asset.owner)))].sort();
}

/** Who the data key is wrapped for: recipients, or the owners under owner review or after a violation. */
export function sealAudience(contract: Contract, policyOk: boolean): string[] {
  if (!policyOk || contract.outputs.policy.ownerReview) return dataOwners(contract);
  return [...new Set(contract.outputs.recipients.map((address) => getAddress(address)))].sort();
}

/** Which key seals the logs: the owners' when the contract sets minGroupSize (free text cannot be held to k) or the policy broke. */
export function logsKey(contract: Contract, policyOk: boolean): SealKey {
  return !policyOk || contract.outputs.policy.minGroupSize !== undefined ? "owners" : "data";
}

function publicKeyOf(contract: Contract, address: string): string | undefined {
  return contract.parties.find((party) => party.address.toLowerCase() === address.toLowerCase())?.publicKey;
}

async function cidOfFile(path: string): Promise<string> {
  return cidOf(createReadStream(path, { highWaterMark: 1 << 18 }) as AsyncIterable<Uint8Array>);
}

async function digestOf(source: SealSource): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  let left = source.limit ?? Number.POSITIVE_INFINITY;
  const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
    typeof source.path === "string" ? createReadStream(source.path, { highWaterMark: 1 << 20 }) : [source.path];
  for await (const chunk of chunks) {
    if (left <= 0) break;
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= part.length;
    hash.update(part);
    size += part.length;
  }
  return { sha256: hash.digest("hex"), size };
}

function loadRows(contract: Contract, verifiedDir: string): RowIndex | undefined {
  if (!contract.outputs.policy.noRawRecords) return undefined;
  const path = join(verifiedDir, VERIFIED_FILES.rows);
  if (!isRegularFile(path)) return undefined;
  try {
    return RowIndex.read(path);
  } catch {
    return undefined;
  }
}

interface PackedFile extends SealSource {
  readonly name: string;
  /** The file's whole size (more than what is sealed when `limit` cuts it). */
  readonly size: number;
}

interface Blob {
  readonly subject: (typeof BLOB_SUBJECTS)[number];
  readonly kind: SealedKind;
  readonly key: SealKey;
  readonly files: readonly PackedFile[];
}

/** The outputs and the logs as sealed: the outputs only when the policy holds, the logs' head only when it does not. */
function plan(contract: Contract, policy: PolicyResult, ok: boolean): Blob[] {
  const cap = Math.min(contract.outputs.policy.maxBytes, VIOLATION_LOG_BYTES);
  let left = cap;
  const logs = policy.logs.map((file: Candidate): PackedFile => {
    if (ok) return { name: file.name, path: file.path, size: file.size };
    const limit = Math.min(file.size, left);
    left -= limit;
    return { name: file.name, path: file.path, size: file.size, limit };
  });
  return [
    {
      subject: "outputs/0",
      kind: "output",
      key: "data",
      files: ok ? policy.outputs.map((file) => ({ name: file.name, path: file.path, size: file.size })) : [],
    },
    { subject: "logs/0", kind: "log", key: logsKey(contract, ok), files: logs },
  ];
}

function readComputing(statusDir: string): ComputingStatus | null {
  try {
    const value = readRoleJson(join(statusDir, STATUS_FILES.computing), 64 * 1024);
    return value === undefined ? null : parseComputingStatus(value);
  } catch {
    return null;
  }
}

/** The report sealed for the data owners, cut to REPORT_MAX_BYTES. */
function reportBytes(report: {
  policy: { ok: boolean; rules: readonly Rule[]; usedBytes: number; maxBytes: number; violations: PolicyResult["detailed"] };
  /** How the algorithm ended, exactly: what the receipt reduces to the phase. */
  status: { phase: string; reason: string; exitCode: number | null; signal: string | null; oomKilled: boolean; deadlineExceeded: boolean };
  computing: ComputingStatus | null;
  files: readonly { subject: string; kind: SealedKind; name: string; size: number; sealedBytes: number; sha256: string }[];
}): Uint8Array {
  const clip = (text: string): string => (text.length > 300 ? `${text.slice(0, 300)}…` : text);
  const violations = report.policy.violations
    .slice(0, MAX_LISTED_VIOLATIONS)
    .map((v) => ({ ...v, name: v.name === null ? null : clip(v.name), message: clip(v.message) }));
  const full = {
    version: 1,
    policy: { ...report.policy, violations, unlisted: Math.max(0, report.policy.violations.length - MAX_LISTED_VIOLATIONS) },
    status: report.status,
    computing: report.computing,
    files: report.files,
  };
  let bytes = Buffer.from(toJsonText(full), "utf8");
  if (bytes.length > REPORT_MAX_BYTES) bytes = Buffer.from(toJsonText({ ...full, files: { count: report.files.length, listed: false } }), "utf8");
  return bytes.subarray(0, REPORT_MAX_BYTES);
}

/**
 * What may be said in clear about an error: that sealing failed, nothing more (its code or message
 * could depend on what the algorithm left: file names, sizes).
 */
export function publicError(_error: unknown): string {
  return "sealing failed";
}

/** Runs the role and returns the manifest it wrote. */
export async function runDatomspaceOut(options: DatomspaceOutOptions): Promise<SealedManifest> {
  assertRunId(options.run, "--run");
  const pod: PodContract = readPodContract(options.contract);
  const { contract } = pod;
  const sealedDir = options.sealed;
  const manifestPath = join(sealedDir, SEALED_FILES.manifest);
  if (existsSync(manifestPath)) throw new Error(`${manifestPath} exists: run ${options.run} was sealed already`);
  const blobsDir = join(sealedDir, SEALED_FILES.blobs);
  rmSync(blobsDir, { recursive: true, force: true });
  mkdirSync(blobsDir, { recursive: true });

  const base = {
    version: 2 as const,
    contractId: contract.id,
    contractHash: pod.hash,
    runId: options.run,
    ownerReview: contract.outputs.policy.ownerReview,
    encryption: SEAL_FORMAT,
  };
  let manifest: SealedManifest;
  try {
    const rows = loadRows(contract, options.verified ?? options.status);
    let policy: PolicyResult;
    try {
      policy = applyOutputPolicy(contract, options.outputs, options.logs, rows);
    } finally {
      rows?.close();
    }
    const owners = dataOwners(contract);
    const audience = sealAudience(contract, policy.ok);
    const keyed = audience.filter((address) => publicKeyOf(contract, address) !== undefined);
    const keyedOwners = owners.filter((address) => publicKeyOf(contract, address) !== undefined);
    const detailed = [...policy.detailed];
    if (keyed.length < audience.length || keyedOwners.length < owners.length) {
      detailed.push({
        rule: "sealing",
        area: "run",
        name: null,
        message: "some of the parties the outputs, logs or report are sealed for have no publicKey in the contract; nothing is sealed for them",
      });
    }
    const ok = policy.ok && detailed.length === policy.detailed.length;
    const rules = [...new Set(detailed.map((v) => v.rule))].sort();
    const keys: Record<SealKey, Buffer> = { data: newDataKey(), owners: newDataKey() };
    const files: SealedEntry[] = [];
    const listed: { subject: string; kind: SealedKind; name: string; size: number; sealedBytes: number; sha256: string }[] = [];
    const seal = async (blob: { subject: string; kind: SealedKind; key: SealKey; files: readonly PackedFile[] }): Promise<void> => {
      const described: SealedFile[] = [];
      for (const file of blob.files) {
        const plain = await digestOf(file);
        described.push({ name: file.name, size: plain.size, sha256: plain.sha256 });
        listed.push({ subject: blob.subject, kind: blob.kind, name: file.name, size: file.size, sealedBytes: plain.size, sha256: plain.sha256 });
      }
      const path = `${SEALED_FILES.blobs}/${files.length}`;
      const target = join(sealedDir, path);
      const sealed = await sealFile(
        blob.files,
        target,
        keys[blob.key],
        sealContext(pod.hash, options.run, blob.subject),
        { version: 2, kind: blob.kind, files: described },
        paddedSize,
      );
      files.push({
        name: blob.subject,
        kind: blob.kind,
        key: blob.key,
        blob: path,
        size: sealed.size,
        ciphertextSha256: sealed.sha256,
        cid: await cidOfFile(target),
      });
    };
    if (keyed.length > 0 && keyedOwners.length > 0) {
      for (const blob of plan(contract, policy, ok)) await seal(blob);
      const computing = readComputing(options.status);
      const report = reportBytes({
        policy: { ok, rules, usedBytes: policy.usedBytes, maxBytes: policy.maxBytes, violations: detailed },
        status: {
          ...algorithmStatus(contract, computing ?? undefined),
          exitCode: computing?.exitCode ?? null,
          signal: computing?.signal ?? null,
          oomKilled: computing?.oomKilled ?? false,
          deadlineExceeded: computing?.deadlineExceeded ?? false,
        },
        computing,
        files: [...listed],
      });
      await seal({
        subject: "logs/datomspace-out",
        kind: "report",
        key: "owners",
        files: [{ name: "datomspace-out.json", path: report, size: report.length }],
      });
    }
    const wrap = (addresses: readonly string[], key: Buffer): Record<string, string> =>
      Object.fromEntries(addresses.map((address) => [address, wrapKey(key, publicKeyOf(contract, address)!)]));
    const wrappedKeys = wrap(keyed, keys.data);
    const ownerKeys = wrap(keyedOwners, keys.owners);
    keys.data.fill(0);
    keys.owners.fill(0);
    manifest = { ...base, files, policy: { ok, rules }, sealedFor: keyed, wrappedKeys, ownerKeys, error: null };
  } catch (error) {
    // Fail closed: nothing sealed, the reason recorded for the receipt.
    for (const name of readdirSync(blobsDir)) rmSync(join(blobsDir, name), { force: true });
    manifest = { ...base, files: [], policy: { ok: false, rules: ["sealing"] }, sealedFor: [], wrappedKeys: {}, ownerKeys: {}, error: publicError(error) };
  }
  writeFileAtomic(manifestPath, toJsonText(manifest));
  return manifest;
}
