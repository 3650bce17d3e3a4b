/** The OPS-C scenarios: the shipped ones load, a contract's unknown scenario and every kind of broken scenario file are input errors that say what to do. */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { ExitCode, InputError } from "../../generator/errors.js";
import { loadScenarios, scenarioFor } from "../../generator/policy/scenarios.js";

const valid = {
  name: "open-data",
  title: "Open data",
  description: "Statistics over public registers.",
  privacySensitive: false,
  weights: { openness: 1, privacy: 1, security: 1 },
  minimums: { openness: 0, privacy: 0, security: 0 },
  region: { openness: { min: 0, max: 100 }, privacy: { min: 0, max: 100 }, security: { min: 0, max: 100 } },
};

function scenarioDir(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "datomspod-scenarios-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
  return dir;
}

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError)
      return error.issues.map((issue) => `${basename(issue.file)} ${issue.path}: ${issue.message}${issue.fix ? ` (fix: ${issue.fix})` : ""}`);
    throw error;
  }
  throw new Error("expected an InputError");
}

describe("scenarios", () => {
  it("ships the four scenarios, sorted, without their $schema", () => {
    const scenarios = loadScenarios();

    expect([...scenarios.keys()]).toEqual(["credit-scoring", "medical-research", "model-training", "public-statistics"]);
    expect(scenarios.get("medical-research")).toEqual({
      name: "medical-research",
      title: "Medical research",
      description: expect.any(String) as string,
      privacySensitive: true,
      weights: { openness: 20, privacy: 45, security: 35 },
      minimums: { openness: 20, privacy: 60, security: 80 },
      region: { openness: { min: 0, max: 30 }, privacy: { min: 30, max: 100 }, security: { min: 30, max: 100 } },
    });
  });

  it("names the contract field and the known scenarios for an unknown one", () => {
    let error: unknown;
    try {
      scenarioFor("genomics", "contracts/x/contract.json", loadScenarios());
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(ExitCode.input);
    expect((error as InputError).message).toBe(
      'contracts/x/contract.json $.opsc.scenario: unknown OPS-C scenario "genomics" (fix: use one of credit-scoring, medical-research, model-training, public-statistics)',
    );
  });

  it("loads a valid scenario file from another folder", () => {
    expect(loadScenarios(scenarioDir({ "open-data.json": valid })).get("open-data")).toEqual(valid);
  });

  it("collects every problem of every file", () => {
    const dir = scenarioDir({
      "a.json": { ...valid, name: "b" },
      "b.json": {
        ...valid,
        weights: { openness: 0, privacy: 0, security: 0 },
        region: { ...valid.region, openness: { min: 60, max: 50 }, privacy: { min: 50, max: 100 } },
      },
      "c.json": { ...valid, name: "c", extra: 1, minimums: { openness: 0.5, privacy: 0, security: 0 } },
      "d.json": { ...valid, name: "d", region: { openness: { min: 0, max: 20 }, privacy: { min: 0, max: 20 }, security: { min: 0, max: 20 } } },
      "e.json": "{",
      "notes.txt": "ignored",
    });

    expect(issuesOf(() => loadScenarios(dir))).toEqual([
      'a.json $.name: is "b" but the file is a.json (fix: set it to "a" or rename the file)',
      'b.json $.name: is "open-data" but the file is b.json (fix: set it to "b" or rename the file)',
      "b.json $.weights: are all 0, so there is no weighted score (fix: give at least one score a positive weight)",
      "b.json $.region.openness: min 60 is above max 50 (fix: swap them)",
      "b.json $.region: the minimum shares sum to 110%, so no point of the triangle is inside (fix: lower the mins to a sum of at most 100)",
      'c.json $.extra: unknown field "extra" (fix: remove it or check its spelling)',
      "c.json $.minimums.openness: must be integer (fix: write a JSON integer here)",
      "d.json $.region: the maximum shares sum to 60%, so no point of the triangle is inside (fix: raise the maxes to a sum of at least 100)",
      "e.json $: invalid JSON at line 1 column 2: expected a string key (fix: fix the JSON syntax)",
    ]);
  });

  it("refuses a folder without scenarios", () => {
    const dir = scenarioDir({});

    expect(issuesOf(() => loadScenarios(dir))).toEqual([`${basename(dir)} $: holds no scenario (fix: add policies/scenarios/<name>.json files)`]);
  });
});
