/**
 * Owner review: the outputs of a contract with `ownerReview` are sealed for the data owners only. A
 * data owner who reviewed them re-wraps the run's data key for the recipients and signs a `release`
 * record over the receipt hash: `contracts/<id>/releases/<run>.json` =
 * `{kind, chainId, signer, message, signature, wrappedKeys}`. The wrapped keys sit beside the signed
 * record rather than inside it; a substituted key cannot open the blobs (AES-GCM authenticates them),
 * so they need no signature of their own.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { getAddress, type Wallet } from "ethers";
import { InputError, type Issue } from "../errors.js";
import type { LoadedContract } from "../contract/load.js";
import { display, readJsonFile } from "../repo/files.js";
import { recordDir } from "../repo/layout.js";
import { signRecord, verifyRecord, type SignedRecord } from "../signatures/records.js";
import { dataOwners } from "../pod/roles/datomspace-out.js";
import { wrapKey } from "../seal/crypto.js";
import type { RunReceipt } from "./receipts.js";

export interface ReleaseFile extends SignedRecord {
  readonly wrappedKeys: Readonly<Record<string, string>>;
}

export function releasePath(repo: string, loaded: LoadedContract, runId: string): string {
  return join(recordDir(repo, loaded.id, "releases"), `${runId}.json`);
}

export interface VerifiedRelease {
  readonly signer: string;
  readonly wrappedKeys: Readonly<Record<string, string>>;
}

/**
 * The release of a run if one exists and verifies: signed `release` over this receipt, by a data
 * owner, with wrapped keys. Returns the problems otherwise (empty list and undefined: none exists).
 */
export function readRelease(repo: string, loaded: LoadedContract, run: RunReceipt): { release?: VerifiedRelease; issues: Issue[] } {
  const path = releasePath(repo, loaded, run.runId);
  if (!existsSync(path)) return { issues: [] };
  const file = display(repo, path);
  let value: Record<string, unknown>;
  try {
    value = readJsonFile(path, file, 64 * 1024) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof InputError) return { issues: [...error.issues] };
    throw error;
  }
  const { wrappedKeys, ...record } = value ?? {};
  const issues = verifyRecord(record, { kind: "release", contractId: loaded.id, chainId: loaded.contract.chainId, message: run.message }, file);
  const signer = typeof record["signer"] === "string" ? record["signer"] : "";
  if (issues.length === 0 && !dataOwners(loaded.contract).some((owner) => owner.toLowerCase() === signer.toLowerCase())) {
    issues.push({ file, path: "$.signer", message: "is not a data owner of the contract", fix: "a provider whose data the run used releases its outputs" });
  }
  const keys = wrappedKeys as Record<string, unknown> | undefined;
  if (keys === null || typeof keys !== "object" || Array.isArray(keys) || !Object.values(keys).every((v) => typeof v === "string")) {
    issues.push({ file, path: "$.wrappedKeys", message: "is not an object of base64 wrapped keys", fix: "release again with datomspod release" });
  }
  if (issues.length > 0) return { issues };
  return { release: { signer: getAddress(signer), wrappedKeys: keys as Record<string, string> }, issues: [] };
}

/** The data key wrapped for every recipient of the contract. */
export function wrapForRecipients(loaded: LoadedContract, dataKey: Uint8Array): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const recipient of [...loaded.contract.outputs.recipients].map((r) => getAddress(r)).sort()) {
    const publicKey = loaded.contract.parties.find((party) => party.address.toLowerCase() === recipient.toLowerCase())?.publicKey;
    if (publicKey === undefined) {
      throw InputError.of({
        file: loaded.file,
        path: "$.parties",
        message: `recipient ${recipient} has no publicKey`,
        fix: "add the recipient's publicKey to the contract",
      });
    }
    keys[recipient] = wrapKey(dataKey, publicKey);
  }
  return keys;
}

export async function signRelease(wallet: Wallet, loaded: LoadedContract, run: RunReceipt, wrappedKeys: Record<string, string>): Promise<ReleaseFile> {
  const record = await signRecord(wallet, "release", loaded.id, loaded.contract.chainId, run.message);
  return { ...record, wrappedKeys };
}
