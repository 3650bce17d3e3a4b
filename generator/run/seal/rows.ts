/**
 * Raw-record detection for the output policy's `noRawRecords`: datomspace-in, which reads the inputs,
 * writes an index of 64-bit fingerprints of every input row; datomspace-out, which never sees the
 * inputs, checks each line of each output (and of the algorithm's log) against it.
 *
 * What counts as the same row (the normalisation, applied to input rows and output lines alike):
 * - a row is a line (split on LF; a CR before it is white space);
 * - fields are separated by any of `,` `;` TAB `|`; a row of one field is not indexed (a lone value
 *   is not a record, and would match every aggregate that happens to equal it);
 * - double quotes are dropped; white space at either end of a field is dropped, inside a field each
 *   run of white space becomes one space; numbers are compared as written (`34` is not `34.0`);
 * - the first line of a `.csv` / `.tsv` input (its header) is not indexed;
 * - an input with a NUL byte is binary: indexing stops for that file (it is named in the status).
 * An output line matches when any run of consecutive fields in it, as many as an input row has,
 * equals an input row: a row copied with an index column in front or extra columns behind is
 * caught.
 *
 * Limits (documented in docs): rows re-encoded (JSON, reordered or renamed columns, other number
 * formats, partial rows, rows spread over lines, compressed or encrypted outputs) are not detected;
 * fingerprints are 64-bit, so a false match has probability about rows × lines / 2^64.
 */

import { closeSync, openSync, readSync, writeFileSync } from "node:fs";

/** Fingerprint index file: magic, field counts, sorted distinct 64-bit fingerprints (little endian). */
export const ROW_INDEX_MAGIC = "DPROWS01";
/** Distinct rows an index may hold: 128 MiB of fingerprints, within the role's 256Mi memory. */
export const MAX_INDEXED_ROWS = 16 * 1024 * 1024;
const CHUNK_ROWS = 1 << 20;

const LF = 0x0a;
const QUOTE = 0x22;
const UNIT_SEPARATOR = 0x1f;

function isSeparator(byte: number): boolean {
  return byte === 0x2c || byte === 0x3b || byte === 0x09 || byte === 0x7c;
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0d || byte === 0x0b || byte === 0x0c;
}

/**
 * A 64-bit fingerprint built from two independent 32-bit lanes (FNV-1a and a multiply–xorshift),
 * fed the normalised row byte by byte. Not cryptographic: collisions only cause false alarms, and the
 * algorithm controls the outputs, not the inputs it would need to collide with.
 */
class Fingerprint {
  a = 0x811c9dc5;
  b = 0x9747b28c;

  reset(): void {
    this.a = 0x811c9dc5;
    this.b = 0x9747b28c;
  }

  byte(value: number): void {
    this.a = Math.imul(this.a ^ value, 0x01000193);
    let b = Math.imul(this.b ^ value, 0x5bd1e995);
    b ^= b >>> 15;
    this.b = b;
  }

  value(): bigint {
    let a = this.a ^ (this.a >>> 16);
    a = Math.imul(a, 0x85ebca6b);
    a ^= a >>> 13;
    a = Math.imul(a, 0xc2b2ae35);
    a ^= a >>> 16;
    let b = this.b ^ (this.b >>> 16);
    b = Math.imul(b, 0x7feb352d);
    b ^= b >>> 15;
    b = Math.imul(b, 0x846ca68b);
    b ^= b >>> 16;
    return (BigInt(a >>> 0) << 32n) | BigInt(b >>> 0);
  }
}

/** The normalised fields of one line (see the module comment). */
export function normalizeFields(line: Uint8Array): Uint8Array[] {
  const fields: Uint8Array[] = [];
  let current: number[] = [];
  let pendingSpace = false;
  for (const byte of line) {
    if (byte === LF) continue;
    if (isSeparator(byte)) {
      fields.push(Uint8Array.from(current));
      current = [];
      pendingSpace = false;
    } else if (isSpace(byte)) {
      if (current.length > 0) pendingSpace = true;
    } else if (byte !== QUOTE) {
      if (pendingSpace) current.push(0x20);
      pendingSpace = false;
      current.push(byte);
    }
  }
  fields.push(Uint8Array.from(current));
  return fields;
}

function fingerprintOf(fields: readonly Uint8Array[], start: number, count: number, fp: Fingerprint): bigint {
  fp.reset();
  for (let i = start; i < start + count; i += 1) {
    if (i > start) fp.byte(UNIT_SEPARATOR);
    for (const byte of fields[i]) fp.byte(byte);
  }
  return fp.value();
}

function hasContent(fields: readonly Uint8Array[], start: number, count: number): boolean {
  for (let i = start; i < start + count; i += 1) if (fields[i].length > 0) return true;
  return false;
}

/** What indexing one input file found. */
export interface IndexedFile {
  readonly rows: number;
  /** Set when the file is binary (a NUL byte) and its rows after that point were not indexed. */
  readonly binary: boolean;
}

/**
 * Collects the fingerprints of input rows, fed the files' bytes in chunks of any size (so it runs
 * in the same pass as the checksum). Rows are kept in sorted chunks and merged when written.
 */
export class RowIndexBuilder {
  private readonly chunks: BigUint64Array[] = [];
  private current = new BigUint64Array(CHUNK_ROWS);
  private used = 0;
  private total = 0;
  readonly fieldCounts = new Set<number>();
  private readonly fp = new Fingerprint();
  // State of the file being fed.
  private skipLine = false;
  private binary = false;
  private fileRows = 0;
  private fields = 1;
  private fieldHasContent = false;
  private rowHasContent = false;
  private pendingSpace = false;
  private rowLength = 0;

  /** Starts a file; `header` skips its first line. */
  startFile(header: boolean): void {
    this.skipLine = header;
    this.binary = false;
    this.fileRows = 0;
    this.startRow();
  }

  private startRow(): void {
    this.fp.reset();
    this.fields = 1;
    this.fieldHasContent = false;
    this.rowHasContent = false;
    this.pendingSpace = false;
    this.rowLength = 0;
  }

  feed(chunk: Uint8Array): void {
    if (this.binary) return;
    const fp = this.fp;
    for (let i = 0; i < chunk.length; i += 1) {
      const byte = chunk[i];
      if (byte === LF) {
        this.endRow();
        continue;
      }
      if (this.skipLine) continue;
      if (byte === 0) {
        this.binary = true;
        return;
      }
      this.rowLength += 1;
      if (isSeparator(byte)) {
        fp.byte(UNIT_SEPARATOR);
        this.fields += 1;
        this.fieldHasContent = false;
        this.pendingSpace = false;
      } else if (isSpace(byte)) {
        if (this.fieldHasContent) this.pendingSpace = true;
      } else if (byte !== QUOTE) {
        if (this.pendingSpace) fp.byte(0x20);
        this.pendingSpace = false;
        fp.byte(byte);
        this.fieldHasContent = true;
        this.rowHasContent = true;
      }
    }
  }

  private endRow(): void {
    if (this.skipLine) {
      this.skipLine = false;
    } else if (this.fields >= 2 && this.rowHasContent) {
      this.add(this.fp.value(), this.fields);
    }
    this.startRow();
  }

  private add(value: bigint, fields: number): void {
    if (this.used === CHUNK_ROWS) {
      this.chunks.push(this.current.sort());
      this.current = new BigUint64Array(CHUNK_ROWS);
      this.used = 0;
    }
    this.current[this.used] = value;
    this.used += 1;
    this.total += 1;
    this.fileRows += 1;
    this.fieldCounts.add(fields);
    if (this.total > MAX_INDEXED_ROWS) {
      throw new RangeError(`the inputs have more than ${MAX_INDEXED_ROWS} rows, the most the raw-record index holds`);
    }
  }

  /** Ends the file being fed (a last line without LF is a row). */
  endFile(): IndexedFile {
    if (!this.binary && this.rowLength > 0) this.endRow();
    return { rows: this.fileRows, binary: this.binary };
  }

  get rows(): number {
    return this.total;
  }

  /** Writes the index: sorted, without duplicates. Returns the number of distinct rows. */
  write(path: string): number {
    const runs = [...this.chunks, this.current.subarray(0, this.used).sort()];
    const counts = [...this.fieldCounts].sort((a, b) => a - b);
    const merged = mergeDistinct(runs);
    const header = Buffer.alloc(align8(16 + 4 * counts.length));
    header.write(ROW_INDEX_MAGIC, 0, "latin1");
    header.writeUInt32LE(counts.length, 8);
    header.writeUInt32LE(merged.length, 12);
    counts.forEach((count, i) => header.writeUInt32LE(count, 16 + 4 * i));
    writeFileSync(path, Buffer.concat([header, Buffer.from(merged.buffer, merged.byteOffset, merged.byteLength)]), { mode: 0o444, flag: "wx" });
    return merged.length;
  }
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** k-way merge of sorted runs into one sorted array without duplicates. */
function mergeDistinct(runs: readonly BigUint64Array[]): BigUint64Array {
  if (runs.length === 1) {
    const only = runs[0];
    let n = 0;
    for (let i = 0; i < only.length; i += 1) if (n === 0 || only[i] !== only[n - 1]) only[n++] = only[i]!;
    return only.subarray(0, n);
  }
  const total = runs.reduce((sum, run) => sum + run.length, 0);
  const out = new BigUint64Array(total);
  const positions = runs.map(() => 0);
  let n = 0;
  for (;;) {
    let best = -1;
    for (let r = 0; r < runs.length; r += 1) {
      if (positions[r] < runs[r].length && (best === -1 || runs[r][positions[r]] < runs[best][positions[best]])) best = r;
    }
    if (best === -1) break;
    const value = runs[best][positions[best]];
    positions[best] += 1;
    if (n === 0 || out[n - 1] !== value) out[n++] = value;
  }
  return out.subarray(0, n);
}

/** A loaded index: lookups by binary search. */
export class RowIndex {
  readonly fieldCounts: readonly number[];
  private readonly values: BigUint64Array;
  private readonly fp = new Fingerprint();

  constructor(fieldCounts: readonly number[], values: BigUint64Array) {
    this.fieldCounts = fieldCounts;
    this.values = values;
  }

  get size(): number {
    return this.values.length;
  }

  /** Reads an index file; throws a RangeError naming what is wrong when it is not one. */
  static read(path: string): RowIndex {
    const fd = openSync(path, "r");
    try {
      const head = Buffer.alloc(16);
      if (readSync(fd, head, 0, 16, 0) !== 16 || head.toString("latin1", 0, 8) !== ROW_INDEX_MAGIC) throw new RangeError(`${path} is not a row index`);
      const nCounts = head.readUInt32LE(8);
      const nRows = head.readUInt32LE(12);
      if (nCounts > 4096 || nRows > MAX_INDEXED_ROWS) throw new RangeError(`${path} is not a row index`);
      const countBytes = Buffer.alloc(4 * nCounts);
      readSync(fd, countBytes, 0, countBytes.length, 16);
      const fieldCounts = Array.from({ length: nCounts }, (_, i) => countBytes.readUInt32LE(4 * i));
      const values = new BigUint64Array(nRows);
      const bytes = new Uint8Array(values.buffer);
      const offset = align8(16 + 4 * nCounts);
      let read = 0;
      while (read < bytes.length) {
        const n = readSync(fd, bytes, read, Math.min(bytes.length - read, 8 << 20), offset + read);
        if (n === 0) throw new RangeError(`${path} is truncated`);
        read += n;
      }
      return new RowIndex(fieldCounts, values);
    } finally {
      closeSync(fd);
    }
  }

  has(value: bigint): boolean {
    let lo = 0;
    let hi = this.values.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.values[mid];
      if (at === value) return true;
      if (at < value) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Whether any window of consecutive fields of `line` is an indexed input row. */
  matchesLine(line: Uint8Array): boolean {
    const fields = normalizeFields(line);
    for (const count of this.fieldCounts) {
      for (let start = 0; start + count <= fields.length; start += 1) {
        if (hasContent(fields, start, count) && this.has(fingerprintOf(fields, start, count, this.fp))) return true;
      }
    }
    return false;
  }

  /** 1-based numbers of the lines of `content` that repeat an input row (at most `limit`). */
  matchingLines(content: Uint8Array, limit = 10): number[] {
    const found: number[] = [];
    let start = 0;
    let line = 1;
    for (let i = 0; i <= content.length; i += 1) {
      if (i === content.length || content[i] === LF) {
        if (i > start && this.matchesLine(content.subarray(start, i))) {
          found.push(line);
          if (found.length >= limit) break;
        }
        start = i + 1;
        line += 1;
      }
    }
    return found;
  }
}
