/**
 * The EIP-712 typed data every party signs to agree a settlement, and that the escrow recomputes to
 * release it: the settlement's hash together with what the escrow pays (token, consumer, payouts),
 * so a wallet shows each payment and the escrow needs nothing but the signatures. The domain binds
 * name, version, chainId, the contract id (salt: keccak256 of the id, as every datomspod record)
 * and, when the contract has an escrow, the escrow's address (verifyingContract): a settlement
 * signed for one contract, chain or escrow is worthless on another. Pure.
 */

import { TypedDataEncoder, ZeroAddress, getAddress, keccak256, toUtf8Bytes, type TypedDataDomain, type TypedDataField } from "ethers";
import type { Contract } from "../contract/types.generated.js";
import { EIP712_NAME, EIP712_VERSION, toBytes32 } from "../signatures/typed-data.js";
import { payoutsOf, type Settlement } from "./price.js";

export const SETTLEMENT_PRIMARY_TYPE = "Settlement";

/** The typed data's types; Escrow.sol's SETTLEMENT_TYPEHASH and PAYOUT_TYPEHASH are these. */
export const SETTLEMENT_TYPES: Record<string, TypedDataField[]> = {
  Settlement: [
    { name: "contractId", type: "string" },
    { name: "contractHash", type: "bytes32" },
    { name: "settlementHash", type: "bytes32" },
    { name: "token", type: "address" },
    { name: "consumer", type: "address" },
    { name: "payouts", type: "Payout[]" },
  ],
  Payout: [
    { name: "payee", type: "address" },
    { name: "amount", type: "uint256" },
  ],
};

export interface SettlementMessage {
  readonly contractId: string;
  readonly contractHash: string;
  readonly settlementHash: string;
  readonly token: string;
  readonly consumer: string;
  readonly payouts: readonly { readonly payee: string; readonly amount: string }[];
}

/** The domain: the escrow (verifyingContract) when the contract has one. */
export function settlementDomain(contract: Pick<Contract, "id" | "chainId" | "business">): TypedDataDomain {
  const escrow = contract.business.escrow;
  return {
    name: EIP712_NAME,
    version: EIP712_VERSION,
    chainId: contract.chainId,
    ...(escrow === undefined ? {} : { verifyingContract: getAddress(escrow.address) }),
    salt: keccak256(toUtf8Bytes(contract.id)),
  };
}

/** The message of a settlement: its hash, and what the escrow pays with it. */
export function settlementMessage(settlement: Settlement, hash: string): SettlementMessage {
  return {
    contractId: settlement.contract.id,
    contractHash: toBytes32(settlement.contract.hash),
    settlementHash: toBytes32(hash),
    token: settlement.currency.token === null ? ZeroAddress : getAddress(settlement.currency.token),
    consumer: getAddress(settlement.payer),
    payouts: payoutsOf(settlement).map((payout) => ({ payee: getAddress(payout.payee), amount: payout.amount })),
  };
}

/** The EIP-712 digest a party signs (and the escrow's settlementDigest returns). */
export function settlementDigest(contract: Pick<Contract, "id" | "chainId" | "business">, message: SettlementMessage): string {
  return TypedDataEncoder.hash(settlementDomain(contract), SETTLEMENT_TYPES, message);
}

const DOMAIN_FIELDS: TypedDataField[] = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
  { name: "salt", type: "bytes32" },
];

/** The eth_signTypedData_v4 document of a settlement. */
export function settlementTypedDataJson(contract: Pick<Contract, "id" | "chainId" | "business">, message: SettlementMessage): object {
  const domain = settlementDomain(contract);
  return {
    types: { EIP712Domain: DOMAIN_FIELDS.filter((field) => field.name in domain), ...SETTLEMENT_TYPES },
    primaryType: SETTLEMENT_PRIMARY_TYPE,
    domain,
    message,
  };
}
