/** The policy fixtures under policies/fixtures/ (see its README): the base input and, per deny rule, an allowed and a disallowed variation. */

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { PolicyInput } from "../../generator/policy/input.js";
import type { Scenario } from "../../generator/policy/scenarios.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";

export const FIXTURES = join(PACKAGE_ROOT, "policies", "fixtures");

export type FixtureInput = PolicyInput & { readonly scenario: Scenario };

export interface Fixture {
  /** e.g. "network-egress/disallowed" or "base". */
  readonly name: string;
  /** The deny rule it is about; undefined for the base. */
  readonly rule?: string;
  readonly expect: "pass" | "allowed" | "disallowed";
  readonly file: string;
}

export const FIXTURE_LIST: readonly Fixture[] = [
  { name: "base", expect: "pass", file: join(FIXTURES, "base", "input.json") },
  ...readdirSync(FIXTURES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== "base")
    .map((entry) => entry.name)
    .sort()
    .flatMap((rule) =>
      (["allowed", "disallowed"] as const).map((expect): Fixture => ({
        name: `${rule}/${expect}`,
        rule,
        expect,
        file: join(FIXTURES, rule, expect, "input.json"),
      })),
    ),
];

export function readFixture(file: string): FixtureInput {
  return JSON.parse(readFileSync(file, "utf8")) as FixtureInput;
}

/** The input without its scenario, and the scenario: the two arguments of evaluatePolicies. */
export function split(input: FixtureInput): [PolicyInput, Scenario] {
  const { scenario, ...rest } = input;
  return [rest, scenario];
}

export function base(): FixtureInput {
  return readFixture(join(FIXTURES, "base", "input.json"));
}
