/**
 * Every fixture through both engines: the real `opa eval` over the Rego sources and the committed
 * wasm bundle in-process. Both must give the same result, and the expected verdict: the base
 * passes cleanly, an allowed variation is denied nothing, a disallowed one by its rule alone.
 */

import { describe, expect, it } from "vitest";
import { leakageBound } from "../../generator/seal/public.js";
import { evaluatePolicies } from "../../generator/policy/evaluate.js";
import { policyRules } from "../../generator/policy/result.js";
import { FIXTURE_LIST, readFixture, split } from "./fixtures.js";
import { NO_OPA, opaEval, sorted } from "./opa.js";

describe("policy fixtures", () => {
  it("cover every deny rule with an allowed and a disallowed input", () => {
    const denyRules = policyRules()
      .filter((rule) => rule.kind === "deny")
      .map((rule) => rule.id);

    const covered = [...new Set(FIXTURE_LIST.flatMap((fixture) => (fixture.rule === undefined ? [] : [fixture.rule])))];

    expect(covered).toEqual(denyRules);
    expect(FIXTURE_LIST.filter((fixture) => fixture.rule !== undefined)).toHaveLength(2 * denyRules.length);
  });

  it.each(FIXTURE_LIST)("$name gets the expected verdict in the wasm bundle", (fixture) => {
    const [input, scenario] = split(readFixture(fixture.file));

    const result = evaluatePolicies(input, scenario);

    const rules = [...new Set(result.deny.map((finding) => finding.rule))];
    if (fixture.expect === "disallowed") {
      expect(rules).toEqual([fixture.rule]);
      expect(result.pass).toBe(false);
    } else {
      expect(result.deny).toEqual([]);
    }
    if (fixture.expect === "pass") expect({ pass: result.pass, warn: result.warn }).toEqual({ pass: true, warn: [] });
  });

  describe.skipIf(NO_OPA !== undefined)(NO_OPA === undefined ? "opa eval" : `opa eval (skipped: ${NO_OPA})`, () => {
    it.each(FIXTURE_LIST)("$name: opa eval and the wasm bundle agree exactly", (fixture) => {
      const [input, scenario] = split(readFixture(fixture.file));

      const wasm = evaluatePolicies(input, scenario);
      const go = opaEval(fixture.file);

      expect(go).toBeDefined();
      expect(sorted(go)).toEqual(sorted(wasm));
    });
  });
});

describe("the base fixture's leakage fact", () => {
  it("is what generator/seal/public.ts computes for its contract", () => {
    const input = readFixture(FIXTURE_LIST[0].file);

    expect(input.facts.leakage).toEqual(leakageBound(input.contract));
  });
});
