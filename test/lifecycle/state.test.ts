/**
 * The lifecycle state is a pure function of the verified facts and a clock. Every combination of
 * facts is checked against the precedence the contract's lifecycle promises:
 * settled > revoked > proposed > signed > delivered/deleted > expired > approved (not yet valid) > active/ran.
 */

import { describe, expect, it } from "vitest";
import { STATES, hasInstance, lifecycleState, type LifecycleFacts, type LifecycleState, type RunFacts } from "../../generator/lifecycle/state.js";

const NOT_BEFORE = Date.parse("2026-11-01T00:00:00Z");
const NOT_AFTER = Date.parse("2027-10-31T00:00:00Z");
const TIMES = {
  before: NOT_BEFORE - 1,
  start: NOT_BEFORE,
  inside: Date.parse("2026-11-24T00:00:00Z"),
  lastMs: NOT_AFTER - 1,
  end: NOT_AFTER,
  after: NOT_AFTER + 86_400_000,
} as const;
type Time = keyof typeof TIMES;

const run = (id: string, requested: boolean, receipt: boolean, acknowledged: boolean): RunFacts => ({ id, requested, receipt, acknowledged });

/** Run histories, from none to several runs in every stage. */
const RUNS: Record<string, RunFacts[]> = {
  none: [],
  requested: [run("run-1", true, false, false)],
  ran: [run("run-1", true, true, false)],
  "ran, receipt without request": [run("run-1", false, true, false)],
  delivered: [run("run-1", true, true, true)],
  "delivered + requested": [run("run-1", true, true, true), run("run-2", true, false, false)],
  "delivered + ran": [run("run-1", true, true, true), run("run-2", true, true, false)],
  "all delivered": [run("run-1", true, true, true), run("run-2", true, true, true)],
};
type Runs = keyof typeof RUNS;

function facts(
  flags: { signed: boolean; approved: boolean; revoked: boolean; settled: boolean; deletionRecorded: boolean },
  time: Time,
  runs: Runs,
): LifecycleFacts {
  return { ...flags, notBefore: NOT_BEFORE, notAfter: NOT_AFTER, now: TIMES[time], runs: RUNS[runs] };
}

/** The promised precedence, written out independently of the implementation's order of tests. */
function expected(f: LifecycleFacts): LifecycleState {
  const produced = f.runs.filter((r) => r.receipt);
  const pending = f.runs.some((r) => r.requested && !r.receipt);
  const allDelivered = produced.length > 0 && !pending && produced.every((r) => r.acknowledged);
  const rules: [boolean, LifecycleState][] = [
    [f.settled, "settled"],
    [f.revoked, "revoked"],
    [!f.signed, "proposed"],
    [!f.approved, "signed"],
    [allDelivered && f.deletionRecorded, "deleted"],
    [allDelivered, "delivered"],
    [f.now >= f.notAfter, "expired"],
    [f.now < f.notBefore, "approved"],
    [produced.length > 0 && !pending, "ran"],
    [true, "active"],
  ];
  return rules.find(([holds]) => holds)![1];
}

const BOOLS = [false, true];
const ALL: LifecycleFacts[] = BOOLS.flatMap((settled) =>
  BOOLS.flatMap((revoked) =>
    BOOLS.flatMap((signed) =>
      BOOLS.flatMap((approved) =>
        BOOLS.flatMap((deletionRecorded) =>
          (Object.keys(TIMES) as Time[]).flatMap((time) =>
            Object.keys(RUNS).map((runs) => facts({ settled, revoked, signed, approved, deletionRecorded }, time, runs)),
          ),
        ),
      ),
    ),
  ),
);

describe("lifecycleState", () => {
  it(`follows the precedence for all ${ALL.length} combinations of facts`, () => {
    const wrong = ALL.filter((f) => lifecycleState(f) !== expected(f)).map((f) => ({ facts: f, got: lifecycleState(f), want: expected(f) }));

    expect(wrong).toEqual([]);
  });

  it("reaches every state", () => {
    expect(new Set(ALL.map(lifecycleState))).toEqual(new Set(STATES));
  });

  it("is pure: the same facts give the same state", () => {
    for (const f of ALL) expect(lifecycleState(structuredClone(f))).toBe(lifecycleState(f));
  });

  const all = { signed: true, approved: true, revoked: false, settled: false, deletionRecorded: false };
  it.each<[string, LifecycleFacts, LifecycleState]>([
    ["nothing signed yet", facts({ ...all, signed: false, approved: false }, "inside", "none"), "proposed"],
    ["approvals without every signature", facts({ ...all, signed: false }, "inside", "none"), "proposed"],
    ["signed, not approved", facts({ ...all, approved: false }, "inside", "none"), "signed"],
    ["approved before the window opens", facts(all, "before", "none"), "approved"],
    ["approved at the first millisecond of the window", facts(all, "start", "none"), "active"],
    ["inside the window", facts(all, "inside", "none"), "active"],
    ["a run requested", facts(all, "inside", "requested"), "active"],
    ["a receipt", facts(all, "inside", "ran"), "ran"],
    ["a receipt and another request pending", facts(all, "inside", "delivered + requested"), "active"],
    ["a receipt not yet acknowledged", facts(all, "inside", "delivered + ran"), "ran"],
    ["every receipt acknowledged", facts(all, "inside", "all delivered"), "delivered"],
    ["delivered and the instance deletion recorded", facts({ ...all, deletionRecorded: true }, "inside", "delivered"), "deleted"],
    ["a deletion record before anything was delivered", facts({ ...all, deletionRecorded: true }, "inside", "ran"), "ran"],
    ["the last millisecond of the window", facts(all, "lastMs", "ran"), "ran"],
    ["at notAfter exactly", facts(all, "end", "none"), "expired"],
    ["after the window, never delivered", facts(all, "after", "ran"), "expired"],
    ["after the window, a request still pending", facts(all, "after", "requested"), "expired"],
    ["after the window, delivered", facts(all, "after", "delivered"), "delivered"],
    ["revoked while active", facts({ ...all, revoked: true }, "inside", "ran"), "revoked"],
    ["revoked before anyone signed", facts({ ...all, signed: false, revoked: true }, "inside", "none"), "revoked"],
    ["revoked after expiry", facts({ ...all, revoked: true }, "after", "none"), "revoked"],
    ["settled, even if also revoked", facts({ ...all, revoked: true, settled: true }, "after", "delivered"), "settled"],
  ])("%s → %s", (_name, f, state) => {
    expect(lifecycleState(f)).toBe(state);
  });
});

describe("hasInstance", () => {
  it.each(STATES.map((s) => [s, s === "active" || s === "ran"] as const))("%s → %s", (state, rendered) => {
    expect(hasInstance(state)).toBe(rendered);
  });
});
