/**
 * The raw-record tripwire of the output policy's `noRawRecords`: datomspace-in, which reads the
 * inputs, writes an index of fingerprints of the inputs' records; datomspace-out, which never sees
 * the inputs, looks every output and every log up in it (views.ts reads each file in several ways).
 *
 * What is indexed (tokens as tokens.ts reads them, after the fold of fold.ts):
 * - **rows**: every line of two or more tokens, as a multiset fingerprint (the same in any token
 *   order), with its number of tokens;
 * - **values**: every token that qualifies on its own (tokens.ts: a letter and ≥ 6 bytes, or ≥ 9
 *   digits), so a column of names, e-mails or identifiers copied out (a single-column input, or
 *   one column of a wider table) is caught;
 * - only what is **rare** in the inputs: a row or value found in fewer than `threshold` places
 *   (the contract's minGroupSize, at least 2). A row or value many input rows share describes a
 *   group, which aggregates legitimately show: `north,F` in a table of regions and sexes, `central`
 *   in a region column;
 * - the first line of a `.csv`/`.tsv` input is its header: its tokens are kept apart, and
 *   datomspace-out drops them from what it reads (so `{"age": 34, "sex": "F"}` reads as `34 f`);
 * - an input with a NUL byte is binary: indexing stops there for that file (named in the verdict).
 *
 * A scanned file matches when any run of consecutive tokens, across lines, as many as an input row
 * has, is an indexed row in any order, or any single token is an indexed value. Fingerprints are
 * 64-bit: a false match by collision has a probability of about (rows + values) × tokens / 2^64;
 * the false matches that matter are real coincidences of rare values, measured by bench/tripwire.mjs.
 *
 * Memory is bounded whatever the inputs' size: fingerprints are collected 4 Mi at a time (32 MiB),
 * sorted and spilled to disk, then merged; the reader keeps one 4 KiB page and one fence per 512
 * fingerprints.
 */

import { closeSync, fstatSync, openSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer, rowHigh, rowLow } from "./tokens.js";

/** Index file: magic, then the header described in RowIndex.read, then three sorted sections. */
export const ROW_INDEX_MAGIC = "DPROWS02";
/** Fingerprints an index may hold per section (2 GiB on disk). */
export const MAX_INDEXED = 256 * 1024 * 1024;
/** Header tokens kept (column names). */
const MAX_HEADER_TOKENS = 4096;
const CHUNK = 4 * 1024 * 1024;

/** Whether this machine stores a 64-bit integer's low half first (then values are stored without BigInt). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}

/** A sorted run of fingerprints, read in order. */
interface RunReader {
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

/**
 * k-way merge of sorted runs into the file at `position`, keeping each value found fewer than
 * `threshold` times, once; returns how many values were written.
 */
function mergeRare(runs: readonly RunReader[], fd: number, position: number, threshold: number): number {
  const out = new BigUint64Array(RUN_BLOCK);
  const outBytes = new Uint8Array(out.buffer);
  let n = 0;
  let total = 0;
  let current: bigint | undefined;
  let count = 0;
  const flush = (): void => {
    writeAll(fd, outBytes.subarray(0, n * 8), position + (total - n) * 8);
    n = 0;
  };
  const emit = (): void => {
    if (current === undefined || count >= threshold) return;
    out[n] = current;
    n += 1;
    total += 1;
    if (n === RUN_BLOCK) flush();
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
    if (bestValue === current) {
      count += 1;
      continue;
    }
    emit();
    current = bestValue;
    count = 1;
  }
  emit();
  flush();
  return total;
}

/** Fingerprints collected a chunk at a time; full chunks are sorted and spilled to `spillDir`. */
class FingerprintRuns {
  private readonly runs: string[] = [];
  private readonly current: BigUint64Array;
  private readonly halves: Uint32Array;
  private used = 0;
  total = 0;

  constructor(
    private readonly name: string,
    private readonly spillDir: string | undefined,
    private readonly chunk: number,
  ) {
    this.current = new BigUint64Array(chunk);
    this.halves = new Uint32Array(this.current.buffer);
  }

  /** Adds the fingerprint hash[0]:hash[1] (high:low). */
  addPair(hash: Uint32Array): void {
    if (this.used === this.chunk) this.spill();
    if (LITTLE_ENDIAN) {
      this.halves[2 * this.used] = hash[1];
      this.halves[2 * this.used + 1] = hash[0];
    } else {
      this.current[this.used] = (BigInt(hash[0]) << 32n) | BigInt(hash[1]);
    }
    this.used += 1;
    this.total += 1;
    if (this.total > MAX_INDEXED) throw new RangeError(`the inputs hold more than ${MAX_INDEXED} ${this.name}, the most the raw-record index holds`);
  }

  add(high: number, low: number): void {
    if (this.used === this.chunk) this.spill();
    if (LITTLE_ENDIAN) {
      this.halves[2 * this.used] = low;
      this.halves[2 * this.used + 1] = high;
    } else {
      this.current[this.used] = (BigInt(high) << 32n) | BigInt(low);
    }
    this.used += 1;
    this.total += 1;
    if (this.total > MAX_INDEXED) throw new RangeError(`the inputs hold more than ${MAX_INDEXED} ${this.name}, the most the raw-record index holds`);
  }

  private spill(): void {
    if (this.spillDir === undefined) throw new RangeError(`more than ${this.chunk} ${this.name} and no folder to spill sorted runs to`);
    const path = join(this.spillDir, `.${this.name}-run-${this.runs.length}.tmp`);
    const sorted = this.current.sort();
    writeFileSync(path, new Uint8Array(sorted.buffer, 0, sorted.byteLength), { flag: "wx" });
    this.runs.push(path);
    this.used = 0;
  }

  /** Writes the rare values at `position` of `fd`, removes the spilled runs; returns how many were written. */
  merge(fd: number, position: number, threshold: number): number {
    const sources: RunReader[] = [];
    try {
      sources.push(new MemoryRun(this.current.subarray(0, this.used).sort()), ...this.runs.map((run) => new FileRun(run)));
      return mergeRare(sources, fd, position, threshold);
    } finally {
      for (const source of sources) source.close();
      this.discard();
    }
  }

  discard(): void {
    for (const run of this.runs) rmSync(run, { force: true });
    this.runs.length = 0;
  }
}

/** What indexing one input file found. */
export interface IndexedFile {
  /** Lines of two or more tokens. */
  readonly rows: number;
  /** Tokens that qualify on their own. */
  readonly values: number;
  /** Set when the file is binary (a NUL byte) and what follows it was not indexed. */
  readonly binary: boolean;
}

export interface IndexCounts {
  /** Distinct rare rows and values written. */
  readonly rows: number;
  readonly values: number;
}

/**
 * Collects the fingerprints of input rows and values, fed the files' bytes in chunks of any size
 * (so it runs in the same pass as the checksum).
 */
export class RowIndexBuilder {
  readonly threshold: number;
  readonly fieldCounts = new Set<number>();
  private readonly rowRuns: FingerprintRuns;
  private readonly valueRuns: FingerprintRuns;
  private readonly header = new Map<string, [number, number]>();
  private tokenizer: Tokenizer;
  // The line being read.
  private inHeader = false;
  private readonly sums = new Uint32Array(2);
  private readonly row = new Uint32Array(2);
  private count = 0;
  private lastCount = 0;
  private fileRows = 0;
  private fileValues = 0;

  /**
   * `spillDir`: where sorted runs go when the fingerprints do not fit one chunk (default: kept in
   * memory). `threshold`: a row or value found this many times or more is a group, not a record.
   */
  constructor(options: { spillDir?: string; chunkRows?: number; threshold?: number } = {}) {
    this.threshold = Math.max(2, options.threshold ?? 2);
    this.rowRuns = new FingerprintRuns("rows", options.spillDir, options.chunkRows ?? CHUNK);
    this.valueRuns = new FingerprintRuns("values", options.spillDir, options.chunkRows ?? CHUNK);
    this.tokenizer = this.newTokenizer();
  }

  private newTokenizer(): Tokenizer {
    return new Tokenizer(
      {
        token: (hash, qualifies) => {
          if (this.inHeader) {
            if (this.header.size < MAX_HEADER_TOKENS) this.header.set(`${hash[0]}:${hash[1]}`, [hash[0], hash[1]]);
            return;
          }
          // Sums in a typed array: numbers kept in object fields would be boxed on every write.
          this.sums[0] = this.sums[0] + hash[0];
          this.sums[1] = this.sums[1] + hash[1];
          this.count += 1;
          if (qualifies) {
            this.valueRuns.addPair(hash);
            this.fileValues += 1;
          }
        },
        lineEnd: () => {
          if (this.inHeader) this.inHeader = false;
          else if (this.count >= 2) {
            this.row[0] = rowHigh(this.sums[0], this.count);
            this.row[1] = rowLow(this.sums[1], this.count);
            this.rowRuns.addPair(this.row);
            if (this.count !== this.lastCount) {
              this.fieldCounts.add(this.count);
              this.lastCount = this.count;
            }
            this.fileRows += 1;
          }
          this.sums[0] = 0;
          this.sums[1] = 0;
          this.count = 0;
        },
      },
      { stopAtNul: true },
    );
  }

  /** Starts a file; `header`: its first line holds column names. */
  startFile(header: boolean): void {
    this.tokenizer = this.newTokenizer();
    this.inHeader = header;
    this.sums[0] = 0;
    this.sums[1] = 0;
    this.count = 0;
    this.fileRows = 0;
    this.fileValues = 0;
  }

  feed(chunk: Uint8Array): void {
    this.tokenizer.feed(chunk);
  }

  /** Ends the file being fed (a last line without a break is a row). */
  endFile(): IndexedFile {
    const binary = this.tokenizer.binary;
    if (binary) {
      // What was read before the NUL still counts, up to the last complete line.
      this.sums[0] = 0;
      this.sums[1] = 0;
      this.count = 0;
    } else this.tokenizer.end();
    return { rows: this.fileRows, values: this.fileValues, binary };
  }

  /** Lines of two or more tokens fed so far. */
  get rows(): number {
    return this.rowRuns.total;
  }

  get values(): number {
    return this.valueRuns.total;
  }

  /** Removes the spilled runs (after `write`, or instead of it). */
  discard(): void {
    this.rowRuns.discard();
    this.valueRuns.discard();
  }

  /**
   * Writes the index file: header, then the sorted header tokens, rare rows and rare values.
   * Section sizes are patched in once known. Removes the spilled runs.
   */
  write(path: string): IndexCounts {
    const counts = [...this.fieldCounts].sort((a, b) => a - b);
    const head = Buffer.alloc(align8(32 + 4 * counts.length));
    head.write(ROW_INDEX_MAGIC, 0, "latin1");
    head.writeUInt32LE(this.threshold, 8);
    head.writeUInt32LE(counts.length, 12);
    counts.forEach((count, i) => head.writeUInt32LE(count, 32 + 4 * i));
    const header = [...this.header.values()].map(([high, low]) => (BigInt(high) << 32n) | BigInt(low)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    head.writeUInt32LE(header.length, 16);
    const fd = openSync(path, "wx", 0o444);
    try {
      writeAll(fd, head, 0);
      const headerBytes = new Uint8Array(BigUint64Array.from(header).buffer);
      writeAll(fd, headerBytes, head.length);
      const rowsAt = head.length + headerBytes.length;
      const rows = this.rowRuns.merge(fd, rowsAt, this.threshold);
      const values = this.valueRuns.merge(fd, rowsAt + rows * 8, this.threshold);
      const sizes = Buffer.alloc(8);
      sizes.writeUInt32LE(rows, 0);
      sizes.writeUInt32LE(values, 4);
      writeAll(fd, sizes, 20);
      return { rows, values };
    } finally {
      closeSync(fd);
      this.discard();
    }
  }
}

/** Entries per page of a section on disk: a lookup reads one page (4 KiB). */
const PAGE = 512;

/** One sorted section of the index file, searched without loading it. */
class Section {
  private readonly fences: BigUint64Array;
  private readonly page = new BigUint64Array(PAGE);
  private pageNumber = -1;
  private pageLength = 0;

  constructor(
    private readonly fd: number,
    private readonly offset: number,
    readonly size: number,
  ) {
    this.fences = new BigUint64Array(Math.ceil(size / PAGE));
    const one = new BigUint64Array(1);
    for (let p = 0; p < this.fences.length; p += 1) {
      if (readSync(fd, new Uint8Array(one.buffer), 0, 8, offset + p * PAGE * 8) !== 8) throw new RangeError("the row index is truncated");
      this.fences[p] = one[0]!;
    }
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
}

/**
 * A row index on disk (DPROWS02): `magic(8) threshold(4) nCounts(4) nHeader(4) nRows(4) nValues(4)
 * reserved(4) counts(4 × nCounts) pad-to-8 header(8 × nHeader) rows(8 × nRows) values(8 × nValues)`,
 * little endian, every section sorted ascending.
 */
export class RowIndex {
  readonly fieldCounts: readonly number[];
  readonly threshold: number;
  readonly rows: number;
  readonly values: number;
  /** Column names of the inputs: the high half of each token hash → its low halves. */
  private readonly header: ReadonlyMap<number, readonly number[]>;
  private readonly fd: number;
  private readonly rowSection: Section;
  private readonly valueSection: Section;

  private constructor(fd: number, fieldCounts: number[], threshold: number, header: Map<number, number[]>, rows: Section, values: Section) {
    this.fd = fd;
    this.fieldCounts = fieldCounts;
    this.threshold = threshold;
    this.header = header;
    this.rowSection = rows;
    this.valueSection = values;
    this.rows = rows.size;
    this.values = values.size;
  }

  /** Opens an index file; throws a RangeError naming what is wrong when it is not one. */
  static read(path: string): RowIndex {
    const fd = openSync(path, "r");
    try {
      const head = Buffer.alloc(32);
      if (readSync(fd, head, 0, 32, 0) !== 32 || head.toString("latin1", 0, 8) !== ROW_INDEX_MAGIC) throw new RangeError(`${path} is not a row index`);
      const threshold = head.readUInt32LE(8);
      const nCounts = head.readUInt32LE(12);
      const nHeader = head.readUInt32LE(16);
      const nRows = head.readUInt32LE(20);
      const nValues = head.readUInt32LE(24);
      if (nCounts > 4096 || nHeader > MAX_HEADER_TOKENS || nRows > MAX_INDEXED || nValues > MAX_INDEXED || threshold < 2)
        throw new RangeError(`${path} is not a row index`);
      const countBytes = Buffer.alloc(4 * nCounts);
      if (readSync(fd, countBytes, 0, countBytes.length, 32) !== countBytes.length) throw new RangeError(`${path} is truncated`);
      const fieldCounts = Array.from({ length: nCounts }, (_, i) => countBytes.readUInt32LE(4 * i));
      if (fieldCounts.some((count) => count < 2)) throw new RangeError(`${path} is not a row index`);
      const headerAt = align8(32 + 4 * nCounts);
      const rowsAt = headerAt + 8 * nHeader;
      const valuesAt = rowsAt + 8 * nRows;
      if (fstatSync(fd).size !== valuesAt + 8 * nValues) throw new RangeError(`${path} is truncated`);
      const headerValues = new BigUint64Array(nHeader);
      if (nHeader > 0 && readSync(fd, new Uint8Array(headerValues.buffer), 0, 8 * nHeader, headerAt) !== 8 * nHeader)
        throw new RangeError(`${path} is truncated`);
      const header = new Map<number, number[]>();
      for (const value of headerValues) {
        const high = Number(value >> 32n);
        header.set(high, [...(header.get(high) ?? []), Number(value & 0xffffffffn)]);
      }
      return new RowIndex(fd, fieldCounts, threshold, header, new Section(fd, rowsAt, nRows), new Section(fd, valuesAt, nValues));
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  isHeader(high: number, low: number): boolean {
    return this.header.size > 0 && this.header.get(high)?.includes(low) === true;
  }

  hasRow(high: number, low: number): boolean {
    return this.rowSection.size > 0 && this.rowSection.has((BigInt(high) << 32n) | BigInt(low));
  }

  hasValue(high: number, low: number): boolean {
    return this.valueSection.size > 0 && this.valueSection.has((BigInt(high) << 32n) | BigInt(low));
  }

  /** A matcher that reads tokens and remembers the lines where a record of the inputs shows. */
  matcher(limit = 10): Matcher {
    return new Matcher(this, limit);
  }
}

/**
 * Reads one stream of tokens (a view of a file) and finds where a window of consecutive tokens is
 * an indexed row, in any order, or a token is an indexed value. Header tokens are skipped. Memory:
 * the last max(fieldCounts) tokens.
 */
export class Matcher {
  /** 1-based lines where a record was found, in order, at most `limit`. */
  readonly lines: number[] = [];
  private readonly index: RowIndex;
  private readonly limit: number;
  private readonly counts: readonly number[];
  private readonly size: number;
  private readonly highs: Int32Array;
  private readonly lows: Int32Array;
  private readonly at: Int32Array;
  private readonly sumA: Int32Array;
  private readonly sumB: Int32Array;
  private seen = 0;
  found = false;

  constructor(index: RowIndex, limit: number) {
    this.index = index;
    this.limit = limit;
    this.counts = index.rows > 0 ? index.fieldCounts : [];
    this.size = Math.max(1, ...this.counts) + 1;
    this.highs = new Int32Array(this.size);
    this.lows = new Int32Array(this.size);
    this.at = new Int32Array(this.size);
    this.sumA = new Int32Array(this.counts.length);
    this.sumB = new Int32Array(this.counts.length);
  }

  private record(line: number): void {
    this.found = true;
    if (this.lines.length < this.limit && !this.lines.includes(line)) this.lines.push(line);
  }

  /** Where the tokenizer sends tokens (bound: pass `matcher.sink` to a Tokenizer). */
  readonly sink = {
    token: (hash: Uint32Array, qualifies: boolean, line: number): void => this.token(hash[0], hash[1], qualifies, line),
    lineEnd: (): void => {},
  };

  token(high: number, low: number, qualifies: boolean, line: number): void {
    if (this.index.isHeader(high, low)) return;
    if (qualifies && this.index.hasValue(high, low)) this.record(line);
    if (this.counts.length === 0) return;
    const slot = this.seen % this.size;
    this.highs[slot] = high;
    this.lows[slot] = low;
    this.at[slot] = line;
    this.seen += 1;
    for (let c = 0; c < this.counts.length; c += 1) {
      const k = this.counts[c];
      this.sumA[c] = (this.sumA[c] + high) | 0;
      this.sumB[c] = (this.sumB[c] + low) | 0;
      if (this.seen > k) {
        const old = (this.seen - 1 - k) % this.size;
        this.sumA[c] = (this.sumA[c] - this.highs[old]) | 0;
        this.sumB[c] = (this.sumB[c] - this.lows[old]) | 0;
      }
      if (this.seen >= k && this.index.hasRow(rowHigh(this.sumA[c] >>> 0, k), rowLow(this.sumB[c] >>> 0, k))) {
        this.record(this.at[(this.seen - k) % this.size]);
      }
    }
  }
}
