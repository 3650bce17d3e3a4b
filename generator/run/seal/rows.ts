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

import { closeSync, fstatSync, openSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Fingerprint index file: magic, field counts, sorted distinct 64-bit fingerprints (little endian). */
export const ROW_INDEX_MAGIC = "DPROWS01";
/**
 * Rows an index may hold (2 GiB of fingerprints on disk); the builder's memory is one chunk of
 * 4 Mi rows (32 MiB) whatever the total, the reader's one page plus a fence per 512 rows.
 */
export const MAX_INDEXED_ROWS = 256 * 1024 * 1024;
const CHUNK_ROWS = 4 * 1024 * 1024;

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
const A0 = 0x811c9dc5;
const B0 = 0x9747b28c;
const PRIME_A = 0x01000193;
const PRIME_B = 0x5bd1e995;

/** The high 32 bits of a fingerprint from the final state of lane a. */
function finishA(state: number): number {
  let a = state ^ (state >>> 16);
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  return (a ^ (a >>> 16)) >>> 0;
}

/** The low 32 bits of a fingerprint from the final state of lane b. */
function finishB(state: number): number {
  let b = state ^ (state >>> 16);
  b = Math.imul(b, 0x7feb352d);
  b ^= b >>> 15;
  b = Math.imul(b, 0x846ca68b);
  return (b ^ (b >>> 16)) >>> 0;
}

class Fingerprint {
  a = A0;
  b = B0;

  reset(): void {
    this.a = A0;
    this.b = B0;
  }

  byte(value: number): void {
    this.a = Math.imul(this.a ^ value, PRIME_A);
    const b = Math.imul(this.b ^ value, PRIME_B);
    this.b = b ^ (b >>> 15);
  }

  value(): bigint {
    return (BigInt(finishA(this.a)) << 32n) | BigInt(finishB(this.b));
  }
}

/** Byte classes of the row scanner. */
const CONTENT = 0;
const SEPARATOR = 1;
const SPACE = 2;
const IGNORED = 3;
const NEWLINE = 4;
const NUL = 5;
const CLASSES = new Uint8Array(256);
for (const byte of [0x2c, 0x3b, 0x09, 0x7c]) CLASSES[byte] = SEPARATOR;
for (const byte of [0x20, 0x0d, 0x0b, 0x0c]) CLASSES[byte] = SPACE;
CLASSES[QUOTE] = IGNORED;
CLASSES[0x0a] = NEWLINE;
CLASSES[0x00] = NUL;

/** Whether this machine stores a 64-bit integer's low half first (then rows are stored without BigInt). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

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
 * in the same pass as the checksum). Memory stays bounded: every 4 Mi rows (32 MiB) are sorted and
 * spilled to a run file beside the index; `write` merges the runs into the index.
 */
export class RowIndexBuilder {
  private readonly spillDir: string | undefined;
  private readonly runs: string[] = [];
  private current: BigUint64Array;
  private halves: Uint32Array;
  private readonly chunkRows: number;
  private lastFields = 0;
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

  /** `spillDir`: where sorted runs go when the rows do not fit one chunk (default: kept in memory). */
  constructor(options: { spillDir?: string; chunkRows?: number } = {}) {
    this.spillDir = options.spillDir;
    this.chunkRows = options.chunkRows ?? CHUNK_ROWS;
    this.current = new BigUint64Array(this.chunkRows);
    this.halves = new Uint32Array(this.current.buffer);
  }

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
    // The hot loop: state in locals, one table lookup per byte, the fingerprint lanes inlined (the
    // same arithmetic as Fingerprint.byte).
    let a = this.fp.a;
    let b = this.fp.b;
    let fields = this.fields;
    let fieldHasContent = this.fieldHasContent;
    let rowHasContent = this.rowHasContent;
    let pendingSpace = this.pendingSpace;
    let rowLength = this.rowLength;
    let skipLine = this.skipLine;
    const n = chunk.length;
    for (let i = 0; i < n; i += 1) {
      const byte = chunk[i];
      const kind = CLASSES[byte];
      if (kind === CONTENT) {
        if (skipLine) continue;
        if (pendingSpace) {
          a = Math.imul(a ^ 0x20, PRIME_A);
          b = Math.imul(b ^ 0x20, PRIME_B);
          b ^= b >>> 15;
          pendingSpace = false;
        }
        a = Math.imul(a ^ byte, PRIME_A);
        b = Math.imul(b ^ byte, PRIME_B);
        b ^= b >>> 15;
        fieldHasContent = true;
        rowHasContent = true;
        rowLength += 1;
      } else if (kind === NEWLINE) {
        if (skipLine) skipLine = false;
        else if (fields >= 2 && rowHasContent) this.add(finishA(a), finishB(b), fields);
        a = A0;
        b = B0;
        fields = 1;
        fieldHasContent = false;
        rowHasContent = false;
        pendingSpace = false;
        rowLength = 0;
      } else if (skipLine) {
        continue;
      } else if (kind === SEPARATOR) {
        a = Math.imul(a ^ UNIT_SEPARATOR, PRIME_A);
        b = Math.imul(b ^ UNIT_SEPARATOR, PRIME_B);
        b ^= b >>> 15;
        fields += 1;
        fieldHasContent = false;
        pendingSpace = false;
        rowLength += 1;
      } else if (kind === SPACE) {
        if (fieldHasContent) pendingSpace = true;
        rowLength += 1;
      } else if (kind === NUL) {
        this.binary = true;
        break;
      } else {
        rowLength += 1;
      }
    }
    this.fp.a = a;
    this.fp.b = b;
    this.fields = fields;
    this.fieldHasContent = fieldHasContent;
    this.rowHasContent = rowHasContent;
    this.pendingSpace = pendingSpace;
    this.rowLength = rowLength;
    this.skipLine = skipLine;
  }

  private endRow(): void {
    if (this.skipLine) {
      this.skipLine = false;
    } else if (this.fields >= 2 && this.rowHasContent) {
      this.add(finishA(this.fp.a), finishB(this.fp.b), this.fields);
    }
    this.startRow();
  }

  private add(high: number, low: number, fields: number): void {
    if (this.used === this.chunkRows) this.spill();
    if (LITTLE_ENDIAN) {
      this.halves[2 * this.used] = low;
      this.halves[2 * this.used + 1] = high;
    } else {
      this.current[this.used] = (BigInt(high) << 32n) | BigInt(low);
    }
    this.used += 1;
    this.total += 1;
    this.fileRows += 1;
    if (fields !== this.lastFields) {
      this.fieldCounts.add(fields);
      this.lastFields = fields;
    }
    if (this.total > MAX_INDEXED_ROWS) {
      throw new RangeError(`the inputs have more than ${MAX_INDEXED_ROWS} rows, the most the raw-record index holds`);
    }
  }

  private spill(): void {
    if (this.spillDir === undefined) throw new RangeError(`more than ${this.chunkRows} rows and no folder to spill sorted runs to`);
    const path = join(this.spillDir, `.rows-run-${this.runs.length}.tmp`);
    const sorted = this.current.sort();
    writeFileSync(path, new Uint8Array(sorted.buffer, 0, sorted.byteLength), { flag: "wx" });
    this.runs.push(path);
    this.used = 0;
  }

  /** Ends the file being fed (a last line without LF is a row). */
  endFile(): IndexedFile {
    if (!this.binary && this.rowLength > 0) this.endRow();
    return { rows: this.fileRows, binary: this.binary };
  }

  get rows(): number {
    return this.total;
  }

  /** Removes the spilled runs (after `write`, or instead of it). */
  discard(): void {
    for (const run of this.runs) rmSync(run, { force: true });
    this.runs.length = 0;
  }

  /** Writes the index: sorted, without duplicates; removes the spilled runs. Returns the number of distinct rows. */
  write(path: string): number {
    const counts = [...this.fieldCounts].sort((a, b) => a - b);
    const header = Buffer.alloc(align8(16 + 4 * counts.length));
    header.write(ROW_INDEX_MAGIC, 0, "latin1");
    header.writeUInt32LE(counts.length, 8);
    counts.forEach((count, i) => header.writeUInt32LE(count, 16 + 4 * i));
    const fd = openSync(path, "wx", 0o444);
    const sources: RunReader[] = [];
    try {
      writeAll(fd, header, 0);
      sources.push(new MemoryRun(this.current.subarray(0, this.used).sort()), ...this.runs.map((run) => new FileRun(run)));
      const distinct = mergeDistinct(sources, fd, header.length);
      const count = Buffer.alloc(4);
      count.writeUInt32LE(distinct);
      writeAll(fd, count, 12);
      return distinct;
    } finally {
      for (const source of sources) source.close();
      closeSync(fd);
      this.discard();
    }
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** A sorted run of fingerprints, read in order. */
interface RunReader {
  /** The current value, or undefined at the end. */
  peek(): bigint | undefined;
  next(): void;
  close(): void;
}

class MemoryRun implements RunReader {
  private i = 0;
  constructor(private readonly values: BigUint64Array) {}
  peek(): bigint | undefined {
    return this.i < this.values.length ? this.values[this.i] : undefined;
  }
  next(): void {
    this.i += 1;
  }
  close(): void {}
}

const RUN_BLOCK = 64 * 1024;

class FileRun implements RunReader {
  private readonly fd: number;
  private readonly block = new BigUint64Array(RUN_BLOCK);
  private length = 0;
  private i = 0;
  private offset = 0;
  constructor(path: string) {
    this.fd = openSync(path, "r");
    this.fill();
  }
  private fill(): void {
    const bytes = new Uint8Array(this.block.buffer);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(this.fd, bytes, read, bytes.length - read, this.offset + read);
      if (n === 0) break;
      read += n;
    }
    this.offset += read;
    this.length = Math.floor(read / 8);
    this.i = 0;
  }
  peek(): bigint | undefined {
    return this.i < this.length ? this.block[this.i] : undefined;
  }
  next(): void {
    this.i += 1;
    if (this.i === this.length && this.length === RUN_BLOCK) this.fill();
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** k-way merge of sorted runs into the file at `position`, dropping duplicates; returns how many values were written. */
function mergeDistinct(runs: readonly RunReader[], fd: number, position: number): number {
  const out = new BigUint64Array(RUN_BLOCK);
  const outBytes = new Uint8Array(out.buffer);
  let n = 0;
  let total = 0;
  let last: bigint | undefined;
  const flush = (): void => {
    writeAll(fd, outBytes.subarray(0, n * 8), position + total * 8 - n * 8);
    n = 0;
  };
  for (;;) {
    let best = -1;
    let bestValue: bigint | undefined;
    for (let r = 0; r < runs.length; r += 1) {
      const value = runs[r].peek();
      if (value !== undefined && (bestValue === undefined || value < bestValue)) {
        best = r;
        bestValue = value;
      }
    }
    if (best === -1 || bestValue === undefined) break;
    runs[best].next();
    if (last === bestValue) continue;
    last = bestValue;
    out[n] = bestValue;
    n += 1;
    total += 1;
    if (n === RUN_BLOCK) flush();
  }
  flush();
  return total;
}

/** Entries per page of the index on disk: a lookup reads one page (4 KiB). */
const PAGE = 512;

/**
 * A row index on disk, searched without loading it: the first value of every page stays in memory,
 * a lookup reads the one page that can hold the value.
 */
export class RowIndex {
  readonly fieldCounts: readonly number[];
  readonly size: number;
  private readonly fd: number;
  private readonly offset: number;
  private readonly fences: BigUint64Array;
  private readonly page = new BigUint64Array(PAGE);
  private pageNumber = -1;
  private pageLength = 0;
  private readonly fp = new Fingerprint();

  private constructor(fd: number, fieldCounts: readonly number[], size: number, offset: number) {
    this.fd = fd;
    this.fieldCounts = fieldCounts;
    this.size = size;
    this.offset = offset;
    this.fences = new BigUint64Array(Math.ceil(size / PAGE));
    const one = new BigUint64Array(1);
    for (let p = 0; p < this.fences.length; p += 1) {
      if (readSync(fd, new Uint8Array(one.buffer), 0, 8, offset + p * PAGE * 8) !== 8) throw new RangeError("the row index is truncated");
      this.fences[p] = one[0]!;
    }
  }

  /** Opens an index file; throws a RangeError naming what is wrong when it is not one. */
  static read(path: string): RowIndex {
    const fd = openSync(path, "r");
    try {
      const head = Buffer.alloc(16);
      if (readSync(fd, head, 0, 16, 0) !== 16 || head.toString("latin1", 0, 8) !== ROW_INDEX_MAGIC) throw new RangeError(`${path} is not a row index`);
      const nCounts = head.readUInt32LE(8);
      const nRows = head.readUInt32LE(12);
      if (nCounts > 4096 || nRows > MAX_INDEXED_ROWS) throw new RangeError(`${path} is not a row index`);
      const countBytes = Buffer.alloc(4 * nCounts);
      if (readSync(fd, countBytes, 0, countBytes.length, 16) !== countBytes.length) throw new RangeError(`${path} is truncated`);
      const fieldCounts = Array.from({ length: nCounts }, (_, i) => countBytes.readUInt32LE(4 * i));
      const offset = align8(16 + 4 * nCounts);
      if (fstatSync(fd).size !== offset + nRows * 8) throw new RangeError(`${path} is truncated`);
      return new RowIndex(fd, fieldCounts, nRows, offset);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private load(page: number): void {
    if (page === this.pageNumber) return;
    const count = Math.min(PAGE, this.size - page * PAGE);
    const bytes = new Uint8Array(this.page.buffer, 0, count * 8);
    if (readSync(this.fd, bytes, 0, bytes.length, this.offset + page * PAGE * 8) !== bytes.length) throw new RangeError("the row index is truncated");
    this.pageNumber = page;
    this.pageLength = count;
  }

  has(value: bigint): boolean {
    // The last page whose first value is ≤ value.
    let lo = 0;
    let hi = this.fences.length - 1;
    let page = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.fences[mid] <= value) {
        page = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (page < 0) return false;
    this.load(page);
    lo = 0;
    hi = this.pageLength - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.page[mid];
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
