/**
 * Signed records made the way a wallet makes them: `datomspod contract typed-data` gives the
 * eth_signTypedData_v4 document, a test key signs it with ethers' signTypedData, and the record is
 * written where datomspod looks for it. Also: signing every party of a contract with the CLI.
 */

import { TypedDataEncoder, getAddress, keccak256, toUtf8Bytes, verifyTypedData, type TypedDataDomain, type TypedDataField } from "ethers";
import { expect } from "vitest";
import { loadContract } from "../../generator/contract/load.js";
import { receiptMessage } from "../../generator/lifecycle/facts.js";
import { signRecord } from "../../generator/signatures/records.js";
import { cli, jsonOut } from "./cli.js";
import { keyForAddress, testWallet } from "./keys.js";
import { contractJson, readJson, writeJson } from "./repo.js";

export interface TypedData {
  types: Record<string, TypedDataField[]>;
  primaryType: string;
  domain: TypedDataDomain & { chainId: number; salt: string };
  message: Record<string, string>;
}

export interface Record712 {
  kind: string;
  chainId: number;
  signer: string;
  message: Record<string, string>;
  signature: string;
}

/** The typed data of the agreement (or the approval) as `datomspod contract typed-data` prints it. */
export async function typedData(repo: string, id: string, approval = false): Promise<TypedData> {
  const result = await cli(repo, "contract", "typed-data", id, ...(approval ? ["--approval"] : []));
  expect(result.code).toBe(0);
  return jsonOut<TypedData>(result);
}

/** The types a library signs with: everything but EIP712Domain. */
export function messageTypes(data: TypedData): Record<string, TypedDataField[]> {
  const { EIP712Domain: _domain, ...types } = data.types;
  return types;
}

/** The domain of another contract id or chain, for replay attempts. */
export function domainOf(id: string, chainId: number): TypedData["domain"] {
  return { name: "datomspod", version: "1", chainId, salt: keccak256(toUtf8Bytes(id)) };
}

/** Signs `data` with a test key like a wallet (optionally over another domain) and returns the record. */
export async function walletRecord(keyName: string, data: TypedData, signedDomain: TypedDataDomain = data.domain): Promise<Record712> {
  const wallet = await testWallet(keyName);
  const signature = await wallet.signTypedData(signedDomain, messageTypes(data), data.message);
  const kind = data.primaryType === "Agreement" ? "agreement" : "approval";
  return { kind, chainId: data.domain.chainId, signer: getAddress(wallet.address), message: data.message, signature };
}

/** Who a signature over `data` recovers to. */
export function recoverSigner(data: TypedData, signature: string): string {
  return verifyTypedData(data.domain, messageTypes(data), data.message, signature);
}

export function digestOf(data: TypedData): string {
  return TypedDataEncoder.hash(data.domain, messageTypes(data), data.message);
}

/** Every party signs the current contract with `datomspod contract sign`. */
export async function signAll(repo: string, id: string): Promise<void> {
  const contract = readJson<{ parties: { address: string }[] }>(repo, contractJson(id));
  for (const party of contract.parties) {
    const result = await cli(repo, "contract", "sign", id, "--key", keyForAddress(party.address).file);
    expect(result.stderr).toBe("");
  }
}

/** Every provider and the witness approve the algorithm with `datomspod approve`. */
export async function approveAll(repo: string, id: string): Promise<void> {
  const contract = readJson<{ parties: { address: string; role: string }[] }>(repo, contractJson(id));
  for (const party of contract.parties.filter((p) => p.role === "provider" || p.role === "witness")) {
    const result = await cli(repo, "approve", id, "--key", keyForAddress(party.address).file);
    expect(result.stderr).toBe("");
  }
}

/** Commits a receipt the way a runner does: the document and the runner's EIP-712 signature of exactly it. */
export async function writeSignedReceipt(repo: string, id: string, runId: string, receipt: unknown, runner: string): Promise<void> {
  const loaded = loadContract(repo, id);
  writeJson(repo, `contracts/${id}/receipts/${runId}.json`, receipt);
  writeJson(
    repo,
    `contracts/${id}/receipt-signatures/${runId}.json`,
    await signRecord(await testWallet(runner), "receipt", id, loaded.contract.chainId, receiptMessage(loaded, runId, receipt)),
  );
}

/** The recipient's signed acknowledgement of a run's receipt, as `datomspod ack` writes it. */
export async function writeAck(repo: string, id: string, runId: string, recipient: string): Promise<void> {
  const loaded = loadContract(repo, id);
  const receipt = readJson(repo, `contracts/${id}/receipts/${runId}.json`);
  writeJson(
    repo,
    `contracts/${id}/acks/${runId}.json`,
    await signRecord(await testWallet(recipient), "ack", id, loaded.contract.chainId, receiptMessage(loaded, runId, receipt)),
  );
}
