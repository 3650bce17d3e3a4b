/**
 * `datomspod settle ID [--key FILE]`: prices the contract's verified receipts with its business
 * terms into contracts/ID/settlement.json (deterministic bytes) and, with a key, adds that party's
 * EIP-712 signature of it. A settlement that differs from what is written is written only while
 * nobody has signed the old one; otherwise the parties have to withdraw their signatures first.
 */

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { getAddress, type Wallet } from "ethers";
import { loadContract, type LoadedContract } from "../contract/load.js";
import { findParty } from "../contract/rules.js";
import { InputError, VerdictError, type Issue } from "../errors.js";
import { gatherFacts } from "../lifecycle/facts.js";
import type { LifecycleState } from "../lifecycle/state.js";
import { display, readJsonFile, toJsonText, writeFileAtomic } from "../repo/files.js";
import type { Verification } from "../signatures/verify.js";
import { priceSettlement, settlementHash, settlementText, type Settlement } from "./price.js";
import { SETTLEMENT_SIGNATURES_FOLDER, settlementSignatureFile, signSettlement, verifySettlementSignatures } from "./signatures.js";
import { settlementMessage, settlementTypedDataJson, type SettlementMessage } from "./typed-data.js";
import { settlementPath } from "./verify.js";

export interface SettleResult {
  readonly contractId: string;
  readonly settlement: Settlement;
  readonly hash: string;
  readonly message: SettlementMessage;
  readonly file: string;
  readonly action: "written" | "rewritten" | "unchanged";
  /** The party that signed now, with --key. */
  readonly signed: string | undefined;
  readonly signatures: Verification;
  readonly state: LifecycleState;
}

/** The contract's settlement as its receipts price it now, or the problems that keep it from being made. */
export function currentSettlement(repo: string, loaded: LoadedContract, now: Date): { settlement: Settlement; hash: string; message: SettlementMessage } {
  const facts = gatherFacts(repo, loaded, now.getTime());
  if (facts.state === "proposed" || facts.state === "signed") {
    throw new VerdictError(`contract ${loaded.id} is ${facts.state}: nothing ran under it that could be settled`, [
      { file: loaded.file, path: "$", message: `is ${facts.state}, not signed and approved`, fix: `see datomspod contract status ${loaded.id}` },
    ]);
  }
  const priced = priceSettlement(facts.settlementInput);
  if (priced.problems !== undefined)
    throw new VerdictError(
      `contract ${loaded.id} cannot be settled: ${priced.problems.length} problem${priced.problems.length === 1 ? "" : "s"}`,
      priced.problems,
    );
  const hash = settlementHash(priced.settlement);
  return { settlement: priced.settlement, hash, message: settlementMessage(priced.settlement, hash) };
}

function signatureFiles(loaded: LoadedContract): string[] {
  const dir = join(loaded.dir, SETTLEMENT_SIGNATURES_FOLDER);
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith(".json")) : [];
}

export async function settleContract(repo: string, id: string, now: Date, wallet?: Wallet): Promise<SettleResult> {
  const loaded = loadContract(repo, id);
  const { settlement, hash, message } = currentSettlement(repo, loaded, now);
  const path = settlementPath(loaded);
  const file = display(repo, path);
  let action: SettleResult["action"] = "written";
  if (existsSync(path)) {
    const written = readJsonFile(path, file);
    if (settlementHash(written) === hash) action = "unchanged";
    else {
      const signed = signatureFiles(loaded);
      if (signed.length > 0) {
        const issue: Issue = {
          file,
          path: "$",
          message: `differs from what the receipts price now, and ${signed.length} part${signed.length === 1 ? "y has" : "ies have"} signed it (${signed.join(", ")})`,
          fix: `the parties agree to replace it: remove contracts/${id}/settlement.json and contracts/${id}/${SETTLEMENT_SIGNATURES_FOLDER}/ together (a git commit), then settle again`,
        };
        throw new VerdictError(`${file} ${issue.message}`, [issue]);
      }
      action = "rewritten";
    }
  }
  if (action !== "unchanged") writeFileAtomic(path, settlementText(settlement));

  let signer: string | undefined;
  if (wallet !== undefined) {
    signer = getAddress(wallet.address);
    if (findParty(loaded.contract, signer) === undefined)
      throw InputError.of({ file: "--key", path: "$", message: `${signer} is not a party of ${id}`, fix: "sign with a party's key" });
    writeFileAtomic(settlementSignatureFile(loaded, signer), toJsonText(await signSettlement(wallet, loaded, message)));
  }
  const signatures = verifySettlementSignatures(repo, loaded, message);
  const state = gatherFacts(repo, loadContract(repo, id), now.getTime()).state;
  return { contractId: id, settlement, hash, message, file, action, signed: signer, signatures, state };
}

/** The eth_signTypedData_v4 document of the contract's settlement as priced now. */
export function settlementTypedData(repo: string, id: string, now: Date): object {
  const loaded = loadContract(repo, id);
  return settlementTypedDataJson(loaded.contract, currentSettlement(repo, loaded, now).message);
}
