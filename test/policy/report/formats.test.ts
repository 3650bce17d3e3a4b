/**
 * Every report format renders the same check report: golden files a reviewer can read (table,
 * JSON, SARIF, Markdown, SVG), byte-identical reruns, colour only when asked, and SARIF that the
 * official SARIF 2.1.0 schema accepts with results on the right lines.
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Log } from "sarif";
import { describe, expect, it } from "vitest";
import { contractPassed, findingsOf, reportPassed } from "../../../generator/policy/report/check-report.js";
import { renderJson } from "../../../generator/policy/report/json.js";
import { renderMarkdown } from "../../../generator/policy/report/markdown.js";
import { renderSarif, sarifRules } from "../../../generator/policy/report/sarif.js";
import { renderSvg } from "../../../generator/policy/report/svg.js";
import { renderTable } from "../../../generator/policy/report/table.js";
import { broken, failing, passing, sampleReport, sampleSources } from "./sample.js";

const require = createRequire(import.meta.url);

describe("check report", () => {
  it("passes a contract only when every stage is ok", () => {
    expect([passing(), failing(), broken()].map(contractPassed)).toEqual([true, false, false]);
    expect(reportPassed(sampleReport())).toBe(false);
    expect(reportPassed({ contracts: [passing()] })).toBe(true);
  });

  it("flattens findings: stage issues, denies, minimums, region, warnings", () => {
    expect(findingsOf(failing()).map((f) => `${f.level} ${f.ruleId} ${f.path}`)).toEqual([
      "error datomspod/signatures $",
      "error opsc/raw-records $.outputs.kinds",
      "error opsc/signatures $.parties[1]",
      "error opsc/validity $.business.validity.notAfter",
      "error opsc/minimum $.opsc.scenario",
      "error opsc/region $.opsc.scenario",
      "error opsc/region $.opsc.scenario",
      "warning opsc/owner-review $.outputs.policy.ownerReview",
      "warning opsc/witness $.parties",
    ]);
  });
});

describe("report formats", () => {
  it("renders the terminal table", async () => {
    await expect(renderTable(sampleReport(), { color: false })).toMatchFileSnapshot("golden/table.txt");
  });

  it("colours the table only when asked, with the same text underneath", () => {
    const plain = renderTable(sampleReport(), { color: false });
    const colour = renderTable(sampleReport(), { color: true });

    expect(plain).not.toContain("\u001b[");
    expect(colour).toContain("\u001b[31mFAILED\u001b[0m");
    // eslint-disable-next-line no-control-regex -- ANSI escape sequences are what this test strips
    expect(colour.replaceAll(/\u001b\[[0-9]+m/g, "")).toBe(plain);
  });

  it("renders JSON", async () => {
    await expect(renderJson(sampleReport())).toMatchFileSnapshot("golden/report.json");
  });

  it("renders Markdown for the pull request, with the SVG by relative path", async () => {
    const markdown = renderMarkdown(sampleReport(), { svgHref: (id) => `opsc/${id}.svg` });

    expect(markdown).toContain("![OPS-C triangle of open-wards](opsc/open-wards.svg)");
    await expect(markdown).toMatchFileSnapshot("golden/report.md");
  });

  it("renders an SVG per contract the policy judged", async () => {
    expect(renderSvg(broken())).toBeUndefined();
    await expect(renderSvg(passing())).toMatchFileSnapshot("golden/ward-statistics.svg");
    await expect(renderSvg(failing())).toMatchFileSnapshot("golden/open-wards.svg");
  });

  it("renders SARIF", async () => {
    await expect(renderSarif(sampleReport(), { version: "0.1.0", sources: sampleSources() })).toMatchFileSnapshot("golden/report.sarif");
  });

  it.each([
    ["table", () => renderTable(sampleReport(), { color: true })],
    ["JSON", () => renderJson(sampleReport())],
    ["Markdown", () => renderMarkdown(sampleReport())],
    ["SARIF", () => renderSarif(sampleReport(), { sources: sampleSources() })],
    ["SVG", () => renderSvg(failing())],
  ])("renders %s byte-identically twice", (_, render) => {
    expect(render()).toBe(render());
  });
});

describe("SARIF", () => {
  const schema = JSON.parse(readFileSync(require.resolve("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"), "utf8")) as object;
  const Ajv = require("ajv-draft-04") as new (options: object) => { compile(schema: object): ((value: unknown) => boolean) & { errors?: unknown } };
  const validate = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false, validateFormats: false, logger: false }).compile(schema);

  it("is valid against the official SARIF 2.1.0 schema", () => {
    const log = JSON.parse(renderSarif(sampleReport(), { version: "0.1.0", sources: sampleSources() })) as unknown;

    const valid = validate(log);

    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it("names a rule for every result, with the level of its finding", () => {
    const run = (JSON.parse(renderSarif(sampleReport())) as Log).runs[0];
    const ids = (run.tool.driver.rules ?? []).map((rule) => rule.id);

    expect((run.results ?? []).map((r) => [r.ruleId, ids[r.ruleIndex ?? -1], r.level])).toEqual(
      [...findingsOf(failing()), ...findingsOf(broken())].map((f) => [f.ruleId, f.ruleId, f.level]),
    );
    expect(new Set(ids).size).toBe(sarifRules().length);
  });

  it("locates findings on the line of their JSON path in the given file", () => {
    const sources = sampleSources();
    const run = (JSON.parse(renderSarif(sampleReport(), { sources })) as Log).runs[0];
    const lineOf = (file: string, text: string): number =>
      sources
        .get(file)!
        .split("\n")
        .findIndex((l) => l.includes(text)) + 1;

    const located = (run.results ?? []).map((r) => [
      r.ruleId,
      r.locations?.[0]?.physicalLocation?.artifactLocation?.uri,
      r.locations?.[0]?.physicalLocation?.region?.startLine,
    ]);

    expect(located).toContainEqual(["opsc/validity", "contracts/open-wards/contract.json", lineOf("contracts/open-wards/contract.json", '"notAfter"')]);
    expect(located).toContainEqual(["opsc/raw-records", "contracts/open-wards/contract.json", lineOf("contracts/open-wards/contract.json", '"kinds"')]);
    expect(located).toContainEqual(["datomspod/schema", "contracts/typo/contract.json", 4]);
    expect(located).toContainEqual(["datomspod/signatures", "contracts/open-wards/signatures/0x678E53b55b5ff8564162cDFa0cB0B9160a0E3287.json", 1]);
  });
});
