/**
 * The scores are monotone, checked on random contracts through the wasm bundle: tightening
 * privacy never lowers the privacy score (nor raises openness), opening a contract up never
 * lowers openness, and removing weaknesses never lowers security.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../../generator/policy/evaluate.js";
import { leakageBound } from "../../generator/seal/public.js";
import type { PolicyResult } from "../../generator/policy/result.js";
import { base, split, type FixtureInput } from "./fixtures.js";

const KINDS = ["aggregates", "model", "raw-records", "report"] as const;

interface Knobs {
  kinds: string[];
  noRawRecords: boolean;
  minGroupSize: number | undefined;
  epsilon: number | undefined;
  maxBytes: number;
  ownerReview: boolean;
  maxRuns: number;
  maxDuration: number;
  datasets: number;
  parameters: number;
}

const knobs: fc.Arbitrary<Knobs> = fc.record({
  kinds: fc.subarray([...KINDS], { minLength: 1 }),
  noRawRecords: fc.boolean(),
  minGroupSize: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
  epsilon: fc.option(fc.double({ min: 0.01, max: 100, noNaN: true }), { nil: undefined }),
  maxBytes: fc.integer({ min: 1, max: 10737418240 }),
  ownerReview: fc.boolean(),
  maxRuns: fc.integer({ min: 1, max: 1000 }),
  maxDuration: fc.integer({ min: 1, max: 604800 }),
  datasets: fc.integer({ min: 1, max: 4 }),
  parameters: fc.integer({ min: 0, max: 6 }),
});

function inputOf(k: Knobs): FixtureInput {
  const input = structuredClone(base()) as any;
  const c = input.contract;
  c.outputs.kinds = [...k.kinds];
  c.outputs.policy = { maxBytes: k.maxBytes, fileTypes: ["csv"], ownerReview: k.ownerReview, noRawRecords: k.noRawRecords };
  if (k.minGroupSize !== undefined) {
    c.outputs.policy.minGroupSize = k.minGroupSize;
    c.outputs.policy.countColumn = "n";
  }
  if (k.epsilon !== undefined) c.outputs.policy.differentialPrivacyEpsilon = k.epsilon;
  c.business.maxRuns = k.maxRuns;
  c.inputs.compute.maxDurationSeconds = k.maxDuration;
  c.inputs.data = Array.from({ length: k.datasets }, (): unknown => c.inputs.data[0]);
  c.inputs.algorithm.parameters = Object.fromEntries(Array.from({ length: k.parameters }, (_, i) => [`p${i}`, i]));
  input.facts.leakage = leakageBound(c);
  return input as FixtureInput;
}

function judge(input: FixtureInput): PolicyResult {
  return evaluatePolicies(...split(input));
}

/** One step that makes a contract at least as private. */
const tighten = fc.constantFrom<(k: Knobs) => Knobs>(
  (k) => ({ ...k, noRawRecords: true }),
  (k) => ({ ...k, kinds: k.kinds.length > 1 ? k.kinds.slice(1) : k.kinds }),
  (k) => ({ ...k, minGroupSize: (k.minGroupSize ?? 1) * 3 }),
  (k) => ({ ...k, epsilon: k.epsilon === undefined ? 50 : k.epsilon / 4 }),
  (k) => ({ ...k, maxBytes: Math.max(1, Math.floor(k.maxBytes / 8)) }),
  (k) => ({ ...k, ownerReview: true }),
);

/** One step that opens a contract up (more for the consumer). */
const open = fc.constantFrom<(k: Knobs) => Knobs>(
  (k) => ({ ...k, maxRuns: Math.min(1000, k.maxRuns * 2) }),
  (k) => ({ ...k, maxDuration: Math.min(604800, k.maxDuration * 4) }),
  (k) => ({ ...k, datasets: k.datasets + 1 }),
  (k) => ({ ...k, parameters: k.parameters + 1 }),
  (k) => ({ ...k, kinds: [...new Set([...k.kinds, "model"])] }),
  (k) => ({ ...k, maxBytes: Math.min(10737418240, k.maxBytes * 16) }),
);

/** Weaknesses of an instance, each a change to the base input. */
const WEAKNESSES: readonly ((input: any) => void)[] = [
  (input) => {
    input.facts.codeMatches = false;
  },
  (input) => {
    input.facts.anchoring = false;
  },
  (input) => {
    input.facts.signatures = { ok: false, missing: [input.contract.parties[1].address], invalid: [] };
  },
  (input) => {
    input.facts.approvals = { ok: false, missing: [], invalid: [input.contract.parties[0].address] };
  },
  (input) => {
    input.contract.parties = input.contract.parties.filter((p: any) => p.role !== "witness");
  },
  (input) => {
    input.manifests = input.manifests.filter((m: any) => m.kind !== "NetworkPolicy");
  },
  (input) => {
    delete input.manifests[0].metadata.labels["pod-security.kubernetes.io/enforce"];
  },
  (input) => {
    delete jobSpec(input).runtimeClassName;
  },
  (input) => {
    jobSpec(input).containers[0].image = "registry.example.org/datomspod/pod:latest";
  },
  (input) => {
    jobSpec(input).containers[0].securityContext = { ...jobSpec(input).containers[0].securityContext, readOnlyRootFilesystem: false };
  },
  (input) => {
    jobSpec(input).containers[0].resources = {};
  },
  (input) => {
    jobSpec(input).volumes[0].persistentVolumeClaim.readOnly = false;
  },
  (input) => {
    jobSpec(input).containers[0].env = [{ name: "API_TOKEN", value: "t0ken" }];
  },
];

function jobSpec(input: any): any {
  return input.manifests.find((m: any) => m.kind === "Job").spec.template.spec;
}

function weakened(indexes: readonly number[]): FixtureInput {
  const input = structuredClone(base());
  for (const i of indexes) WEAKNESSES[i](input);
  return input;
}

describe("monotone scores", () => {
  it("tightening privacy never lowers privacy and never raises openness", () => {
    fc.assert(
      fc.property(knobs, tighten, (k, step) => {
        const before = judge(inputOf(k));
        const after = judge(inputOf(step(k)));

        expect(after.scores.privacy).toBeGreaterThanOrEqual(before.scores.privacy);
        expect(after.scores.openness).toBeLessThanOrEqual(before.scores.openness);
        expect(after.scores.security).toBe(before.scores.security);
      }),
      { numRuns: 150 },
    );
  });

  it("opening a contract up never lowers openness and never raises privacy", () => {
    fc.assert(
      fc.property(knobs, open, (k, step) => {
        const before = judge(inputOf(k));
        const after = judge(inputOf(step(k)));

        expect(after.scores.openness).toBeGreaterThanOrEqual(before.scores.openness);
        expect(after.scores.privacy).toBeLessThanOrEqual(before.scores.privacy);
      }),
      { numRuns: 150 },
    );
  });

  it("removing weaknesses never lowers security", () => {
    const indexes = fc.subarray(WEAKNESSES.map((_, i) => i));
    fc.assert(
      fc.property(indexes, indexes, (a, b) => {
        const fewer = a.filter((i) => b.includes(i));

        expect(judge(weakened(fewer)).scores.security).toBeGreaterThanOrEqual(judge(weakened(b)).scores.security);
      }),
      { numRuns: 150 },
    );
  });

  it("every single weakness costs security points", () => {
    const full = judge(weakened([])).scores.security;

    const lower = WEAKNESSES.map((_, i) => judge(weakened([i])).scores.security < full);

    expect(lower).toEqual(WEAKNESSES.map(() => true));
  });
});
