/**
 * `datomspod github record-reviews`: on a push to main, writes each approving review of the merged
 * pull request that counts into the repository as a review record (signatures/reviews.ts), from
 * GitHub's API, so that it is evidence anchored with the rest and the approval holds without
 * GitHub from then on.
 *
 * A review is recorded only when it approved the pull request's head commit as it was merged, and
 * the merged commit's tree is exactly the reviewed commit's tree (GitHub says both): then what the
 * repository renders now is what the reviewer saw, and the subject written is computed from this
 * checkout. Reviews of a pull request that changes datomspod's tooling are not recorded (it could
 * not grade itself). Records are written once; an existing record is never replaced.
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError, type Issue } from "../errors.js";
import { loadContract } from "../contract/load.js";
import { prepareContract } from "../compile/prepare.js";
import { contractDir } from "../repo/layout.js";
import { toJsonText, writeFileAtomic } from "../repo/files.js";
import { approvalMessage } from "../signatures/verify.js";
import { REVIEW_FOLDER, reviewFileName } from "../signatures/reviews.js";
import type { GitHubClient, PullRequest } from "./client.js";
import { decideReviews } from "./approvals.js";
import { pullChanges } from "./changes.js";
import { contractUses, pendingReviews } from "./pr-status.js";

export interface RecordedReview {
  readonly contract: string;
  readonly pullRequest: number;
  readonly reviewId: number;
  readonly login: string;
  /** The file as the repository shows it. */
  readonly file: string;
  readonly written: boolean;
}

export interface RecordResult {
  readonly pulls: readonly number[];
  readonly recorded: readonly RecordedReview[];
  /** Why approvals were not recorded. */
  readonly skipped: readonly Issue[];
}

/** The merged pull requests `sha` (the pushed commit of main) is the merge of. */
export async function mergedPulls(client: GitHubClient, sha: string): Promise<PullRequest[]> {
  return (await client.pullsOfCommit(sha)).filter((pull) => pull.merged && pull.mergeCommitSha === sha).sort((a, b) => a.number - b.number);
}

export async function recordReviews(repo: string, client: GitHubClient, sha: string): Promise<RecordResult> {
  const pulls = await mergedPulls(client, sha);
  const recorded: RecordedReview[] = [];
  const skipped: Issue[] = [];
  for (const pull of pulls) {
    const where = `pull request #${pull.number}`;
    const files = await client.listFiles(pull.number);
    const changes = pullChanges(files, contractUses(repo));
    if (changes.contracts.length === 0) continue;
    if (changes.tooling.length > 0) {
      skipped.push({
        file: where,
        path: "$",
        message: `changes datomspod's tooling (${changes.tooling[0]}…) with contracts, so its reviews are not recorded as approvals`,
        fix: "the owners approve in a pull request of its own, or with datomspod approve",
      });
      continue;
    }
    const [reviewedTree, mergedTree] = await Promise.all([client.treeOf(pull.headSha), client.treeOf(sha)]);
    if (reviewedTree !== mergedTree) {
      skipped.push({
        file: where,
        path: "$",
        message: `was merged as a tree other than the reviewed head ${pull.headSha.slice(0, 7)}'s (its branch was not up to date), so what the reviews approved is not what main holds`,
        fix: "require branches to be up to date before merging (docs/github.md); the owners approve again with datomspod approve or in a new pull request",
      });
      continue;
    }
    const reviews = await client.listReviews(pull.number);
    for (const id of changes.contracts) {
      if (!existsSync(join(contractDir(repo, id), "contract.json"))) continue;
      let loaded;
      try {
        loaded = loadContract(repo, id);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        skipped.push({ file: `contracts/${id}/contract.json`, path: "$", message: "does not load, so no review of it is recorded", fix: "fix the contract" });
        continue;
      }
      const { prepared, issues } = prepareContract(repo, loaded);
      if (prepared === undefined) {
        skipped.push(...issues);
        continue;
      }
      const decision = decideReviews(loaded.contract, reviews, pull.headSha);
      for (const pending of pendingReviews(client.repository, pull, decision, approvalMessage(prepared.subject))) {
        const record = pending.record;
        const name = reviewFileName(record.review.id);
        const path = join(contractDir(repo, id), REVIEW_FOLDER, name);
        const file = `contracts/${id}/${REVIEW_FOLDER}/${name}`;
        const text = toJsonText(record);
        let written = false;
        if (existsSync(path)) {
          if (readFileSync(path, "utf8") !== text)
            throw InputError.of({
              file,
              path: "$",
              message: "exists with other content; a review record is written once",
              fix: "restore it from git: records are evidence and never rewritten",
            });
        } else {
          writeFileAtomic(path, text);
          written = true;
        }
        recorded.push({ contract: id, pullRequest: pull.number, reviewId: record.review.id, login: record.reviewer.login, file, written });
      }
    }
  }
  return { pulls: pulls.map((p) => p.number), recorded, skipped };
}
