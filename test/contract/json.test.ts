/**
 * The strict JSON parser: it reads every valid document exactly as JSON.parse does, refuses
 * duplicate keys wherever they are (JSON.parse silently keeps the last), and fails with an
 * InputError naming the place of any other problem, never with anything else.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonPath, parseStrictJson } from "../../generator/contract/json.js";
import { InputError } from "../../generator/errors.js";

function parseError(text: string): InputError {
  try {
    parseStrictJson(text, "doc.json");
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error(`parsed: ${text}`);
}

const documents = fc.jsonValue({ stringUnit: "grapheme", maxDepth: 5 });

describe("strict JSON parsing agrees with JSON.parse", () => {
  it("on every valid document without duplicate keys, compact or indented", () => {
    fc.assert(
      fc.property(documents, fc.constantFrom(undefined, 2, "\t"), (value, indent) => {
        const text = JSON.stringify(value, null, indent);

        expect(parseStrictJson(text, "doc.json")).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it("on fc.json() documents", () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (text) => {
        expect(parseStrictJson(text, "doc.json")).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a "__proto__" key as data, never as the prototype', () => {
    const value = parseStrictJson('{"__proto__": {"admin": true}, "a": {"__proto__": null}}', "doc.json") as Record<string, unknown>;

    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["__proto__", "a"]);
    expect((value as { admin?: unknown }).admin).toBeUndefined();
    expect(value).toStrictEqual(JSON.parse('{"__proto__": {"admin": true}, "a": {"__proto__": null}}'));
  });

  it("and only ever fails with an InputError that names doc.json, on any text", () => {
    // Random edits of valid documents: whatever the parser accepts JSON.parse reads the same way.
    const edited = fc
      .tuple(fc.json({ maxDepth: 3 }), fc.nat(), fc.constantFrom("", ",", "}", "]", '"', ":", "-", "0", "e", " ", "\\", "\n", "{", "[", "tru", "\u0000"))
      .map(([text, at, insert]) => text.slice(0, at % (text.length + 1)) + insert + text.slice((at % (text.length + 1)) + (insert === "" ? 1 : 0)));
    fc.assert(
      fc.property(fc.oneof(edited, fc.string({ unit: "grapheme" })), (text) => {
        let strict: unknown;
        let failure: unknown;
        try {
          strict = parseStrictJson(text, "doc.json");
        } catch (error) {
          failure = error;
        }
        if (failure === undefined) {
          expect(strict).toStrictEqual(JSON.parse(text));
        } else {
          expect(failure).toBeInstanceOf(InputError);
          expect((failure as InputError).issues[0]?.file).toBe("doc.json");
          expect((failure as InputError).issues[0]?.path).toMatch(/^\$/);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("strict JSON parsing refuses duplicate keys", () => {
  it("at any depth, naming the JSON path of the second occurrence", () => {
    const member = fc.tuple(fc.string({ unit: "grapheme", maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }));
    fc.assert(
      fc.property(
        fc.uniqueArray(member, { selector: ([k]) => k, maxLength: 5 }),
        fc.string({ unit: "grapheme", maxLength: 8 }),
        fc.jsonValue({ maxDepth: 1 }),
        fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
        (others, key, value, outer) => {
          const unique = others.filter(([k]) => k !== key);
          const members = [[key, value], ...unique, [key, value]].map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
          let text = `{${members.join(", ")}}`;
          let path = "$";
          for (const wrapper of outer) {
            text = `{${JSON.stringify(wrapper)}: [${text}]}`;
          }
          for (const wrapper of [...outer].reverse()) path = jsonPath(jsonPath(path, wrapper), 0);

          const error = parseError(text);

          expect(() => {
            JSON.parse(text);
          }).not.toThrow();
          expect(error.issues).toEqual([
            {
              file: "doc.json",
              path: jsonPath(path, key),
              message: `duplicate key ${JSON.stringify(key)}: JSON readers disagree on which value counts`,
              fix: "keep exactly one occurrence of the key",
            },
          ]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("even when the two spellings differ only by escapes", () => {
    expect(parseError('{"id": "a", "\\u0069d": "b"}').issues[0]?.path).toBe("$.id");
    expect(parseError('{"\\ud83d\\ude00": 1, "😀": 2}').issues[0]?.path).toBe('$["😀"]');
  });
});

describe("strict JSON parsing reports where a document is broken", () => {
  it.each([
    ['{"a": 1 "b": 2}', "$", "invalid JSON at line 1 column 9: expected ',' or '}'"],
    ["[1 2]", "$", "invalid JSON at line 1 column 4: expected ',' or ']'"],
    ['{"a": [1, 2}', "$.a", "invalid JSON at line 1 column 12: expected ',' or ']'"],
    ["[1,]", "$[1]", 'invalid JSON at line 1 column 4: unexpected character "]"'],
    ['{"a" 1}', "$.a", "invalid JSON at line 1 column 6: expected ':'"],
    ['{"a": tru}', "$.a", 'invalid JSON at line 1 column 7: unexpected character "t"'],
    ['{\r\n  "a": 1,\r\n  "b": x\r\n}', "$.b", 'invalid JSON at line 3 column 8: unexpected character "x"'],
    ['"\\u12"', "$", "invalid JSON at line 1 column 1: invalid escape in string"],
    ["\ufeff{}x", "$", "invalid JSON at line 1 column 4: unexpected text after the JSON value"],
    ["1e400", "$", "invalid JSON at line 1 column 1: number out of range"],
    ["+1", "$", 'invalid JSON at line 1 column 1: unexpected character "+"'],
    [".5", "$", 'invalid JSON at line 1 column 1: unexpected character "."'],
  ])("%j", (text, path, message) => {
    expect(parseError(text).issues).toEqual([{ file: "doc.json", path, message, fix: "fix the JSON syntax" }]);
  });

  it("refuses documents over the size limit in UTF-8 bytes", () => {
    expect(() => parseStrictJson('"0123456789"', "doc.json", 11)).toThrow("document is 12 bytes, larger than the limit of 11");
    expect(parseStrictJson('"0123456789"', "doc.json", 12)).toBe("0123456789");
    expect(() => parseStrictJson('"€"', "doc.json", 4)).toThrow("document is 5 bytes, larger than the limit of 4");
  });
});
