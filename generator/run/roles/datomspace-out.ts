/**
 * The datomspace-out role: applies the contract's output policy to what the algorithm left, then
 * seals. Outputs and logs are encrypted with a fresh data key, which is wrapped for the recipients
 * (or, with owner review, for the data owners only, who release later). On a policy violation no
 * output is sealed; the logs and the detailed report are sealed for the data owners only, since a
 * violating run's log may hold exactly what was kept back. Nothing in clear on the sealed volume
 * comes from the algorithm: subjects are numbered, names and plaintext digests are inside the
 * ciphertext. CIDs are computed here (no network in the pod); the runner publishes the blobs.
 */

import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { getAddress } from "ethers";
import { toJsonText, writeFileAtomic } from "../../repo/files.js";
import { assertRunId } from "../../repo/layout.js";
import type { Contract } from "../../contract/types.generated.js";
import { cidOf } from "../../publish/unixfs.js";
import { SEAL_FORMAT, newDataKey, sealContext, sealFile, wrapKey, type SealedKind } from "../seal/crypto.js";
import type { SealedEntry, SealedManifest } from "../seal/manifest.js";
import { applyOutputPolicy, type Candidate, type PolicyResult } from "../seal/policy.js";
import { RowIndex } from "../seal/rows.js";
import { SEALED_FILES, VERIFIED_FILES, isRegularFile, readPodContract, type PodContract } from "./files.js";

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

function publicKeyOf(contract: Contract, address: string): string | undefined {
  return contract.parties.find((party) => party.address.toLowerCase() === address.toLowerCase())?.publicKey;
}

async function cidOfFile(path: string): Promise<string> {
  return cidOf(createReadStream(path, { highWaterMark: 1 << 18 }) as AsyncIterable<Uint8Array>);
}

async function digestOf(path: string | Uint8Array): Promise<{ sha256: string; size: number }> {
  if (typeof path !== "string") return { sha256: createHash("sha256").update(path).digest("hex"), size: path.length };
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
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

interface ToSeal {
  readonly subject: string;
  readonly kind: SealedKind;
  readonly name: string;
  /** A file, or the bytes themselves (the report, never written in clear). */
  readonly path: string | Uint8Array;
}

/** The files that are sealed, in subject order: outputs (only when the policy holds), logs, the report. */
function plan(policy: PolicyResult): ToSeal[] {
  const files: ToSeal[] = [];
  if (policy.ok) policy.outputs.forEach((file: Candidate, i) => files.push({ subject: `outputs/${i}`, kind: "output", name: file.name, path: file.path }));
  policy.logs.forEach((file: Candidate, i) => files.push({ subject: `logs/${i}`, kind: "log", name: file.name, path: file.path }));
  return files;
}

/**
 * What may be said in clear about an error: its code or class, never its message, which can quote
 * file names the algorithm chose.
 */
export function publicError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code)) return `sealing failed: ${code}`;
  return `sealing failed: ${error instanceof Error ? error.name : "error"}`;
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
    version: 1 as const,
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
    const audience = sealAudience(contract, policy.ok);
    const keyed = audience.filter((address) => publicKeyOf(contract, address) !== undefined);
    const violations = [...policy.violations];
    if (keyed.length < audience.length) {
      violations.push({
        rule: "sealing",
        file: null,
        message: `${audience.length - keyed.length} of the parties the outputs are sealed for have no publicKey in the contract; nothing is sealed for them`,
      });
    }
    const ok = policy.ok && keyed.length === audience.length;
    const dataKey = newDataKey();
    const files: SealedEntry[] = [];
    const report: { subject: string; kind: SealedKind; name: string; size: number; sha256: string }[] = [];
    const seal = async (item: ToSeal): Promise<void> => {
      const plain = await digestOf(item.path);
      const blob = `${SEALED_FILES.blobs}/${files.length}`;
      const target = join(sealedDir, blob);
      const sealed = await sealFile(item.path, target, dataKey, sealContext(pod.hash, options.run, item.subject), {
        version: 1,
        kind: item.kind,
        name: item.name,
        size: plain.size,
        sha256: plain.sha256,
      });
      files.push({ name: item.subject, kind: item.kind, blob, size: sealed.size, ciphertextSha256: sealed.sha256, cid: await cidOfFile(target) });
      report.push({ subject: item.subject, kind: item.kind, name: item.name, size: plain.size, sha256: plain.sha256 });
    };
    if (keyed.length > 0) {
      for (const item of plan(ok ? policy : { ...policy, ok: false })) await seal(item);
      // The detailed report: real names, the violations with them, what each subject holds.
      const reportBytes = Buffer.from(toJsonText({ policy: { ok, violations: policy.detailed }, files: report }), "utf8");
      await seal({ subject: "logs/datomspace-out", kind: "report", name: "datomspace-out.json", path: reportBytes });
    }
    const wrappedKeys: Record<string, string> = {};
    for (const address of keyed) wrappedKeys[address] = wrapKey(dataKey, publicKeyOf(contract, address)!);
    dataKey.fill(0);
    manifest = { ...base, files, policy: { ok, outputBytes: policy.outputBytes, violations }, sealedFor: keyed, wrappedKeys, error: null };
  } catch (error) {
    // Fail closed: nothing sealed, the reason recorded for the receipt.
    for (const name of readdirSync(blobsDir)) rmSync(join(blobsDir, name), { force: true });
    manifest = {
      ...base,
      files: [],
      policy: { ok: false, outputBytes: 0, violations: [{ rule: "sealing", file: null, message: "sealing failed; nothing was sealed" }] },
      sealedFor: [],
      wrappedKeys: {},
      error: publicError(error),
    };
  }
  writeFileAtomic(manifestPath, toJsonText(manifest));
  return manifest;
}
