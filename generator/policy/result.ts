/**
 * What the OPS-C policy (data.opsc.result in policies/opsc/opsc.rego) returns, as TypeScript
 * types and as the JSON Schema every evaluation is checked against: a result of any other shape
 * is an error, never a pass. Also the rule index the policy build writes
 * (policies/bundle/rules.json, from the Rego METADATA).
 */

import { readFileSync } from "node:fs";
import { AXES, type Axis } from "./scenarios.js";
import { packageFile } from "../repo/package-root.js";

/** One reason a score is what it is: the measured value and the points it earned of `max`. */
export interface Factor {
  readonly id: string;
  readonly title: string;
  readonly value: unknown;
  readonly points: number;
  readonly max: number;
}

/** A hard deny or a warning. `details.resource` names a rendered object, `details.path` a contract field. */
export interface Finding {
  readonly rule: string;
  readonly msg: string;
  readonly details: Readonly<Record<string, unknown>> & { readonly path?: string; readonly resource?: string };
}

export interface PolicyResult {
  readonly contract: string;
  readonly scenario: string;
  readonly scores: Readonly<Record<Axis, number>>;
  readonly factors: Readonly<Record<Axis, readonly Factor[]>>;
  /** The scenario's weighted mean of the scores, rounded. */
  readonly weighted: number;
  readonly minimums: Readonly<Record<Axis, { readonly min: number; readonly score: number; readonly ok: boolean }>>;
  /** Per axis: the region's bounds on the score's share (percent) and whether the share keeps them. */
  readonly region: Readonly<Record<Axis, { readonly min: number; readonly max: number; readonly ok: boolean }>>;
  readonly inside_region: boolean;
  /** The most the contract can ever let out (null fields: unknown, which fails), and the scenario's ceiling on it. */
  readonly leakage: {
    readonly bytesPerRun: number | null;
    readonly metadataBitsPerRun: number | null;
    readonly runs: number | null;
    readonly boundBytes: number | null;
    readonly max: number | null;
    readonly ok: boolean;
  };
  /** Sorted by rule, then message. */
  readonly deny: readonly Finding[];
  readonly warn: readonly Finding[];
  /** No deny, every minimum met, inside the region, the leakage bound known and within the scenario's ceiling. */
  readonly pass: boolean;
}

const integer = { type: "integer" } as const;
const score = { type: "integer", minimum: 0, maximum: 100 } as const;
const perAxis = (schema: object): object => ({
  type: "object",
  additionalProperties: false,
  required: [...AXES],
  properties: Object.fromEntries(AXES.map((axis) => [axis, schema])),
});
const finding = {
  type: "object",
  additionalProperties: false,
  required: ["rule", "msg", "details"],
  properties: {
    rule: { type: "string", pattern: "^[a-z][-a-z0-9]*$" },
    msg: { type: "string", minLength: 1 },
    details: { type: "object", properties: { path: { type: "string" }, resource: { type: "string" } } },
  },
} as const;

/** The JSON Schema (2020-12) of a PolicyResult. */
export const POLICY_RESULT_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  additionalProperties: false,
  required: ["contract", "scenario", "scores", "factors", "weighted", "minimums", "region", "inside_region", "leakage", "deny", "warn", "pass"],
  properties: {
    contract: { type: "string" },
    scenario: { type: "string" },
    scores: perAxis(score),
    factors: perAxis({
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["id", "title", "value", "points", "max"],
        properties: {
          id: { type: "string" },
          title: { type: "string" },
          value: {},
          points: { type: "integer", minimum: 0 },
          max: { type: "integer", minimum: 0 },
        },
      },
    }),
    weighted: score,
    minimums: perAxis({
      type: "object",
      additionalProperties: false,
      required: ["min", "score", "ok"],
      properties: { min: integer, score, ok: { type: "boolean" } },
    }),
    region: perAxis({
      type: "object",
      additionalProperties: false,
      required: ["min", "max", "ok"],
      properties: { min: integer, max: integer, ok: { type: "boolean" } },
    }),
    inside_region: { type: "boolean" },
    leakage: {
      type: "object",
      additionalProperties: false,
      required: ["bytesPerRun", "metadataBitsPerRun", "runs", "boundBytes", "max", "ok"],
      properties: {
        bytesPerRun: { type: ["integer", "null"] },
        metadataBitsPerRun: { type: ["integer", "null"] },
        runs: { type: ["integer", "null"] },
        boundBytes: { type: ["integer", "null"] },
        max: { type: ["integer", "null"] },
        ok: { type: "boolean" },
      },
    },
    deny: { type: "array", items: finding },
    warn: { type: "array", items: finding },
    pass: { type: "boolean" },
  },
} as const;

export const RULES_FILE = "policies/bundle/rules.json";

/** A rule of the policy, from its package's METADATA. */
export interface PolicyRule {
  readonly id: string;
  readonly kind: "deny" | "warn";
  readonly title: string;
  readonly description: string;
  readonly severity: string;
  readonly package: string;
}

let rules: readonly PolicyRule[] | undefined;

/** The deny and warn rules of the bundled policy (policies/bundle/rules.json), sorted by kind then id. */
export function policyRules(): readonly PolicyRule[] {
  rules ??= JSON.parse(readFileSync(packageFile(RULES_FILE), "utf8")) as PolicyRule[];
  return rules;
}
