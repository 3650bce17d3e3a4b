/**
 * The real GitHubClient: `@octokit/rest` against GitHub's REST API (or GITHUB_API_URL for GitHub
 * Enterprise). Every answer is checked for the fields datomspod uses before it is believed; a
 * failed call is a ServiceError (exit 3) that names the call and GitHub's answer, never the token.
 */

import { Octokit } from "@octokit/rest";
import { InputError, ServiceError } from "../errors.js";
import { REVIEW_STATES, type ChangedFile, type GitHubClient, type IssueComment, type PullRequest, type Repository, type Review } from "./client.js";

export interface OctokitClientOptions {
  readonly repository: Repository;
  /** A token (GITHUB_TOKEN in a workflow); undefined for anonymous calls. */
  readonly token?: string;
  /** Default https://api.github.com. */
  readonly baseUrl?: string;
  /** Injected fetch (tests, proxies); default the global fetch. */
  readonly fetch?: typeof fetch;
  readonly userAgent?: string;
}

/** Pull requests with more changed files than this are refused (GitHub lists at most 3,000). */
export const MAX_FILES = 3000;

type Json = Record<string, unknown>;

function fail(call: string, what: string): never {
  throw new ServiceError(`GitHub's answer to ${call} ${what}`, [
    { file: "GitHub API", path: call, message: what, fix: "check GITHUB_API_URL; if GitHub changed its API, report it to datomspod" },
  ]);
}

function object(value: unknown, call: string, what = "is not a JSON object"): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail(call, what);
  return value as Json;
}

function text(value: Json, key: string, call: string): string {
  const got = value[key];
  if (typeof got !== "string") fail(call, `has no string ${key}`);
  return got;
}

function integer(value: Json, key: string, call: string): number {
  const got = value[key];
  if (typeof got !== "number" || !Number.isSafeInteger(got)) fail(call, `has no integer ${key}`);
  return got;
}

function nullableText(value: Json, key: string, call: string): string | null {
  const got = value[key];
  if (got === null || got === undefined) return null;
  if (typeof got !== "string") fail(call, `has a ${key} that is not a string`);
  return got;
}

function login(user: unknown): { login: string; id: number; type: string } {
  // A deleted account's user is null (GitHub shows it as "ghost"): it stands for nobody.
  if (user === null || typeof user !== "object") return { login: "", id: 0, type: "User" };
  const value = user as Json;
  return {
    login: typeof value["login"] === "string" ? value["login"] : "",
    id: typeof value["id"] === "number" ? value["id"] : 0,
    type: typeof value["type"] === "string" ? value["type"] : "User",
  };
}

export function toPullRequest(data: unknown, call: string): PullRequest {
  const pull = object(data, call);
  const head = object(pull["head"], call, "has no head");
  const base = object(pull["base"], call, "has no base");
  const headRepo = head["repo"] === null || head["repo"] === undefined ? null : text(object(head["repo"], call), "full_name", call);
  const state = text(pull, "state", call);
  if (state !== "open" && state !== "closed") fail(call, `has the unknown state ${JSON.stringify(state)}`);
  const reviewers = Array.isArray(pull["requested_reviewers"]) ? pull["requested_reviewers"] : [];
  return {
    number: integer(pull, "number", call),
    state,
    draft: pull["draft"] === true,
    merged: pull["merged"] === true || (typeof pull["merged_at"] === "string" && pull["merged_at"] !== ""),
    mergeCommitSha: nullableText(pull, "merge_commit_sha", call),
    headSha: text(head, "sha", call),
    headRef: text(head, "ref", call),
    headRepo,
    baseRef: text(base, "ref", call),
    baseSha: text(base, "sha", call),
    author: login(pull["user"]).login,
    url: text(pull, "html_url", call),
    requestedReviewers: reviewers.map((user) => login(user).login).filter((name) => name !== ""),
  };
}

export function toReview(data: unknown, call: string): Review {
  const review = object(data, call);
  const state = text(review, "state", call);
  if (!(REVIEW_STATES as readonly string[]).includes(state)) fail(call, `has the unknown review state ${JSON.stringify(state)}`);
  const user = login(review["user"]);
  return {
    id: integer(review, "id", call),
    login: user.login,
    userId: user.id,
    state: state as Review["state"],
    commitId: nullableText(review, "commit_id", call),
    submittedAt: nullableText(review, "submitted_at", call),
    url: text(review, "html_url", call),
  };
}

function toFile(data: unknown, call: string): ChangedFile {
  const file = object(data, call);
  const previous = file["previous_filename"];
  return {
    filename: text(file, "filename", call),
    status: text(file, "status", call),
    ...(typeof previous === "string" ? { previousFilename: previous } : {}),
  };
}

function toComment(data: unknown, call: string): IssueComment {
  const comment = object(data, call);
  const user = login(comment["user"]);
  return {
    id: integer(comment, "id", call),
    body: nullableText(comment, "body", call) ?? "",
    login: user.login,
    userType: user.type,
    url: text(comment, "html_url", call),
  };
}

function list<T>(data: unknown, call: string, each: (item: unknown, call: string) => T): T[] {
  if (!Array.isArray(data)) fail(call, "is not a list");
  return data.map((item) => each(item, call));
}

/** `text` with every occurrence of the secrets replaced: no message may carry the token. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) if (secret !== undefined && secret.length >= 4) out = out.replaceAll(secret, "***");
  return out;
}

/** Turns an Octokit failure into a ServiceError that says what to do (the token redacted from GitHub's or the transport's words). */
function serviceError(call: string, error: unknown, token?: string): ServiceError {
  const status = typeof (error as { status?: unknown }).status === "number" ? (error as { status: number }).status : undefined;
  const reason = redact(error instanceof Error ? error.message : String(error), [token]);
  const fix =
    status === 401
      ? "the token is missing or expired: pass GITHUB_TOKEN"
      : status === 403 || status === 404
        ? "the token lacks a permission this job needs (see the workflow's permissions:), or the repository or pull request does not exist"
        : status === 422
          ? "GitHub refused the request as invalid"
          : "GitHub did not answer; run the job again";
  return new ServiceError(`GitHub API ${call} failed${status === undefined ? "" : ` (HTTP ${status})`}: ${reason}`, [
    { file: "GitHub API", path: call, message: `${status === undefined ? "" : `HTTP ${status}: `}${reason}`, fix },
  ]);
}

/** Parses GITHUB_REPOSITORY-style `owner/name`. */
export function parseRepository(value: string, source = "GITHUB_REPOSITORY"): Repository {
  const match = /^([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100})$/.exec(value);
  if (match === null || match[2] === "." || match[2] === "..")
    throw InputError.of({
      file: source,
      path: "$",
      message: `${JSON.stringify(value)} is not owner/name`,
      fix: "name the repository as owner/name, e.g. octo-org/data-contracts",
    });
  return { owner: match[1], name: match[2] };
}

export function createGitHubClient(options: OctokitClientOptions): GitHubClient {
  const octokit = new Octokit({
    ...(options.token === undefined ? {} : { auth: options.token }),
    baseUrl: options.baseUrl ?? "https://api.github.com",
    userAgent: options.userAgent ?? "datomspod",
    request: { fetch: options.fetch ?? globalThis.fetch },
    // Octokit's own logging stays silent: the CLI reports.
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  const { owner, name: repo } = options.repository;
  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (error instanceof ServiceError) throw error;
      throw serviceError(what, error, options.token);
    }
  };

  return {
    repository: options.repository,
    getPull: (number) =>
      call(`GET /repos/${owner}/${repo}/pulls/${number}`, async () =>
        toPullRequest((await octokit.rest.pulls.get({ owner, repo, pull_number: number })).data, `GET pulls/${number}`),
      ),
    listOpenPulls: () =>
      call(`GET /repos/${owner}/${repo}/pulls`, async () =>
        list(await octokit.paginate(octokit.rest.pulls.list, { owner, repo, state: "open", per_page: 100 }), "GET pulls", toPullRequest),
      ),
    listFiles: (number) =>
      call(`GET /repos/${owner}/${repo}/pulls/${number}/files`, async () => {
        const files = list(
          await octokit.paginate(octokit.rest.pulls.listFiles, { owner, repo, pull_number: number, per_page: 100 }),
          `GET pulls/${number}/files`,
          toFile,
        );
        if (files.length >= MAX_FILES) fail(`GET pulls/${number}/files`, `lists ${files.length} files, GitHub's limit: the changes cannot all be seen`);
        return files;
      }),
    listReviews: (number) =>
      call(`GET /repos/${owner}/${repo}/pulls/${number}/reviews`, async () =>
        list(
          await octokit.paginate(octokit.rest.pulls.listReviews, { owner, repo, pull_number: number, per_page: 100 }),
          `GET pulls/${number}/reviews`,
          toReview,
        ),
      ),
    getReview: async (number, reviewId) => {
      let data: unknown;
      try {
        data = (await octokit.rest.pulls.getReview({ owner, repo, pull_number: number, review_id: reviewId })).data;
      } catch (error) {
        if ((error as { status?: unknown }).status === 404) return undefined;
        throw serviceError(`GET /repos/${owner}/${repo}/pulls/${number}/reviews/${reviewId}`, error, options.token);
      }
      return toReview(data, `GET reviews/${reviewId}`);
    },
    listComments: (number) =>
      call(`GET /repos/${owner}/${repo}/issues/${number}/comments`, async () =>
        list(
          await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: number, per_page: 100 }),
          `GET issues/${number}/comments`,
          toComment,
        ),
      ),
    createComment: (number, body) =>
      call(`POST /repos/${owner}/${repo}/issues/${number}/comments`, async () =>
        toComment((await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body })).data, `POST issues/${number}/comments`),
      ),
    updateComment: (commentId, body) =>
      call(`PATCH /repos/${owner}/${repo}/issues/comments/${commentId}`, async () =>
        toComment((await octokit.rest.issues.updateComment({ owner, repo, comment_id: commentId, body })).data, `PATCH issues/comments/${commentId}`),
      ),
    setStatus: (sha, status) =>
      call(`POST /repos/${owner}/${repo}/statuses/${sha}`, async () => {
        await octokit.rest.repos.createCommitStatus({
          owner,
          repo,
          sha,
          state: status.state,
          context: status.context,
          description: status.description,
          ...(status.targetUrl === undefined ? {} : { target_url: status.targetUrl }),
        });
      }),
    requestReviewers: async (number, logins) => {
      try {
        await octokit.rest.pulls.requestReviewers({ owner, repo, pull_number: number, reviewers: [...logins] });
        return true;
      } catch (error) {
        if ((error as { status?: unknown }).status === 422) return false;
        throw serviceError(`POST /repos/${owner}/${repo}/pulls/${number}/requested_reviewers`, error, options.token);
      }
    },
    pullsOfCommit: (sha) =>
      call(`GET /repos/${owner}/${repo}/commits/${sha}/pulls`, async () =>
        list((await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner, repo, commit_sha: sha })).data, `GET commits/${sha}/pulls`, toPullRequest),
      ),
    treeOf: (sha) =>
      call(`GET /repos/${owner}/${repo}/git/commits/${sha}`, async () => {
        const commit = object((await octokit.rest.git.getCommit({ owner, repo, commit_sha: sha })).data, `GET git/commits/${sha}`);
        return text(object(commit["tree"], `GET git/commits/${sha}`, "has no tree"), "sha", `GET git/commits/${sha}`);
      }),
  };
}
