/**
 * The seam to GitHub: the few REST calls the pull-request flow makes, with the fields it uses.
 * One real implementation (octokit.ts, `@octokit/rest`); tests replay GitHub's recorded answers
 * against it with nock. Everything else in generator/github/ is pure and takes these values.
 */

/** owner/name of a repository. */
export interface Repository {
  readonly owner: string;
  readonly name: string;
}

export function fullName(repository: Repository): string {
  return `${repository.owner}/${repository.name}`;
}

export interface PullRequest {
  readonly number: number;
  readonly state: "open" | "closed";
  readonly draft: boolean;
  readonly merged: boolean;
  readonly mergeCommitSha: string | null;
  readonly headSha: string;
  readonly headRef: string;
  /** owner/name of the head's repository (a fork's for a pull request from a fork); null when it was deleted. */
  readonly headRepo: string | null;
  readonly baseRef: string;
  readonly baseSha: string;
  readonly author: string;
  readonly url: string;
  readonly requestedReviewers: readonly string[];
}

/** GitHub's review states as the REST API spells them. */
export const REVIEW_STATES = ["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

export interface Review {
  readonly id: number;
  readonly login: string;
  readonly userId: number;
  readonly state: ReviewState;
  /** The commit the review was made on (null for reviews of commits GitHub no longer has). */
  readonly commitId: string | null;
  /** null while PENDING. */
  readonly submittedAt: string | null;
  readonly url: string;
}

export interface ChangedFile {
  readonly filename: string;
  readonly status: string;
  /** For renames: where the file was. */
  readonly previousFilename?: string;
}

export interface IssueComment {
  readonly id: number;
  readonly body: string;
  readonly login: string;
  /** "Bot" for github-actions[bot]. */
  readonly userType: string;
  readonly url: string;
}

export const STATUS_STATES = ["error", "failure", "pending", "success"] as const;
export type StatusState = (typeof STATUS_STATES)[number];

export interface CommitStatus {
  readonly context: string;
  readonly state: StatusState;
  /** At most 140 characters (GitHub's limit). */
  readonly description: string;
  readonly targetUrl?: string;
}

export interface GitHubClient {
  readonly repository: Repository;
  getPull(number: number): Promise<PullRequest>;
  /** Every open pull request. */
  listOpenPulls(): Promise<PullRequest[]>;
  listFiles(number: number): Promise<ChangedFile[]>;
  listReviews(number: number): Promise<Review[]>;
  /** undefined when GitHub has no such review on that pull request (404). */
  getReview(number: number, reviewId: number): Promise<Review | undefined>;
  listComments(number: number): Promise<IssueComment[]>;
  createComment(number: number, body: string): Promise<IssueComment>;
  updateComment(commentId: number, body: string): Promise<IssueComment>;
  setStatus(sha: string, status: CommitStatus): Promise<void>;
  /** Asks `logins` for a review; false when GitHub refuses (e.g. not collaborators). */
  requestReviewers(number: number, logins: readonly string[]): Promise<boolean>;
  /** The pull requests a commit belongs to (for a merge commit on main: the merged one). */
  pullsOfCommit(sha: string): Promise<PullRequest[]>;
  /** The sha of a commit's tree. */
  treeOf(sha: string): Promise<string>;
}
