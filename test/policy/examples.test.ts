/**
 * The example contracts as `datomspod check` sees them: rendered by the real compiler, their
 * signatures and approvals verified, their code hashed, judged by the bundled policy. The numbers
 * are the worked examples of policies/README.md; if this test changes, update the README.
 */

import { describe, expect, it } from "vitest";
import { loadProfiles } from "../../generator/compile/profile.js";
import { gateContract } from "../../generator/gate/gate.js";
import type { PolicyResult } from "../../generator/policy/result.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";

const NOW = new Date("2026-11-24T00:00:00Z");

/** The policy's verdict as the gate (check, compile, run) gets it. */
function judge(id: string): PolicyResult {
  const result = gateContract(PACKAGE_ROOT, id, NOW, loadProfiles(PACKAGE_ROOT), { preview: false });
  expect(result.passed).toBe(true);
  return result.policy!;
}

function points(result: PolicyResult): Record<string, Record<string, number>> {
  return Object.fromEntries(Object.entries(result.factors).map(([axis, factors]) => [axis, Object.fromEntries(factors.map((f) => [f.id, f.points]))]));
}

describe("the example contracts, as policies/README.md works them out", () => {
  it("hospital-stats passes medical-research with openness 34, privacy 60, security 90", () => {
    const result = judge("hospital-stats");

    expect(points(result)).toEqual({
      openness: { "output-kinds": 15, "max-runs": 8, "max-duration": 3, datasets: 5, parameters: 3, "output-size": 0 },
      privacy: { "no-raw-records": 25, "min-group-size": 15, "differential-privacy": 0, "output-cap": 15, "owner-review": 0, "least-revealing-kinds": 5 },
      security: {
        "images-pinned": 10,
        "code-checksum": 10,
        signatures: 5,
        approvals: 5,
        "egress-denied": 10,
        "pod-security": 10,
        "read-only-inputs": 10,
        "read-only-root": 5,
        "resource-limits": 5,
        "runtime-sandbox": 0,
        "no-literal-secrets": 5,
        anchoring: 10,
        witness: 5,
      },
    });
    expect({ scores: result.scores, weighted: result.weighted, region: result.region, pass: result.pass }).toEqual({
      scores: { openness: 34, privacy: 60, security: 90 },
      weighted: 65,
      region: { openness: { min: 0, max: 30, ok: true }, privacy: { min: 30, max: 100, ok: true }, security: { min: 30, max: 100, ok: true } },
      pass: true,
    });
    expect(result.deny).toEqual([]);
    expect(result.warn.map((w) => w.rule)).toEqual(["owner-review", "runtime-sandbox"]);
  });

  it("bank-credit-model passes credit-scoring with openness 58, privacy 50, security 95", () => {
    const result = judge("bank-credit-model");

    expect(points(result)).toEqual({
      openness: { "output-kinds": 35, "max-runs": 5, "max-duration": 5, datasets: 5, parameters: 3, "output-size": 5 },
      privacy: { "no-raw-records": 25, "min-group-size": 0, "differential-privacy": 0, "output-cap": 10, "owner-review": 15, "least-revealing-kinds": 0 },
      security: {
        "images-pinned": 10,
        "code-checksum": 10,
        signatures: 5,
        approvals: 5,
        "egress-denied": 10,
        "pod-security": 10,
        "read-only-inputs": 10,
        "read-only-root": 5,
        "resource-limits": 5,
        "runtime-sandbox": 10,
        "no-literal-secrets": 5,
        anchoring: 10,
        witness: 0,
      },
    });
    expect({ scores: result.scores, weighted: result.weighted, pass: result.pass }).toEqual({
      scores: { openness: 58, privacy: 50, security: 95 },
      weighted: 68,
      pass: true,
    });
    expect(result.deny).toEqual([]);
    expect(result.warn.map((w) => w.rule)).toEqual(["witness"]);
  });
});
