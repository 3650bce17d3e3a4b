/**
 * Gathers the lifecycle facts of a contract from its folder: verified signatures and approvals, run
 * requests, receipts, acknowledgements, revocation and deletion records. Files that do not verify
 * count as absent and are reported.
 */

import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { InputError, type Issue } from "../errors.js";
import { checkAlgorithmCode, type LoadedContract } from "../contract/load.js";
import { canonicalHash } from "../contract/canonical.js";
import { findParty, parseTimestamp } from "../contract/rules.js";
import { display, readJsonFile } from "../repo/files.js";
import { RUN_ID_MAX, RUN_ID_PATTERN, listRecordFiles } from "../repo/layout.js";
import { verifyRecord, type SignedRecord } from "../signatures/records.js";
import { toBytes32, type RecordMessage } from "../signatures/typed-data.js";
import { verifyAgreements, verifyApprovals, type PendingReview, type Verification } from "../signatures/verify.js";
import { prepareContract, type Prepared } from "../compile/prepare.js";
import type { ClusterProfile } from "../compile/profile.js";
import { runParameters } from "../contract/parameters.js";
import { checkParameters } from "../market/package.js";
import type { SettlementInput } from "../settle/price.js";
import { verifySettlement, type SettlementVerdict } from "../settle/verify.js";
import { lifecycleState, type LifecycleFacts, type LifecycleState, type RunFacts } from "./state.js";

export function runMessage(loaded: LoadedContract, runId: string, parameters: Record<string, unknown>): RecordMessage {
  return { contractId: loaded.id, contractHash: toBytes32(loaded.hash), runId, parametersHash: toBytes32(canonicalHash(parameters)) };
}

export function receiptMessage(loaded: LoadedContract, runId: string, receipt: unknown): RecordMessage {
  return { contractId: loaded.id, runId, receiptHash: toBytes32(canonicalHash(receipt)) };
}

export interface RunRequest {
  readonly id: string;
  readonly signer: string;
  /** The parameters as requested (their hash is what the consumer signed). */
  readonly parameters: Record<string, unknown>;
  /** What the run gets: the approved parameters with the request's within the consumer parameter rules. */
  readonly effective: Record<string, unknown>;
}

export interface ContractFacts {
  readonly agreements: Verification;
  readonly approvals: Verification;
  /** What the instance is made of and what approvals cover; undefined when it cannot be resolved (see prepareIssues). */
  readonly prepared: Prepared | undefined;
  readonly prepareIssues: readonly Issue[];
  readonly runRequests: readonly RunRequest[];
  readonly facts: LifecycleFacts;
  readonly state: LifecycleState;
  /** Problems with records that therefore do not count (bad run requests, receipts, acks, revocation). */
  readonly issues: readonly Issue[];
  /** Run requests signed over an earlier version of the contract: they do not count, and the consumer may replace them. */
  readonly staleRequests: readonly string[];
  /** Runs with a receipt file, valid or not (a run whose receipt exists is never run again). */
  readonly receiptFiles: readonly string[];
  /** The receipts that count (signed by a runner, for a valid request), by run. */
  readonly receipts: ReadonlyMap<string, unknown>;
  /** What settlement prices: the receipts that count and those that do not. */
  readonly settlementInput: SettlementInput;
  /** Whether settlement.json is agreed by every party (and paid, with an escrow). */
  readonly settlement: SettlementVerdict;
}

export interface FactsOptions {
  /** Profiles already loaded (otherwise the contract's own is read). */
  readonly profiles?: ReadonlyMap<string, ClusterProfile>;
  /** Approving reviews of an open pull request, counted like committed review records (datomspod github pr-status). */
  readonly reviews?: readonly PendingReview[];
}

function readRecord(repo: string, path: string, issues: Issue[]): unknown {
  try {
    return readJsonFile(path, display(repo, path), 64 * 1024);
  } catch (error) {
    if (error instanceof InputError) {
      issues.push(...error.issues);
      return undefined;
    }
    throw error;
  }
}

/** Run ids of the `.json` files in a folder; badly named files are reported. */
function runIds(repo: string, dir: string, issues: Issue[]): string[] {
  const { json, other } = listRecordFiles(dir);
  const ids: string[] = [];
  for (const name of [...json, ...other]) {
    const id = basename(name, ".json");
    if (!name.endsWith(".json") || id.length > RUN_ID_MAX || !RUN_ID_PATTERN.test(id)) {
      issues.push({
        file: display(repo, join(dir, name)),
        path: "$",
        message: "is not named <run id>.json",
        fix: "run ids are DNS-1123 labels of at most 20 characters",
      });
    } else ids.push(id);
  }
  return ids;
}

export function gatherFacts(repo: string, loaded: LoadedContract, now: number, options: FactsOptions = {}): ContractFacts {
  const { contract } = loaded;
  const issues: Issue[] = [];
  const agreements = verifyAgreements(repo, loaded);
  const { prepared, issues: prepareIssues } = prepareContract(repo, loaded, options.profiles);
  const approvals = verifyApprovals(repo, loaded, prepared?.subject, prepareIssues, {
    agreements,
    reviews: options.reviews ?? [],
    ...(prepared?.package === undefined ? {} : { market: { package: prepared.package, now } }),
  });
  // Approvals cover the code sha256 in the contract; committed code that differs was not approved.
  const codeIssues = checkAlgorithmCode(repo, loaded);
  issues.push(...codeIssues);

  const runRequests: RunRequest[] = [];
  const staleRequests: string[] = [];
  const runsDir = join(loaded.dir, "runs");
  for (const id of runIds(repo, runsDir, issues)) {
    const path = join(runsDir, `${id}.json`);
    const value = readRecord(repo, path, issues) as SignedRecord | undefined;
    if (value === undefined) continue;
    const file = display(repo, path);
    const parameters = value.parameters ?? {};
    const found = verifyRecord(value, { kind: "run", contractId: loaded.id, chainId: contract.chainId, message: runMessage(loaded, id, parameters) }, file);
    if (findParty(contract, value.signer)?.role !== "consumer")
      found.push({ file, path: "$.signer", message: "run requests are signed by the consumer", fix: "sign with the consumer's key" });
    const checked = runParameters(contract, parameters);
    for (const problem of checked.problems) found.push({ file, path: problem.path, message: problem.message, fix: problem.fix });
    // An algorithm package says what parameters it takes: the run gets only what its schema allows.
    if (prepared?.package !== undefined && checked.parameters !== undefined)
      found.push(...checkParameters(prepared.package, checked.parameters, { file, path: "$.parameters" }));
    if (found.length === 1 && found[0].path === "$.message.contractHash") {
      staleRequests.push(id);
      issues.push({
        file,
        path: "$.message.contractHash",
        message: `run ${id} was requested for an earlier version of the contract, so it does not count`,
        fix: `the consumer requests it again: datomspod request ${loaded.id} ${id} --key FILE (replaces this file)`,
      });
    } else if (found.length > 0) issues.push(...found);
    else runRequests.push({ id, signer: value.signer, parameters, effective: checked.parameters! });
  }

  const receiptsDir = join(loaded.dir, "receipts");
  const receipts = new Map<string, unknown>();
  const receiptFiles: string[] = [];
  /** Problems of receipt files that therefore do not count (settlement refuses while there are any). */
  const notCounted: Issue[] = [];
  for (const id of runIds(repo, receiptsDir, issues)) {
    const path = join(receiptsDir, `${id}.json`);
    receiptFiles.push(id);
    const unreadable: Issue[] = [];
    const value = readRecord(repo, path, unreadable);
    issues.push(...unreadable);
    notCounted.push(...unreadable);
    if (value === undefined) continue;
    const file = display(repo, path);
    if (!runRequests.some((request) => request.id === id)) {
      const issue = {
        file,
        path: "$",
        message: `is a receipt for run ${id}, which has no valid run request`,
        fix: "a run happens only on the consumer's signed request: remove the receipt or restore the request",
      };
      issues.push(issue);
      notCounted.push(issue);
      continue;
    }
    const signed = verifyReceiptSignature(repo, loaded, id, value);
    if (signed.length > 0) {
      issues.push(...signed);
      notCounted.push(...signed.map((issue) => ({ ...issue, file })));
      continue;
    }
    receipts.set(id, value);
  }

  const acked = new Set<string>();
  const acksDir = join(loaded.dir, "acks");
  for (const id of runIds(repo, acksDir, issues)) {
    const path = join(acksDir, `${id}.json`);
    const file = display(repo, path);
    const value = readRecord(repo, path, issues) as SignedRecord | undefined;
    if (value === undefined) continue;
    const receipt = receipts.get(id);
    if (receipt === undefined) {
      issues.push({ file, path: "$", message: `acknowledges run ${id}, which has no receipt`, fix: "remove it" });
      continue;
    }
    const found = verifyRecord(value, { kind: "ack", contractId: loaded.id, chainId: contract.chainId, message: receiptMessage(loaded, id, receipt) }, file);
    if (!contract.outputs.recipients.some((r) => r.toLowerCase() === String(value.signer).toLowerCase())) {
      found.push({ file, path: "$.signer", message: "is not an output recipient", fix: "a recipient of the outputs acknowledges delivery" });
    }
    if (found.length > 0) issues.push(...found);
    else acked.add(id);
  }

  let revoked = false;
  const revocationPath = join(loaded.dir, "revocation.json");
  if (existsSync(revocationPath)) {
    const value = readRecord(repo, revocationPath, issues) as SignedRecord | undefined;
    if (value !== undefined) {
      const file = display(repo, revocationPath);
      const message = { contractId: loaded.id, contractHash: toBytes32(loaded.hash), reason: String(value.message?.["reason"] ?? "") };
      const found = verifyRecord(value, { kind: "revocation", contractId: loaded.id, chainId: contract.chainId, message }, file);
      if (findParty(contract, String(value.signer)) === undefined)
        found.push({ file, path: "$.signer", message: "is not a party", fix: "only a party revokes" });
      if (found.length > 0) issues.push(...found);
      else revoked = true;
    }
  }

  const ids = [...new Set([...runRequests.map((r) => r.id), ...receipts.keys()])].sort();
  const runs: RunFacts[] = ids.map((id) => ({ id, requested: runRequests.some((r) => r.id === id), receipt: receipts.has(id), acknowledged: acked.has(id) }));
  const settlementInput: SettlementInput = {
    contract,
    contractHash: loaded.hash,
    contractFile: loaded.file,
    requested: runRequests.map((request) => request.id),
    receipts,
    notCounted,
    acknowledged: acked,
    receiptFile: (run) => display(repo, join(receiptsDir, `${run}.json`)),
  };
  const settlement = verifySettlement(repo, loaded, settlementInput);
  if (settlement.present) issues.push(...settlement.issues);
  const facts: LifecycleFacts = {
    signed: agreements.ok,
    approved: approvals.ok && codeIssues.length === 0,
    revoked,
    settled: agreements.ok && settlement.settled,
    deletionRecorded: deletionRecorded(repo, loaded, issues),
    notBefore: parseTimestamp(contract.business.validity.notBefore) ?? Number.POSITIVE_INFINITY,
    notAfter: parseTimestamp(contract.business.validity.notAfter) ?? Number.NEGATIVE_INFINITY,
    now,
    runs,
  };
  return {
    agreements,
    approvals,
    prepared,
    prepareIssues,
    runRequests,
    facts,
    state: lifecycleState(facts),
    issues,
    staleRequests,
    receiptFiles,
    receipts,
    settlementInput,
    settlement,
  };
}

/**
 * Whether the contract's deletion is recorded: contracts/<id>/deletion.json is a deletion record
 * (what `datomspod operator` writes) of this contract version, signed by one of its runners. One
 * that is not counts for nothing, and says why.
 */
function deletionRecorded(repo: string, loaded: LoadedContract, issues: Issue[]): boolean {
  const path = join(loaded.dir, "deletion.json");
  if (!existsSync(path)) return false;
  const file = display(repo, path);
  const found: Issue[] = [];
  const value = readRecord(repo, path, found) as SignedRecord | undefined;
  if (value !== undefined) {
    // The namespace, its uid and the times are the cluster's facts, not rebuildable here: the signature covers them as written.
    const written = typeof value.message === "object" && value.message !== null ? value.message : {};
    const message: RecordMessage = { ...written, contractId: loaded.id, contractHash: toBytes32(loaded.hash) };
    found.push(...verifyRecord(value, { kind: "deletion", contractId: loaded.id, chainId: loaded.contract.chainId, message }, file));
    if (!loaded.contract.evidence.runners.some((runner) => runner.toLowerCase() === String(value.signer).toLowerCase()))
      found.push({
        file,
        path: "$.signer",
        message: `${String(value.signer)} is not one of the contract's runners (evidence.runners)`,
        fix: "only the cluster's operator (a runner the parties named) records a deletion",
      });
  }
  issues.push(...found);
  return found.length === 0;
}

/** Where the runner's signature of a run's receipt is kept. */
export function receiptSignatureFile(dir: string, runId: string): string {
  return join(dir, "receipt-signatures", `${runId}.json`);
}

/**
 * A receipt counts only when one of the contract's runners (evidence.runners) signed exactly it:
 * the runner or the cluster operator vouches for what the pod reported, and anyone can check it.
 */
export function verifyReceiptSignature(repo: string, loaded: LoadedContract, runId: string, receipt: unknown): Issue[] {
  const path = receiptSignatureFile(loaded.dir, runId);
  const file = display(repo, path);
  if (!existsSync(path)) {
    return [
      {
        file,
        path: "$",
        message: `the receipt of run ${runId} is signed by no runner, so it does not count`,
        fix: "the runner writes it with the receipt (datomspod run --key FILE); restore it from git",
      },
    ];
  }
  const issues: Issue[] = [];
  const value = readRecord(repo, path, issues) as SignedRecord | undefined;
  if (value === undefined) return issues;
  const found = verifyRecord(
    value,
    { kind: "receipt", contractId: loaded.id, chainId: loaded.contract.chainId, message: receiptMessage(loaded, runId, receipt) },
    file,
  );
  if (!loaded.contract.evidence.runners.some((runner) => runner.toLowerCase() === String(value.signer).toLowerCase()))
    found.push({
      file,
      path: "$.signer",
      message: `${String(value.signer)} is not one of the contract's runners (evidence.runners)`,
      fix: "only a runner the parties named signs receipts",
    });
  return found;
}
