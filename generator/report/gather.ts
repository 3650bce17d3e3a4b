/**
 * The edge of the web view: gathers what the view model needs through the project's own functions —
 * runCheck, loadContract, gatherFacts, collectEvidence, readStoredEvidence, readRunReceipt,
 * auditContract, loadProfiles, git history — and nothing else. The chain is opened by the caller;
 * when it cannot be reached, the report says the anchors were not checked.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { auditContract, type ContractAudit } from "../audit/verify.js";
import type { Chain } from "../anchor/chain.js";
import { runCheck } from "../check/check.js";
import { loadContract, type LoadedContract } from "../contract/load.js";
import { loadProfiles } from "../compile/profile.js";
import { readRunReceipt } from "../delivery/receipts.js";
import { DatomspodError, InputError, type Issue } from "../errors.js";
import { collectEvidence } from "../evidence/collect.js";
import { readStoredEvidence } from "../evidence/store.js";
import { gatherFacts, receiptSignatureFile, type ContractFacts } from "../lifecycle/facts.js";
import { display, readJsonFile } from "../repo/files.js";
import { recordDir } from "../repo/layout.js";
import { readHistory } from "./history.js";
import type { ChainSource, ContractSource, ReceiptSignature, ReceiptSource, ReportInput } from "./view.js";

/** The chain to audit against, or why there is none. */
export type ChainInput = { readonly chain: Chain; readonly label: string } | { readonly unavailable: string };

function loadOrUndefined(repo: string, id: string): LoadedContract | undefined {
  try {
    return loadContract(repo, id);
  } catch (error) {
    if (error instanceof InputError) return undefined;
    throw error;
  }
}

function receiptsOf(repo: string, loaded: LoadedContract, facts: ContractFacts): ReceiptSource[] {
  return facts.facts.runs
    .filter((run) => run.receipt)
    .map((run) => {
      const file = display(repo, join(recordDir(repo, loaded.id, "receipts"), `${run.id}.json`));
      try {
        const read = readRunReceipt(repo, loaded, run.id);
        const signature = runnerSignature(repo, loaded, run.id);
        return { runId: run.id, file: read.file, receipt: read.receipt, issues: [], ...(signature === undefined ? {} : { signature }) };
      } catch (error) {
        if (error instanceof DatomspodError) return { runId: run.id, file, issues: error.issues.length > 0 ? error.issues : [issueOf(file, error)] };
        throw error;
      }
    });
}

/**
 * The runner's signature of a run's receipt: gatherFacts counts a receipt only when one of the
 * contract's runners signed exactly it, so a receipt that counts has a valid signature; its signer is
 * the record's.
 */
function runnerSignature(repo: string, loaded: LoadedContract, runId: string): ReceiptSignature | undefined {
  const path = receiptSignatureFile(loaded.dir, runId);
  if (!existsSync(path)) return undefined;
  const file = display(repo, path);
  const value = readJsonFile(path, file, 64 * 1024) as { signer?: unknown };
  return typeof value.signer === "string" ? { signer: value.signer, valid: true, file } : undefined;
}

function issueOf(file: string, error: Error): Issue {
  return { file, path: "$", message: error.message };
}

/** Who acknowledged each run: gatherFacts verified the acknowledgement; its signer is the recipient. */
function acksOf(repo: string, loaded: LoadedContract, facts: ContractFacts): Map<string, string> {
  const acks = new Map<string, string>();
  for (const run of facts.facts.runs.filter((r) => r.acknowledged)) {
    const path = join(recordDir(repo, loaded.id, "acks"), `${run.id}.json`);
    if (!existsSync(path)) continue;
    const value = readJsonFile(path, display(repo, path), 64 * 1024) as { signer?: unknown };
    if (typeof value.signer === "string") acks.set(run.id, value.signer);
  }
  return acks;
}

/**
 * Everything the view needs for the named contracts (all by default) at time `now`. The audit runs
 * against `chain` when given; a chain that fails midway leaves every contract unchecked, with why.
 */
export async function gatherReport(repo: string, ids: readonly string[], now: Date, chainInput: ChainInput): Promise<ReportInput> {
  const report = runCheck(repo, ids, now);
  const profiles = loadProfiles(repo);
  const contracts: Omit<ContractSource, "audit">[] = report.contracts.map((check) => {
    const loaded = loadOrUndefined(repo, check.id);
    const facts = loaded === undefined ? undefined : gatherFacts(repo, loaded, now.getTime());
    const mode = loaded === undefined ? undefined : profiles.get(loaded.contract.cluster)?.mode;
    return {
      id: check.id,
      check,
      ...(loaded === undefined ? {} : { loaded }),
      ...(facts === undefined ? {} : { facts }),
      evidence: collectEvidence(repo, check.id),
      stored: readStoredEvidence(repo, check.id),
      receipts: loaded === undefined || facts === undefined ? [] : receiptsOf(repo, loaded, facts),
      acks: loaded === undefined || facts === undefined ? new Map<string, string>() : acksOf(repo, loaded, facts),
      ...(mode === undefined ? {} : { mode }),
    };
  });

  let chain: ChainSource;
  let audits: ContractAudit[] | undefined;
  if ("unavailable" in chainInput) chain = { checked: false, reason: chainInput.unavailable };
  else {
    try {
      audits = [];
      for (const c of contracts) audits.push(await auditContract(repo, c.id, chainInput.chain));
      chain = { checked: true, chainId: chainInput.chain.chainId, label: chainInput.label };
    } catch (error) {
      if (!(error instanceof DatomspodError)) throw error;
      audits = undefined;
      chain = { checked: false, reason: `the chain failed during the audit: ${error.message}` };
    }
  }
  const { git, history } = await readHistory(repo);
  return {
    contracts: contracts.map((c, i) => ({ ...c, ...(audits?.[i] === undefined ? {} : { audit: audits[i] }) })),
    chain,
    history,
    git,
  };
}
