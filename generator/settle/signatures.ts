/**
 * Every party's signature of a settlement: `contracts/<id>/settlement-signatures/<address>.json`,
 * `{kind: "settlement", chainId, signer, message, signature}`, the EIP-712 signature of the
 * settlement's typed data (typed-data.ts). Verification rebuilds the message from settlement.json
 * and the contract, so a signature over other payouts, another settlement, contract, chain or
 * escrow fails; high-s signatures, recovery bytes other than 27/28, unchecksummed signers,
 * misnamed files and signers who are not parties are refused. These are exactly the signatures the
 * escrow checks on chain.
 */

import { basename, join } from "node:path";
import { getAddress, type Wallet } from "ethers";
import type { ValidateFunction } from "ajv";
import { canonicalize } from "../contract/canonical.js";
import type { LoadedContract } from "../contract/load.js";
import { findParty, isChecksummedAddress } from "../contract/rules.js";
import { newAjv, validateAgainst } from "../contract/schema.js";
import { InputError, type Issue } from "../errors.js";
import { display, readJsonFile } from "../repo/files.js";
import { listRecordFiles } from "../repo/layout.js";
import { recoverSigner } from "../signatures/ecdsa.js";
import { SECP256K1_HALF_N } from "../signatures/records.js";
import type { PartyVerdict, Verification } from "../signatures/verify.js";
import { SETTLEMENT_TYPES, settlementDigest, settlementDomain, type SettlementMessage } from "./typed-data.js";

export const SETTLEMENT_SIGNATURES_FOLDER = "settlement-signatures";

export interface SettlementSignature {
  readonly kind: "settlement";
  readonly chainId: number;
  readonly signer: string;
  readonly message: SettlementMessage;
  readonly signature: string;
}

const ADDRESS = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" } as const;
const BYTES32 = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } as const;
const recordSchema = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "chainId", "signer", "message", "signature"],
  properties: {
    kind: { const: "settlement" },
    chainId: { type: "integer", minimum: 1 },
    signer: ADDRESS,
    signature: { type: "string", pattern: "^0x[0-9a-fA-F]{130}$" },
    message: {
      type: "object",
      additionalProperties: false,
      required: ["contractId", "contractHash", "settlementHash", "token", "consumer", "payouts"],
      properties: {
        contractId: { type: "string", maxLength: 64 },
        contractHash: BYTES32,
        settlementHash: BYTES32,
        token: ADDRESS,
        consumer: ADDRESS,
        payouts: {
          type: "array",
          maxItems: 16,
          items: {
            type: "object",
            additionalProperties: false,
            required: ["payee", "amount"],
            properties: { payee: ADDRESS, amount: { type: "string", pattern: "^(0|[1-9][0-9]{0,77})$" } },
          },
        },
      },
    },
  },
} as const;

let validator: ValidateFunction | undefined;

export function settlementSignatureFile(loaded: LoadedContract, address: string): string {
  return join(loaded.dir, SETTLEMENT_SIGNATURES_FOLDER, `${address}.json`);
}

/** Signs the settlement's typed data with `wallet`. */
export async function signSettlement(wallet: Wallet, loaded: LoadedContract, message: SettlementMessage): Promise<SettlementSignature> {
  const signature = await wallet.signTypedData(settlementDomain(loaded.contract), SETTLEMENT_TYPES, message);
  return { kind: "settlement", chainId: loaded.contract.chainId, signer: getAddress(wallet.address), message, signature };
}

/** A message with its addresses checksummed, for comparison. */
function normalized(message: SettlementMessage): string {
  const address = (value: string): string => (isChecksummedAddress(value) || /^0x[0-9a-f]{40}$/i.test(value) ? getAddress(value) : value);
  return canonicalize({
    ...message,
    token: address(message.token),
    consumer: address(message.consumer),
    contractHash: message.contractHash.toLowerCase(),
    settlementHash: message.settlementHash.toLowerCase(),
    payouts: message.payouts.map((p) => ({ payee: address(p.payee), amount: p.amount })),
  });
}

/** What is wrong with one settlement signature record (empty: it is valid). */
export function settlementSignatureIssues(value: unknown, loaded: LoadedContract, expected: SettlementMessage, file: string): Issue[] {
  validator ??= newAjv().compile(recordSchema);
  const shape = validateAgainst(validator, value, file);
  if (shape.length > 0) return shape;
  const record = value as SettlementSignature;
  const issues: Issue[] = [];
  const add = (path: string, message: string, fix: string): void => {
    issues.push({ file, path, message, fix });
  };
  const { contract } = loaded;
  if (record.chainId !== contract.chainId)
    add(
      "$.chainId",
      `was signed for chain ${record.chainId} but the contract is on chain ${contract.chainId} (a replayed signature)`,
      "sign for the contract's chainId",
    );
  if (!isChecksummedAddress(record.signer)) add("$.signer", "is not an EIP-55 checksummed address", "write the signer address with its checksum");
  const party = findParty(contract, record.signer);
  if (party === undefined) add("$.signer", `${record.signer} is not a party of the contract`, "remove this signature; only parties sign a settlement");
  if (basename(file, ".json") !== record.signer)
    add("$.signer", `the file name does not match the signer ${record.signer}`, `name the file ${record.signer}.json`);
  if (record.message.contractId !== expected.contractId)
    add(
      "$.message.contractId",
      "was signed for another contract id (a replayed signature)",
      `sign this contract's settlement: datomspod settle ${contract.id} --key FILE`,
    );
  else if (normalized(record.message) !== normalized(expected))
    add(
      "$.message",
      "signs another settlement than contracts/<id>/settlement.json (other amounts, payees, token or hash)",
      `review the current settlement and sign it again: datomspod settle ${contract.id} --key FILE`,
    );
  const sig = record.signature.toLowerCase();
  if (BigInt(`0x${sig.slice(66, 130)}`) > SECP256K1_HALF_N)
    add("$.signature", "has a high s value (a malleable signature)", "sign again with a wallet that produces low-s signatures (EIP-2)");
  const v = Number.parseInt(sig.slice(130, 132), 16);
  if (v !== 27 && v !== 28) add("$.signature", `has recovery byte ${v}, expected 27 or 28`, "sign again with eth_signTypedData_v4");
  if (issues.length > 0) return issues;
  let recovered: string;
  try {
    recovered = recoverSigner(settlementDigest(contract, expected), record.signature, record.signer);
  } catch {
    return [{ file, path: "$.signature", message: "is not a valid secp256k1 signature", fix: "sign again" }];
  }
  if (recovered !== getAddress(record.signer))
    return [
      {
        file,
        path: "$.signature",
        message: `recovers to ${recovered}, not to the signer ${record.signer}`,
        fix: "the signature does not match the settlement: sign again",
      },
    ];
  return [];
}

/** Every party's settlement signature, verified against `expected` (what settlement.json says now). */
export function verifySettlementSignatures(repo: string, loaded: LoadedContract, expected: SettlementMessage): Verification {
  const dir = join(loaded.dir, SETTLEMENT_SIGNATURES_FOLDER);
  const { json, other } = listRecordFiles(dir);
  const issues: Issue[] = other.map((name) => ({
    file: display(repo, join(dir, name)),
    path: "$",
    message: "is not a signature file",
    fix: `keep only <address>.json files in ${SETTLEMENT_SIGNATURES_FOLDER}/`,
  }));
  const valid = new Set<string>();
  const invalid = new Set<string>();
  for (const name of json) {
    const path = join(dir, name);
    const file = display(repo, path);
    let value: unknown;
    try {
      value = readJsonFile(path, file, 64 * 1024);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      issues.push(...error.issues);
      continue;
    }
    const found = settlementSignatureIssues(value, loaded, expected, file);
    const signer = (value as Partial<SettlementSignature> | null)?.signer;
    const party = typeof signer === "string" ? findParty(loaded.contract, signer) : undefined;
    if (found.length > 0) {
      issues.push(...found);
      if (party !== undefined) invalid.add(party.address);
    } else if (party !== undefined) valid.add(party.address);
  }
  const parties: PartyVerdict[] = loaded.contract.parties.map((party) => ({
    address: party.address,
    role: party.role,
    name: party.name,
    status: valid.has(party.address) ? "valid" : invalid.has(party.address) ? "invalid" : "missing",
  }));
  for (const party of parties) {
    if (party.status === "missing")
      issues.push({
        file: display(repo, settlementSignatureFile(loaded, party.address)),
        path: "$",
        message: `no settlement signature by ${party.role} ${party.name}`,
        fix: `they review the settlement and sign it: datomspod settle ${loaded.id} --key <their key>`,
      });
  }
  return { ok: issues.length === 0, parties, issues };
}
