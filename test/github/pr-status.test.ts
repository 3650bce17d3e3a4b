/**
 * `datomspod github pr-status` against GitHub's recorded answers, the event read through
 * GITHUB_EVENT_PATH as a workflow run reads it. The pull request proposes hospital-stats; its
 * approvers are the provider (@riverside-data) and the witness (@exchange-notary); the consumer is
 * @phi-analytics. No signed approval file is committed unless a test says so: reviews must count.
 */

import { rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import nock from "nock";
import { describe, expect, it } from "vitest";
import { runCli, jsonOut } from "../helpers/cli.js";
import { editJson, contractJson, tempRepo, writeText, readText } from "../helpers/repo.js";
import { signAll } from "../helpers/records.js";
import { testKey } from "../helpers/keys.js";
import {
  API,
  HEAD,
  pullBody,
  OLDER,
  R,
  TOKEN,
  commentBody,
  pullRequestEvent,
  recordPullRequest,
  reviewEvent,
  setEvent,
  useRecordedGitHub,
  type ReviewSpec,
} from "./recorded.js";

useRecordedGitHub();

const ID = "hospital-stats";
const FILES = [`contracts/${ID}/contract.json`, `contracts/${ID}/algorithm/aggregate.py`];
const PROVIDER = testKey("hospital-provider").address;
const WITNESS = testKey("notary-witness").address;

/** The pull request's head checkout: hospital-stats signed by everyone, no approval file (unless `keep`). */
function headCheckout(keep: readonly string[] = []): string {
  const repo = tempRepo([ID]);
  for (const address of [PROVIDER, WITNESS]) if (!keep.includes(address)) rmSync(join(repo, "contracts", ID, "approvals", `${address}.json`));
  return repo;
}

async function prStatus(repo: string, ...args: string[]): Promise<any> {
  const result = await runCli(["github", "pr-status", "--head-sha", HEAD, "--format", "json", ...args], { repo });
  expect(result.stdout + result.stderr).not.toContain(TOKEN);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return jsonOut(result);
}

function approvalOf(out: any, address: string): any {
  return out.contracts[0].approvals.find((p: any) => p.address === address);
}

function status(sent: ReturnType<typeof recordPullRequest>, context: string): Record<string, string> {
  const found = sent.statuses.find((s) => s.body["context"] === context);
  expect(found?.sha).toBe(HEAD);
  return found!.body;
}

describe("approval from a review", () => {
  it("counts approving reviews of the head by the provider and the witness: success, one comment created", async () => {
    const repo = headCheckout();
    setEvent("pull_request_review", reviewEvent("submitted", { id: 81, login: "exchange-notary", state: "APPROVED" }));
    const sent = recordPullRequest({
      files: FILES,
      reviews: [
        { id: 80, login: "riverside-data", state: "APPROVED" },
        { id: 81, login: "exchange-notary", state: "APPROVED" },
      ],
    });

    const out = await prStatus(repo);

    expect(approvalOf(out, PROVIDER)).toMatchObject({
      status: "valid",
      via: ["review"],
      reviews: [{ id: 80, login: "riverside-data", commit: HEAD, pullRequest: 2 }],
    });
    expect(approvalOf(out, WITNESS)).toMatchObject({ status: "valid", via: ["review"] });
    expect(status(sent, "datomspod/approval")).toEqual({
      state: "success",
      context: "datomspod/approval",
      description: "approved by all 2 required approvers at ec26c3e",
      target_url: "https://github.com/Codertocat/Hello-World/actions/runs/4242",
    });
    expect(status(sent, "datomspod/check")).toMatchObject({ state: "success", description: "the contract passes every stage, approvals by review counted" });
    expect(status(sent, "datomspod/contract-lock")).toMatchObject({ state: "success" });
    expect(sent.comments.map((c) => c.method)).toEqual(["POST"]);
    expect(sent.comments[0].body).toMatch(/^<!-- datomspod:pull-request-status -->\n## datomspod: ✅ ready to merge \(1 contract\)/);
    expect(sent.comments[0].body).toContain("| Riverside General Hospital | provider | @riverside-data | ✅ review 80 of `ec26c3e` |");
    expect(out.notified).toEqual([]);
  });

  it.each<[string, ReviewSpec[], string]>([
    ["a non-party", [{ id: 90, login: "octocat", state: "APPROVED" }], "@octocat is not the GitHub login of any party of the contract"],
    [
      "the consumer",
      [{ id: 91, login: "phi-analytics", state: "APPROVED" }],
      "@phi-analytics is the consumer's login: the consumer never approves its own algorithm",
    ],
  ])("an approval by %s counts for no one and says why", async (_who, reviews, why) => {
    const repo = headCheckout();
    setEvent("pull_request_review", reviewEvent("submitted", reviews[0]));
    const sent = recordPullRequest({ files: FILES, reviews, reviewRequest: 201 });

    const out = await prStatus(repo);

    expect([approvalOf(out, PROVIDER).status, approvalOf(out, WITNESS).status]).toEqual(["missing", "missing"]);
    expect(status(sent, "datomspod/approval")).toMatchObject({
      state: "pending",
      description: "missing approval: @riverside-data (hospital-stats), @exchange-notary (hospital-stats)",
    });
    expect(sent.comments[0].body).toContain(`- ⚠️ the approval by @${reviews[0].login} does not count: ${why}`);
    expect(sent.reviewRequests).toEqual([["exchange-notary", "riverside-data"]]);
  });

  it("an approval of an older commit is stale: it does not count, and the comment says which commit it approved", async () => {
    const repo = headCheckout([WITNESS]);
    setEvent("pull_request_target", pullRequestEvent());
    const sent = recordPullRequest({ files: FILES, reviews: [{ id: 80, login: "riverside-data", state: "APPROVED", commit: OLDER }], reviewRequest: 201 });

    const out = await prStatus(repo);

    expect(approvalOf(out, PROVIDER).status).toBe("missing");
    expect(approvalOf(out, WITNESS)).toMatchObject({ status: "valid", via: ["signature"] });
    expect(status(sent, "datomspod/approval")).toMatchObject({ state: "pending", description: "missing approval: @riverside-data (hospital-stats)" });
    expect(status(sent, "datomspod/check")).toMatchObject({ state: "failure", description: "fails: hospital-stats (approvals, policy)" });
    expect(sent.comments[0].body).toContain(
      "| Riverside General Hospital | provider | @riverside-data | ⏳ missing: approved `f95f852`, not the head `ec26c3e` |",
    );
    expect(sent.reviewRequests).toEqual([["riverside-data"]]);
  });

  it("approval then a new push: the one comment is edited in place, the approval goes stale and the owner is asked again", async () => {
    const repo = headCheckout([WITNESS]);
    setEvent("pull_request_review", reviewEvent("submitted", { id: 80, login: "riverside-data", state: "APPROVED" }, OLDER));
    const first = recordPullRequest({
      pull: { head: { sha: OLDER } },
      files: FILES,
      reviews: [{ id: 80, login: "riverside-data", state: "APPROVED", commit: OLDER }],
    });
    const approved = await runCli(["github", "pr-status", "--head-sha", OLDER, "--format", "json"], { repo });
    expect(approved.code).toBe(0);
    expect(status({ ...first, statuses: first.statuses.map((s) => ({ ...s, sha: HEAD })) }, "datomspod/approval")).toMatchObject({ state: "success" });
    const comment = commentBody(555, first.comments[0].body);

    setEvent("pull_request_target", pullRequestEvent(2, HEAD));
    const second = recordPullRequest({
      files: FILES,
      reviews: [{ id: 80, login: "riverside-data", state: "APPROVED", commit: OLDER }],
      comments: [commentBody(12, "LGTM", "octocat", "User"), comment],
      reviewRequest: 201,
    });
    const out = await prStatus(repo);

    expect(second.comments.map((c) => [c.method, c.id])).toEqual([["PATCH", 555]]);
    expect(out.comment).toBe("updated");
    expect(approvalOf(out, PROVIDER).status).toBe("missing");
    expect(status(second, "datomspod/approval")).toMatchObject({ state: "pending", description: "missing approval: @riverside-data (hospital-stats)" });
    expect(second.reviewRequests).toEqual([["riverside-data"]]);
  });

  it("approval then dismissal: the dismissed review (state DISMISSED in the API) clears the approval", async () => {
    const repo = headCheckout([WITNESS]);
    setEvent("pull_request_review", reviewEvent("dismissed", { id: 80, login: "riverside-data", state: "DISMISSED" }));
    const sent = recordPullRequest({ files: FILES, reviews: [{ id: 80, login: "riverside-data", state: "DISMISSED" }], reviewRequest: 201 });

    const out = await prStatus(repo);

    expect(approvalOf(out, PROVIDER).status).toBe("missing");
    expect(sent.comments[0].body).toContain("⏳ missing: the approval was dismissed");
    expect(status(sent, "datomspod/approval")).toMatchObject({ state: "pending" });
  });

  it("two owners, one approved: only the other is missing, by name, in the status", async () => {
    const repo = headCheckout();
    setEvent("pull_request_review", reviewEvent("submitted", { id: 80, login: "riverside-data", state: "APPROVED" }));
    const sent = recordPullRequest({
      files: FILES,
      reviews: [
        { id: 79, login: "exchange-notary", state: "COMMENTED" },
        { id: 80, login: "riverside-data", state: "APPROVED" },
        { id: 82, login: "exchange-notary", state: "PENDING" },
      ],
      reviewRequest: 201,
    });

    const out = await prStatus(repo);

    expect([approvalOf(out, PROVIDER).status, approvalOf(out, WITNESS).status]).toEqual(["valid", "missing"]);
    expect(status(sent, "datomspod/approval").description).toBe("missing approval: @exchange-notary (hospital-stats)");
    expect(sent.comments[0].body).toContain("**Next:** @exchange-notary: review and approve this pull request at `ec26c3e`");
  });

  it("a later request for changes withdraws an approval; a later comment does not", async () => {
    const repo = headCheckout();
    setEvent("pull_request_review", reviewEvent("submitted", { id: 84, login: "exchange-notary", state: "COMMENTED" }));
    const sent = recordPullRequest({
      files: FILES,
      reviews: [
        { id: 80, login: "riverside-data", state: "APPROVED", at: "2026-11-20T10:00:00Z" },
        { id: 81, login: "riverside-data", state: "CHANGES_REQUESTED", at: "2026-11-20T11:00:00Z" },
        { id: 83, login: "exchange-notary", state: "APPROVED", at: "2026-11-20T10:00:00Z" },
        { id: 84, login: "exchange-notary", state: "COMMENTED", at: "2026-11-20T12:00:00Z" },
      ],
      reviewRequest: 201,
    });

    const out = await prStatus(repo);

    expect([approvalOf(out, PROVIDER).status, approvalOf(out, WITNESS).status]).toEqual(["missing", "valid"]);
    expect(sent.comments[0].body).toContain("⏳ missing: requested changes");
  });

  it("a login that is not bound: the witness has no login in the contract, so a review by its old login counts for no one", async () => {
    const repo = headCheckout();
    editJson(repo, contractJson(ID), (c) => {
      delete c.parties[2].github;
    });
    await signAll(repo, ID);
    setEvent("pull_request_review", reviewEvent("submitted", { id: 81, login: "exchange-notary", state: "APPROVED" }));
    const sent = recordPullRequest({
      files: FILES,
      reviews: [
        { id: 80, login: "riverside-data", state: "APPROVED" },
        { id: 81, login: "exchange-notary", state: "APPROVED" },
      ],
    });

    const out = await prStatus(repo);

    expect([approvalOf(out, PROVIDER).status, approvalOf(out, WITNESS).status]).toEqual(["valid", "missing"]);
    expect(status(sent, "datomspod/approval").description).toBe("missing approval: Data Exchange Notary (hospital-stats)");
    expect(sent.comments[0].body).toContain(
      "- ⚠️ the approval by @exchange-notary does not count: @exchange-notary is not the GitHub login of any party of the contract",
    );
    expect(sent.comments[0].body).toContain("Data Exchange Notary: `datomspod approve hospital-stats --key FILE` and push");
  });

  it("a login a pull request gives a party without that party signing it does not count", async () => {
    const repo = headCheckout([WITNESS]);
    // The consumer's pull request claims the provider's login is the consumer's own account; only the consumer re-signs.
    editJson(repo, contractJson(ID), (c) => {
      c.parties[0].github = "phi-analytics-2";
    });
    await runCli(["contract", "sign", ID, "--key", testKey("health-consumer").file], { repo });
    setEvent("pull_request_review", reviewEvent("submitted", { id: 95, login: "phi-analytics-2", state: "APPROVED" }));
    const sent = recordPullRequest({ files: FILES, reviews: [{ id: 95, login: "phi-analytics-2", state: "APPROVED" }], reviewRequest: 201 });

    const out = await prStatus(repo);

    expect(approvalOf(out, PROVIDER).status).toBe("invalid");
    expect(status(sent, "datomspod/approval").state).toBe("pending");
    // Quoted in the collapsed check report, where no @ may mention anyone.
    expect(sent.comments[0].body).toContain("has not signed the current contract, so the login @\u200bphi-analytics-2 it names is not (yet) its own");
  });

  it("a pull request that changes policies cannot grade itself: reviews do not count in it and the status fails", async () => {
    const repo = headCheckout();
    setEvent("pull_request_target", pullRequestEvent());
    const sent = recordPullRequest({
      files: [...FILES, "policies/opsc/privacy.rego"],
      reviews: [
        { id: 80, login: "riverside-data", state: "APPROVED" },
        { id: 81, login: "exchange-notary", state: "APPROVED" },
      ],
      reviewRequest: 201,
    });

    const out = await prStatus(repo);

    expect([approvalOf(out, PROVIDER).status, approvalOf(out, WITNESS).status]).toEqual(["missing", "missing"]);
    expect(status(sent, "datomspod/approval")).toMatchObject({
      state: "failure",
      description: "changes tooling (policies/opsc/privacy.rego) and contracts: approvals do not count; split the pull request",
    });
    expect(sent.comments[0].body).toContain("It was checked with the base branch's datomspod, so it cannot grade itself");
  });

  it("a second open pull request on the same contract gets a failing lock status linking the first", async () => {
    const repo = headCheckout([PROVIDER, WITNESS]);
    setEvent("pull_request_target", pullRequestEvent(9));
    const sent = recordPullRequest({
      number: 9,
      files: [`contracts/${ID}/runs/run-2.json`],
      others: [
        { number: 7, files: [`contracts/${ID}/contract.json`] },
        { number: 11, files: FILES },
      ],
    });

    const out = await prStatus(repo);

    expect(status(sent, "datomspod/contract-lock")).toEqual({
      state: "failure",
      context: "datomspod/contract-lock",
      description: "hospital-stats is already proposed in #7: one open pull request per contract",
      target_url: "https://github.com/Codertocat/Hello-World/pull/7",
    });
    expect(out.body).toContain("> ⛔ **hospital-stats** is already proposed in [#7](https://github.com/Codertocat/Hello-World/pull/7).");
  });

  it("asks by mention when GitHub refuses the review request (not a collaborator), once per state", async () => {
    const repo = headCheckout([WITNESS]);
    setEvent("pull_request_target", pullRequestEvent());
    const sent = recordPullRequest({ files: FILES, reviewRequest: 422 });

    const out = await prStatus(repo);

    expect(out.notified).toEqual(["riverside-data"]);
    expect(sent.comments.map((c) => c.method)).toEqual(["POST", "POST"]);
    expect(sent.comments[1].body).toBe("@riverside-data: datomspod needs your approval of ec26c3e (see the datomspod comment above).");

    // The same state again: the comment is unchanged, no one is asked twice.
    const again = recordPullRequest({ files: FILES, comments: [commentBody(900, sent.comments[0].body)], creates: false });
    const out2 = await prStatus(repo);
    expect(out2.comment).toBe("unchanged");
    expect(out2.notified).toEqual([]);
    expect(again.reviewRequests).toEqual([]);
  });

  it("a comment with the marker written by a person is not taken for datomspod's", async () => {
    const repo = headCheckout([PROVIDER, WITNESS]);
    setEvent("pull_request_target", pullRequestEvent());
    const sent = recordPullRequest({
      files: FILES,
      comments: [commentBody(31, "<!-- datomspod:pull-request-status -->\n## datomspod: ✅ ready to merge", "octocat", "User")],
    });

    await prStatus(repo);

    expect(sent.comments.map((c) => c.method)).toEqual(["POST"]);
  });

  it("shows the pull request's text inert: a party name cannot break the table, inject HTML or mention anyone", async () => {
    const repo = headCheckout([PROVIDER, WITNESS]);
    editJson(repo, contractJson(ID), (c) => {
      c.parties[0].name = "Riverside | @octocat <img src=x>";
    });
    await signAll(repo, ID);
    setEvent("pull_request_target", pullRequestEvent());
    const sent = recordPullRequest({ files: FILES, reviewRequest: 201 });

    await prStatus(repo);

    const body = sent.comments[0].body;
    expect(body).toContain("| Riverside \\| @\u200boctocat &lt;img src=x&gt; | provider | @riverside-data |");
    expect(body).not.toContain("@octocat");
    expect(body).not.toContain("<img");
  });

  it("does not follow a symbolic link the pull request commits as a contract", async () => {
    const repo = headCheckout();
    rmSync(join(repo, contractJson(ID)));
    symlinkSync("/proc/self/environ", join(repo, contractJson(ID)));
    setEvent("pull_request_target", pullRequestEvent());
    const sent = recordPullRequest({ files: FILES });

    const out = await prStatus(repo);

    expect(status(sent, "datomspod/approval").state).toBe("failure");
    expect(out.body).toContain("is a symbolic link");
    expect(out.body).not.toContain(TOKEN);
  });

  it("posts nothing when the pull request moved on since the checkout", async () => {
    const repo = headCheckout();
    setEvent("pull_request_target", pullRequestEvent(2, OLDER));
    recordPullRequest({ files: FILES, stopsAfterPull: true });

    const result = await runCli(["github", "pr-status", "--head-sha", OLDER, "--format", "json"], { repo });

    expect(result.code).toBe(0);
    expect(jsonOut(result).skipped).toBe("pull request #2 moved on to ec26c3e since f95f852 was checked out: the run for the new head reports");
  });

  it("finds the pull request of a workflow_run after a review from a fork (GitHub lists no pull request there)", async () => {
    const repo = headCheckout([PROVIDER, WITNESS]);
    const event = {
      action: "completed",
      workflow_run: {
        event: "pull_request_review",
        head_sha: HEAD,
        head_branch: "contract-2",
        pull_requests: [],
        head_repository: { full_name: "Codertocat/Hello-World" },
      },
    };
    setEvent("workflow_run", event);
    const sent = recordPullRequest({ files: FILES });
    nockOpenPulls();

    await prStatus(repo);

    expect(status(sent, "datomspod/approval").state).toBe("success");
  });

  it("refuses to run without a token, and names what to set", async () => {
    const repo = headCheckout();
    setEvent("pull_request_target", pullRequestEvent());
    delete process.env["GITHUB_TOKEN"];

    const result = await runCli(["github", "pr-status", "--format", "json"], { repo });

    expect(result.code).toBe(2);
    expect(jsonOut(result).issues).toEqual([
      {
        file: "environment",
        path: "GITHUB_TOKEN",
        message: "GITHUB_TOKEN is not set",
        fix: "pass the workflow's token: env: GITHUB_TOKEN: ${{ github.token }}",
      },
    ]);
  });

  it("reports GitHub's refusal as an outside failure (exit 3) without the token", async () => {
    const repo = headCheckout();
    setEvent("pull_request_target", pullRequestEvent());
    nock(API).get(`${R}/pulls/2`).reply(401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });

    const result = await runCli(["github", "pr-status"], { repo });

    expect(result.code).toBe(3);
    expect(result.stderr).toContain("GitHub API GET /repos/Codertocat/Hello-World/pulls/2 failed (HTTP 401): Bad credentials");
    expect(result.stderr).toContain("the token is missing or expired");
    expect(result.stderr).not.toContain(TOKEN);
  });

  it("reads the head checkout only: a contract the pull request breaks is reported, never executed", async () => {
    const repo = headCheckout();
    writeText(repo, contractJson(ID), readText(repo, contractJson(ID)).replace('"schemaVersion": 1', '"schemaVersion": 1, "schemaVersion": 2'));
    setEvent("pull_request_target", pullRequestEvent());
    const sent = recordPullRequest({ files: FILES });

    await prStatus(repo);

    expect(status(sent, "datomspod/approval")).toMatchObject({
      state: "failure",
      description: "hospital-stats: the contract does not load, so nothing can be approved",
    });
    expect(sent.comments[0].body).toContain("**Next:** fix `contracts/hospital-stats/contract.json` (see the problems) and push");
  });
});

/** The workflow_run case lists the open pull requests once more to find the one of the fork's branch. */
function nockOpenPulls(): void {
  nock(API)
    .get(`${R}/pulls`)
    .query({ state: "open", per_page: "100" })
    .reply(200, [pullBody(2)]);
}
