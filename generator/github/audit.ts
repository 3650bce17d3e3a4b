/**
 * `datomspod audit reviews`: re-reads every committed review record from GitHub's API. A record
 * is verified when GitHub still says what it says: the review exists on that pull request of that
 * repository, is APPROVED, by that login and user id, of that commit, submitted then; and the pull
 * request was merged with that commit as its head. Anything else is a mismatch (a forged record, a
 * review dismissed after the merge, a login that now belongs to another account).
 */

import { join } from "node:path";
import { InputError } from "../errors.js";
import { contractDir, listContractIds } from "../repo/layout.js";
import { listRecordFiles } from "../repo/layout.js";
import { display, readJsonFile } from "../repo/files.js";
import { REVIEW_FOLDER, validateReviewShape, type ReviewRecord } from "../signatures/reviews.js";
import { fullName, type GitHubClient, type PullRequest } from "./client.js";

export interface AuditedReview {
  readonly file: string;
  readonly status: "verified" | "mismatched";
  readonly problems: readonly string[];
}

export async function auditReviews(repo: string, client: GitHubClient, ids: readonly string[]): Promise<AuditedReview[]> {
  const rows: AuditedReview[] = [];
  const pulls = new Map<number, Promise<PullRequest>>();
  for (const id of ids.length > 0 ? ids : listContractIds(repo)) {
    const dir = join(contractDir(repo, id), REVIEW_FOLDER);
    for (const name of listRecordFiles(dir).json) {
      const path = join(dir, name);
      const file = display(repo, path);
      let value: unknown;
      try {
        value = readJsonFile(path, file, 64 * 1024);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        rows.push({ file, status: "mismatched", problems: error.issues.map((issue) => issue.message) });
        continue;
      }
      const shape = validateReviewShape(value, file);
      if (shape.length > 0) {
        rows.push({ file, status: "mismatched", problems: shape.map((issue) => `${issue.path}: ${issue.message}`) });
        continue;
      }
      const record = value as ReviewRecord;
      const problems: string[] = [];
      if (record.repository.toLowerCase() !== fullName(client.repository).toLowerCase())
        problems.push(`names the repository ${record.repository}, not ${fullName(client.repository)}: audit it there`);
      else {
        const review = await client.getReview(record.pullRequest, record.review.id);
        if (review === undefined) {
          rows.push({ file, status: "mismatched", problems: [`GitHub has no review ${record.review.id} on pull request #${record.pullRequest}`] });
          continue;
        }
        let pull = pulls.get(record.pullRequest);
        if (pull === undefined) {
          pull = client.getPull(record.pullRequest);
          pulls.set(record.pullRequest, pull);
        }
        const merged = await pull;
        if (review.state !== "APPROVED") problems.push(`GitHub says the review is ${review.state}, not APPROVED`);
        if (review.login.toLowerCase() !== record.reviewer.login.toLowerCase())
          problems.push(`GitHub says the reviewer is @${review.login}, not @${record.reviewer.login}`);
        if (review.userId !== record.reviewer.id)
          problems.push(`GitHub says the reviewer's user id is ${review.userId}, not ${record.reviewer.id} (the login may belong to another account now)`);
        if (review.commitId !== record.review.commit)
          problems.push(`GitHub says the review is of ${review.commitId ?? "no commit"}, not ${record.review.commit}`);
        if ((review.submittedAt ?? "").replace(/\.\d+Z$/, "Z") !== record.review.submittedAt)
          problems.push(`GitHub says it was submitted at ${review.submittedAt ?? "no time"}, not ${record.review.submittedAt}`);
        if (!merged.merged) problems.push(`pull request #${record.pullRequest} was not merged`);
        else if (merged.headSha !== record.review.commit)
          problems.push(`pull request #${record.pullRequest} was merged at ${merged.headSha}, not at the reviewed ${record.review.commit}`);
      }
      rows.push({ file, status: problems.length === 0 ? "verified" : "mismatched", problems });
    }
  }
  return rows;
}
