/**
 * Outputs named without an extension (Ocean's examples write /data/outputs/result): refused unless
 * the contract's `outputs.policy.extensionless` lets them leave, and then only when their content is
 * one of its types. Such an output is still counted against maxBytes, checked as a table when it is
 * a csv under minGroupSize, and scanned for raw records like any other.
 */

import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXTENSIONLESS_TYPES } from "../../generator/contract/rules.js";
import { applyOutputPolicy } from "../../generator/seal/policy.js";
import { RowIndex, RowIndexBuilder } from "../../generator/seal/rows.js";
import { SNIFFABLE_TYPES, contentIs, sniffType } from "../../generator/seal/sniff.js";
import { PATIENTS, contractJson } from "../pod/roles/pod.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from("\0\0\0\rIHDR")]);
const PATIENTS_CSV = readFileSync(PATIENTS, "utf8");
const RAW_ROW = PATIENTS_CSV.split("\n")[1];

function rowIndex(dir: string): RowIndex {
  const builder = new RowIndexBuilder({ threshold: 10 });
  builder.startFile(true);
  builder.feed(new TextEncoder().encode(PATIENTS_CSV));
  builder.endFile();
  builder.write(join(dir, "rows.idx"));
  return RowIndex.read(join(dir, "rows.idx"));
}

/** The policy applied to `outputs` (name → content) under the example contract's policy, edited. */
function apply(outputs: Record<string, string | Buffer>, policy: Record<string, unknown>, kinds = ["aggregates"]) {
  const dir = mkdtempSync(join(tmpdir(), "datomspod-policy-"));
  dirs.push(dir);
  for (const [name, content] of Object.entries(outputs)) {
    mkdirSync(join(dir, "outputs", name, ".."), { recursive: true });
    writeFileSync(join(dir, "outputs", name), content);
  }
  mkdirSync(join(dir, "logs"));
  const contract = contractJson((c) => {
    c.outputs.kinds = kinds;
    c.outputs.policy = { maxBytes: 65536, ownerReview: false, ...policy };
  });
  const result = applyOutputPolicy(contract, join(dir, "outputs"), join(dir, "logs"), policy["noRawRecords"] === true ? rowIndex(dir) : undefined);
  return { ...result, violations: result.detailed.map(({ rule, name, message }) => ({ rule, name, message })) };
}

describe("an output without an extension", () => {
  it("is refused when the contract sets no extensionless rule, naming the field to set", () => {
    const result = apply({ result: "42" }, { fileTypes: ["txt"], noRawRecords: false });

    expect(result.ok).toBe(false);
    expect(result.violations).toEqual([
      { rule: "file-type", name: "result", message: "has no extension, and the contract lets no output without one leave (outputs.policy.extensionless)" },
    ]);
  });

  it.each([
    ["Ocean's line count as text", { result: "42" }, ["txt"]],
    ["JSON", { result: '{"rows": 42}' }, ["json", "txt"]],
    ["a PNG by its magic bytes", { chart: PNG }, ["png"]],
    ["in a subfolder", { "reports/result": "done\n" }, ["txt"]],
  ])("leaves when its content is one of extensionless.types: %s", (_what, outputs, types) => {
    const result = apply(outputs, { fileTypes: ["json", "png", "txt"], noRawRecords: false, extensionless: { types } });

    expect(result.violations).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.outputs.map((o) => o.name)).toEqual(Object.keys(outputs));
  });

  it.each([
    ["binary bytes claimed as text", { result: Buffer.from([0x00, 0x01, 0xff, 0xfe]) }, ["txt"], "(txt)"],
    ["text that is not JSON", { result: "42 rows" }, ["json"], "(json)"],
    ["a PNG where only text may go", { result: PNG }, ["txt", "json"], "(txt, json)"],
    ["a pickle (no type can be told from its bytes but the contract's)", { result: Buffer.from([0x80, 0x04, 0x95, 0x00]) }, ["png"], "(png)"],
  ])("is refused when its content is none of the types: %s", (_what, outputs, types, listed) => {
    const result = apply(outputs, { fileTypes: ["json", "png", "txt"], noRawRecords: false, extensionless: { types } });

    expect(result.ok).toBe(false);
    expect(result.violations).toEqual([
      { rule: "file-type", name: "result", message: `has no extension, and its content is none of the types the contract allows for such outputs ${listed}` },
    ]);
  });

  it("with names, only those names leave without an extension", () => {
    const result = apply({ result: "42", other: "43" }, { fileTypes: ["txt"], noRawRecords: false, extensionless: { types: ["txt"], names: ["result"] } });

    expect(result.violations).toEqual([
      { rule: "file-type", name: "other", message: "has no extension and is not one of the names the contract allows without one (result)" },
    ]);
  });

  it("never takes a type the contract's fileTypes do not list, whatever extensionless says", () => {
    const result = apply({ result: "42" }, { fileTypes: ["csv"], noRawRecords: false, extensionless: { types: ["txt"] } });

    expect(result.ok).toBe(false);
    expect(result.violations[0]).toMatchObject({ rule: "file-type", name: "result" });
  });

  it("counts against maxBytes, name included", () => {
    const result = apply({ result: "x".repeat(100) }, { fileTypes: ["txt"], noRawRecords: false, maxBytes: 105, extensionless: { types: ["txt"] } });

    expect(result.usedBytes).toBe(106);
    expect(result.violations).toEqual([
      { rule: "max-bytes", name: null, message: "the outputs and logs total 106 bytes (names included), more than the contract's maxBytes of 105" },
    ]);
  });

  it("is a table when it is a csv: minGroupSize applies to it", () => {
    const policy = { fileTypes: ["csv"], noRawRecords: false, minGroupSize: 10, countColumn: "patients", extensionless: { types: ["csv"] } };

    const small = apply({ result: "region,patients\nnorth,3\n" }, policy);
    const large = apply({ result: "region,patients\nnorth,30\n" }, policy);

    expect(small.violations).toEqual([
      { rule: "min-group-size", name: "result", message: "row 2: describes a group of 3, fewer than the contract's minGroupSize of 10" },
    ]);
    expect(large.violations).toEqual([]);
  });

  it("is not a table when it is text: where only aggregates may leave, it is refused", () => {
    const result = apply(
      { result: "region,patients\nnorth,30\n" },
      { fileTypes: ["txt", "csv"], noRawRecords: false, minGroupSize: 10, countColumn: "patients", extensionless: { types: ["txt"] } },
    );

    expect(result.violations).toEqual([
      {
        rule: "min-group-size",
        name: "result",
        message: "is not a table (csv or tsv), and the contract lets only aggregates, with the size of their groups, leave",
      },
    ]);
  });

  it("is scanned for raw records of the inputs", () => {
    const result = apply({ result: `${RAW_ROW}\n` }, { fileTypes: ["txt"], noRawRecords: true, extensionless: { types: ["txt"] } }, ["report"]);

    expect(result.violations).toEqual([{ rule: "no-raw-records", name: "result", message: expect.stringContaining("holds records of the inputs") }]);
  });
});

describe("content sniffing", () => {
  it("recognises exactly the types a contract may give an output without an extension", () => {
    expect(SNIFFABLE_TYPES).toEqual(EXTENSIONLESS_TYPES);
  });

  it.each([
    ["png", PNG, true],
    ["jpg", Buffer.from([0xff, 0xd8, 0xff, 0xe0]), true],
    ["gif", Buffer.from("GIF89a...."), true],
    ["pdf", Buffer.from("%PDF-1.7\n"), true],
    ["zip", Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14]), true],
    ["gz", Buffer.from([0x1f, 0x8b, 0x08, 0x00]), true],
    ["npy", Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]), true],
    ["parquet", Buffer.from("PAR1....PAR1"), true],
    ["parquet", Buffer.from("PAR1...."), false],
    ["webp", Buffer.from("RIFF\0\0\0\0WEBPVP8 "), true],
    ["json", Buffer.from("[1, 2]"), true],
    ["json", Buffer.from("[1, 2"), false],
    ["txt", Buffer.from("naïve\n"), true],
    ["txt", Buffer.from([0x61, 0x00, 0x62]), false],
    ["txt", Buffer.from([0xc3, 0x28]), false],
    ["png", Buffer.from("not a png"), false],
    ["pkl", Buffer.from([0x80, 0x04]), false],
  ])("%s: %s → %s", (type, bytes, expected) => {
    expect(contentIs(type, bytes, true)).toBe(expected);
  });

  it("from a head alone recognises binary types by their magic bytes, never text (it could turn binary later)", () => {
    expect(contentIs("png", PNG, false)).toBe(true);
    expect(contentIs("parquet", Buffer.from("PAR1...."), false)).toBe(true);
    expect(contentIs("txt", Buffer.from("plain text so far"), false)).toBe(false);
    expect(contentIs("csv", Buffer.from("a,b\n1,2\n"), false)).toBe(false);
  });

  it("takes the first type of the contract's list that the content is", () => {
    expect(sniffType(["json", "txt"], Buffer.from("42"), true)).toBe("json");
    expect(sniffType(["txt", "json"], Buffer.from("42"), true)).toBe("txt");
    expect(sniffType(["png", "json"], Buffer.from("42 rows"), true)).toBeUndefined();
  });
});
