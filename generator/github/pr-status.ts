/**
 * `datomspod github pr-status`: recomputes a pull request's state and tells the people in it. Run
 * by the base branch's datomspod against the pull request's head *data* (contracts/, clusters/,
 * environments/ checked out as files, never executed), on pull_request_target and after every
 * review. It reads the pull request, its files and reviews from the API, judges every contract it
 * changes with the one gate (the approving reviews of the head commit counted like committed
 * review records), and then edits the one comment, sets `datomspod/approval`, `datomspod/check`
 * and `datomspod/contract-lock` on the head commit, and asks the approvers who are newly missing for a
 * review (an edited comment notifies nobody).
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors.js";
import { loadContract } from "../contract/load.js";
import { prepareContract } from "../compile/prepare.js";
import { loadProfiles, type ClusterProfile } from "../compile/profile.js";
import { gateContract } from "../gate/gate.js";
import type { ContractCheck } from "../policy/report/check-report.js";
import { contractFile, listContractIds } from "../repo/layout.js";
import { readJsonFile } from "../repo/files.js";
import { approvalMessage, type PendingReview } from "../signatures/verify.js";
import { REVIEW_RECORD_KIND, type ReviewRecord } from "../signatures/reviews.js";
import type { Contract } from "../contract/types.generated.js";
import { fullName, type CommitStatus, type GitHubClient, type IssueComment, type PullRequest, type Repository } from "./client.js";
import { decideReviews, type ReviewDecision } from "./approvals.js";
import { pullChanges, type ContractUse } from "./changes.js";
import {
  COMMENT_MARKER,
  approvalStatus,
  checkStatus,
  commentState,
  lockStatus,
  missingApprovers,
  renderComment,
  toNotify,
  type Conflict,
  type ContractReport,
  type PullReport,
} from "./report.js";

export interface PrStatusOptions {
  /** The checkout of the pull request's head (its contracts, clusters and environments). */
  readonly repo: string;
  readonly client: GitHubClient;
  readonly number: number;
  readonly now: Date;
  /** The commit the checkout is of; when the pull request has moved on, nothing is posted. */
  readonly headSha?: string;
  readonly runUrl?: string;
  /** Compute and return everything, post nothing. */
  readonly dryRun?: boolean;
}

export interface PrStatusResult {
  readonly report: PullReport;
  readonly body: string;
  readonly statuses: readonly CommitStatus[];
  /** What happened to the comment. */
  readonly comment: "created" | "updated" | "unchanged" | "not posted";
  readonly commentId?: number;
  /** Logins asked for a review now. */
  readonly notified: readonly string[];
  /** Set when nothing was done because the pull request moved on or is closed. */
  readonly skipped?: string;
}

/** What each contract of the checkout runs with (contracts that do not parse are left out). */
export function contractUses(repo: string): ContractUse[] {
  return listContractIds(repo).map((id) => {
    try {
      // Never through a symbolic link: the head checkout is untrusted data.
      const value = readJsonFile(contractFile(repo, id), `contracts/${id}/contract.json`) as Partial<Contract>;
      const environment = value.inputs?.algorithm?.environment;
      return { id, ...(typeof environment === "string" ? { environment } : {}), ...(typeof value.cluster === "string" ? { cluster: value.cluster } : {}) };
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      return { id };
    }
  });
}

/** Review records of the approving reviews of the head commit, as pending reviews for the gate. */
export function pendingReviews(
  repository: Repository,
  pull: Pick<PullRequest, "number" | "headSha">,
  decision: ReviewDecision,
  message: Record<string, string>,
): PendingReview[] {
  return decision.approvers.flatMap((approver) => {
    const review = approver.review;
    if (approver.status !== "approved" || review === undefined || review.submittedAt === null) return [];
    const record: ReviewRecord = {
      kind: REVIEW_RECORD_KIND,
      version: 1,
      repository: fullName(repository),
      pullRequest: pull.number,
      review: { id: review.id, state: "APPROVED", commit: pull.headSha, submittedAt: review.submittedAt.replace(/\.\d+Z$/, "Z"), url: review.url },
      reviewer: { login: review.login, id: review.userId },
      party: approver.party.address,
      approval: message,
    };
    return [{ record, source: `GitHub review ${review.id} of pull request #${pull.number}` }];
  });
}

function checkOf(result: ReturnType<typeof gateContract>): ContractCheck {
  return {
    id: result.id,
    file: result.file,
    stages: result.stages,
    notes: result.notes,
    ...(result.policy === undefined ? {} : { policy: result.policy }),
    ...(result.scenario === undefined ? {} : { scenario: result.scenario }),
  };
}

function profilesOf(repo: string): ReadonlyMap<string, ClusterProfile> {
  try {
    return loadProfiles(repo);
  } catch (error) {
    if (error instanceof InputError) return new Map();
    throw error;
  }
}

/** Judges one contract of the pull request: the gate with the approving reviews of the head counted. */
function judge(
  repo: string,
  id: string,
  pull: PullRequest,
  repository: Repository,
  reviews: Parameters<typeof decideReviews>[1],
  countReviews: boolean,
  now: Date,
  profiles: ReadonlyMap<string, ClusterProfile>,
): ContractReport {
  if (!existsSync(join(repo, "contracts", id, "contract.json"))) return { id, removed: true };
  let decision: ReviewDecision | undefined;
  let pending: PendingReview[] = [];
  try {
    const loaded = loadContract(repo, id);
    decision = decideReviews(loaded.contract, reviews, pull.headSha);
    const { prepared } = prepareContract(repo, loaded, profiles);
    if (countReviews && prepared !== undefined) pending = pendingReviews(repository, pull, decision, approvalMessage(prepared.subject));
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
  }
  const result = gateContract(repo, id, now, profiles, { preview: true, reviews: pending });
  return {
    id,
    removed: false,
    check: checkOf(result),
    ...(result.facts === undefined ? {} : { approvals: result.facts.approvals }),
    ...(decision === undefined ? {} : { decision }),
  };
}

/** Builds the pull request's report from the API and the checkout. Reads only. */
export async function pullReport(options: Pick<PrStatusOptions, "repo" | "client" | "number" | "now" | "runUrl">, pull: PullRequest): Promise<PullReport> {
  const { repo, client, now } = options;
  const uses = contractUses(repo);
  const [files, reviews, open] = await Promise.all([client.listFiles(pull.number), client.listReviews(pull.number), client.listOpenPulls()]);
  const changes = pullChanges(files, uses);
  const conflicts: Conflict[] = [];
  const mine = new Set(changes.contracts);
  for (const other of open.filter((p) => p.number < pull.number).sort((a, b) => a.number - b.number)) {
    if (mine.size === 0) break;
    const theirs = pullChanges(await client.listFiles(other.number), uses).contracts;
    for (const id of theirs) if (mine.has(id) && !conflicts.some((c) => c.id === id)) conflicts.push({ id, number: other.number, url: other.url });
  }
  const countReviews = !(changes.tooling.length > 0);
  const profiles = profilesOf(repo);
  const contracts = changes.contracts.map((id) => judge(repo, id, pull, client.repository, reviews, countReviews, now, profiles));
  return {
    number: pull.number,
    headSha: pull.headSha,
    baseRef: pull.baseRef,
    baseSha: pull.baseSha,
    contracts,
    tooling: changes.tooling,
    conflicts,
    ...(options.runUrl === undefined ? {} : { runUrl: options.runUrl }),
  };
}

/** The datomspod comment of the pull request: the first one with the marker written by a bot. */
export function findComment(comments: readonly IssueComment[]): IssueComment | undefined {
  return comments.find((comment) => comment.userType === "Bot" && comment.body.startsWith(COMMENT_MARKER));
}

export async function prStatus(options: PrStatusOptions): Promise<PrStatusResult> {
  const { client, number } = options;
  const pull = await client.getPull(number);
  const empty = { body: "", statuses: [], comment: "not posted" as const, notified: [] };
  const skip = (skipped: string): PrStatusResult => ({
    ...empty,
    report: { number, headSha: pull.headSha, baseRef: pull.baseRef, baseSha: pull.baseSha, contracts: [], tooling: [], conflicts: [] },
    skipped,
  });
  if (pull.state !== "open") return skip(`pull request #${number} is ${pull.merged ? "merged" : "closed"}: nothing to report`);
  if (options.headSha !== undefined && options.headSha !== pull.headSha)
    return skip(
      `pull request #${number} moved on to ${pull.headSha.slice(0, 7)} since ${options.headSha.slice(0, 7)} was checked out: the run for the new head reports`,
    );

  const report = await pullReport(options, pull);
  const missing = missingApprovers(report);
  const comments = await client.listComments(number);
  const existing = findComment(comments);
  const previous = existing === undefined ? undefined : commentState(existing.body);
  const body = renderComment(report, { head: pull.headSha, missing: missing.flatMap((m) => (m.login === undefined ? [] : [m.login])) });
  const statuses = [approvalStatus(report), checkStatus(report), lockStatus(report)];
  const notify = toNotify(missing, previous, pull.headSha).filter((login) => login.toLowerCase() !== pull.author.toLowerCase());
  if (options.dryRun === true) return { report, body, statuses, comment: "not posted", notified: notify };

  let comment: PrStatusResult["comment"];
  let commentId: number;
  if (existing === undefined && report.contracts.length === 0 && report.tooling.length === 0) {
    comment = "not posted";
    commentId = 0;
  } else if (existing === undefined) {
    const created = await client.createComment(number, body);
    comment = "created";
    commentId = created.id;
  } else if (existing.body === body || existing.body === body.trimEnd()) {
    comment = "unchanged";
    commentId = existing.id;
  } else {
    await client.updateComment(existing.id, body);
    comment = "updated";
    commentId = existing.id;
  }
  for (const status of statuses) await client.setStatus(pull.headSha, status);
  const ask = notify.filter((login) => !pull.requestedReviewers.some((r) => r.toLowerCase() === login.toLowerCase()));
  if (ask.length > 0 && !(await client.requestReviewers(number, ask))) {
    // GitHub refuses review requests to people without access: a mention notifies them instead.
    await client.createComment(
      number,
      `${ask.map((login) => `@${login}`).join(" ")}: datomspod needs your approval of ${pull.headSha.slice(0, 7)} (see the datomspod comment above).`,
    );
  }
  return { report, body, statuses, comment, ...(commentId === 0 ? {} : { commentId }), notified: notify };
}
