/**
 * OPS-C scenarios (policies/scenarios/<name>.json): the weights, minimum scores and acceptable
 * region a contract is judged by. Every file is validated against policies/scenario.schema.json
 * (ajv, strict) and for consistency (a region that can hold a point, weights that sum above 0);
 * all problems are collected before anything is thrown.
 */

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { ValidateFunction } from "ajv";
import { InputError, type Issue } from "../errors.js";
import { compileSchema, validateAgainst } from "../contract/schema.js";
import { display, readJsonFile } from "../repo/files.js";
import { PACKAGE_ROOT, packageFile } from "../repo/package-root.js";

export const AXES = ["openness", "privacy", "security"] as const;
export type Axis = (typeof AXES)[number];

export interface Bounds {
  readonly min: number;
  readonly max: number;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** The data describes people: raw records may not leave, owner review and a witness are expected. */
  readonly privacySensitive: boolean;
  readonly weights: Readonly<Record<Axis, number>>;
  readonly minimums: Readonly<Record<Axis, number>>;
  /** Bounds, in percent, on each score's share of the three scores' sum. */
  readonly region: Readonly<Record<Axis, Bounds>>;
  /** Optional ceiling on the contract's leakage bound, in bytes. */
  readonly maxLeakageBytes?: number;
}

export const SCENARIO_SCHEMA_FILE = "policies/scenario.schema.json";
export const SCENARIOS_DIR = "policies/scenarios";

let scenarioValidator: ValidateFunction | undefined;

function validator(): ValidateFunction {
  scenarioValidator ??= compileSchema(JSON.parse(readFileSync(packageFile(SCENARIO_SCHEMA_FILE), "utf8")) as object);
  return scenarioValidator;
}

/** What the schema cannot say: the file's name, a positive weight sum, a region that holds a point. */
function checkConsistency(scenario: Scenario, file: string, name: string): Issue[] {
  const issues: Issue[] = [];
  if (scenario.name !== name)
    issues.push({
      file,
      path: "$.name",
      message: `is ${JSON.stringify(scenario.name)} but the file is ${name}.json`,
      fix: `set it to ${JSON.stringify(name)} or rename the file`,
    });
  if (AXES.every((axis) => scenario.weights[axis] === 0))
    issues.push({ file, path: "$.weights", message: "are all 0, so there is no weighted score", fix: "give at least one score a positive weight" });
  for (const axis of AXES) {
    const { min, max } = scenario.region[axis];
    if (min > max) issues.push({ file, path: `$.region.${axis}`, message: `min ${min} is above max ${max}`, fix: "swap them" });
  }
  const mins = AXES.reduce((sum, axis) => sum + scenario.region[axis].min, 0);
  const maxes = AXES.reduce((sum, axis) => sum + scenario.region[axis].max, 0);
  if (mins > 100)
    issues.push({
      file,
      path: "$.region",
      message: `the minimum shares sum to ${mins}%, so no point of the triangle is inside`,
      fix: "lower the mins to a sum of at most 100",
    });
  if (maxes < 100)
    issues.push({
      file,
      path: "$.region",
      message: `the maximum shares sum to ${maxes}%, so no point of the triangle is inside`,
      fix: "raise the maxes to a sum of at least 100",
    });
  return issues;
}

/** Validates one parsed scenario file named `<name>.json`; returns every issue found. */
export function validateScenario(value: unknown, file: string, name: string): Issue[] {
  const issues = validateAgainst(validator(), value, file);
  return issues.length > 0 ? issues : checkConsistency(value as Scenario, file, name);
}

let shipped: ReadonlyMap<string, Scenario> | undefined;

/**
 * Loads every scenario in `dir` (default: the package's policies/scenarios, read once), keyed and
 * sorted by name. Throws an InputError listing every problem of every file.
 */
export function loadScenarios(dir?: string): ReadonlyMap<string, Scenario> {
  if (dir !== undefined) return readScenarios(dir);
  shipped ??= readScenarios(packageFile(SCENARIOS_DIR));
  return shipped;
}

function readScenarios(dir: string): ReadonlyMap<string, Scenario> {
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".json"))
    .map((entry) => entry.name.slice(0, -".json".length))
    .sort();
  const scenarios = new Map<string, Scenario>();
  const issues: Issue[] = [];
  for (const name of names) {
    const path = join(dir, `${name}.json`);
    const file = display(PACKAGE_ROOT, path);
    let value: unknown;
    try {
      value = readJsonFile(path, file);
    } catch (error) {
      if (error instanceof InputError) {
        issues.push(...error.issues);
        continue;
      }
      throw error;
    }
    const problems = validateScenario(value, file, name);
    if (problems.length > 0) {
      issues.push(...problems);
      continue;
    }
    const { $schema: _schema, ...scenario } = value as Scenario & { $schema?: string };
    scenarios.set(name, scenario);
  }
  if (issues.length > 0) throw InputError.many(`${issues.length} problem${issues.length === 1 ? "" : "s"} in the OPS-C scenarios`, issues);
  if (scenarios.size === 0)
    throw InputError.of({ file: display(PACKAGE_ROOT, dir), path: "$", message: "holds no scenario", fix: "add policies/scenarios/<name>.json files" });
  return scenarios;
}

/**
 * The scenario a contract names in $.opsc.scenario. An unknown name is an InputError on the
 * contract's file that lists the known scenarios.
 */
export function scenarioFor(name: string, contractFile: string, scenarios: ReadonlyMap<string, Scenario>): Scenario {
  const scenario = scenarios.get(name);
  if (scenario !== undefined) return scenario;
  const known = [...scenarios.keys()].sort();
  throw InputError.of({
    file: contractFile,
    path: "$.opsc.scenario",
    message: `unknown OPS-C scenario ${JSON.stringify(name)}`,
    fix: `use one of ${known.join(", ")}`,
  });
}
