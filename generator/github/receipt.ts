/**
 * `datomspod github receive-receipt`: a cluster's operator sends a finished run's receipt as a
 * `repository_dispatch` (event type `datomspod-receipt`) with the client payload
 *
 *   { "contract": "<id>", "run": "<run id>", "receipt": { …in-toto statement… }, "signature": { …RunReceipt record… } }
 *
 * and the workflow commits it. Nothing is written unless it would count: the run was requested
 * (a valid, signed run request), has no receipt yet, the receipt names this contract, run and
 * contract version, and one of the contract's runners (evidence.runners) signed exactly it.
 * The dispatch needs a token with write access to the repository; the runner's signature is what
 * makes the receipt count, so a forged dispatch writes nothing.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError, VerdictError, type Issue } from "../errors.js";
import { loadContract } from "../contract/load.js";
import { gatherFacts, receiptMessage, receiptSignatureFile } from "../lifecycle/facts.js";
import { display, toJsonText, writeFileAtomic } from "../repo/files.js";
import { assertContractId, assertRunId, recordDir } from "../repo/layout.js";
import { verifyRecord } from "../signatures/records.js";
import { asReceipt, receiptText } from "../pod/roles/receipt.js";
import { MAX_RECEIPT_BYTES } from "../delivery/receipts.js";

export const RECEIPT_EVENT_TYPE = "datomspod-receipt";

export interface ReceivedReceipt {
  readonly contract: string;
  readonly run: string;
  readonly files: readonly string[];
}

export function receiveReceipt(repo: string, payload: unknown, now: Date, source = "client_payload"): ReceivedReceipt {
  const bad = (path: string, message: string, fix: string): never => {
    throw InputError.of({ file: source, path, message, fix });
  };
  if (payload === null || typeof payload !== "object" || Array.isArray(payload))
    return bad("$", "is not an object", "send {contract, run, receipt, signature}");
  const { contract: id, run, receipt, signature, ...rest } = payload as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) bad(`$.${extra[0]}`, "is not a field of a receipt dispatch", "send only contract, run, receipt and signature");
  if (typeof id !== "string") return bad("$.contract", "is not a contract id", "name the contract");
  if (typeof run !== "string") return bad("$.run", "is not a run id", "name the run");
  assertContractId(id, `${source} $.contract`);
  assertRunId(run, `${source} $.run`);
  const receiptSize = Buffer.byteLength(JSON.stringify(receipt ?? null));
  if (receiptSize > MAX_RECEIPT_BYTES) bad("$.receipt", `is ${receiptSize} bytes, more than ${MAX_RECEIPT_BYTES}`, "send the receipt the pod wrote");

  const loaded = loadContract(repo, id);
  const path = join(recordDir(repo, id, "receipts"), `${run}.json`);
  const file = display(repo, path);
  if (existsSync(path)) bad("$.run", `${file} already exists; a receipt is never replaced`, "a run has one receipt");
  const parsed = asReceipt(receipt, `${source} $.receipt`);
  const predicate = parsed.predicate;
  if (predicate.contract.id !== id || predicate.run.id !== run || predicate.contract.hash !== loaded.hash)
    bad(
      "$.receipt.predicate",
      `is the receipt of ${predicate.contract.id} ${predicate.run.id} (contract hash ${predicate.contract.hash})`,
      `send the receipt of ${id} ${run} under the current contract`,
    );
  const facts = gatherFacts(repo, loaded, now.getTime());
  if (!facts.runRequests.some((request) => request.id === run))
    bad("$.run", `run ${run} of ${id} has no valid run request`, "a run happens only on the consumer's signed request");
  const text = receiptText(parsed);
  const problems: Issue[] = verifyRecord(
    signature,
    { kind: "receipt", contractId: id, chainId: loaded.contract.chainId, message: receiptMessage(loaded, run, JSON.parse(text) as unknown) },
    `${source} $.signature`,
  );
  const signer = (signature as { signer?: unknown } | null)?.signer;
  if (!loaded.contract.evidence.runners.some((runner) => typeof signer === "string" && runner.toLowerCase() === signer.toLowerCase()))
    problems.push({
      file: `${source} $.signature`,
      path: "$.signer",
      message: `${String(signer)} is not one of the contract's runners (evidence.runners)`,
      fix: "only a runner the parties named signs receipts",
    });
  if (problems.length > 0) throw new VerdictError(`the receipt of ${id} ${run} is not signed by one of its runners: nothing written`, problems);

  const signatureFile = receiptSignatureFile(loaded.dir, run);
  // The signature first: a receipt without its signature never counts, a signature without its receipt is inert.
  writeFileAtomic(signatureFile, toJsonText(signature));
  writeFileAtomic(path, text);
  return { contract: id, run, files: [display(repo, signatureFile), file] };
}
