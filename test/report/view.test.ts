/**
 * The view model (pure): what the pages show for each lifecycle state, a mismatched evidence row,
 * no chain, no settlement; and the pages it renders to (escaping, highlighting, "not yet" states,
 * determinism).
 */

import { describe, expect, it } from "vitest";
import type { ContractAudit } from "../../generator/audit/verify.js";
import { EVIDENCE_KINDS } from "../../generator/evidence/items.js";
import type { LifecycleFacts, LifecycleState } from "../../generator/lifecycle/state.js";
import { gatherReport } from "../../generator/report/gather.js";
import { readAssets, renderSite } from "../../generator/report/site.js";
import { TIMELINE_STEPS, buildSiteView, leakageOf, stepOfKind, type CommitInfo, type ContractSource, type ReportInput } from "../../generator/report/view.js";
import { tempRepoWithClusters } from "../anchor/chain.js";
import { TEST_NOW } from "../helpers/cli.js";

const ID = "hospital-stats";

/** The example repository as the report gathers it, without a chain. */
async function exampleInput(): Promise<ReportInput> {
  const repo = tempRepoWithClusters();
  return gatherReport(repo, [ID], new Date(TEST_NOW), { unavailable: "no chain was asked for (--chain none)" });
}

function withContract(input: ReportInput, edit: (source: ContractSource) => ContractSource): ReportInput {
  return { ...input, contracts: input.contracts.map(edit) };
}

/** The same contract with other facts: the state and what the timeline reads from the facts. */
function inState(input: ReportInput, state: LifecycleState, facts: Partial<LifecycleFacts> = {}): ReportInput {
  return withContract(input, (source) => ({ ...source, facts: { ...source.facts!, state, facts: { ...source.facts!.facts, ...facts } } }));
}

const RUN = { id: "run-1", requested: true, receipt: true, acknowledged: true };

/** A verified audit of every evidence item, but `subject` of `kind` mismatched. */
function auditWithMismatch(input: ReportInput, kind: string, subject: string): ContractAudit {
  const source = input.contracts[0];
  const rows = source.evidence.items.map((item) =>
    item.kind === kind && item.subject === subject
      ? {
          contractId: ID,
          status: "mismatched" as const,
          kind: item.kind,
          subject: item.subject,
          digest: item.digest,
          detail: "sha256 is 1111…, anchored was 2222…",
        }
      : {
          contractId: ID,
          status: "verified" as const,
          kind: item.kind,
          subject: item.subject,
          digest: item.digest,
          root: "ab".repeat(32),
          blockNumber: 3,
          detail: "in batch abab, block 3",
        },
  );
  return { contractId: ID, ok: false, rows };
}

describe("the view model", () => {
  it.each([
    ["proposed", {}, ["proposed"]],
    ["signed", {}, ["proposed", "signed"]],
    ["approved", {}, ["proposed", "signed", "approved"]],
    ["active", {}, ["proposed", "signed", "approved", "active"]],
    ["ran", { runs: [{ ...RUN, acknowledged: false }] }, ["proposed", "signed", "approved", "active", "ran"]],
    ["delivered", { runs: [RUN] }, ["proposed", "signed", "approved", "active", "ran", "delivered"]],
    ["deleted", { runs: [RUN], deletionRecorded: true }, ["proposed", "signed", "approved", "active", "ran", "delivered", "deleted"]],
    ["settled", { runs: [RUN], settled: true }, [...TIMELINE_STEPS]],
    ["expired", { runs: [] }, ["proposed", "signed", "approved"]],
    ["revoked", { runs: [{ ...RUN, acknowledged: false }], revoked: true }, ["proposed", "signed", "approved", "active", "ran"]],
  ] as const)("state %s: the timeline marks the steps reached and the current one", async (state, facts, reached) => {
    const input = inState(await exampleInput(), state, facts);

    const [contract] = buildSiteView(input).contracts;

    expect(contract.state).toBe(state);
    expect(contract.timeline.map((s) => s.step)).toEqual([...TIMELINE_STEPS]);
    expect(contract.timeline.filter((s) => s.reached).map((s) => s.step)).toEqual(reached);
    expect(contract.timeline.filter((s) => s.current).map((s) => s.step)).toEqual((TIMELINE_STEPS as readonly string[]).includes(state) ? [state] : []);
    expect(contract.endedEarly).toBe(state === "expired" || state === "revoked");
  });

  it("lists the signers and approvers with their verdicts, and the evidence of each step", async () => {
    const input = await exampleInput();

    const [contract] = buildSiteView(input).contracts;

    const signed = contract.timeline.find((s) => s.step === "signed")!;
    expect(signed.who.map((w) => [w.role, w.status])).toEqual(
      input.contracts[0].facts!.agreements.parties.map((p) => [p.role, p.status === "valid" ? "valid" : p.status]),
    );
    expect(signed.evidence.map((e) => e.kind)).toEqual(signed.evidence.map(() => "signature"));
    expect(contract.timeline.find((s) => s.step === "proposed")!.evidence.map((e) => e.kind)).toEqual(["contract-hash", "contract-file"]);
    const approved = contract.timeline.find((s) => s.step === "approved")!.evidence.map((e) => e.kind);
    expect(approved.slice(0, 2)).toEqual(["approval", "approval"]);
    expect(approved).toEqual(expect.arrayContaining(["algorithm-code", "image-digest"]));
    expect(approved.every((kind) => stepOfKind(kind as never) === "approved")).toBe(true);
  });

  it("without a chain: every item is 'not checked', never verified, and says why", async () => {
    const input = await exampleInput();

    const view = buildSiteView(input);
    const [contract] = view.contracts;

    expect(view.chain).toEqual({ checked: false, reason: "no chain was asked for (--chain none)" });
    expect(contract.audit.checked).toBe(false);
    expect(contract.audit.counts.verified).toBe(0);
    expect(contract.audit.unchecked.length).toBe(input.contracts[0].evidence.items.length);
    expect(new Set(contract.audit.unchecked.map((e) => e.status))).toEqual(new Set(["not-checked"]));
    expect(contract.audit.unchecked[0].detail).toContain("no chain was asked for");
    const files = renderSite(view, readAssets());
    expect(files.get(`contracts/${ID}/audit.html`)).toContain("The anchors were not checked");
    expect(files.get(`contracts/${ID}/audit.html`)).not.toContain("✓</span> verified");
  });

  it("a tampered file: its row is mismatched, highlighted, listed first, and the step shows it", async () => {
    const base = await exampleInput();
    const audit = auditWithMismatch(base, "contract-file", `contracts/${ID}/contract.json`);
    const input: ReportInput = {
      ...withContract(base, (source) => ({ ...source, audit })),
      chain: { checked: true, chainId: 31337, label: "test chain" },
    };

    const view = buildSiteView(input);
    const [contract] = view.contracts;
    const html = renderSite(view, readAssets()).get(`contracts/${ID}/audit.html`)!.replace(/\s+/g, " ");

    expect(contract.audit.ok).toBe(false);
    expect(contract.audit.counts.mismatched).toBe(1);
    expect(contract.audit.rows.filter((r) => r.status === "mismatched").map((r) => [r.kind, r.subject])).toEqual([
      ["contract-file", `contracts/${ID}/contract.json`],
    ]);
    expect(contract.timeline.find((s) => s.step === "proposed")!.status).toBe("mismatched");
    expect(contract.timeline.find((s) => s.step === "signed")!.status).toBe("verified");
    expect(html).toMatch(
      /<tr class="problem problem-mismatched" data-status="mismatched"><th scope="row" data-label="Subject"><code class="path">contracts\/hospital-stats\/contract.json<\/code>/,
    );
    expect(html).toContain('role="alert"> <strong>1 row not verified</strong>: 1 mismatched, 0 missing.');
    expect(html.match(/class="problem /g)).toHaveLength(1);
  });

  it("no settlement record: the settlement is 'not yet', with the business terms", async () => {
    const input = await exampleInput();

    const view = buildSiteView(input);
    const [contract] = view.contracts;
    const html = renderSite(view, readAssets()).get(`contracts/${ID}/settlement.html`)!.replace(/\s+/g, " ");

    expect(contract.settlement.settled).toBe(false);
    expect(contract.settlement.evidence).toBeUndefined();
    expect(contract.settlement.pricing.length).toBeGreaterThan(0);
    expect(contract.timeline.find((s) => s.step === "settled")).toMatchObject({ reached: false, note: "not settled yet" });
    expect(html).toContain(`Not settled yet: there is no settlement record (contracts/${ID}/settlement.json).`);
  });

  it("the leakage bound and a runner's signature are optional: shown as 'not yet', and taken when the result has them", async () => {
    const input = await exampleInput();

    const view = buildSiteView(input);
    const files = renderSite(view, readAssets());

    expect(view.contracts[0].leakage).toBeUndefined();
    expect(files.get("index.html")).toContain("not computed yet");
    expect(files.get(`contracts/${ID}/opsc.html`)).toContain("Not computed yet: the OPS-C result does not give a leakage bound");
    expect(leakageOf({ leakage: { bytesPerRun: 65536, maxRuns: 3 } } as never)).toEqual({ bytesPerRun: 65536, maxRuns: 3, totalBytes: 196608 });
    expect(leakageOf({ leakage: "no" } as never)).toBeUndefined();
  });

  it("every evidence kind has a timeline step, new kinds by their batch stage", () => {
    const steps = EVIDENCE_KINDS.map((kind) => stepOfKind(kind));

    expect(steps.every((step) => (TIMELINE_STEPS as readonly string[]).includes(step))).toBe(true);
    expect(stepOfKind("receipt")).toBe("ran");
    expect(stepOfKind("settlement")).toBe("settled");
  });

  it("commits: who proposed and when, the commit of each item, the pull request", async () => {
    const base = await exampleInput();
    const c = (hash: string, date: string, subject: string, pr?: number): CommitInfo => ({
      hash: hash.repeat(40),
      date,
      author: "Alice",
      subject,
      ...(pr ? { pr } : {}),
    });
    const history = new Map([
      [
        `contracts/${ID}/contract.json`,
        [c("2", "2026-11-02T10:00:00+01:00", "Fill in the contract (#7)", 7), c("1", "2026-11-01T09:00:00Z", "Propose hospital-stats")],
      ],
    ]);
    const input: ReportInput = { ...base, history, git: true };

    const [contract] = buildSiteView(input).contracts;
    const proposed = contract.timeline.find((s) => s.step === "proposed")!;

    expect(proposed.who).toEqual([{ name: "Alice", role: "commit author" }]);
    expect(proposed.when).toBe("2026-11-01T09:00:00Z");
    expect(proposed.commits.map((x) => [x.short, x.pr])).toEqual([
      ["111111111111", undefined],
      ["222222222222", 7],
    ]);
    expect(proposed.evidence.map((e) => e.commit?.short)).toEqual(["222222222222", "222222222222"]);
  });

  it("renders the same bytes from the same input, and escapes what the repository says", async () => {
    const base = await exampleInput();
    const input = withContract(base, (source) => ({
      ...source,
      loaded: { ...source.loaded!, contract: { ...source.loaded!.contract, title: `<script>alert("x")</script> & co` } },
    }));

    const first = renderSite(buildSiteView(input), readAssets());
    const second = renderSite(buildSiteView(input), readAssets());

    expect([...first.keys()]).toEqual([
      "assets/site.css",
      "assets/site.js",
      `contracts/${ID}/audit.html`,
      `contracts/${ID}/index.html`,
      `contracts/${ID}/opsc.html`,
      `contracts/${ID}/opsc.svg`,
      `contracts/${ID}/runs.html`,
      `contracts/${ID}/settlement.html`,
      "index.html",
      "view.json",
    ]);
    expect([...second]).toEqual([...first]);
    expect(first.get("index.html")).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co");
    expect(first.get("index.html")).not.toContain("<script>alert");
  });
});
