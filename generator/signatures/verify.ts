/**
 * Contract-level verification: every party's agreement, and the algorithm approvals of every data
 * provider and the witness. Each party ends up valid, missing or invalid, with the reasons. An
 * approval is a signed `approvals/<address>.json` or a review record (`reviews/<review id>.json`,
 * see reviews.ts): both count the same.
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
import { REVIEW_FOLDER, verifyReviewRecord, type ReviewRecord } from "./reviews.js";
import { toBytes32, type RecordKind, type RecordMessage } from "./typed-data.js";
import { inheritedApprovals } from "../market/approvals.js";
import type { AlgorithmPackage } from "../market/package.js";

export type PartyStatus = "valid" | "missing" | "invalid";

export interface PartyVerdict {
  readonly address: string;
  readonly role: Party["role"];
  readonly name: string;
  readonly status: PartyStatus;
  /** Approvals: what made the party valid, a signed file and/or approving reviews. */
  readonly via?: readonly ("signature" | "review" | "package")[];
  /** Approvals: the reviews that count for the party. */
  readonly reviews?: readonly { readonly id: number; readonly login: string; readonly commit: string; readonly pullRequest: number }[];
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
      const login = expectedSigners.find((p) => p.address === party.address)?.github;
      issues.push({
        file: display(repo, join(dir, `${party.address}.json`)),
        path: "$",
        message: `no ${kind} by ${party.role} ${party.name}`,
        fix:
          kind === "agreement"
            ? `datomspod contract sign ${contract.id} --key <their key>`
            : `datomspod approve ${contract.id} --key <their key>${login === undefined ? "" : `, or an approving review of the pull request by @${login}`}`,
      });
    }
  }
  return { ok: issues.length === 0, parties, issues };
}

export function verifyAgreements(repo: string, loaded: LoadedContract): Verification {
  return verifyParties(repo, loaded, "agreement", loaded.contract.parties, agreementMessage(loaded.contract, loaded.hash));
}

/** A review record that is not (yet) a file: an approving review of the open pull request. */
export interface PendingReview {
  readonly record: ReviewRecord;
  /** How it is shown in issues, e.g. "GitHub review 80 of pull request 12". */
  readonly source: string;
}

export interface ApprovalOptions {
  /** The agreements over the current contract (computed when not given): a login binds only for a party that signed it. */
  readonly agreements?: Verification;
  /** Approving reviews of the open pull request, counted as if their records were committed. */
  readonly reviews?: readonly PendingReview[];
  /**
   * The algorithm package the contract uses (verified by prepareContract) and the time to judge
   * its approvals at: an owner's package approval within its limits counts as their approval.
   */
  readonly market?: { readonly package: AlgorithmPackage; readonly now: number };
}

/**
 * Verifies the approvals against `subject`, what they must cover now. Without a subject (the
 * instance cannot be prepared: `problems` say why) no approval can count: every approver is
 * reported missing or invalid, with the problems.
 */
export function verifyApprovals(
  repo: string,
  loaded: LoadedContract,
  subject: ApprovalSubject | undefined,
  problems: readonly Issue[] = [],
  options: ApprovalOptions = {},
): Verification {
  const approvers = requiredApprovers(loaded.contract);
  if (subject !== undefined) {
    const message = approvalMessage(subject);
    const verified = withReviews(repo, loaded, verifyParties(repo, loaded, "approval", approvers, message), message, options);
    return options.market === undefined ? verified : withPackageApprovals(repo, loaded, verified, subject, options.market);
  }
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

/** Review records of the contract's reviews/ folder and the pending ones, as (value, file, name). */
function reviewSources(
  repo: string,
  loaded: LoadedContract,
  pending: readonly PendingReview[],
  issues: Issue[],
): { value: unknown; file: string; name?: string }[] {
  const dir = join(loaded.dir, REVIEW_FOLDER);
  const { json, other } = listRecordFiles(dir);
  for (const name of other)
    issues.push({
      file: display(repo, join(dir, name)),
      path: "$",
      message: "is not a review record",
      fix: `keep only <review id>.json files in ${REVIEW_FOLDER}/`,
    });
  const sources: { value: unknown; file: string; name?: string }[] = [];
  for (const name of json) {
    const path = join(dir, name);
    const file = display(repo, path);
    try {
      sources.push({ value: readJsonFile(path, file, 64 * 1024), file, name });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      issues.push(...error.issues);
    }
  }
  return [...sources, ...pending.map((review) => ({ value: review.record, file: review.source }))];
}

/**
 * Adds the review records to the signed approvals: a party is valid when a signed approval or a
 * review record of it verifies. A record (or signed file) that only approves an earlier version
 * of what runs is no problem while the party approved the current one another way.
 */
function withReviews(repo: string, loaded: LoadedContract, signed: Verification, message: RecordMessage, options: ApprovalOptions): Verification {
  const { contract } = loaded;
  const issues: Issue[] = [];
  const sources = reviewSources(repo, loaded, options.reviews ?? [], issues);
  if (sources.length === 0 && issues.length === 0)
    return { ...signed, parties: signed.parties.map((p) => (p.status === "valid" ? { ...p, via: ["signature"] } : p)) };
  const agreements = options.agreements ?? verifyAgreements(repo, loaded);
  const agreed = new Set(agreements.parties.filter((p) => p.status === "valid").map((p) => p.address.toLowerCase()));
  const counted = new Map<string, { id: number; login: string; commit: string; pullRequest: number }[]>();
  const stale: { address: string; issues: readonly Issue[] }[] = [];
  const failed = new Set<string>();
  for (const source of sources) {
    const verdict = verifyReviewRecord(source.value, { contract, message, agreed }, source.file, source.name);
    const address = verdict.party?.address;
    if (verdict.issues.length === 0 && address !== undefined) {
      const record = source.value as ReviewRecord;
      counted.set(address, [
        ...(counted.get(address) ?? []),
        { id: record.review.id, login: record.reviewer.login, commit: record.review.commit, pullRequest: record.pullRequest },
      ]);
    } else if (verdict.stale && address !== undefined) stale.push({ address, issues: verdict.issues });
    else {
      issues.push(...verdict.issues);
      if (address !== undefined) failed.add(address);
    }
  }
  const signedValid = new Set(signed.parties.filter((p) => p.status === "valid").map((p) => p.address));
  const valid = (address: string): boolean => signedValid.has(address) || counted.has(address);
  for (const entry of stale) {
    if (valid(entry.address)) continue;
    issues.push(...entry.issues);
    failed.add(entry.address);
  }
  // The signed approvals' issues, less a missing or outdated file of a party a review approved.
  const byReview = new Set(counted.keys());
  const signedIssues = signed.issues.filter((issue) => {
    const address = [...byReview].find((a) => issue.file.endsWith(`/${FOLDERS.approval}/${a}.json`));
    return address === undefined || !(issue.path === "$" || issue.path.startsWith("$.message."));
  });
  const parties = signed.parties.map((party): PartyVerdict => {
    const via = [...(signedValid.has(party.address) ? (["signature"] as const) : []), ...(counted.has(party.address) ? (["review"] as const) : [])];
    const reviews = counted.get(party.address);
    const status: PartyStatus = via.length > 0 ? "valid" : failed.has(party.address) || party.status === "invalid" ? "invalid" : "missing";
    return { ...party, status, ...(via.length > 0 ? { via } : {}), ...(reviews === undefined ? {} : { reviews }) };
  });
  const all = [...signedIssues, ...issues];
  return { ok: all.length === 0 && parties.every((p) => p.status === "valid"), parties, issues: all };
}

/**
 * Adds the approvals a contract inherits from its algorithm package (generator/market/): a party
 * without an approval of this contract is valid when their approval of the package covers the
 * contract (datasets, scenario, cluster profile, parameters, validity) and is not revoked. A
 * missing or outdated approval file of such a party is then no problem, as with reviews.
 */
function withPackageApprovals(
  repo: string,
  loaded: LoadedContract,
  verified: Verification,
  subject: ApprovalSubject,
  market: { readonly package: AlgorithmPackage; readonly now: number },
): Verification {
  const pending = requiredApprovers(loaded.contract).filter((party) => verified.parties.find((p) => p.address === party.address)?.status !== "valid");
  if (pending.length === 0) return verified;
  const cluster = { name: subject.cluster, profileDigest: subject.clusterProfileDigest };
  const inherited = inheritedApprovals(repo, loaded.contract, loaded.file, pending, market.package, cluster, market.now);
  const kept = verified.issues.filter((issue) => {
    const address = [...inherited.valid].find((a) => issue.file.endsWith(`/${FOLDERS.approval}/${a}.json`));
    return address === undefined || !(issue.path === "$" || issue.path.startsWith("$.message."));
  });
  const parties = verified.parties.map((party): PartyVerdict => {
    if (inherited.valid.has(party.address)) return { ...party, status: "valid", via: [...(party.via ?? []), "package"] };
    if (inherited.invalid.has(party.address)) return { ...party, status: "invalid" };
    return party;
  });
  const issues = [...kept, ...inherited.issues];
  return { ok: issues.length === 0 && parties.every((p) => p.status === "valid"), parties, issues };
}
