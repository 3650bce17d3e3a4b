/**
 * EIP-712 typed data for everything a party signs. The domain binds name, version, chainId and the
 * contract id (as the domain salt, keccak256 of the id), so a signature cannot be replayed on another
 * contract or chain; the message repeats the contract id and hash so a wallet shows what is signed.
 * The JSON from `typedDataJson` is what eth_signTypedData_v4 takes as it is.
 */

import { TypedDataEncoder, concat, keccak256, toUtf8Bytes, type TypedDataDomain, type TypedDataField } from "ethers";

export const EIP712_NAME = "datomspod";
export const EIP712_VERSION = "1";

export const RECORD_TYPES = {
  agreement: {
    primaryType: "Agreement",
    fields: [
      { name: "contractId", type: "string" },
      { name: "title", type: "string" },
      { name: "contractHash", type: "bytes32" },
    ],
  },
  approval: {
    primaryType: "AlgorithmApproval",
    fields: [
      { name: "contractId", type: "string" },
      { name: "contractHash", type: "bytes32" },
      { name: "algorithmDid", type: "string" },
      { name: "codeSha256", type: "bytes32" },
      { name: "image", type: "string" },
      { name: "imageDigest", type: "bytes32" },
      { name: "entrypoint", type: "string" },
      { name: "environment", type: "string" },
      { name: "environmentDigest", type: "bytes32" },
      { name: "cluster", type: "string" },
      { name: "clusterProfileDigest", type: "bytes32" },
      { name: "roleImageDigest", type: "bytes32" },
      { name: "instanceDigest", type: "bytes32" },
    ],
  },
  run: {
    primaryType: "RunRequest",
    fields: [
      { name: "contractId", type: "string" },
      { name: "contractHash", type: "bytes32" },
      { name: "runId", type: "string" },
      { name: "parametersHash", type: "bytes32" },
    ],
  },
  receipt: {
    primaryType: "RunReceipt",
    fields: [
      { name: "contractId", type: "string" },
      { name: "runId", type: "string" },
      { name: "receiptHash", type: "bytes32" },
    ],
  },
  release: {
    primaryType: "OutputRelease",
    fields: [
      { name: "contractId", type: "string" },
      { name: "runId", type: "string" },
      { name: "receiptHash", type: "bytes32" },
    ],
  },
  ack: {
    primaryType: "DeliveryAcknowledgement",
    fields: [
      { name: "contractId", type: "string" },
      { name: "runId", type: "string" },
      { name: "receiptHash", type: "bytes32" },
    ],
  },
  revocation: {
    primaryType: "Revocation",
    fields: [
      { name: "contractId", type: "string" },
      { name: "contractHash", type: "bytes32" },
      { name: "reason", type: "string" },
    ],
  },
  deletion: {
    primaryType: "InstanceDeletion",
    fields: [
      { name: "contractId", type: "string" },
      { name: "contractHash", type: "bytes32" },
      { name: "cluster", type: "string" },
      { name: "namespace", type: "string" },
      { name: "namespaceUid", type: "string" },
      { name: "deletionRequestedAt", type: "string" },
      { name: "goneAt", type: "string" },
    ],
  },
  // The algorithm market (generator/market/): signed over a package, in the domain of the package
  // (`algorithmDomainId`), not of a contract.
  package: {
    primaryType: "AlgorithmPackage",
    fields: [
      { name: "package", type: "string" },
      { name: "packageDigest", type: "bytes32" },
    ],
  },
  packageApproval: {
    primaryType: "AlgorithmPackageApproval",
    fields: [
      { name: "package", type: "string" },
      { name: "packageDigest", type: "bytes32" },
      { name: "limitsHash", type: "bytes32" },
      { name: "approvedAt", type: "string" },
    ],
  },
  packageRevocation: {
    primaryType: "AlgorithmPackageRevocation",
    fields: [
      { name: "package", type: "string" },
      { name: "revokedAt", type: "string" },
      { name: "reason", type: "string" },
    ],
  },
} as const satisfies Record<string, { primaryType: string; fields: readonly TypedDataField[] }>;

export type RecordKind = keyof typeof RECORD_TYPES;
export type RecordMessage = Record<string, string>;

const DOMAIN_FIELDS: TypedDataField[] = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "salt", type: "bytes32" },
];

export function domainFor(contractId: string, chainId: number): TypedDataDomain {
  return { name: EIP712_NAME, version: EIP712_VERSION, chainId, salt: keccak256(toUtf8Bytes(contractId)) };
}

export function typesFor(kind: RecordKind): Record<string, TypedDataField[]> {
  const { primaryType, fields } = RECORD_TYPES[kind];
  return { [primaryType]: fields.map((field) => ({ ...field })) };
}

/**
 * The id whose keccak256 is the domain salt of records over an algorithm package: contract ids
 * cannot contain ':' or '@', so a package's domain is never a contract's.
 */
export function algorithmDomainId(name: string, version: string): string {
  return `algorithm:${name}@${version}`;
}

/** 0x-prefixed bytes32 of a hex sha256 (with or without "0x" / "sha256:"). */
export function toBytes32(hex: string): string {
  return `0x${hex.replace(/^(0x|sha256:)/, "")}`;
}

const encoders = new Map<RecordKind, TypedDataEncoder>();
const domainHashes = new Map<string, string>();

/** The EIP-712 digest a wallet signs for this record: keccak256(0x1901 ‖ domain separator ‖ struct hash). */
export function typedDataDigest(kind: RecordKind, contractId: string, chainId: number, message: RecordMessage): string {
  let encoder = encoders.get(kind);
  if (encoder === undefined) {
    encoder = TypedDataEncoder.from(typesFor(kind));
    encoders.set(kind, encoder);
  }
  const domainKey = `${chainId}:${contractId}`;
  let domainHash = domainHashes.get(domainKey);
  if (domainHash === undefined) {
    domainHash = TypedDataEncoder.hashDomain(domainFor(contractId, chainId));
    domainHashes.set(domainKey, domainHash);
  }
  return keccak256(concat(["0x1901", domainHash, encoder.hash(message)]));
}

/** The full eth_signTypedData_v4 document (types including EIP712Domain, primaryType, domain, message). */
export function typedDataJson(kind: RecordKind, contractId: string, chainId: number, message: RecordMessage): object {
  const domain = domainFor(contractId, chainId);
  return {
    types: { EIP712Domain: DOMAIN_FIELDS, ...typesFor(kind) },
    primaryType: RECORD_TYPES[kind].primaryType,
    domain,
    message,
  };
}
