/**
 * Whether a contract is settled: `contracts/<id>/settlement.json` is exactly what its verified
 * receipts and business terms price now, every party signed it (settlement-signatures/), and, when
 * the contract has an escrow, the escrow's release of it is recorded (payments/release-*.json,
 * checked against the chain by `datomspod audit verify`). Pure but for reading the files.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { LoadedContract } from "../contract/load.js";
import { InputError, type Issue } from "../errors.js";
import { readPaymentRecords, type StoredPayment } from "../escrow/records.js";
import { display, readJsonFile } from "../repo/files.js";
import type { Verification } from "../signatures/verify.js";
import { priceSettlement, settlementHash, type Settlement, type SettlementInput } from "./price.js";
import { verifySettlementSignatures } from "./signatures.js";
import { settlementMessage } from "./typed-data.js";

export const SETTLEMENT_FILE = "settlement.json";

export interface SettlementVerdict {
  /** settlement.json exists. */
  readonly present: boolean;
  /** It is what the receipts price now, and every party signed it. */
  readonly agreed: boolean;
  /** Agreed, and paid where there is an escrow (its release recorded). */
  readonly settled: boolean;
  /** The settlement as priced now (undefined when it cannot be priced). */
  readonly priced: Settlement | undefined;
  readonly hash: string | undefined;
  readonly signatures: Verification | undefined;
  readonly release: StoredPayment | undefined;
  readonly payments: readonly StoredPayment[];
  readonly issues: readonly Issue[];
}

export function settlementPath(loaded: LoadedContract): string {
  return join(loaded.dir, SETTLEMENT_FILE);
}

export function verifySettlement(repo: string, loaded: LoadedContract, input: SettlementInput): SettlementVerdict {
  const path = settlementPath(loaded);
  const file = display(repo, path);
  const { payments, issues: paymentIssues } = readPaymentRecords(repo, loaded);
  const none = { agreed: false, settled: false, priced: undefined, hash: undefined, signatures: undefined, release: undefined, payments };
  if (!existsSync(path)) return { ...none, present: false, issues: paymentIssues };
  const issues: Issue[] = [...paymentIssues];
  let value: unknown;
  try {
    value = readJsonFile(path, file);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return { ...none, present: true, issues: [...issues, ...error.issues] };
  }
  const priced = priceSettlement(input);
  if (priced.problems !== undefined) {
    issues.push(
      { file, path: "$", message: "cannot be checked: the contract's runs cannot be settled now", fix: "see the problems listed with it" },
      ...priced.problems,
    );
    return { ...none, present: true, issues };
  }
  const hash = settlementHash(priced.settlement);
  if (settlementHash(value) !== hash) {
    issues.push({
      file,
      path: "$",
      message: "is not what the verified receipts and the contract's business terms price now",
      fix: `see \`datomspod settle ${loaded.id}\`: the parties agree and sign the settlement it writes`,
    });
    return { ...none, present: true, priced: priced.settlement, issues };
  }
  const signatures = verifySettlementSignatures(repo, loaded, settlementMessage(priced.settlement, hash));
  issues.push(...signatures.issues);
  const escrow = loaded.contract.business.escrow;
  const release = payments.find((p) => p.record.kind === "release" && p.record.settlementHash === hash);
  if (escrow !== undefined && release === undefined && signatures.ok)
    issues.push({
      file: display(repo, join(loaded.dir, "payments")),
      path: "$",
      message: "the settlement is signed by every party but not paid: no release by the escrow is recorded",
      fix: `release it: datomspod escrow release ${loaded.id} --key FILE`,
    });
  const agreed = signatures.ok;
  return {
    present: true,
    agreed,
    settled: agreed && (escrow === undefined || release !== undefined),
    priced: priced.settlement,
    hash,
    signatures,
    release,
    payments,
    issues,
  };
}
