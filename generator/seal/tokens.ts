/**
 * The tripwire's tokenizer: bytes (UTF-8, fed in chunks of any size) → folded tokens (fold.ts) →
 * 64-bit token hashes, and line ends. The same code reads the inputs (datomspace-in) and the outputs
 * and logs (datomspace-out), so both sides always agree on what a token is.
 *
 * - Tokens are the runs of content between separators and line breaks; empty ones do not exist,
 *   so `a,,b` and `a,b` read alike, and so do `a , b`, `a\tb` and `a | b`.
 * - A token that reads as a decimal number is written canonically before it is hashed: no `+`,
 *   no leading zeros, no trailing zeros after the point (`034.50` is `34.5`, `-0` is `0`).
 * - A token *qualifies* as a value worth remembering on its own (a name, an e-mail, an identifier)
 *   when it was written with a letter (before the fold: `L500000` has one, though it folds to
 *   `1500000`) and has at least 6 bytes, or has at least 9 digits (TOKEN_RULE below): shorter
 *   values (ages, codes, small numbers) are what aggregates are made of.
 * - Invalid UTF-8 reads as U+FFFD. A NUL byte either stops the input (datomspace-in: the file is
 *   binary) or is dropped (datomspace-out: UTF-16 text is read by a view of its own).
 */

import { ASCII_CLASS, ASCII_FOLD, BREAK, CONTENT, CR, FOLDED_BREAK, FOLDED_SEPARATOR, NUL, SEPARATOR, foldCodePoint, isLetterCodePoint } from "./fold.js";

/** The rule a token must meet to be remembered on its own: documented in docs/sealing-and-delivery.md. */
export const TOKEN_RULE = { minLettered: 6, minDigits: 9 } as const;

/** Bytes of a token kept for the number check: longer tokens are never numbers. */
const NUMBER_MAX = 64;

const A0 = 0x811c9dc5;
const B0 = 0x9747b28c;
const PRIME_A = 0x01000193;
const PRIME_B = 0x5bd1e995;

/** The high 32 bits of a 64-bit hash from the final state of lane a (a bijective mix). */
export function finishA(state: number): number {
  let a = state ^ (state >>> 16);
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  return (a ^ (a >>> 16)) >>> 0;
}

/** The low 32 bits of a 64-bit hash from the final state of lane b (a bijective mix). */
export function finishB(state: number): number {
  let b = state ^ (state >>> 16);
  b = Math.imul(b, 0x7feb352d);
  b ^= b >>> 15;
  b = Math.imul(b, 0x846ca68b);
  return (b ^ (b >>> 16)) >>> 0;
}

/**
 * The fingerprint of a row from the sums of its tokens' hashes (each lane mod 2^32) and their
 * number: the same for the same tokens in any order (a multiset hash), so reordered columns match.
 */
export function rowHigh(sumA: number, count: number): number {
  return finishA((sumA ^ Math.imul(count, 0x9e3779b1)) >>> 0);
}

export function rowLow(sumB: number, count: number): number {
  return finishB((sumB ^ Math.imul(count, 0x85ebca77)) >>> 0);
}

/** Module-local copies of the fold's tables (a local constant is cheaper in the hot loop than an imported binding). */
const CLASS = ASCII_CLASS.slice();
const FOLD = ASCII_FOLD.slice();

/** Folded-byte kinds for the number and value rules. */
const DIGIT = 1;
const LETTER = 2;
const NUMERIC = 4;
const KIND = new Uint8Array(256);
for (let byte = 0x30; byte <= 0x39; byte += 1) KIND[byte] = DIGIT | NUMERIC;
for (let byte = 0x61; byte <= 0x7a; byte += 1) KIND[byte] = LETTER;
for (let byte = 0x80; byte <= 0xff; byte += 1) KIND[byte] = LETTER;
for (const c of "+-.") KIND[c.charCodeAt(0)] = NUMERIC;
/** ASCII letters, before the fold. */
const RAW_LETTER = new Uint8Array(128);
for (let byte = 0x41; byte <= 0x5a; byte += 1) RAW_LETTER[byte] = RAW_LETTER[byte + 0x20] = 1;

export interface TokenSink {
  /**
   * A token: its 64-bit hash as two 32-bit halves in `hash` ([high, low]; the array is reused, copy
   * what you keep: passing the halves as numbers would box them on every call), whether it
   * qualifies on its own, its line (1-based).
   */
  token(hash: Uint32Array, qualifies: boolean, line: number): void;
  /** The end of line `line` (a break, or the end of the text). */
  lineEnd(line: number): void;
}

/** Whether the bytes of a plain decimal number are already canonical (checked without allocating). */
function isCanonical(buf: Uint8Array, length: number): boolean {
  let i = 0;
  if (buf[0] === 0x2b) return false;
  if (buf[0] === 0x2d) i = 1;
  if (i + 1 < length && buf[i] === 0x30 && buf[i + 1] !== 0x2e) return false;
  if (buf[i] === 0x2e) return false;
  let dot = -1;
  for (let j = i; j < length; j += 1) if (buf[j] === 0x2e) dot = j;
  if (dot >= 0 && (dot === length - 1 || buf[length - 1] === 0x30)) return false;
  if (buf[0] === 0x2d && dot < 0 && length === 2 && buf[1] === 0x30) return false;
  return true;
}

/** `-034.50` → `-34.5`; undefined when the bytes are not a plain decimal number or already canonical. */
function canonicalNumber(buf: Uint8Array, length: number): Uint8Array | undefined {
  let i = 0;
  let negative = false;
  if (buf[0] === 0x2b || buf[0] === 0x2d) {
    negative = buf[0] === 0x2d;
    i = 1;
  }
  const intStart = i;
  while (i < length && buf[i] >= 0x30 && buf[i] <= 0x39) i += 1;
  const intEnd = i;
  let fracStart = i;
  let fracEnd = i;
  if (i < length && buf[i] === 0x2e) {
    i += 1;
    fracStart = i;
    while (i < length && buf[i] >= 0x30 && buf[i] <= 0x39) i += 1;
    fracEnd = i;
  }
  if (i !== length || (intEnd === intStart && fracEnd === fracStart)) return undefined;
  if (isCanonical(buf, length)) return undefined;
  let s = intStart;
  while (s < intEnd - 1 && buf[s] === 0x30) s += 1;
  let e = fracEnd;
  while (e > fracStart && buf[e - 1] === 0x30) e -= 1;
  const out: number[] = [];
  const intDigits = intEnd === intStart ? [0x30] : Array.from(buf.subarray(s, intEnd));
  const zero = intDigits.length === 1 && intDigits[0] === 0x30 && e === fracStart;
  if (negative && !zero) out.push(0x2d);
  out.push(...intDigits);
  if (e > fracStart) out.push(0x2e, ...buf.subarray(fracStart, e));
  if (out.length === length && out.every((byte, j) => byte === buf[j])) return undefined;
  return Uint8Array.from(out);
}

/**
 * Streams bytes into tokens. `stopAtNul`: a NUL byte ends the text (and `binary` becomes true);
 * otherwise NUL bytes are dropped.
 */
export class Tokenizer {
  binary = false;
  line = 1;
  private readonly sink: TokenSink;
  private readonly stopAtNul: boolean;
  private a = A0;
  private b = B0;
  private length = 0;
  private digits = 0;
  private letter = false;
  private numeric = true;
  private readonly buf = new Uint8Array(NUMBER_MAX);
  private readonly hash = new Uint32Array(2);
  /** The lanes of the token being emitted: passed in a typed array, as numbers they would be boxed. */
  private readonly lanes = new Int32Array(2);
  private afterCr = false;
  private lineHasContent = false;
  // A UTF-8 sequence in progress.
  private need = 0;
  private cp = 0;

  constructor(sink: TokenSink, options: { stopAtNul?: boolean } = {}) {
    this.sink = sink;
    this.stopAtNul = options.stopAtNul ?? false;
  }

  private endToken(): void {
    if (this.length === 0) return;
    this.lanes[0] = this.a;
    this.lanes[1] = this.b;
    this.emit(this.length, this.digits, this.letter, this.numeric);
    this.a = A0;
    this.b = B0;
    this.length = 0;
    this.digits = 0;
    this.letter = false;
    this.numeric = true;
  }

  /** Hands a finished token to the sink (its state passed in, so the hot loop keeps it in registers). */
  private emit(length: number, digits: number, letter: boolean, numeric: boolean): void {
    let a = this.lanes[0];
    let b = this.lanes[1];
    if (numeric && length <= NUMBER_MAX) {
      const canonical = canonicalNumber(this.buf, length);
      if (canonical !== undefined) {
        a = A0;
        b = B0;
        digits = 0;
        for (const byte of canonical) {
          a = Math.imul(a ^ byte, PRIME_A);
          b = Math.imul(b ^ byte, PRIME_B);
          b ^= b >>> 15;
          if (byte >= 0x30 && byte <= 0x39) digits += 1;
        }
      }
    }
    const qualifies = (letter && length >= TOKEN_RULE.minLettered) || digits >= TOKEN_RULE.minDigits;
    this.hash[0] = finishA(a);
    this.hash[1] = finishB(b);
    this.sink.token(this.hash, qualifies, this.line);
  }

  private endLine(): void {
    this.endToken();
    this.sink.lineEnd(this.line);
    this.line += 1;
    this.lineHasContent = false;
  }

  private content(byte: number): void {
    this.a = Math.imul(this.a ^ byte, PRIME_A);
    const b = Math.imul(this.b ^ byte, PRIME_B);
    this.b = b ^ (b >>> 15);
    if (this.length < NUMBER_MAX) this.buf[this.length] = byte;
    this.length += 1;
    const kind = KIND[byte];
    if ((kind & DIGIT) !== 0) this.digits += 1;
    if ((kind & LETTER) !== 0) this.letter = true;
    if ((kind & NUMERIC) === 0) this.numeric = false;
    this.lineHasContent = true;
  }

  private folded(cp: number): void {
    this.afterCr = false;
    if (isLetterCodePoint(cp)) this.letter = true;
    for (const byte of foldCodePoint(cp)) {
      if (byte === FOLDED_SEPARATOR) this.endToken();
      else if (byte === FOLDED_BREAK) this.endLine();
      else this.content(byte);
    }
  }

  feed(chunk: Uint8Array): void {
    if (this.binary) return;
    // The hot loop keeps the token's state in locals and calls out with it as arguments; only the
    // rare non-ASCII byte writes it back to the object.
    let a = this.a;
    let b = this.b;
    let length = this.length;
    let digits = this.digits;
    let letter = this.letter;
    let numeric = this.numeric;
    let afterCr = this.afterCr;
    let lineHasContent = this.lineHasContent;
    const buf = this.buf;
    const n = chunk.length;
    for (let i = 0; i < n; i += 1) {
      const byte = chunk[i];
      if (byte < 0x80 && this.need === 0) {
        const kind = CLASS[byte];
        if (kind === CONTENT) {
          const f = FOLD[byte];
          a = Math.imul(a ^ f, PRIME_A);
          b = Math.imul(b ^ f, PRIME_B);
          b ^= b >>> 15;
          if (length < NUMBER_MAX) buf[length] = f;
          length += 1;
          const k = KIND[f];
          if ((k & DIGIT) !== 0) digits += 1;
          if (RAW_LETTER[byte] === 1) letter = true;
          if ((k & NUMERIC) === 0) numeric = false;
          lineHasContent = true;
          afterCr = false;
          continue;
        }
        if (kind === SEPARATOR || kind === BREAK || kind === CR) {
          const lineEnds = kind !== SEPARATOR && !(kind === BREAK && byte === 0x0a && afterCr);
          afterCr = kind === CR;
          if (length > 0) {
            this.lanes[0] = a;
            this.lanes[1] = b;
            this.emit(length, digits, letter, numeric);
            a = A0;
            b = B0;
            length = 0;
            digits = 0;
            letter = false;
            numeric = true;
          }
          if (lineEnds) {
            this.sink.lineEnd(this.line);
            this.line += 1;
            lineHasContent = false;
          }
          continue;
        }
        if (kind === NUL && this.stopAtNul) {
          this.binary = true;
          return;
        }
        continue;
      }
      this.a = a;
      this.b = b;
      this.length = length;
      this.digits = digits;
      this.letter = letter;
      this.numeric = numeric;
      this.lineHasContent = lineHasContent;
      this.afterCr = afterCr;
      this.slow(byte);
      a = this.a;
      b = this.b;
      length = this.length;
      digits = this.digits;
      letter = this.letter;
      numeric = this.numeric;
      lineHasContent = this.lineHasContent;
      afterCr = this.afterCr;
    }
    this.a = a;
    this.b = b;
    this.length = length;
    this.digits = digits;
    this.letter = letter;
    this.numeric = numeric;
    this.lineHasContent = lineHasContent;
    this.afterCr = afterCr;
  }

  /** A byte of a multi-byte UTF-8 sequence. */
  private slow(byte: number): void {
    if (this.need > 0) {
      if ((byte & 0xc0) === 0x80) {
        this.cp = (this.cp << 6) | (byte & 0x3f);
        this.need -= 1;
        if (this.need === 0) this.folded(this.cp > 0x10ffff || (this.cp >= 0xd800 && this.cp <= 0xdfff) ? 0xfffd : this.cp);
        return;
      }
      this.need = 0;
      this.folded(0xfffd);
      if (byte < 0x80) {
        this.feed(Uint8Array.of(byte));
        return;
      }
    }
    if (byte >= 0xc2 && byte <= 0xdf) {
      this.need = 1;
      this.cp = byte & 0x1f;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      this.need = 2;
      this.cp = byte & 0x0f;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      this.need = 3;
      this.cp = byte & 0x07;
    } else this.folded(0xfffd);
  }

  /** Ends the text: a last line without a break still ends (when it has anything on it). */
  end(): void {
    if (this.binary) return;
    if (this.need > 0) {
      this.need = 0;
      this.folded(0xfffd);
    }
    if (this.lineHasContent || this.length > 0) this.endLine();
    else this.endToken();
  }
}

/** Tokens of a short string as [high, low] pairs (tests and the JSON view). */
export function tokensOf(text: string): [number, number][] {
  const out: [number, number][] = [];
  const tokenizer = new Tokenizer({ token: (hash) => out.push([hash[0], hash[1]]), lineEnd: () => {} });
  tokenizer.feed(new TextEncoder().encode(text));
  tokenizer.end();
  return out;
}
