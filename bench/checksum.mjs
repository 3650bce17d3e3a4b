// Benchmark: datomspace-in's streamed sha256 of a 1 GiB input against `sha256sum` on the same file.
// Goal (issue 5): our throughput ≥ 0.9 × sha256sum's. Also measured, for information: the same pass
// with the raw-record index (noRawRecords: rows and rare values, threshold 10) on a 1 GiB CSV.
// Rounds alternate between the two tools after a warm-up read, and the median of each is kept, so
// both see the same page-cache state. Results: bench/results/checksum.json.
// Run after `npm run build`: node bench/checksum.mjs [SIZE_MIB] [ROUNDS]
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hashFile, READ_BUFFER_BYTES } from "../dist/generator/pod/roles/checksum.js";
import { RowIndexBuilder } from "../dist/generator/seal/rows.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const sizeMiB = Number(process.argv[2] ?? 1024);
const rounds = Number(process.argv[3] ?? 5);
const bytes = sizeMiB * 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), "datomspod-bench-checksum-"));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timed(fn) {
  const start = performance.now();
  const value = fn();
  return { seconds: (performance.now() - start) / 1000, value };
}

/** Writes `total` bytes produced by `chunk(i)` (each call returns the next block). */
function writeFile(path, total, chunk) {
  const fd = openSync(path, "w");
  let written = 0;
  for (let i = 0; written < total; i += 1) {
    const block = chunk(i);
    const n = Math.min(block.length, total - written);
    writeSync(fd, block, 0, n);
    written += n;
  }
  closeSync(fd);
}

function sha256sum(path) {
  return execFileSync("sha256sum", [path], { encoding: "utf8" }).split(" ")[0];
}

try {
  // 1. Checksum: random bytes (incompressible; what a binary input looks like).
  const data = join(dir, "input.bin");
  const block = randomBytes(8 * 1024 * 1024);
  writeFile(data, bytes, (i) => {
    block.writeUInt32LE(i, 0);
    return block;
  });
  sha256sum(data); // warm-up read
  const ours = [];
  const theirs = [];
  let digests;
  for (let r = 0; r < rounds; r += 1) {
    const a = timed(() => sha256sum(data));
    const b = timed(() => hashFile(data));
    theirs.push(a.seconds);
    ours.push(b.seconds);
    digests = { sha256sum: a.value, ours: b.value.sha256 };
    if (digests.sha256sum !== digests.ours) throw new Error(`digests differ: ${JSON.stringify(digests)}`);
  }
  rmSync(data);
  const mibPerSecond = (seconds) => Math.round((sizeMiB / seconds) * 10) / 10;
  const oursMiBs = mibPerSecond(median(ours));
  const theirsMiBs = mibPerSecond(median(theirs));

  // 2. The same pass with the row index, on CSV text like the example data.
  const csv = join(dir, "input.csv");
  const rows = [];
  for (let i = 0; i < 100_000; i += 1)
    rows.push(
      `P${String(1_000_000 + i)},${18 + (i % 70)},${i % 2 ? "F" : "M"},${["north", "south", "east", "west", "central"][i % 5]},E${10 + (i % 80)},${1 + (i % 30)}\n`,
    );
  const csvBlock = Buffer.from(rows.join(""));
  writeFile(csv, bytes, (i) => {
    // Vary the ids between blocks so that rows stay (mostly) distinct.
    csvBlock.write(String(i).padStart(7, "0"), 1, "latin1");
    return csvBlock;
  });
  sha256sum(csv);
  const indexed = timed(() => {
    const builder = new RowIndexBuilder({ spillDir: dir, threshold: 10 });
    builder.startFile(true);
    const digest = hashFile(csv, (chunk) => builder.feed(chunk));
    builder.endFile();
    const written = builder.write(join(dir, "rows.idx"));
    return { digest, rows: builder.rows, values: builder.values, distinct: written.rows, distinctValues: written.values };
  });
  rmSync(csv);

  const result = {
    benchmark: "checksum",
    node: process.version,
    cpus: cpus().length,
    fileMiB: sizeMiB,
    rounds,
    readBufferBytes: READ_BUFFER_BYTES,
    sha256sum: { medianSeconds: Math.round(median(theirs) * 1000) / 1000, mibPerSecond: theirsMiBs },
    datomspod: { medianSeconds: Math.round(median(ours) * 1000) / 1000, mibPerSecond: oursMiBs },
    ratio: Math.round((oursMiBs / theirsMiBs) * 100) / 100,
    goalRatio: 0.9,
    withRowIndex: {
      seconds: Math.round(indexed.seconds * 1000) / 1000,
      mibPerSecond: mibPerSecond(indexed.seconds),
      rows: indexed.value.rows,
      values: indexed.value.values,
      rareRows: indexed.value.distinct,
      rareValues: indexed.value.distinctValues,
    },
  };
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, "bench/results/checksum.json"), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (result.ratio < result.goalRatio) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
