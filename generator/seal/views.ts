/**
 * How datomspace-out reads a file for the raw-record tripwire (rows.ts): in several views, each a
 * stream of tokens the index's Matcher looks up, so that the common re-encodings of a table are
 * read back as the table.
 *
 * - `text`: the bytes as UTF-8 text, tokenized (tokens.ts), across lines: a row written one field
 *   a line, or split over lines, still shows as consecutive tokens;
 * - `json`: when the text (or a line of it) is JSON, the scalar values in document order, whatever
 *   the keys are called (`[{"patient": "P1", "years": 34}, …]`, JSON lines);
 * - `columns`: the tokens of the text read column by column (a transposed table);
 * - `base64` / `hex`: every run of 24+ base64 characters (16+ a line, MIME line breaks allowed) or
 *   32+ hex digits, decoded, and read again in every view;
 * - `gzip` / `zlib` / `zip`: compressed content (a whole file, or decoded from base64/hex) inflated
 *   and read again; deflated members of a zip archive likewise;
 * - `utf16`: text in UTF-16 (a byte-order mark, or NUL bytes every other byte), re-read as text.
 *
 * Views nest up to three deep (base64 of gzip of a table). What they decode is bounded: at most
 * DECODE_MAX_BYTES in all per file; content that would inflate beyond that cannot be ruled out and
 * is reported as unchecked (the caller fails closed). Files above VIEW_MAX_BYTES are read in the
 * text view only (streamed; bounded memory).
 */

import { closeSync, openSync, readSync } from "node:fs";
import { inflateRawSync, inflateSync, gunzipSync } from "node:zlib";
import type { Matcher, RowIndex } from "./rows.js";
import { Tokenizer } from "./tokens.js";

/** Files up to this size are read in every view; larger ones as text only. */
export const VIEW_MAX_BYTES = 16 * 1024 * 1024;
/** What decoding and inflating may produce in all, per scanned file. */
export const DECODE_MAX_BYTES = 64 * 1024 * 1024;
const MAX_DEPTH = 3;
const MAX_RUNS = 4096;
/** Tokens the columns view reads at most. */
const COLUMNS_MAX_TOKENS = 1 << 20;

export interface ViewMatch {
  /** The view, nested views joined by '>': text, json, columns, base64>gzip>text, … */
  readonly view: string;
  /** 1-based lines (of the decoded content, for a nested view) where a record of the inputs shows. */
  readonly lines: readonly number[];
}

export interface ScanResult {
  readonly matches: readonly ViewMatch[];
  /** Why part of the file could not be checked (then it cannot be ruled out: the caller fails closed), or null. */
  readonly unchecked: string | null;
}

interface State {
  readonly index: RowIndex;
  readonly matches: ViewMatch[];
  decoded: number;
  unchecked: string | null;
}

function run(state: State, view: string, feed: (matcher: Matcher) => void): void {
  const matcher = state.index.matcher();
  feed(matcher);
  if (matcher.found) state.matches.push({ view, lines: matcher.lines });
}

function tokenize(matcher: Matcher, bytes: Uint8Array): void {
  const tokenizer = new Tokenizer(matcher.sink);
  tokenizer.feed(bytes);
  tokenizer.end();
}

const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** Scalar values of a JSON value in document order. */
function leaves(value: unknown, out: string[]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) for (const item of value) leaves(item, out);
  else if (typeof value === "object") for (const item of Object.values(value as Record<string, unknown>)) leaves(item, out);
  else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") out.push(String(value));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The `json` view: the whole text as one JSON document, else every line that is one. */
function jsonView(matcher: Matcher, text: string): void {
  const feedLeaves = (values: readonly string[], line: number): void => {
    for (const leaf of values) {
      const tokenizer = new Tokenizer({ token: (hash, qualifies) => matcher.token(hash[0], hash[1], qualifies, line), lineEnd: () => {} });
      tokenizer.feed(encoder.encode(leaf));
      tokenizer.end();
    }
  };
  const trimmed = text.trim();
  if (/^[[{]/.test(trimmed)) {
    const whole = parseJson(trimmed);
    if (whole !== undefined) {
      const values: string[] = [];
      leaves(whole, values);
      feedLeaves(values, 1);
      return;
    }
  }
  text.split(/\r\n|\r|\n|\u2028|\u2029|\u0085/).forEach((line, i) => {
    const t = line.trim();
    if (!/^[[{]/.test(t)) return;
    const value = parseJson(t);
    if (value === undefined) return;
    const values: string[] = [];
    leaves(value, values);
    feedLeaves(values, i + 1);
  });
}

/** The `columns` view: tokens read column by column (header tokens left out first, so labels do not shift the columns). */
function columnsView(index: RowIndex, matcher: Matcher, bytes: Uint8Array): void {
  const lines: { high: number; low: number; qualifies: boolean; line: number }[][] = [];
  let current: (typeof lines)[number] = [];
  let total = 0;
  const tokenizer = new Tokenizer({
    token: (hash, qualifies, line) => {
      const [high, low] = [hash[0], hash[1]];
      if (total >= COLUMNS_MAX_TOKENS || index.isHeader(high, low)) return;
      current.push({ high, low, qualifies, line });
      total += 1;
    },
    lineEnd: () => {
      if (current.length > 0) lines.push(current);
      current = [];
    },
  });
  tokenizer.feed(bytes);
  tokenizer.end();
  if (lines.length < 2) return;
  const width = Math.max(...lines.map((line) => line.length));
  for (let column = 0; column < width; column += 1) {
    for (const line of lines) {
      const token = line[column];
      if (token !== undefined) matcher.token(token.high, token.low, token.qualifies, token.line);
    }
  }
}

/** Whether decoded bytes look like text worth reading (UTF-8, few control characters). */
function looksLikeText(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  let control = 0;
  const n = Math.min(bytes.length, 65536);
  for (let i = 0; i < n; i += 1) {
    const byte = bytes[i];
    if (byte === 0) return false;
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) control += 1;
  }
  if (control > n / 20) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, n - (n < bytes.length ? 4 : 0)));
    return true;
  } catch {
    return n < bytes.length; // a cut multi-byte character at the end of the sample
  }
}

/** UTF-16 text: a byte-order mark, or a NUL in every other byte of the first ones. */
function utf16Of(bytes: Uint8Array): string | undefined {
  if (bytes.length < 4) return undefined;
  const bom = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
  let le = 0;
  let be = 0;
  const n = Math.min(bytes.length, 4096) & ~1;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i + 1] === 0 && bytes[i] !== 0) le += 1;
    if (bytes[i] === 0 && bytes[i + 1] !== 0) be += 1;
  }
  const bigEndian = bom ? bytes[0] === 0xfe : be > le;
  if (!bom && Math.max(le, be) < (n / 2) * 0.6) return undefined;
  const body = Buffer.from(bytes.subarray(bom ? 2 : 0, bom ? 2 + ((bytes.length - 2) & ~1) : bytes.length & ~1));
  if (bigEndian) body.swap16();
  return body.toString("utf16le");
}

type Inflated = { readonly kind: string; readonly bytes: Uint8Array }[];

/** Members of a zip archive whose local headers give their sizes: stored or deflated. */
function zipMembers(bytes: Uint8Array, max: number): Inflated {
  const out: { kind: string; bytes: Uint8Array }[] = [];
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 30 <= view.length && view.readUInt32LE(at) === 0x04034b50) {
    const method = view.readUInt16LE(at + 8);
    const compressed = view.readUInt32LE(at + 18);
    const start = at + 30 + view.readUInt16LE(at + 26) + view.readUInt16LE(at + 28);
    if ((view.readUInt16LE(at + 6) & 0x08) !== 0 || start + compressed > view.length) break;
    const data = view.subarray(start, start + compressed);
    if (method === 0) out.push({ kind: "zip", bytes: data });
    else if (method === 8) out.push({ kind: "zip", bytes: inflateRawSync(data, { maxOutputLength: max }) });
    at = start + compressed;
  }
  return out;
}

/** Compressed content inflated: gzip, zlib, zip; empty when the bytes are none of these. Throws a RangeError past `max`. */
function inflated(bytes: Uint8Array, max: number): Inflated {
  if (bytes.length >= 18 && bytes[0] === 0x1f && bytes[1] === 0x8b) return [{ kind: "gzip", bytes: gunzipSync(bytes, { maxOutputLength: max }) }];
  if (bytes.length >= 6 && (bytes[0] & 0x0f) === 8 && bytes[0] >> 4 <= 7 && ((bytes[0] << 8) | bytes[1]) % 31 === 0)
    return [{ kind: "zlib", bytes: inflateSync(bytes, { maxOutputLength: max }) }];
  if (bytes.length >= 30 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return zipMembers(bytes, max);
  return [];
}

const BASE64_RUN = /(?:[A-Za-z0-9+/_-]{16,}={0,2}[ \t]*(?:\r\n|\r|\n)?)+/g;
const HEX_RUN = /[0-9A-Fa-f]{32,}/g;

function decodedRuns(text: string): { kind: string; bytes: Uint8Array }[] {
  const out: { kind: string; bytes: Uint8Array }[] = [];
  for (const match of text.matchAll(HEX_RUN)) {
    if (out.length >= MAX_RUNS) break;
    const hex = match[0].length % 2 === 0 ? match[0] : match[0].slice(0, -1);
    out.push({ kind: "hex", bytes: Buffer.from(hex, "hex") });
  }
  for (const match of text.matchAll(BASE64_RUN)) {
    if (out.length >= MAX_RUNS) break;
    const compact = match[0].replace(/\s+/g, "");
    if (compact.length < 24 || /^[0-9A-Fa-f]+$/.test(compact)) continue;
    out.push({ kind: "base64", bytes: Buffer.from(compact, "base64") });
  }
  return out;
}

function decodedFits(state: State, bytes: Uint8Array, view: string): boolean {
  state.decoded += bytes.length;
  if (state.decoded <= DECODE_MAX_BYTES) return true;
  state.unchecked ??= `its ${view} content decodes to more than ${DECODE_MAX_BYTES} bytes`;
  return false;
}

function scanInto(state: State, bytes: Uint8Array, prefix: string, depth: number): void {
  const name = (view: string): string => `${prefix}${view}`;
  const utf16 = utf16Of(bytes);
  if (utf16 !== undefined && depth < MAX_DEPTH) {
    const text = encoder.encode(utf16);
    if (decodedFits(state, text, name("utf16"))) scanInto(state, text, name("utf16>"), depth + 1);
    return;
  }
  let compressed: Inflated = [];
  if (depth < MAX_DEPTH) {
    try {
      compressed = inflated(bytes, Math.max(0, DECODE_MAX_BYTES - state.decoded));
    } catch (error) {
      if (error instanceof RangeError || (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        state.unchecked ??= `its compressed content inflates to more than ${DECODE_MAX_BYTES} bytes`;
        return;
      }
      compressed = []; // not really compressed: read as it is
    }
  }
  if (compressed.length > 0) {
    for (const member of compressed) if (decodedFits(state, member.bytes, name(member.kind))) scanInto(state, member.bytes, name(`${member.kind}>`), depth + 1);
    return;
  }
  run(state, name("text"), (matcher) => tokenize(matcher, bytes));
  if (bytes.length > VIEW_MAX_BYTES) return;
  const text = utf8.decode(bytes);
  run(state, name("json"), (matcher) => jsonView(matcher, text));
  run(state, name("columns"), (matcher) => columnsView(state.index, matcher, bytes));
  if (depth >= MAX_DEPTH) return;
  for (const decoded of decodedRuns(text)) {
    if (state.unchecked !== null) return;
    let content: Inflated;
    try {
      content = inflated(decoded.bytes, Math.max(0, DECODE_MAX_BYTES - state.decoded));
    } catch (error) {
      if (error instanceof RangeError || (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        state.unchecked ??= `its ${decoded.kind} content inflates to more than ${DECODE_MAX_BYTES} bytes`;
        return;
      }
      content = [];
    }
    if (content.length > 0) {
      for (const member of content)
        if (decodedFits(state, member.bytes, name(`${decoded.kind}>${member.kind}`)))
          scanInto(state, member.bytes, name(`${decoded.kind}>${member.kind}>`), depth + 2);
    } else if ((looksLikeText(decoded.bytes) || utf16Of(decoded.bytes) !== undefined) && decodedFits(state, decoded.bytes, name(decoded.kind))) {
      scanInto(state, decoded.bytes, name(`${decoded.kind}>`), depth + 1);
    }
  }
}

/** Reads `bytes` in every view; returns where records of the inputs show. */
export function scanBytes(index: RowIndex, bytes: Uint8Array): ScanResult {
  const state: State = { index, matches: [], decoded: 0, unchecked: null };
  scanInto(state, bytes, "", 0);
  return { matches: state.matches, unchecked: state.unchecked };
}

/** Reads the file at `path`: every view up to VIEW_MAX_BYTES, the streamed text view beyond. */
export function scanFile(index: RowIndex, path: string, size: number): ScanResult {
  const fd = openSync(path, "r");
  try {
    if (size <= VIEW_MAX_BYTES) {
      const bytes = Buffer.alloc(size);
      let read = 0;
      while (read < size) {
        const n = readSync(fd, bytes, read, size - read, read);
        if (n === 0) break;
        read += n;
      }
      return scanBytes(index, bytes.subarray(0, read));
    }
    const matcher = index.matcher();
    const tokenizer = new Tokenizer(matcher.sink);
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      tokenizer.feed(buffer.subarray(0, n));
    }
    tokenizer.end();
    return { matches: matcher.found ? [{ view: "text", lines: matcher.lines }] : [], unchecked: null };
  } finally {
    closeSync(fd);
  }
}
