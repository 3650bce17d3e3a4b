/**
 * The pure parts of the pull-request flow: which review decides for whom, what a pull request
 * changes, the text triangle, CODEOWNERS, the comment's state, and reading events.
 */

import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decideReviews, latestDecisions } from "../../generator/github/approvals.js";
import { pullChanges } from "../../generator/github/changes.js";
import { renderCodeowners, GENERATED_MARKER } from "../../generator/github/codeowners.js";
import { commentState, renderComment, textTriangle, toNotify } from "../../generator/github/report.js";
import { parseEvent } from "../../generator/github/event.js";
import type { Review } from "../../generator/github/client.js";
import type { Contract } from "../../generator/contract/types.generated.js";
import type { ContractCheck } from "../../generator/policy/report/check-report.js";
import { ROOT } from "../helpers/repo.js";
import { fixture } from "./recorded.js";

const HEAD = "a".repeat(40);
const OLD = "b".repeat(40);
const contract = JSON.parse(readFileSync(join(ROOT, "contracts", "hospital-stats", "contract.json"), "utf8")) as Contract;

let next = 1;
function review(login: string, state: Review["state"], commit = HEAD, at = `2026-11-20T10:00:${String(next % 60).padStart(2, "0")}Z`): Review {
  const id = next++;
  return {
    id,
    login,
    userId: id,
    state,
    commitId: commit,
    submittedAt: state === "PENDING" ? null : at,
    url: `https://github.com/o/r/pull/1#pullrequestreview-${id}`,
  };
}

const statusOf = (reviews: Review[], c: Contract = contract): string[] => decideReviews(c, reviews, HEAD).approvers.map((a) => `${a.party.role}:${a.status}`);

describe("decideReviews", () => {
  it.each<[string, Review[], string[]]>([
    ["nothing reviewed", [], ["provider:none", "witness:none"]],
    ["both approved the head", [review("riverside-data", "APPROVED"), review("exchange-notary", "APPROVED")], ["provider:approved", "witness:approved"]],
    ["logins are case-insensitive", [review("Riverside-Data", "APPROVED")], ["provider:approved", "witness:none"]],
    ["an approval of an older commit", [review("riverside-data", "APPROVED", OLD)], ["provider:stale", "witness:none"]],
    [
      "re-approved after a push",
      [review("riverside-data", "APPROVED", OLD, "2026-11-20T09:00:00Z"), review("riverside-data", "APPROVED", HEAD, "2026-11-20T11:00:00Z")],
      ["provider:approved", "witness:none"],
    ],
    ["approved, then dismissed", [review("riverside-data", "DISMISSED")], ["provider:dismissed", "witness:none"]],
    [
      "approved, then changes requested",
      [review("riverside-data", "APPROVED", HEAD, "2026-11-20T09:00:00Z"), review("riverside-data", "CHANGES_REQUESTED", HEAD, "2026-11-20T10:00:00Z")],
      ["provider:changes-requested", "witness:none"],
    ],
    [
      "approved, then a comment",
      [review("riverside-data", "APPROVED", HEAD, "2026-11-20T09:00:00Z"), review("riverside-data", "COMMENTED", HEAD, "2026-11-20T10:00:00Z")],
      ["provider:approved", "witness:none"],
    ],
    ["only comments and a pending review", [review("riverside-data", "COMMENTED"), review("exchange-notary", "PENDING")], ["provider:none", "witness:none"]],
    ["a deleted account (no login)", [review("", "APPROVED")], ["provider:none", "witness:none"]],
  ])("%s", (_title, reviews, expected) => {
    expect(statusOf(reviews)).toEqual(expected);
  });

  it("a login the contract gives two parties stands for neither", () => {
    const shared = { ...contract, parties: contract.parties.map((p) => (p.role === "consumer" ? { ...p, github: "riverside-data" } : p)) };

    const decision = decideReviews(shared, [review("riverside-data", "APPROVED")], HEAD);

    expect(decision.approvers.map((a) => a.status)).toEqual(["none", "none"]);
    expect(decision.ignored.map((i) => i.reason)).toEqual([
      "@riverside-data is the GitHub login of 2 parties (provider, consumer), so it cannot stand for one of them",
    ]);
  });

  it("the latest deciding review is by time, whatever order GitHub lists them in", () => {
    const later = review("riverside-data", "DISMISSED", HEAD, "2026-11-21T00:00:00Z");
    const earlier = review("riverside-data", "APPROVED", HEAD, "2026-11-20T00:00:00Z");

    expect(latestDecisions([later, earlier]).get("riverside-data")?.state).toBe("DISMISSED");
  });
});

describe("pullChanges", () => {
  const uses = [
    { id: "hospital-stats", environment: "python", cluster: "local" },
    { id: "bank-credit-model", environment: "node", cluster: "self-built-example" },
  ];
  const files = (...names: string[]) => names.map((filename) => ({ filename, status: "modified" }));

  it.each<[string, string[], string[], string[]]>([
    ["a contract's folder", ["contracts/hospital-stats/runs/run-2.json"], ["hospital-stats"], []],
    ["a rendered instance", ["clusters/local/hospital-stats/job-run-1.yaml"], ["hospital-stats"], []],
    ["an environment a contract runs with", ["environments/node/environment.json"], ["bank-credit-model"], []],
    ["a cluster profile", ["clusters/local/cluster.yaml"], ["hospital-stats"], []],
    ["Argo CD wiring is no contract", ["clusters/local/argocd/applicationset.yaml"], [], []],
    ["the policies", ["policies/opsc/privacy.rego"], [], ["policies/opsc/privacy.rego"]],
    [
      "the generator and the schema",
      ["generator/gate/gate.ts", "contracts/contract.schema.json"],
      [],
      ["contracts/contract.schema.json", "generator/gate/gate.ts"],
    ],
    ["a workflow", [".github/workflows/pr.yml"], [], [".github/workflows/pr.yml"]],
    ["CODEOWNERS is generated, not tooling", [".github/CODEOWNERS"], [], []],
    ["a path that is no contract id", ["contracts/Not_An_Id/x.json", "contracts/README.md"], [], []],
  ])("%s", (_title, names, contracts, tooling) => {
    expect(pullChanges(files(...names), uses)).toEqual({ contracts, tooling });
  });

  it("a file renamed out of the tooling counts as a tooling change", () => {
    expect(pullChanges([{ filename: "contracts/hospital-stats/algorithm/x.py", status: "renamed", previousFilename: "generator/x.py" }], uses)).toEqual({
      contracts: ["hospital-stats"],
      tooling: ["generator/x.py"],
    });
  });
});

describe("textTriangle", () => {
  const check = (scores: { openness: number; privacy: number; security: number }): ContractCheck =>
    ({
      id: "c",
      file: "contracts/c/contract.json",
      stages: {},
      policy: { scores, scenario: "s", weighted: 50 },
      scenario: { region: { openness: { min: 0, max: 100 }, privacy: { min: 0, max: 100 }, security: { min: 0, max: 100 } } },
    }) as unknown as ContractCheck;

  it("puts an all-openness contract at the top, an all-security one at the bottom right", () => {
    const top = textTriangle(check({ openness: 100, privacy: 0, security: 0 }), 5);
    const right = textTriangle(check({ openness: 0, privacy: 0, security: 100 }), 5);

    expect(top.slice(1, 4)).toEqual(["    O 100", "    @", "   + +"]);
    expect(right[6]).toBe("+ + + + @");
  });

  it("is the same text for the same scores", () => {
    expect(textTriangle(check({ openness: 58, privacy: 50, security: 95 }))).toEqual(textTriangle(check({ openness: 58, privacy: 50, security: 95 })));
  });
});

describe("renderComment", () => {
  const check = (policy: Record<string, unknown>): ContractCheck =>
    ({
      id: "c",
      file: "contracts/c/contract.json",
      stages: Object.fromEntries(
        ["schema", "signatures", "approvals", "compile", "policy", "kubernetes"].map((s) => [s, { status: s === "policy" ? "failed" : "ok", issues: [] }]),
      ),
      policy: {
        contract: "c",
        scores: { openness: 40, privacy: 40, security: 20 },
        factors: { openness: [], privacy: [], security: [] },
        minimums: Object.fromEntries(["openness", "privacy", "security"].map((a) => [a, { min: 0, score: 1, ok: true }])),
        region: Object.fromEntries(["openness", "privacy", "security"].map((a) => [a, { min: 0, max: 100, ok: true }])),
        inside_region: true,
        deny: [{ rule: "r", msg: "denied", details: {} }],
        warn: [],
        pass: false,
        scenario: "s",
        weighted: 33,
        ...policy,
      },
    }) as unknown as ContractCheck;
  const LEAKAGE = { bytesPerRun: 65536, metadataBitsPerRun: 43, runs: 3, boundBytes: 196625, max: null, ok: true };
  const report = (leakage: unknown = LEAKAGE) => ({
    number: 1,
    headSha: HEAD,
    baseRef: "main",
    baseSha: OLD,
    contracts: [{ id: "c", removed: false, check: check({ leakage }) }],
    tooling: [],
    conflicts: [],
  });

  it("shows the stage table and the leakage bound", () => {
    const body = renderComment(report(), { head: HEAD, missing: [] });

    expect(body).toContain(
      "| schema | signatures | approvals | compile | policy | kubernetes |\n| :---: | :---: | :---: | :---: | :---: | :---: |\n| ✅ | ✅ | ✅ | ✅ | ❌ | ✅ |",
    );
    expect(body).toContain("**Leakage bound:** ≤ 192.0 KiB (196625 bytes): 3 runs × (65536 bytes + 43 bits of public metadata)");
  });

  it("is byte-identical for the same report, and ends with its state", () => {
    const body = renderComment(report(), { head: HEAD, missing: ["riverside-data"] });

    expect(body).toBe(renderComment(report(), { head: HEAD, missing: ["riverside-data"] }));
    expect(commentState(body)).toEqual({ head: HEAD, missing: ["riverside-data"] });
  });
});

describe("renderCodeowners", () => {
  it("keeps the hand-written head, lists every contract's approvers, and says who has no login", () => {
    const head = "/generator/ @org/maintainers\n\n";
    const noLogin = { ...contract, parties: contract.parties.map((p) => (p.role === "witness" ? { ...p, github: undefined } : p)) };

    const text = renderCodeowners([{ id: "z-broken" }, { id: "hospital-stats", contract: noLogin }], `${head}${GENERATED_MARKER}\n/contracts/old/ @someone\n`);

    expect(text).toBe(
      [
        "/generator/ @org/maintainers",
        "",
        GENERATED_MARKER,
        "# hospital-stats: witness Data Exchange Notary has no GitHub login: approval by a signed file only (datomspod approve)",
        "/contracts/hospital-stats/ @riverside-data",
        "/clusters/local/hospital-stats/ @riverside-data",
        "# z-broken: the contract does not load; no owners until it does",
        "",
      ].join("\n"),
    );
  });
});

describe("the comment's state and who to ask", () => {
  it("reads back the state it wrote, and asks only the newly missing at the same head", () => {
    const body = `<!-- datomspod:pull-request-status -->\nx\n<!-- datomspod:state {"head":"${HEAD}","missing":["riverside-data"]} -->\n`;
    const missing = [
      { contract: "c", name: "A", role: "provider", login: "riverside-data" },
      { contract: "c", name: "B", role: "witness", login: "exchange-notary" },
      { contract: "c", name: "C", role: "provider" },
    ];

    expect(toNotify(missing, commentState(body), HEAD)).toEqual(["exchange-notary"]);
    expect(toNotify(missing, commentState(body), OLD)).toEqual(["exchange-notary", "riverside-data"]);
    expect(commentState("<!-- datomspod:state {not json} -->")).toBeUndefined();
  });
});

describe("parseEvent", () => {
  it("reads GitHub's pull_request_review payload (its state in lower case is never used)", () => {
    expect(parseEvent("pull_request_review", fixture("events/pull_request_review.submitted.json"), "event.json")).toEqual({
      name: "pull_request_review",
      action: "submitted",
      number: 2,
      headSha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
    });
  });

  it.each<[string, unknown, string]>([
    ["pull_request", { action: "opened", pull_request: { number: 2, head: { sha: "main" } } }, "$.pull_request.head.sha"],
    ["pull_request", { action: "opened", pull_request: { number: -1, head: { sha: HEAD } } }, "$.pull_request.number"],
    ["push", { ref: "refs/heads/main" }, "$.after"],
    ["workflow_run", { workflow_run: { event: "pull_request_review", head_sha: HEAD, head_branch: "b" } }, "$.workflow_run.head_repository"],
  ])("refuses a %s payload GitHub would not send, naming the path", (name, payload, path) => {
    expect(() => parseEvent(name, payload, "event.json")).toThrow(expect.objectContaining({ issues: [expect.objectContaining({ file: "event.json", path })] }));
  });

  it("refuses an event it does not handle", () => {
    expect(() => parseEvent("issue_comment", {}, "event.json")).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ path: "GITHUB_EVENT_NAME" })] }),
    );
  });
});
