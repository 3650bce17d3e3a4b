/**
 * A run's receipt as committed (`contracts/<id>/receipts/<run>.json`), read the way the lifecycle
 * reads it, so the hash a release or an acknowledgement signs is the hash the lifecycle checks.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError, VerdictError } from "../errors.js";
import type { LoadedContract } from "../contract/load.js";
import type { Wallet } from "ethers";
import { receiptMessage, receiptSignatureFile } from "../lifecycle/facts.js";
import { display, readJsonFile, toJsonText, writeFileAtomic } from "../repo/files.js";
import { signRecord } from "../signatures/records.js";
import { assertRunId, recordDir } from "../repo/layout.js";
import type { RecordMessage } from "../signatures/typed-data.js";
import { asReceipt, receiptText, type Receipt } from "../pod/roles/receipt.js";

/** The lifecycle reads records, receipts included, up to this size. */
export const MAX_RECEIPT_BYTES = 64 * 1024;

export interface RunReceipt {
  readonly runId: string;
  readonly path: string;
  readonly file: string;
  /** The document exactly as parsed (what its hash is computed over). */
  readonly value: unknown;
  readonly receipt: Receipt;
  /** The message a release or an acknowledgement of this receipt signs. */
  readonly message: RecordMessage;
}

export function readRunReceipt(repo: string, loaded: LoadedContract, runId: string): RunReceipt {
  assertRunId(runId);
  const path = join(recordDir(repo, loaded.id, "receipts"), `${runId}.json`);
  const file = display(repo, path);
  if (!existsSync(path))
    throw InputError.of({ file, path: "$", message: `run ${runId} of ${loaded.id} has no receipt`, fix: "run it first (datomspod run), or check the run id" });
  const value = readJsonFile(path, file, MAX_RECEIPT_BYTES);
  const receipt = asReceipt(value, file);
  assertReceiptOf(receipt, loaded, runId, file);
  return { runId, path, file, value, receipt, message: receiptMessage(loaded, runId, value) };
}

/** Refuses a receipt that names another contract, contract version or run than the one it is filed (or signed) for. */
export function assertReceiptOf(receipt: Receipt, loaded: LoadedContract, runId: string, file: string): void {
  const predicate = receipt.predicate;
  if (predicate.contract.id !== loaded.id || predicate.run.id !== runId) {
    throw new VerdictError(`${file}: is the receipt of ${predicate.contract.id} ${predicate.run.id}, not of ${loaded.id} ${runId}`, [
      {
        file,
        path: "$.predicate",
        message: `names contract ${predicate.contract.id} run ${predicate.run.id}`,
        fix: "put each receipt in its own contract's receipts/<run>.json",
      },
    ]);
  }
  if (predicate.contract.hash !== loaded.hash) {
    throw new VerdictError(`${file}: the run used another version of the contract`, [
      {
        file,
        path: "$.predicate.contract.hash",
        message: `is ${predicate.contract.hash}, the contract's hash is ${loaded.hash}`,
        fix: "the contract changed after the run; restore the version that ran",
      },
    ]);
  }
}

/**
 * Writes a run's receipt into the repository (`contracts/<id>/receipts/<run>.json`), byte-stable,
 * and the runner's EIP-712 signature of exactly it (`receipt-signatures/<run>.json`): a receipt
 * counts only when one of the contract's runners signed it. An existing receipt is never
 * replaced. For the runner (and the cluster's operator), after `completeReceipt`.
 */
export async function writeRunReceipt(repo: string, loaded: LoadedContract, runId: string, receipt: Receipt, runner: Wallet): Promise<string> {
  assertRunId(runId);
  const contractId = loaded.id;
  const path = join(recordDir(repo, contractId, "receipts"), `${runId}.json`);
  const file = display(repo, path);
  const text = receiptText(receipt);
  if (Buffer.byteLength(text) > MAX_RECEIPT_BYTES)
    throw InputError.of({
      file,
      path: "$",
      message: `would be ${Buffer.byteLength(text)} bytes, more than the ${MAX_RECEIPT_BYTES} a record may have`,
      fix: "report this: receipts list at most 100 outputs",
    });
  if (existsSync(path)) throw InputError.of({ file, path: "$", message: "already exists; a receipt is never replaced", fix: "request a new run" });
  // A receipt sealed by another run (a volume that held an earlier run's folder) is never signed as this run's.
  assertReceiptOf(receipt, loaded, runId, file);
  const signature = await signRecord(runner, "receipt", contractId, loaded.contract.chainId, receiptMessage(loaded, runId, JSON.parse(text) as unknown));
  // The signature first: a receipt without its signature never counts, a signature without its receipt is inert.
  writeFileAtomic(receiptSignatureFile(loaded.dir, runId), toJsonText(signature));
  writeFileAtomic(path, text);
  return path;
}
