/**
 * Strict JSON text parsing. `JSON.parse` silently keeps the last of two equal keys, which lets a
 * document show a reviewer one value while a program reads another; this parser refuses that,
 * refuses documents over a size limit, and reports where the problem is.
 */

import { InputError } from "../errors.js";

export const MAX_DOCUMENT_BYTES = 1024 * 1024;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function jsonPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/** Parses `text` as JSON, rejecting duplicate keys, lone surrogates and documents over `maxBytes`. */
export function parseStrictJson(text: string, file: string, maxBytes = MAX_DOCUMENT_BYTES): JsonValue {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) {
    throw InputError.of({
      file,
      path: "$",
      message: `document is ${bytes} bytes, larger than the limit of ${maxBytes}`,
      fix: "keep large content out of the JSON (reference it by sha256 or CID)",
    });
  }
  return new Parser(text, file).parseDocument();
}

class Parser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  parseDocument(): JsonValue {
    if (this.text.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.skipWhitespace();
    const value = this.parseValue("$");
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail("$", "unexpected text after the JSON value");
    return value;
  }

  private fail(path: string, message: string): never {
    const before = this.text.slice(0, this.pos);
    const line = before.split("\n").length;
    const column = this.pos - before.lastIndexOf("\n");
    throw InputError.of({
      file: this.file,
      path,
      message: `invalid JSON at line ${line} column ${column}: ${message}`,
      fix: "fix the JSON syntax",
    });
  }

  private skipWhitespace(): void {
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.pos++;
      else break;
    }
  }

  private parseValue(path: string): JsonValue {
    const c = this.text[this.pos];
    if (c === "{") return this.parseObject(path);
    if (c === "[") return this.parseArray(path);
    if (c === '"') return this.parseString(path);
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.parseNumber(path);
    for (const [word, value] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.fail(path, c === undefined ? "unexpected end of document" : `unexpected character ${JSON.stringify(c)}`);
  }

  private parseObject(path: string): JsonValue {
    const result: { [key: string]: JsonValue } = {};
    const seen = new Set<string>();
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail(path, "expected a string key");
      const key = this.parseString(path);
      const childPath = jsonPath(path, key);
      if (seen.has(key)) {
        throw InputError.of({
          file: this.file,
          path: childPath,
          message: `duplicate key ${JSON.stringify(key)}: JSON readers disagree on which value counts`,
          fix: "keep exactly one occurrence of the key",
        });
      }
      seen.add(key);
      this.skipWhitespace();
      if (this.text[this.pos] !== ":") this.fail(childPath, "expected ':'");
      this.pos++;
      this.skipWhitespace();
      const value = this.parseValue(childPath);
      // defineProperty: a "__proto__" key stays an own data property and never touches the prototype.
      Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      const next = this.text[this.pos];
      if (next !== "}" && next !== ",") this.fail(path, "expected ',' or '}'");
      this.pos++;
      if (next === "}") return result;
    }
  }

  private parseArray(path: string): JsonValue {
    const result: JsonValue[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      result.push(this.parseValue(jsonPath(path, result.length)));
      this.skipWhitespace();
      const next = this.text[this.pos];
      if (next !== "]" && next !== ",") this.fail(path, "expected ',' or ']'");
      this.pos++;
      if (next === "]") return result;
    }
  }

  private parseString(path: string): string {
    const start = this.pos;
    this.pos++;
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (Number.isNaN(c)) this.fail(path, "unterminated string");
      if (c < 0x20) this.fail(path, "control character inside a string (escape it)");
      if (c === 0x22) break;
      if (c === 0x5c) this.pos++;
      this.pos++;
    }
    const end = this.pos + 1;
    let value: string;
    try {
      value = JSON.parse(this.text.slice(start, end)) as string;
    } catch {
      this.pos = start;
      return this.fail(path, "invalid escape in string");
    }
    if (!value.isWellFormed()) {
      this.pos = start;
      this.fail(path, "string contains a lone UTF-16 surrogate");
    }
    this.pos = end;
    return value;
  }

  private parseNumber(path: string): number {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!match) return this.fail(path, "invalid number");
    const value = Number(match[0]);
    if (!Number.isFinite(value)) this.fail(path, "number out of range");
    this.pos += match[0].length;
    return value;
  }
}
