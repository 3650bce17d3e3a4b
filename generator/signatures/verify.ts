/**
 * Contract-level verification: every party's agreement, and the algorithm approvals of every data
 * provider and the witness. Each party ends up valid, missing or invalid, with the reasons.
 */

import { basename, join } from "node:path";
import { InputError, type Issue } from "../errors.js";
import { display, readJsonFile } from "../repo/files.js";
import { listRecordFiles } from "../repo/layout.js";
import type { LoadedContract } from "../contract/load.js";
import { findParty, requiredApprovers } from "../contract/rules.js";
import type { Contract, Party } from "../contract/types.generated.js";
import type { ApprovalSubject } from "../compile/prepare.js";
import { verifyRecord, type SignedRecord } from "./records.js";
import { toBytes32, type RecordKind, type RecordMessage } from "./typed-data.js";

export type PartyStatus = "valid" | "missing" | "invalid";

export interface PartyVerdict {
  readonly address: string;
  readonly role: Party["role"];
  readonly name: string;
  readonly status: PartyStatus;
}

export interface Verification {
  readonly ok: boolean;
  readonly parties: readonly PartyVerdict[];
  readonly issues: readonly Issue[];
}

export function agreementMessage(contract: Contract, hash: string): RecordMessage {
  return { contractId: contract.id, title: contract.title, contractHash: toBytes32(hash) };
}

/** The approval message: everything that executes or decides in the pod (see compile/prepare.ts). */
export function approvalMessage(subject: ApprovalSubject): RecordMessage {
  return {
    contractId: subject.contractId,
    contractHash: toBytes32(subject.contractHash),
    algorithmDid: subject.algorithmDid,
    codeSha256: toBytes32(subject.codeSha256),
    image: subject.image,
    imageDigest: toBytes32(subject.imageDigest),
    entrypoint: subject.entrypoint,
    environment: subject.environment,
    environmentDigest: toBytes32(subject.environmentDigest),
    cluster: subject.cluster,
    clusterProfileDigest: toBytes32(subject.clusterProfileDigest),
    roleImageDigest: toBytes32(subject.roleImageDigest),
    instanceDigest: toBytes32(subject.instanceDigest),
  };
}

const FOLDERS = { agreement: "signatures", approval: "approvals" } as const;

/**
 * Verifies the records of one kind in the contract's folder against the parties who must sign.
 * Files named other than `<checksummed signer>.json`, signers who are not expected, and invalid
 * signatures are all issues; a party without a valid record is missing.
 */
function verifyParties(
  repo: string,
  loaded: LoadedContract,
  kind: "agreement" | "approval",
  expectedSigners: readonly Party[],
  message: RecordMessage,
): Verification {
  const { contract } = loaded;
  const dir = join(loaded.dir, FOLDERS[kind]);
  const { json, other } = listRecordFiles(dir);
  const issues: Issue[] = other.map((name) => ({
    file: display(repo, join(dir, name)),
    path: "$",
    message: "is not a signature file",
    fix: `keep only <address>.json files in ${FOLDERS[kind]}/`,
  }));
  const valid = new Set<string>();
  const invalid = new Set<string>();
  const expected = { kind: kind as RecordKind, contractId: contract.id, chainId: contract.chainId, message };

  for (const name of json) {
    const path = join(dir, name);
    const file = display(repo, path);
    let value: unknown;
    try {
      value = readJsonFile(path, file, 64 * 1024);
    } catch (error) {
      if (error instanceof InputError) {
        issues.push(...error.issues);
        continue;
      }
      throw error;
    }
    const recordIssues = verifyRecord(value, expected, file);
    const signer = (value as Partial<SignedRecord> | null)?.signer;
    const party = typeof signer === "string" ? findParty(contract, signer) : undefined;
    if (typeof signer === "string" && basename(name, ".json") !== signer) {
      recordIssues.push({ file, path: "$.signer", message: `file name ${name} does not match the signer ${signer}`, fix: `name the file ${signer}.json` });
    }
    if (typeof signer === "string" && party === undefined) {
      recordIssues.push({ file, path: "$.signer", message: `${signer} is not a party of the contract`, fix: "remove this signature; only parties sign" });
    } else if (party !== undefined && !expectedSigners.includes(party)) {
      recordIssues.push({ file, path: "$.signer", message: `${party.address} (${party.role}) is not asked to sign ${FOLDERS[kind]}`, fix: "remove this file" });
    }
    if (recordIssues.length > 0) {
      issues.push(...recordIssues);
      if (party !== undefined) invalid.add(party.address);
    } else if (party !== undefined) valid.add(party.address);
  }

  const parties = expectedSigners.map((party) => ({
    address: party.address,
    role: party.role,
    name: party.name,
    status: valid.has(party.address) ? "valid" : invalid.has(party.address) ? "invalid" : "missing",
  })) satisfies PartyVerdict[];
  for (const party of parties) {
    if (party.status === "missing") {
      issues.push({
        file: display(repo, join(dir, `${party.address}.json`)),
        path: "$",
        message: `no ${kind} by ${party.role} ${party.name}`,
        fix: kind === "agreement" ? `datomspod contract sign ${contract.id} --key <their key>` : `datomspod approve ${contract.id} --key <their key>`,
      });
    }
  }
  return { ok: issues.length === 0, parties, issues };
}

export function verifyAgreements(repo: string, loaded: LoadedContract): Verification {
  return verifyParties(repo, loaded, "agreement", loaded.contract.parties, agreementMessage(loaded.contract, loaded.hash));
}

/**
 * Verifies the approvals against `subject`, what they must cover now. Without a subject (the
 * instance cannot be prepared: `problems` say why) no approval can count: every approver is
 * reported missing or invalid, with the problems.
 */
export function verifyApprovals(repo: string, loaded: LoadedContract, subject: ApprovalSubject | undefined, problems: readonly Issue[] = []): Verification {
  const approvers = requiredApprovers(loaded.contract);
  if (subject !== undefined) return verifyParties(repo, loaded, "approval", approvers, approvalMessage(subject));
  const present = new Set(listRecordFiles(join(loaded.dir, FOLDERS.approval)).json.map((name) => basename(name, ".json").toLowerCase()));
  const parties = approvers.map((party) => ({
    address: party.address,
    role: party.role,
    name: party.name,
    status: present.has(party.address.toLowerCase()) ? ("invalid" as const) : ("missing" as const),
  }));
  const why: Issue = {
    file: loaded.file,
    path: "$",
    message: "what the approvals must cover (the instance, its environment, profile and images) cannot be determined, so no approval counts",
    fix: "fix the problems listed with it",
  };
  return { ok: false, parties, issues: [why, ...problems] };
}
