/**
 * Signed records: one JSON file per signature (agreement, approval, run request, release,
 * acknowledgement, revocation), each an EIP-712 signature over a message rebuilt from the current
 * contract when verified, so a record signed over anything else fails.
 */

import { getAddress, type Wallet } from "ethers";
import type { ValidateFunction } from "ajv";
import type { Issue } from "../errors.js";
import { compileSchema, validateAgainst } from "../contract/schema.js";
import { isChecksummedAddress } from "../contract/rules.js";
import { recoverSigner } from "./ecdsa.js";
import { RECORD_TYPES, domainFor, typedDataDigest, typesFor, type RecordKind, type RecordMessage } from "./typed-data.js";

/** Half the order of secp256k1: a valid s above this is the malleable twin of a low-s signature. */
export const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

export interface SignedRecord {
  readonly kind: RecordKind;
  readonly chainId: number;
  readonly signer: string;
  readonly message: RecordMessage;
  readonly signature: string;
  /** Run requests carry the parameters whose hash is signed. */
  readonly parameters?: Record<string, unknown>;
  /** Package approvals carry the limits whose hash is signed. */
  readonly limits?: Record<string, unknown>;
}

export const recordSchema = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "chainId", "signer", "message", "signature"],
  properties: {
    kind: { enum: Object.keys(RECORD_TYPES) },
    chainId: { type: "integer", minimum: 1 },
    signer: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
    message: { type: "object", maxProperties: 16, additionalProperties: { type: "string", maxLength: 4000 } },
    signature: { type: "string", pattern: "^0x[0-9a-fA-F]{130}$" },
    parameters: { type: "object" },
    limits: { type: "object" },
  },
} as const;

let recordValidator: ValidateFunction | undefined;

export function validateRecordShape(value: unknown, file: string): Issue[] {
  recordValidator ??= compileSchema(recordSchema);
  return validateAgainst(recordValidator, value, file);
}

export async function signRecord(
  wallet: Wallet,
  kind: RecordKind,
  contractId: string,
  chainId: number,
  message: RecordMessage,
  extra: { parameters?: Record<string, unknown>; limits?: Record<string, unknown> } = {},
): Promise<SignedRecord> {
  const signature = await wallet.signTypedData(domainFor(contractId, chainId), typesFor(kind), message);
  return { kind, chainId, signer: getAddress(wallet.address), message, signature, ...extra };
}

export interface Expectation {
  readonly kind: RecordKind;
  readonly contractId: string;
  readonly chainId: number;
  /** The message as it must be, rebuilt from the current state of the repository. */
  readonly message: RecordMessage;
}

export const FIELD_MISMATCH: Readonly<Record<string, { readonly message: string; readonly fix: string }>> = {
  contractId: { message: "was signed for another contract id (a replayed signature)", fix: "sign this contract itself" },
  contractHash: { message: "was signed over another version of the contract", fix: "sign the current contract again" },
  codeSha256: { message: "approves other algorithm code", fix: "review and approve the current code" },
  imageDigest: { message: "approves another image digest", fix: "review and approve the current image" },
  image: { message: "approves another image", fix: "review and approve the current image" },
  entrypoint: { message: "approves another entrypoint (the command that runs)", fix: "review and approve the current entrypoint" },
  environment: { message: "approves another compute environment", fix: "review and approve the current environment" },
  environmentDigest: {
    message: "approves another version of the compute environment (its packages changed)",
    fix: "review the environment's lock and approve again",
  },
  cluster: { message: "approves running on another cluster", fix: "review and approve the current cluster" },
  clusterProfileDigest: { message: "approves another version of the cluster profile", fix: "review the profile's change and approve again" },
  roleImageDigest: {
    message: "approves another role image (the datomspod pod image that verifies, seals and reports)",
    fix: "review the role image and approve again",
  },
  instanceDigest: {
    message: "approves another rendered instance (what runs in the cluster changed: generator, profile or contract)",
    fix: "review the rendered instance (`datomspod compile`, clusters/) and approve again",
  },
  receiptHash: { message: "refers to another receipt", fix: "sign the current receipt" },
  package: { message: "was signed for another algorithm package", fix: "sign this package itself" },
  packageDigest: {
    message: "was signed over other contents of the package (a file was changed, added or removed)",
    fix: "restore the package's files, or publish a new version and have it approved",
  },
  limitsHash: { message: "does not match the limits in the file (they were edited after signing)", fix: "approve again with datomspod algorithm approve" },
};

/** Verifies one record against what it must say; returns every problem (empty means valid). */
export function verifyRecord(value: unknown, expected: Expectation, file: string): Issue[] {
  const shapeIssues = validateRecordShape(value, file);
  if (shapeIssues.length > 0) return shapeIssues;
  const record = value as SignedRecord;
  const issues: Issue[] = [];
  const add = (path: string, message: string, fix: string): void => {
    issues.push({ file, path, message, fix });
  };

  if (record.kind !== expected.kind)
    add("$.kind", `is ${JSON.stringify(record.kind)}, expected ${JSON.stringify(expected.kind)}`, "put the record in the right folder");
  if (record.chainId !== expected.chainId) {
    add(
      "$.chainId",
      `was signed for chain ${record.chainId} but the contract is on chain ${expected.chainId} (a replayed signature)`,
      "sign for the contract's chainId",
    );
  }
  if (!isChecksummedAddress(record.signer)) add("$.signer", "is not an EIP-55 checksummed address", "write the signer address with its checksum");

  const fields = RECORD_TYPES[expected.kind].fields.map((field) => field.name);
  for (const key of Object.keys(record.message)) {
    if (!fields.includes(key as never)) add(`$.message.${key}`, "is not a field of this record", "remove it");
  }
  for (const key of fields) {
    const want = expected.message[key];
    const got = record.message[key];
    if (got === undefined) add(`$.message.${key}`, "is missing", "sign the record again with datomspod");
    else if (want !== undefined && got.toLowerCase() !== want.toLowerCase()) {
      const known = FIELD_MISMATCH[key] ?? { message: `differs from the expected ${JSON.stringify(want)}`, fix: "sign the record again" };
      add(`$.message.${key}`, known.message, known.fix);
    }
  }

  const sig = record.signature.toLowerCase();
  const s = BigInt(`0x${sig.slice(66, 130)}`);
  const v = Number.parseInt(sig.slice(130, 132), 16);
  if (s > SECP256K1_HALF_N) add("$.signature", "has a high s value (a malleable signature)", "sign again with a wallet that produces low-s signatures (EIP-2)");
  if (v !== 27 && v !== 28) add("$.signature", `has recovery byte ${v}, expected 27 or 28`, "sign again with eth_signTypedData_v4");
  if (issues.length > 0) return issues;

  let recovered: string;
  try {
    const digest = typedDataDigest(expected.kind, expected.contractId, expected.chainId, expected.message);
    recovered = recoverSigner(digest, record.signature, record.signer);
  } catch {
    return [{ file, path: "$.signature", message: "is not a valid secp256k1 signature", fix: "sign again" }];
  }
  if (recovered !== getAddress(record.signer)) {
    return [
      {
        file,
        path: "$.signature",
        message: `recovers to ${recovered}, not to the signer ${record.signer}`,
        fix: "the signature does not match the signed content: sign again",
      },
    ];
  }
  return [];
}
