/**
 * GitHub, replayed. The fixtures in fixtures/ are GitHub's own published payloads (webhook examples
 * of @octokit/webhooks-examples, REST response examples of GitHub's OpenAPI description), trimmed
 * to the fields around what datomspod reads; a test changes only the values it is about. nock
 * serves them to the real Octokit client on GitHub's real paths; a request nothing answers fails
 * the call and the test, and a mock left unused fails the test after it.
 *
 * nock 15 hands a reply function the fetch Request itself (its body read with `await request.json()`).
 *
 * Events are read the way a workflow run reads them: the payload in a file named by
 * GITHUB_EVENT_PATH, with GITHUB_EVENT_NAME, GITHUB_REPOSITORY and GITHUB_TOKEN set.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import nock from "nock";
import { afterEach, beforeEach, expect } from "vitest";
import { tempDir } from "../helpers/repo.js";

export const API = "https://api.github.com";
export const OWNER = "Codertocat";
export const NAME = "Hello-World";
export const REPOSITORY = `${OWNER}/${NAME}`;
export const R = `/repos/${REPOSITORY}`;
/** Not a real token; tests check it is never printed. */
export const TOKEN = "ghs_datomspodTestTokenNeverPrinted0000";

export const HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
export const OLDER = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
export const BASE = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
export const TREE = "691272480426f78a0138979dd3ce63b77f706feb";

const FIXTURES = new URL("./fixtures/", import.meta.url);

export function fixture<T = any>(path: string): T {
  return JSON.parse(readFileSync(new URL(path, FIXTURES), "utf8")) as T;
}

/** A deep copy of `base` with `changes` merged in (objects merged, everything else replaced). */
export function merge<T>(base: T, changes: unknown): T {
  if (changes === undefined) return structuredClone(base);
  if (base === null || typeof base !== "object" || Array.isArray(base) || changes === null || typeof changes !== "object" || Array.isArray(changes))
    return structuredClone(changes) as T;
  const out: Record<string, unknown> = structuredClone(base) as Record<string, unknown>;
  for (const [key, value] of Object.entries(changes)) out[key] = merge(out[key], value);
  return out as T;
}

const user = (login: string, id: number, type = "User"): object => ({ login, id, type });

/** Stable user ids for the logins the tests use. */
export const USER_IDS: Record<string, number> = {
  "riverside-data": 5001,
  "exchange-notary": 5002,
  "phi-analytics": 5003,
  "harbor-bank": 5004,
  octocat: 1,
  Codertocat: 21031067,
  "github-actions[bot]": 41898282,
};

/** GET /repos/{owner}/{repo}/pulls/{n}, GitHub's example with this pull request's values. */
export function pullBody(number: number, changes: Record<string, unknown> = {}): any {
  return merge(fixture("rest/pull.json"), {
    number,
    html_url: `https://github.com/${REPOSITORY}/pull/${number}`,
    url: `${API}${R}/pulls/${number}`,
    state: "open",
    merged: false,
    merged_at: null,
    requested_reviewers: [],
    user: user("phi-analytics", USER_IDS["phi-analytics"]),
    head: { ref: `contract-${number}`, sha: HEAD, repo: { full_name: REPOSITORY, name: NAME } },
    base: { ref: "main", sha: BASE, repo: { full_name: REPOSITORY, name: NAME } },
    ...changes,
  });
}

export interface ReviewSpec {
  readonly id: number;
  readonly login: string;
  readonly state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";
  readonly commit?: string;
  readonly at?: string;
  readonly number?: number;
}

/** One element of GET …/pulls/{n}/reviews, from GitHub's example. */
export function reviewBody(spec: ReviewSpec): any {
  const number = spec.number ?? 2;
  return merge(fixture<any[]>("rest/reviews.json")[0], {
    id: spec.id,
    user: user(spec.login, USER_IDS[spec.login] ?? 9000 + spec.id),
    state: spec.state,
    commit_id: spec.commit ?? HEAD,
    submitted_at: spec.state === "PENDING" ? null : (spec.at ?? `2026-11-20T10:00:${String(spec.id % 60).padStart(2, "0")}Z`),
    html_url: `https://github.com/${REPOSITORY}/pull/${number}#pullrequestreview-${spec.id}`,
    pull_request_url: `${API}${R}/pulls/${number}`,
  });
}

export function fileBodies(paths: readonly string[]): any[] {
  const [example] = fixture<any[]>("rest/files.json");
  return paths.map((filename, i) => merge(example, { filename, status: "modified", sha: `${String(i).padStart(2, "0")}${"b".repeat(38)}` }));
}

export function commentBody(id: number, body: string, login = "github-actions[bot]", type = "Bot"): any {
  return merge(fixture("rest/comment.json"), {
    id,
    body,
    user: user(login, USER_IDS[login] ?? 7000, type),
    html_url: `https://github.com/${REPOSITORY}/pull/2#issuecomment-${id}`,
  });
}

/** What the tests saw the code send. */
export interface Sent {
  readonly comments: { method: "POST" | "PATCH"; id?: number; body: string }[];
  readonly statuses: { sha: string; body: Record<string, string> }[];
  readonly reviewRequests: string[][];
}

export interface PullScript {
  readonly number?: number;
  readonly pull?: Record<string, unknown>;
  readonly files: readonly string[];
  readonly reviews?: readonly ReviewSpec[];
  /** Other open pull requests and their files. */
  readonly others?: readonly { number: number; files: readonly string[] }[];
  readonly comments?: readonly any[];
  /** How GitHub answers review requests (201 or 422); none expected when undefined. */
  readonly reviewRequest?: 201 | 422;
  /** The run reads the pull request and stops (it moved on, or is closed). */
  readonly stopsAfterPull?: boolean;
  /** Whether the run posts (comment, statuses). */
  readonly posts?: boolean;
  /** The code creates a new comment (rather than editing one). */
  readonly creates?: boolean;
  readonly statuses?: number;
}

/** Records one pr-status run's exchange with GitHub; returns what will have been sent. */
export function recordPullRequest(script: PullScript): Sent {
  const number = script.number ?? 2;
  const sent: Sent = { comments: [], statuses: [], reviewRequests: [] };
  const pull = pullBody(number, script.pull);
  const api = nock(API);
  api.get(`${R}/pulls/${number}`).reply(200, pull);
  if (pull.state !== "open" || script.stopsAfterPull === true) return sent;
  api.get(`${R}/pulls/${number}/files`).query({ per_page: "100" }).reply(200, fileBodies(script.files));
  api
    .get(`${R}/pulls/${number}/reviews`)
    .query({ per_page: "100" })
    .reply(
      200,
      (script.reviews ?? []).map((r) => reviewBody({ ...r, number })),
    );
  const others = script.others ?? [];
  api
    .get(`${R}/pulls`)
    .query({ state: "open", per_page: "100" })
    .reply(200, [pull, ...others.map((o) => merge(fixture<any[]>("rest/pulls.json")[0], pullBody(o.number, { head: { sha: OLDER } })))]);
  for (const other of others.filter((o) => o.number < number))
    api.get(`${R}/pulls/${other.number}/files`).query({ per_page: "100" }).reply(200, fileBodies(other.files));
  api
    .get(`${R}/issues/${number}/comments`)
    .query({ per_page: "100" })
    .reply(200, script.comments ?? []);
  if (script.posts === false) return sent;
  const existing = (script.comments ?? []).find((c: any) => c.user.type === "Bot" && String(c.body).startsWith("<!-- datomspod:pull-request-status -->"));
  if (script.creates !== false && existing === undefined)
    api.post(`${R}/issues/${number}/comments`).reply(201, async (request: Request) => {
      const body = (await request.json()) as { body: string };
      sent.comments.push({ method: "POST", body: body.body });
      return commentBody(900, body.body);
    });
  else if (existing !== undefined && script.creates !== false)
    api.patch(`${R}/issues/comments/${existing.id}`).reply(200, async (request: Request) => {
      const body = (await request.json()) as { body: string };
      sent.comments.push({ method: "PATCH", id: existing.id, body: body.body });
      return commentBody(existing.id, body.body);
    });
  for (let i = 0; i < (script.statuses ?? 3); i++)
    api.post(`${R}/statuses/${pull.head.sha}`).reply(201, async (request: Request) => {
      const body = (await request.json()) as Record<string, string>;
      sent.statuses.push({ sha: new URL(request.url).pathname.split("/").pop()!, body });
      return merge(fixture("rest/status.json"), { state: body.state, context: body.context, description: body.description });
    });
  if (script.reviewRequest !== undefined)
    api.post(`${R}/pulls/${number}/requested_reviewers`).reply(script.reviewRequest, async (request: Request) => {
      const body = (await request.json()) as { reviewers: string[] };
      sent.reviewRequests.push(body.reviewers);
      return script.reviewRequest === 201
        ? pull
        : {
            message: "Reviews may only be requested from collaborators.",
            documentation_url: "https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request",
            status: "422",
          };
    });
  if (script.reviewRequest === 422)
    api.post(`${R}/issues/${number}/comments`).reply(201, async (request: Request) => {
      const body = (await request.json()) as { body: string };
      sent.comments.push({ method: "POST", body: body.body });
      return commentBody(901, body.body);
    });
  return sent;
}

/** Writes an event payload where GITHUB_EVENT_PATH says and sets the environment a run has. */
export function setEvent(name: string, payload: unknown): void {
  const dir = tempDir("datomspod-event-");
  const path = join(dir, "event.json");
  writeFileSync(path, JSON.stringify(payload));
  Object.assign(process.env, { GITHUB_EVENT_NAME: name, GITHUB_EVENT_PATH: path, GITHUB_REPOSITORY: REPOSITORY, GITHUB_TOKEN: TOKEN, GITHUB_RUN_ID: "4242" });
}

/** The pull_request_target synchronize event of pull request `number` at `head`. */
export function pullRequestEvent(number = 2, head = HEAD): any {
  return merge(fixture("events/pull_request.synchronize.json"), {
    number,
    after: head,
    pull_request: { number, head: { sha: head }, base: { sha: BASE } },
    repository: { full_name: REPOSITORY, name: NAME },
  });
}

/** The pull_request_review event as GitHub sends it (its review state in lower case). */
export function reviewEvent(action: "submitted" | "dismissed", review: ReviewSpec, head = HEAD): any {
  const file = action === "submitted" ? "events/pull_request_review.submitted.json" : "events/pull_request_review.dismissed.json";
  return merge(fixture(file), {
    action,
    review: { id: review.id, user: user(review.login, USER_IDS[review.login] ?? 1), state: review.state.toLowerCase(), commit_id: review.commit ?? head },
    pull_request: { number: review.number ?? 2, head: { sha: head } },
    repository: { full_name: REPOSITORY, name: NAME },
  });
}

const ENV = ["GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_RUN_ID", "GITHUB_API_URL", "GITHUB_SHA"] as const;

/** nock for every test of the file: no network, unmatched and unused mocks fail, the environment restored. */
export function useRecordedGitHub(): void {
  const unmatched: string[] = [];
  const onNoMatch = (req: { method?: string; path?: string; href?: string }): void => {
    unmatched.push(`${req.method ?? "?"} ${req.path ?? req.href ?? "?"}`);
  };
  let saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    saved = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));
    for (const name of ENV) delete process.env[name];
    unmatched.length = 0;
    nock.disableNetConnect();
    nock.emitter.on("no match", onNoMatch);
  });
  afterEach(() => {
    nock.emitter.removeListener("no match", onNoMatch);
    const pending = nock.pendingMocks();
    nock.cleanAll();
    nock.enableNetConnect();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    expect({ unmatched, unused: pending }).toEqual({ unmatched: [], unused: [] });
  });
}
