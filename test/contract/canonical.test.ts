/**
 * RFC 8785 (JSON Canonicalization Scheme): the one byte form that is hashed and signed. Vectors from
 * the RFC, and properties over arbitrary JSON values.
 */

import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalHash, canonicalize } from "../../generator/contract/canonical.js";
import { parseStrictJson } from "../../generator/contract/json.js";

/** A double from its IEEE 754 bits, as RFC 8785 appendix B lists them. */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

// RFC 8785 appendix B: IEEE 754 bits and their canonical text.
const APPENDIX_B: [string, string][] = [
  ["0000000000000000", "0"],
  ["8000000000000000", "0"],
  ["0000000000000001", "5e-324"],
  ["8000000000000001", "-5e-324"],
  ["7fefffffffffffff", "1.7976931348623157e+308"],
  ["ffefffffffffffff", "-1.7976931348623157e+308"],
  ["4340000000000000", "9007199254740992"],
  ["c340000000000000", "-9007199254740992"],
  ["4430000000000000", "295147905179352830000"],
  ["44b52d02c7e14af5", "9.999999999999997e+22"],
  ["44b52d02c7e14af6", "1e+23"],
  ["44b52d02c7e14af7", "1.0000000000000001e+23"],
  ["444b1ae4d6e2ef4e", "999999999999999700000"],
  ["444b1ae4d6e2ef4f", "999999999999999900000"],
  ["444b1ae4d6e2ef50", "1e+21"],
  ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
  ["3eb0c6f7a0b5ed8d", "0.000001"],
  ["41b3de4355555553", "333333333.3333332"],
  ["41b3de4355555554", "333333333.33333325"],
  ["41b3de4355555555", "333333333.3333333"],
  ["41b3de4355555556", "333333333.3333334"],
  ["41b3de4355555557", "333333333.33333343"],
  ["becbf647612f3696", "-0.0000033333333333333333"],
  ["43143ff3c1cb0959", "1424953923781206.2"],
];

// Number literals as a document may write them, and their canonical text.
const LITERALS: [string, string][] = [
  ["1e21", "1e+21"],
  ["1E21", "1e+21"],
  ["1e20", "100000000000000000000"],
  ["1e-7", "1e-7"],
  ["0.0000001", "1e-7"],
  ["0.000001", "0.000001"],
  ["-0", "0"],
  ["-0.0", "0"],
  ["333333333.33333329", "333333333.3333333"],
  ["4.50", "4.5"],
  ["2e-3", "0.002"],
  ["1E30", "1e+30"],
  ["0.000000000000000000000000001", "1e-27"],
  ["100", "100"],
  ["1.0", "1"],
  ["-1.5e-10", "-1.5e-10"],
];

describe("RFC 8785 numbers", () => {
  it.each(APPENDIX_B)("appendix B: %s → %s", (bits, text) => {
    expect(canonicalize(fromBits(bits))).toBe(text);
  });

  it.each(LITERALS)("%s → %s", (literal, text) => {
    expect(canonicalize(parseStrictJson(literal, "vector.json"))).toBe(text);
  });

  it.each([["7fffffffffffffff"], ["7ff0000000000000"], ["fff0000000000000"]])("refuses NaN and infinities (%s)", (bits) => {
    expect(() => canonicalize(fromBits(bits))).toThrow(TypeError);
  });
});

describe("RFC 8785 examples", () => {
  it("section 3.2.2: numbers, strings, literals", () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;

    expect(canonicalize(parseStrictJson(input, "example.json"))).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it("section 3.2.3: keys sorted by UTF-16 code units", () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;

    const canonical = canonicalize(parseStrictJson(input, "example.json"));

    expect(canonical).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it("escapes exactly the characters JSON requires, in lower-case hex", () => {
    expect(canonicalize('\u0000\u0008\u0009\u000a\u000c\u000d\u001f\u007f\u2028"\\/')).toBe('"\\u0000\\b\\t\\n\\f\\r\\u001f\u007f\u2028\\"\\\\/"');
  });

  it("drops undefined members and refuses what JSON cannot hold", () => {
    expect(canonicalize({ b: 1, a: undefined })).toBe('{"b":1}');
    expect(() => canonicalize("\ud800")).toThrow(TypeError);
    expect(() => canonicalize(1n)).toThrow(TypeError);
  });

  it("hashes the canonical form with sha256", () => {
    expect(canonicalHash({ b: 2, a: [1, "x"] })).toBe(createHash("sha256").update('{"a":[1,"x"],"b":2}').digest("hex"));
  });
});

/** The same value with the keys of every object in another order (chosen by `seed`). */
function reorder(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((item, i) => reorder(item, seed + i));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const shuffled = entries.map(([k, v], i) => ({ k, v, rank: Math.sin(seed * 7919 + i * 104729) })).sort((a, b) => a.rank - b.rank);
  const out: Record<string, unknown> = {};
  for (const { k, v } of shuffled) Object.defineProperty(out, k, { value: reorder(v, seed + 1), enumerable: true, writable: true, configurable: true });
  return out;
}

const anyJson = fc.jsonValue({ stringUnit: "grapheme", maxDepth: 4 });

describe("canonicalization properties", () => {
  it("is idempotent: canonicalize(parse(canonicalize(x))) = canonicalize(x)", () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        const once = canonicalize(value);
        expect(canonicalize(parseStrictJson(once, "x.json"))).toBe(once);
        expect(canonicalize(JSON.parse(once))).toBe(once);
      }),
      { numRuns: 300 },
    );
  });

  it("does not depend on the order of keys", () => {
    fc.assert(
      fc.property(anyJson, fc.integer(), (value, seed) => {
        expect(canonicalize(reorder(value, seed))).toBe(canonicalize(value));
      }),
      { numRuns: 300 },
    );
  });

  it("does not depend on white space or the spelling of numbers and strings", () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        const pretty = JSON.stringify(value, null, 2);
        const escaped = JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
        expect(canonicalize(parseStrictJson(pretty, "x.json"))).toBe(canonicalize(value));
        expect(canonicalize(parseStrictJson(escaped, "x.json"))).toBe(canonicalize(value));
      }),
      { numRuns: 200 },
    );
  });

  it("has no insignificant white space", () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        expect(canonicalize(value)).toHaveLength(JSON.stringify(value).length);
      }),
      { numRuns: 200 },
    );
  });

  it("sorts keys", () => {
    // Keys start with a letter: JavaScript objects list integer-like keys first whatever the text says.
    const key = fc.string({ unit: "grapheme" }).map((k) => `k${k}`);
    fc.assert(
      fc.property(fc.dictionary(key, fc.jsonValue({ maxDepth: 1 })), (object) => {
        const keys = Object.keys(JSON.parse(canonicalize(object)) as object);
        expect(keys).toEqual([...keys].sort());
      }),
      { numRuns: 200 },
    );
  });

  it("gives different bytes for different values", () => {
    fc.assert(
      fc.property(anyJson, anyJson, (a, b) => {
        fc.pre(JSON.stringify(reorderSorted(a)) !== JSON.stringify(reorderSorted(b)));
        expect(canonicalize(a)).not.toBe(canonicalize(b));
      }),
      { numRuns: 200 },
    );
  });
});

/** The value with every object's keys sorted and -0 as 0 (what canonical equality means). */
function reorderSorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorderSorted);
  if (typeof value === "number") return value === 0 ? 0 : value;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, reorderSorted(v)]),
  );
}
