/** Line numbers of JSON paths, for SARIF locations. */

import { describe, expect, it } from "vitest";
import { lineOf, parentPath, valueLines } from "../../../generator/policy/report/json-lines.js";

const text = ["{", '  "id": "x",', '  "a.b": {"c": [1,', '    {"d": "e\\"}"}]},', '  "list": [', '    "first",', '    "second"', "  ]", "}", ""].join("\n");

describe("JSON path lines", () => {
  it("records the line where every value starts (members: their key)", () => {
    const lines = valueLines(text);

    expect(Object.fromEntries(lines)).toEqual({
      $: 1,
      "$.id": 2,
      '$["a.b"]': 3,
      '$["a.b"].c': 3,
      '$["a.b"].c[0]': 3,
      '$["a.b"].c[1]': 4,
      '$["a.b"].c[1].d': 4,
      "$.list": 5,
      "$.list[0]": 6,
      "$.list[1]": 7,
    });
  });

  it("falls back to the nearest ancestor, then to line 1", () => {
    const lines = valueLines(text);

    expect(lineOf(lines, "$.list[1]")).toBe(7);
    expect(lineOf(lines, "$.list[5].name")).toBe(5);
    expect(lineOf(lines, '$["a.b"].missing')).toBe(3);
    expect(lineOf(lines, "--format")).toBe(1);
  });

  it("takes the last segment off a path", () => {
    expect(["$.a.b", "$.a[0]", '$.a["x.y"]', "$.a", "$", "input.now"].map(parentPath)).toEqual(["$.a", "$.a", "$.a", "$", undefined, "$"]);
  });
});
