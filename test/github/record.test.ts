/**
 * On merge, approving reviews become review records (`datomspod github record-reviews`), the
 * lifecycle counts them like signed approvals, every way of bending one is refused, and
 * `datomspod audit reviews` re-reads them from GitHub's recorded API.
 */

import { cpSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import nock from "nock";
import { describe, expect, it } from "vitest";
import { TEST_NOW, runCli, jsonOut } from "../helpers/cli.js";
import { loadContract } from "../../generator/contract/load.js";
import { gatherFacts } from "../../generator/lifecycle/facts.js";
import { contractJson, editJson, readJson, tempRepo, writeJson } from "../helpers/repo.js";
import { testKey } from "../helpers/keys.js";
import { API, HEAD, R, TOKEN, TREE, fixture, merge, pullBody, reviewBody, fileBodies, setEvent, useRecordedGitHub } from "./recorded.js";

useRecordedGitHub();

const ID = "hospital-stats";
const MERGE = "c4295bd74fb0f4fda03689c3df3f2803b658fd85";
const PROVIDER = testKey("hospital-provider").address;
const WITNESS = testKey("notary-witness").address;
const CONSUMER = testKey("health-consumer").address;

/** main after the merge: hospital-stats signed by everyone, no signed approval. */
function mainCheckout(): string {
  const repo = tempRepo([ID, "bank-credit-model"]);
  rmSync(join(repo, "contracts", ID, "approvals"), { recursive: true });
  return repo;
}

const merged = (changes: Record<string, unknown> = {}): any =>
  pullBody(2, { state: "closed", merged: true, merged_at: "2026-11-21T09:00:00Z", merge_commit_sha: MERGE, ...changes });

function gitCommit(sha: string, tree: string): any {
  return merge(fixture("rest/git-commit.json"), { sha, tree: { sha: tree } });
}

/** The API exchange of record-reviews for the merge of pull request 2. */
function recordMerge(options: { files?: string[]; headTree?: string; reviews?: any[] } = {}): void {
  const api = nock(API);
  api.get(`${R}/commits/${MERGE}/pulls`).reply(200, [merge(fixture<any[]>("rest/commit-pulls.json")[0], merged())]);
  api
    .get(`${R}/pulls/2/files`)
    .query({ per_page: "100" })
    .reply(200, fileBodies(options.files ?? [`contracts/${ID}/contract.json`]));
  if ((options.files ?? []).some((f) => f.startsWith("policies/"))) return;
  api.get(`${R}/git/commits/${HEAD}`).reply(200, gitCommit(HEAD, options.headTree ?? TREE));
  api.get(`${R}/git/commits/${MERGE}`).reply(200, gitCommit(MERGE, TREE));
  if (options.headTree !== undefined && options.headTree !== TREE) return;
  api
    .get(`${R}/pulls/2/reviews`)
    .query({ per_page: "100" })
    .reply(
      200,
      options.reviews ?? [
        reviewBody({ id: 80, login: "riverside-data", state: "APPROVED" }),
        reviewBody({ id: 81, login: "exchange-notary", state: "APPROVED" }),
        reviewBody({ id: 82, login: "phi-analytics", state: "APPROVED" }),
      ],
    );
}

function pushEvent(): any {
  return merge(fixture("events/push.json"), { ref: "refs/heads/main", after: MERGE, repository: { full_name: "Codertocat/Hello-World" } });
}

async function record(repo: string): Promise<any> {
  setEvent("push", pushEvent());
  const result = await runCli(["github", "record-reviews", "--format", "json"], { repo });
  expect(result.stdout + result.stderr).not.toContain(TOKEN);
  expect(result.code).toBe(0);
  return jsonOut(result);
}

/** The lifecycle's verdict on the approvals of `id`, as the gate gets it. */
function approvals(repo: string, id = ID): { ok: boolean; issues: readonly any[]; parties: string[][] } {
  const { approvals: verification } = gatherFacts(repo, loadContract(repo, id), Date.parse(TEST_NOW));
  return { ok: verification.ok, issues: verification.issues, parties: verification.parties.map((p) => [p.address, p.status]) };
}

const RECORD_80 = `contracts/${ID}/reviews/80.json`;

describe("record-reviews", () => {
  it("writes each counting review of the merged pull request as a record the lifecycle counts; the consumer's is not written", async () => {
    const repo = mainCheckout();
    recordMerge();

    const out = await record(repo);

    expect(out.pulls).toEqual([2]);
    expect(out.recorded.map((r: any) => [r.file, r.login, r.written])).toEqual([
      [RECORD_80, "riverside-data", true],
      [`contracts/${ID}/reviews/81.json`, "exchange-notary", true],
    ]);
    expect(readJson(repo, RECORD_80)).toMatchObject({
      kind: "github-review",
      version: 1,
      repository: "Codertocat/Hello-World",
      pullRequest: 2,
      review: {
        id: 80,
        state: "APPROVED",
        commit: HEAD,
        submittedAt: "2026-11-20T10:00:20Z",
        url: "https://github.com/Codertocat/Hello-World/pull/2#pullrequestreview-80",
      },
      reviewer: { login: "riverside-data", id: 5001 },
      party: PROVIDER,
    });
    const status = await runCli(["contract", "status", ID, "--format", "json"], { repo });
    expect(jsonOut(status).state).toBe("active");
    const check = await runCli(["check", ID], { repo });
    expect(check.code).toBe(0);
  });

  it("is idempotent, and never rewrites a record", async () => {
    const repo = mainCheckout();
    recordMerge();
    await record(repo);
    recordMerge();

    const again = await record(repo);

    expect(again.recorded.map((r: any) => r.written)).toEqual([false, false]);
    editJson(repo, RECORD_80, (r) => {
      r.review.submittedAt = "2026-11-20T10:00:21Z";
    });
    recordMerge();
    setEvent("push", pushEvent());
    const refused = await runCli(["github", "record-reviews"], { repo });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${RECORD_80}: exists with other content; a review record is written once`);
  });

  it("records nothing when the merged tree is not the reviewed commit's (the branch was not up to date)", async () => {
    const repo = mainCheckout();
    recordMerge({ headTree: "1".repeat(40) });

    const out = await record(repo);

    expect(out.recorded).toEqual([]);
    expect(out.skipped[0].message).toContain("was merged as a tree other than the reviewed head ec26c3e's");
  });

  it("records nothing from a pull request that also changed the tooling", async () => {
    const repo = mainCheckout();
    recordMerge({ files: [`contracts/${ID}/contract.json`, "policies/opsc/privacy.rego"] });

    const out = await record(repo);

    expect(out.recorded).toEqual([]);
    expect(out.skipped[0].message).toBe(
      "changes datomspod's tooling (policies/opsc/privacy.rego…) with contracts, so its reviews are not recorded as approvals",
    );
  });

  it("records a review dismissed before the merge, or of an older commit, not at all", async () => {
    const repo = mainCheckout();
    recordMerge({
      reviews: [
        reviewBody({ id: 80, login: "riverside-data", state: "DISMISSED" }),
        reviewBody({ id: 81, login: "exchange-notary", state: "APPROVED", commit: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e" }),
      ],
    });

    const out = await record(repo);

    expect(out.recorded).toEqual([]);
    expect(readdirSync(join(repo, "contracts", ID)).includes("reviews")).toBe(false);
  });
});

describe("a review record counts only as it was written", () => {
  /** A repository with both records written from the recorded API. */
  async function recorded(): Promise<string> {
    const repo = mainCheckout();
    recordMerge();
    await record(repo);
    return repo;
  }

  it("both ways count the same: a signed approval for one approver, a review record for the other", async () => {
    const repo = await recorded();
    rmSync(join(repo, "contracts", ID, "reviews", "81.json"));
    const signed = await runCli(["approve", ID, "--key", testKey("notary-witness").file], { repo });
    expect(signed.code).toBe(0);

    expect(approvals(repo)).toEqual({
      ok: true,
      issues: [],
      parties: [
        [PROVIDER, "valid"],
        [WITNESS, "valid"],
      ],
    });
  });

  it.each<[string, (r: any) => void, string, string]>([
    [
      "another rendered instance",
      (r) => (r.approval.instanceDigest = `0x${"1".repeat(64)}`),
      "$.approval.instanceDigest",
      "approves another rendered instance (what runs in the cluster changed: generator, profile or contract)",
    ],
    ["other code", (r) => (r.approval.codeSha256 = `0x${"2".repeat(64)}`), "$.approval.codeSha256", "approves other algorithm code"],
    ["another login", (r) => (r.reviewer.login = "octocat"), "$.reviewer.login", "@octocat is not the GitHub login of any party of the contract"],
    [
      "the consumer",
      (r) => ((r.reviewer.login = "phi-analytics"), (r.party = CONSUMER)),
      "$.reviewer.login",
      "@phi-analytics is the consumer's login: the consumer never approves its own algorithm",
    ],
    ["another party", (r) => (r.party = WITNESS), "$.party", `names ${WITNESS}, but @riverside-data is the login of ${PROVIDER} (Riverside General Hospital)`],
    ["another file name", () => undefined, "$.review.id", "file name 79.json does not match the review id 80"],
  ])("a record changed to %s does not count", async (_what, change, path, message) => {
    const repo = await recorded();
    editJson(repo, RECORD_80, (r) => {
      change(r);
    });
    if (path === "$.review.id") renameSync(join(repo, RECORD_80), join(repo, "contracts", ID, "reviews", "79.json"));

    const { parties, issues } = approvals(repo);

    // A record whose login binds to no approver cannot be pinned on the provider: the provider is missing, not invalid.
    expect(parties).toEqual([
      [PROVIDER, path === "$.reviewer.login" ? "missing" : "invalid"],
      [WITNESS, "valid"],
    ]);
    expect(issues).toContainEqual(expect.objectContaining({ path, message }));
  });

  it("a record in GitHub's webhook spelling (state approved) is refused", async () => {
    const repo = await recorded();
    editJson(repo, RECORD_80, (r) => {
      r.review.state = "approved";
    });

    const { issues } = approvals(repo);

    expect(issues).toContainEqual(expect.objectContaining({ file: RECORD_80, path: "$.review.state" }));
  });

  it("a record copied to another contract counts for nothing there", async () => {
    const repo = await recorded();
    cpSync(join(repo, RECORD_80), join(repo, "contracts", "bank-credit-model", "reviews", "80.json"), { recursive: true });

    const { issues } = approvals(repo, "bank-credit-model");
    expect(issues).toContainEqual(
      expect.objectContaining({ path: "$.reviewer.login", message: "@riverside-data is not the GitHub login of any party of the contract" }),
    );
    expect(issues).toContainEqual(expect.objectContaining({ path: "$.approval.contractId" }));
  });

  it("a change of what runs voids review records exactly like signed approvals", async () => {
    const repo = await recorded();
    editJson(repo, contractJson(ID), (c) => {
      c.inputs.compute.maxDurationSeconds = 600;
    });
    const { parties, issues } = approvals(repo);

    expect(parties).toEqual([
      [PROVIDER, "invalid"],
      [WITNESS, "invalid"],
    ]);
    // The parties signed the earlier version, so the logins are not bound either until they sign again.
    expect(issues.filter((i: any) => i.file === RECORD_80).map((i: any) => i.path)).toEqual([
      "$.reviewer.login",
      "$.approval.contractHash",
      "$.approval.instanceDigest",
    ]);
  });

  it("a record whose party has not signed the current contract does not bind its login", async () => {
    const repo = await recorded();
    rmSync(join(repo, "contracts", ID, "signatures", `${PROVIDER}.json`));

    const { issues } = approvals(repo);

    expect(issues).toContainEqual(
      expect.objectContaining({
        file: RECORD_80,
        path: "$.reviewer.login",
        message: "provider Riverside General Hospital has not signed the current contract, so the login @riverside-data it names is not (yet) its own",
      }),
    );
  });

  it("an outdated record is no problem once the party approved the current version another way", async () => {
    const repo = await recorded();
    editJson(repo, RECORD_80, (r) => {
      r.approval.instanceDigest = `0x${"1".repeat(64)}`;
    });
    expect((await runCli(["approve", ID, "--key", testKey("hospital-provider").file], { repo })).code).toBe(0);

    expect(approvals(repo)).toEqual({
      ok: true,
      issues: [],
      parties: [
        [PROVIDER, "valid"],
        [WITNESS, "valid"],
      ],
    });
  });

  it("anything but review records in reviews/ is reported", async () => {
    const repo = await recorded();
    writeJson(repo, `contracts/${ID}/reviews/notes.txt`, "x");

    const { issues } = approvals(repo);

    expect(issues).toContainEqual({
      file: `contracts/${ID}/reviews/notes.txt`,
      path: "$",
      message: "is not a review record",
      fix: "keep only <review id>.json files in reviews/",
    });
  });

  it("a review record is evidence: collected as kind review", async () => {
    const repo = await recorded();
    const { collectEvidence } = await import("../../generator/evidence/collect.js");

    const items = collectEvidence(repo, ID).items.filter((item) => item.kind === "review");

    expect(items.map((i) => i.subject)).toEqual([RECORD_80, `contracts/${ID}/reviews/81.json`]);
  });
});

describe("audit reviews", () => {
  async function audit(repo: string, reviews: Record<number, any>, pull: any = merged()): Promise<{ code: number; out: any }> {
    const api = nock(API);
    for (const [id, body] of Object.entries(reviews)) {
      const reply =
        body === 404
          ? api.get(`${R}/pulls/2/reviews/${id}`).reply(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" })
          : api.get(`${R}/pulls/2/reviews/${id}`).reply(200, body);
      void reply;
    }
    if (Object.values(reviews).some((body) => body !== 404)) api.get(`${R}/pulls/2`).reply(200, pull);
    Object.assign(process.env, { GITHUB_REPOSITORY: "Codertocat/Hello-World", GITHUB_TOKEN: TOKEN });
    const result = await runCli(["audit", "reviews", ID, "--format", "json"], { repo });
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
    if (result.code === 0) expect(result.stderr).toBe("");
    return { code: result.code, out: jsonOut(result) };
  }

  async function recorded(): Promise<string> {
    const repo = mainCheckout();
    recordMerge();
    await record(repo);
    delete process.env["GITHUB_EVENT_PATH"];
    return repo;
  }

  it("verifies every record GitHub still confirms", async () => {
    const repo = await recorded();

    const { code, out } = await audit(repo, {
      80: reviewBody({ id: 80, login: "riverside-data", state: "APPROVED" }),
      81: reviewBody({ id: 81, login: "exchange-notary", state: "APPROVED" }),
    });

    expect(code).toBe(0);
    expect(out.reviews.map((r: any) => r.status)).toEqual(["verified", "verified"]);
  });

  it("finds a review dismissed after the merge, an account that changed, and a review that does not exist", async () => {
    const repo = await recorded();
    writeJson(repo, `contracts/${ID}/reviews/99.json`, { ...readJson<any>(repo, RECORD_80), review: { ...readJson<any>(repo, RECORD_80).review, id: 99 } });

    const { code, out } = await audit(repo, {
      80: reviewBody({ id: 80, login: "riverside-data", state: "DISMISSED" }),
      81: merge(reviewBody({ id: 81, login: "exchange-notary", state: "APPROVED" }), { user: { id: 6666 } }),
      99: 404,
    });

    expect(code).toBe(1);
    expect(out.reviews.map((r: any) => [r.file, r.status, r.problems])).toEqual([
      [RECORD_80, "mismatched", ["GitHub says the review is DISMISSED, not APPROVED"]],
      [`contracts/${ID}/reviews/81.json`, "mismatched", ["GitHub says the reviewer's user id is 6666, not 5002 (the login may belong to another account now)"]],
      [`contracts/${ID}/reviews/99.json`, "mismatched", ["GitHub has no review 99 on pull request #2"]],
    ]);
  });

  it("finds a record of a pull request that was merged at another commit", async () => {
    const repo = await recorded();

    const { code, out } = await audit(
      repo,
      { 80: reviewBody({ id: 80, login: "riverside-data", state: "APPROVED" }), 81: reviewBody({ id: 81, login: "exchange-notary", state: "APPROVED" }) },
      merged({ head: { sha: "9".repeat(40) } }),
    );

    expect(code).toBe(1);
    expect(out.reviews[0].problems).toEqual([`pull request #2 was merged at ${"9".repeat(40)}, not at the reviewed ${HEAD}`]);
  });
});
