/**
 * Payment records: each escrow transaction of a contract, as `datomspod escrow` sent it, in
 * `contracts/<id>/payments/<kind>-<transaction hash>.json`. They are evidence (anchored with the
 * rest) and claims about the chain: `datomspod audit verify` checks each against the transaction,
 * its block and the escrow's event; the lifecycle counts a release record toward `settled`.
 */

import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import type { ValidateFunction } from "ajv";
import { AbiCoder, keccak256 } from "ethers";
import type { LoadedContract } from "../contract/load.js";
import { newAjv, validateAgainst } from "../contract/schema.js";
import { InputError, type Issue } from "../errors.js";
import { display, readJsonFile, toJsonText, writeFileAtomic } from "../repo/files.js";
import { listRecordFiles } from "../repo/layout.js";

export const PAYMENTS_FOLDER = "payments";
export const PAYMENT_KINDS = ["deposit", "top-up", "release", "refund"] as const;
export type PaymentKind = (typeof PAYMENT_KINDS)[number];
export const PAYMENT_RECORD_VERSION = 1;

export interface PaymentRecord {
  readonly version: typeof PAYMENT_RECORD_VERSION;
  readonly kind: PaymentKind;
  readonly contractId: string;
  /** sha256 of the contract (hex, no prefix): the deposit's key with the consumer. */
  readonly contractHash: string;
  readonly chainId: number;
  readonly escrow: string;
  readonly escrowId: string;
  readonly token: string;
  readonly consumer: string;
  /** The account that sent the transaction. */
  readonly from: string;
  readonly txHash: string;
  readonly blockNumber: number;
  readonly blockHash: string;
  /** deposit/top-up: what the escrow received; release: what the payees are owed; refund: what went back. */
  readonly amount: string;
  /** release: the settlement's hash (hex, no prefix). */
  readonly settlementHash: string | null;
  /** release: what the consumer is owed back. */
  readonly refunded: string | null;
}

const HEX32 = { type: "string", pattern: "^0x[0-9a-f]{64}$" } as const;
const ADDRESS = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" } as const;
const AMOUNT = { type: "string", pattern: "^(0|[1-9][0-9]{0,77})$" } as const;
const SHA256 = { type: "string", pattern: "^[0-9a-f]{64}$" } as const;
const schema = {
  type: "object",
  additionalProperties: false,
  required: [
    "version",
    "kind",
    "contractId",
    "contractHash",
    "chainId",
    "escrow",
    "escrowId",
    "token",
    "consumer",
    "from",
    "txHash",
    "blockNumber",
    "blockHash",
    "amount",
    "settlementHash",
    "refunded",
  ],
  properties: {
    version: { const: PAYMENT_RECORD_VERSION },
    kind: { enum: PAYMENT_KINDS },
    contractId: { type: "string", maxLength: 40 },
    contractHash: SHA256,
    chainId: { type: "integer", minimum: 1 },
    escrow: ADDRESS,
    escrowId: HEX32,
    token: ADDRESS,
    consumer: ADDRESS,
    from: ADDRESS,
    txHash: HEX32,
    blockNumber: { type: "integer", minimum: 0 },
    blockHash: HEX32,
    amount: AMOUNT,
    settlementHash: { anyOf: [SHA256, { type: "null" }] },
    refunded: { anyOf: [AMOUNT, { type: "null" }] },
  },
} as const;

let validator: ValidateFunction | undefined;

/** The escrow's id of a consumer's deposit against a contract: keccak256(abi.encode(contractHash, consumer)), as Escrow.escrowIdOf. */
export function escrowIdOf(contractHash: string, consumer: string): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "address"], [contractHash, consumer]));
}

export function paymentsDir(loaded: LoadedContract): string {
  return join(loaded.dir, PAYMENTS_FOLDER);
}

export function paymentFileName(record: Pick<PaymentRecord, "kind" | "txHash">): string {
  return `${record.kind}-${record.txHash}.json`;
}

export function writePaymentRecord(loaded: LoadedContract, record: PaymentRecord): string {
  const path = join(paymentsDir(loaded), paymentFileName(record));
  writeFileAtomic(path, toJsonText(record));
  return path;
}

export interface StoredPayment {
  readonly file: string;
  readonly record: PaymentRecord;
}

/** The contract's payment records that are well formed and about this contract; the others are issues. */
export function readPaymentRecords(repo: string, loaded: LoadedContract): { payments: StoredPayment[]; issues: Issue[] } {
  const dir = paymentsDir(loaded);
  if (!existsSync(dir)) return { payments: [], issues: [] };
  validator ??= newAjv().compile(schema);
  const { json, other } = listRecordFiles(dir);
  const issues: Issue[] = other.map((name) => ({
    file: display(repo, join(dir, name)),
    path: "$",
    message: "is not a payment record",
    fix: `keep only <kind>-<transaction hash>.json files in ${PAYMENTS_FOLDER}/`,
  }));
  const payments: StoredPayment[] = [];
  for (const name of json) {
    const path = join(dir, name);
    const file = display(repo, path);
    let value: unknown;
    try {
      value = readJsonFile(path, file, 16 * 1024);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      issues.push(...error.issues);
      continue;
    }
    const found = validateAgainst(validator, value, file);
    if (found.length === 0) {
      const record = value as PaymentRecord;
      if (basename(name) !== paymentFileName(record))
        found.push({ file, path: "$", message: `is not named ${paymentFileName(record)}`, fix: "restore the record datomspod escrow wrote" });
      if (record.contractId !== loaded.id || record.contractHash !== loaded.hash)
        found.push({ file, path: "$.contractHash", message: "is about another contract or another version of it", fix: "remove it" });
      if (record.chainId !== loaded.contract.chainId)
        found.push({ file, path: "$.chainId", message: `is on chain ${record.chainId}, the contract on chain ${loaded.contract.chainId}`, fix: "remove it" });
      if (loaded.contract.business.escrow === undefined || record.escrow.toLowerCase() !== loaded.contract.business.escrow.address.toLowerCase())
        found.push({ file, path: "$.escrow", message: "is not the contract's escrow (business.escrow.address)", fix: "remove it" });
      const consumer = loaded.contract.parties.find((party) => party.role === "consumer")?.address ?? "";
      if (record.consumer.toLowerCase() !== consumer.toLowerCase() || record.escrowId !== escrowIdOf(`0x${loaded.hash}`, consumer))
        found.push({ file, path: "$.escrowId", message: "is not the deposit of this contract's consumer", fix: "remove it" });
      if (record.token.toLowerCase() !== (loaded.contract.business.currency.token ?? "").toLowerCase())
        found.push({ file, path: "$.token", message: "is not the contract's token (business.currency.token)", fix: "remove it" });
    }
    if (found.length > 0) issues.push(...found);
    else payments.push({ file, record: value as PaymentRecord });
  }
  return { payments, issues };
}
