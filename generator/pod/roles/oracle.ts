/**
 * The oracle role: reads what datomspace-in, the supervisor and datomspace-out left and writes the
 * receipt to the sealed volume. It decides nothing itself (receipt.ts does, purely); anything it
 * cannot read counts as absent, which the receipt reports as a failure, never as success.
 */

import { join } from "node:path";
import { writeFileAtomic } from "../../repo/files.js";
import { assertRunId } from "../../repo/layout.js";
import { asManifest, type SealedManifest } from "../../seal/manifest.js";
import { parseComputingStatus, type ComputingStatus } from "./computing.js";
import type { Verdict } from "./datomspace-in.js";
import { SEALED_FILES, STATUS_FILES, VERIFIED_FILES, isRegularFile, readPodContract, readRoleJson } from "./files.js";
import { buildReceipt, receiptText, type Receipt, type ReceiptFacts } from "./receipt.js";

export interface OracleOptions {
  readonly contract: string;
  readonly run: string;
  /** The status volume; undefined when it is gone (a cluster's operator reads only the sealed claim). */
  readonly status: string | undefined;
  /** Where datomspace-in wrote its verdict and gate; default: the status folder. */
  readonly verified?: string;
  readonly sealed: string;
}

function tryRead<T>(read: () => T | undefined): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function readVerdict(path: string): Verdict | undefined {
  const value = readRoleJson(path) as Record<string, unknown> | undefined;
  if (
    value === undefined ||
    value["version"] !== 1 ||
    typeof value["ok"] !== "boolean" ||
    !Array.isArray(value["checked"]) ||
    !Array.isArray(value["failures"])
  )
    return undefined;
  return value as unknown as Verdict;
}

/** What the roles left in their volumes, as the receipt's facts; anything unreadable counts as absent. */
export function readOracleFacts(options: OracleOptions): ReceiptFacts {
  assertRunId(options.run, "--run");
  const pod = readPodContract(options.contract);
  const verifiedDir = options.verified ?? options.status;
  const verdict = verifiedDir === undefined ? undefined : tryRead(() => readVerdict(join(verifiedDir, VERIFIED_FILES.verdict)));
  // A verdict about another contract is no verdict about this one.
  const ownVerdict = verdict !== undefined && verdict.contract?.hash === pod.hash ? verdict : verdict?.ok === false ? verdict : undefined;
  const statusDir = options.status;
  const computingValue = statusDir === undefined ? undefined : tryRead(() => readRoleJson(join(statusDir, STATUS_FILES.computing), 64 * 1024));
  const computing: ComputingStatus | undefined = computingValue === undefined ? undefined : parseComputingStatus(computingValue);
  const manifestPath = join(options.sealed, SEALED_FILES.manifest);
  let manifest: SealedManifest | undefined = tryRead(() => {
    const value = readRoleJson(manifestPath, 4 * 1024 * 1024);
    return value === undefined ? undefined : asManifest(value, manifestPath);
  });
  if (manifest !== undefined && (manifest.contractHash !== pod.hash || manifest.runId !== options.run)) manifest = undefined;

  return {
    contract: pod.contract,
    contractHash: pod.hash,
    runId: options.run,
    verdict: ownVerdict,
    gate: verifiedDir !== undefined && isRegularFile(join(verifiedDir, VERIFIED_FILES.gate)),
    computing,
    manifest,
  };
}

export function runOracle(options: OracleOptions): Receipt {
  const receipt = buildReceipt(readOracleFacts(options));
  writeFileAtomic(join(options.sealed, SEALED_FILES.receipt), receiptText(receipt));
  return receipt;
}
