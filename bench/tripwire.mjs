// Benchmark: the raw-record tripwire's detection rate per encoding of a real table, and its false
// positives on legitimate aggregates. The tables are the example contracts' (patients.csv, 240 rows,
// indexed with the hospital contract's k = 10; loans.csv, 600 rows, k unset = 2) and a single-column
// table of e-mail addresses derived from them. For every encoding, TRIALS leaks of 1 row and of 10
// rows (random rows, seeded) are encoded and scanned the way datomspace-out scans an output; a leak
// is detected when the scan finds anything. The aggregates are the outputs an honest algorithm writes
// (group counts, means, sums, deviations, quantiles, correlation, model coefficients, logs), in CSV,
// JSON and text. Results: bench/results/tripwire.json.
// Run after `npm run build`: node bench/tripwire.mjs [TRIALS]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCipheriv, randomBytes } from "node:crypto";
import { brotliCompressSync, deflateRawSync, gzipSync } from "node:zlib";
import { RowIndex, RowIndexBuilder } from "../dist/generator/seal/rows.js";
import { scanBytes } from "../dist/generator/seal/views.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const trials = Number(process.argv[2] ?? 40);
const dir = mkdtempSync(join(tmpdir(), "datomspod-bench-tripwire-"));

/** A small seeded generator (mulberry32), so every run measures the same leaks. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function table(path) {
  const lines = readFileSync(path, "utf8").trimEnd().split("\n");
  return { header: lines[0].split(","), rows: lines.slice(1).map((line) => line.split(",")) };
}

function indexFor(name, text, threshold) {
  const builder = new RowIndexBuilder({ threshold });
  builder.startFile(true);
  builder.feed(Buffer.from(text));
  builder.endFile();
  const path = join(dir, `${name}.idx`);
  builder.write(path);
  return RowIndex.read(path);
}

const patients = table(join(root, "generator/demo/data/hospital-stats/patients.csv"));
const loans = table(join(root, "generator/demo/data/bank-credit-model/loans.csv"));
// A single-column table: one e-mail address per patient (what a contact list looks like).
const given = ["ann", "bo", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "jun", "kofi", "lea"];
const family = ["lee", "chan", "garcia", "novak", "okafor", "silva", "tanaka", "weber", "yilmaz", "zhou"];
const emails = {
  header: ["email"],
  rows: patients.rows.map((_, i) => [`${given[i % given.length]}.${family[(i * 7) % family.length]}${i}@example.org`]),
};

const csv = (t, rows = t.rows) => [t.header.join(","), ...rows.map((r) => r.join(","))].join("\n") + "\n";
const TABLES = [
  { name: "patients", table: patients, threshold: 10 },
  { name: "loans", table: loans, threshold: 2 },
  { name: "emails (single column)", table: emails, threshold: 2 },
];
for (const t of TABLES) t.index = indexFor(t.name.split(" ")[0], csv(t.table), t.threshold);

const join2 = (rows, sep = ",") => rows.map((r) => r.join(sep)).join("\n");
const fullwidth = (s) => s.replace(/[0-9A-Za-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
const homoglyph = (s) => s.replace(/0/g, "O").replace(/1/g, "l").replace(/a/g, "а").replace(/e/g, "е").replace(/o/g, "о").replace(/p/g, "р");
const isNumber = (f) => /^-?\d+(\.\d+)?$/.test(f);
const aes = (bytes) => {
  const cipher = createCipheriv("aes-256-ctr", randomBytes(32), randomBytes(16));
  return Buffer.concat([cipher.update(bytes), cipher.final()]);
};
function zip(bytes) {
  const data = deflateRawSync(bytes);
  const head = Buffer.alloc(30 + 8);
  head.writeUInt32LE(0x04034b50, 0);
  head.writeUInt16LE(8, 8);
  head.writeUInt32LE(data.length, 18);
  head.writeUInt16LE(8, 26);
  head.write("rows.csv", 30);
  return Buffer.concat([head, data]);
}

/** Each encoding: (header, rows) → the bytes an algorithm would leave in an output or a log. */
const ENCODINGS = {
  verbatim: (h, rows) => join2(rows),
  "cr-only line endings": (h, rows) => [h.join(","), ...rows.map((r) => r.join(","))].join("\r"),
  crlf: (h, rows) => join2(rows).replace(/\n/g, "\r\n"),
  "utf-8 bom": (h, rows) => `\uFEFF${join2(rows)}`,
  "zero-width spaces": (h, rows) => rows.map((r) => [...r.join(",")].join("\u200B")).join("\n"),
  "bidi and invisible characters": (h, rows) => rows.map((r) => `\u202E${r.join("\u2063,\u2066")}\u202C`).join("\n"),
  "nbsp separators": (h, rows) => join2(rows, "\u00A0"),
  "ideographic spaces": (h, rows) => join2(rows, "\u3000"),
  "fullwidth digits and letters": (h, rows) => fullwidth(join2(rows)),
  "homoglyphs (cyrillic, O for 0, l for 1)": (h, rows) => homoglyph(join2(rows)),
  "combining accents": (h, rows) => join2(rows).replace(/([a-z])/g, "$1\u0301"),
  "upper case": (h, rows) => join2(rows).toUpperCase(),
  "tab separated": (h, rows) => join2(rows, "\t"),
  "semicolon separated": (h, rows) => join2(rows, ";"),
  "markdown table": (h, rows) => [`| ${h.join(" | ")} |`, `|${h.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n"),
  "fixed-width columns": (h, rows) => rows.map((r) => r.map((f) => f.padEnd(12)).join("")).join("\n"),
  "double-quoted": (h, rows) => rows.map((r) => r.map((f) => `"${f}"`).join(",")).join("\n"),
  "single-quoted and backticks": (h, rows) => rows.map((r, i) => r.map((f) => (i % 2 ? `'${f}'` : `\`${f}\``)).join(",")).join("\n"),
  "reordered columns": (h, rows) => rows.map((r) => [...r].reverse().join(",")).join("\n"),
  "index column in front (pandas)": (h, rows) => [",", ...rows.map((r, i) => `${i},${r.join(",")}`)].join("\n"),
  "extra columns appended": (h, rows) => rows.map((r, i) => `${r.join(",")},${i * 3.7},note`).join("\n"),
  "numbers reformatted (34 → 34.0, 034)": (h, rows) => rows.map((r) => r.map((f) => (isNumber(f) ? (f.includes(".") ? `${f}0` : `0${f}.0`) : f)).join(",")).join("\n"),
  "json lines": (h, rows) => rows.map((r) => JSON.stringify(Object.fromEntries(r.map((f, i) => [h[i], isNumber(f) ? Number(f) : f])))).join("\n"),
  "json array, renamed keys": (h, rows) => JSON.stringify(rows.map((r) => Object.fromEntries(r.map((f, i) => [`field_${i}`, isNumber(f) ? Number(f) : f])))),
  "json pretty-printed": (h, rows) => JSON.stringify({ records: rows.map((r) => Object.fromEntries(r.map((f, i) => [h[i], f]))) }, null, 2),
  "python repr (list of tuples)": (h, rows) => `[${rows.map((r) => `(${r.map((f) => (isNumber(f) ? f : `'${f}'`)).join(", ")})`).join(", ")}]`,
  "key=value pairs": (h, rows) => rows.map((r) => r.map((f, i) => `${h[i]}=${f}`).join(" ")).join("\n"),
  "one field a line": (h, rows) => rows.flat().join("\n"),
  "row split over two lines": (h, rows) => rows.map((r) => `${r.slice(0, 3).join(",")}\n${r.slice(3).join(",")}`).join("\n"),
  transposed: (h, rows) => h.map((name, c) => `${name},${rows.map((r) => r[c]).join(",")}`).join("\n"),
  base64: (h, rows) => Buffer.from(join2(rows)).toString("base64"),
  "base64, mime-wrapped": (h, rows) => Buffer.from(join2(rows)).toString("base64").replace(/(.{76})/g, "$1\n"),
  hex: (h, rows) => Buffer.from(join2(rows)).toString("hex"),
  gzip: (h, rows) => gzipSync(join2(rows)),
  "base64 of gzip": (h, rows) => gzipSync(join2(rows)).toString("base64"),
  zip: (h, rows) => zip(Buffer.from(join2(rows))),
  "utf-16le with bom": (h, rows) => Buffer.from(`\uFEFF${join2(rows)}`, "utf16le"),
  "partial rows: identifier column only": (h, rows) => rows.map((r) => r[0]).join("\n"),
  "partial rows: without the identifier": (h, rows) => rows.map((r) => r.slice(1).join(",")).join("\n"),
  "html table": (h, rows) => `<table>${rows.map((r) => `<tr>${r.map((f) => `<td>${f}</td>`).join("")}</tr>`).join("")}</table>`,
  "rot13 of letters": (h, rows) => join2(rows).replace(/[a-z]/gi, (c) => String.fromCharCode(((c.toLowerCase().charCodeAt(0) - 97 + 13) % 26) + 97)),
  "reversed text": (h, rows) => [...join2(rows)].reverse().join(""),
  "numbers shifted by +1 (arithmetic encoding)": (h, rows) => rows.map((r) => r.map((f) => (isNumber(f) ? String(Number(f) + 1) : f)).join(",")).join("\n"),
  brotli: (h, rows) => brotliCompressSync(join2(rows)),
  "aes-256 encrypted": (h, rows) => aes(Buffer.from(join2(rows))),
};

function detected(index, output) {
  const bytes = typeof output === "string" ? Buffer.from(output) : output;
  const result = scanBytes(index, bytes);
  return result.matches.length > 0 || result.unchecked !== null;
}

const started = performance.now();
const encodings = {};
for (const [name, encode] of Object.entries(ENCODINGS)) {
  const perTable = {};
  let hits1 = 0;
  let hits10 = 0;
  let n = 0;
  for (const t of TABLES) {
    const random = rng(0x5eed ^ name.length ^ t.table.rows.length);
    let one = 0;
    let ten = 0;
    for (let trial = 0; trial < trials; trial += 1) {
      const pick = (count) => Array.from({ length: count }, () => t.table.rows[Math.floor(random() * t.table.rows.length)]);
      if (detected(t.index, encode(t.table.header, pick(1)))) one += 1;
      if (detected(t.index, encode(t.table.header, pick(10)))) ten += 1;
    }
    perTable[t.name] = { oneRow: one / trials, tenRows: ten / trials };
    hits1 += one;
    hits10 += ten;
    n += trials;
  }
  encodings[name] = { oneRow: Math.round((hits1 / n) * 1000) / 1000, tenRows: Math.round((hits10 / n) * 1000) / 1000, perTable };
}

// Legitimate outputs: what an honest aggregate algorithm writes over each table.
function mean(values) {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
function legitimate(t) {
  const { header, rows } = t.table;
  const numeric = header.map((_, c) => rows.every((r) => isNumber(r[c])));
  const categorical = header.map((_, c) => !numeric[c] && new Set(rows.map((r) => r[c])).size <= 12);
  const outputs = [];
  for (let g = 0; g < header.length; g += 1) {
    if (!categorical[g]) continue;
    const groups = new Map();
    for (const r of rows) groups.set(r[g], [...(groups.get(r[g]) ?? []), r]);
    for (let v = 0; v < header.length; v += 1) {
      if (!numeric[v]) continue;
      const lines = [...groups].map(([key, members]) => {
        const values = members.map((r) => Number(r[v]));
        const m = mean(values);
        const sd = Math.sqrt(mean(values.map((x) => (x - m) ** 2)));
        const sorted = [...values].sort((a, b) => a - b);
        return { key, n: members.length, mean: m, sum: values.reduce((a, b) => a + b, 0), sd, median: sorted[Math.floor(sorted.length / 2)], p90: sorted[Math.floor(sorted.length * 0.9)] };
      });
      outputs.push(`${header[g]},patients,mean,sum,sd,median,p90\n${lines.map((l) => [l.key, l.n, l.mean.toFixed(2), l.sum.toFixed(1), l.sd.toFixed(3), l.median, l.p90].join(",")).join("\n")}\n`);
      outputs.push(`${header[g]},n,mean\n${lines.map((l) => [l.key, l.n, String(l.mean)].join(",")).join("\n")}\n`);
      outputs.push(JSON.stringify(Object.fromEntries(lines.map((l) => [l.key, { n: l.n, mean: l.mean, sd: l.sd }])), null, 2));
    }
    for (let h = g + 1; h < header.length; h += 1) {
      if (!categorical[h]) continue;
      const counts = new Map();
      for (const r of rows) counts.set(`${r[g]},${r[h]}`, (counts.get(`${r[g]},${r[h]}`) ?? 0) + 1);
      outputs.push(`${header[g]},${header[h]},n\n${[...counts].map(([k, n]) => `${k},${n}`).join("\n")}\n`);
    }
  }
  const columns = header.map((_, c) => c).filter((c) => numeric[c]);
  if (columns.length >= 2) {
    const corr = columns.map((a) =>
      columns.map((b) => {
        const xa = rows.map((r) => Number(r[a]));
        const xb = rows.map((r) => Number(r[b]));
        const ma = mean(xa);
        const mb = mean(xb);
        const cov = mean(xa.map((x, i) => (x - ma) * (xb[i] - mb)));
        return cov / Math.sqrt(mean(xa.map((x) => (x - ma) ** 2)) * mean(xb.map((x) => (x - mb) ** 2)));
      }),
    );
    outputs.push(`,${columns.map((c) => header[c]).join(",")}\n${corr.map((row, i) => `${header[columns[i]]},${row.map((x) => x.toFixed(4)).join(",")}`).join("\n")}\n`);
    outputs.push(JSON.stringify({ model: "logistic", intercept: -1.2034, coefficients: Object.fromEntries(columns.map((c, i) => [header[c], 0.0123 * (i + 1)])), auc: 0.7312 }, null, 2));
    outputs.push(columns.map((c) => `${header[c]}: mean ${mean(rows.map((r) => Number(r[c])))} min ${Math.min(...rows.map((r) => Number(r[c])))} max ${Math.max(...rows.map((r) => Number(r[c])))}`).join("\n"));
  }
  outputs.push(`reading ${rows.length} rows from /data/inputs\nepoch 1/200 loss 0.6931\nepoch 200/200 loss 0.4412\ndone in 3.2 s\n`);
  outputs.push(`rows,${rows.length}\ncolumns,${header.length}\nmissing,0\n`);
  return outputs;
}

const falsePositives = {};
let fpHits = 0;
let fpTotal = 0;
for (const t of TABLES) {
  // Every table's index against every table's aggregates: an index flags its own aggregates only if they quote records.
  const outputs = TABLES.flatMap((other) => legitimate(other));
  const flagged = outputs.filter((output) => detected(t.index, output));
  falsePositives[t.name] = { outputs: outputs.length, flagged: flagged.length, rate: Math.round((flagged.length / outputs.length) * 1000) / 1000, examples: flagged.slice(0, 2).map((o) => o.slice(0, 200)) };
  fpHits += flagged.length;
  fpTotal += outputs.length;
}

const names = Object.keys(encodings);
const caught = names.filter((name) => encodings[name].tenRows >= 0.99);
const result = {
  benchmark: "tripwire",
  node: process.version,
  cpus: cpus().length,
  trialsPerTableAndSize: trials,
  tables: TABLES.map((t) => ({ name: t.name, rows: t.table.rows.length, columns: t.table.header.length, threshold: t.threshold, indexedRows: t.index.rows, indexedValues: t.index.values })),
  summary: {
    encodings: names.length,
    detectedAlways: caught.length,
    meanDetectionOneRow: Math.round((names.reduce((s, n) => s + encodings[n].oneRow, 0) / names.length) * 1000) / 1000,
    meanDetectionTenRows: Math.round((names.reduce((s, n) => s + encodings[n].tenRows, 0) / names.length) * 1000) / 1000,
    notDetected: names.filter((name) => encodings[name].tenRows < 0.5),
    falsePositiveRate: Math.round((fpHits / fpTotal) * 10000) / 10000,
    legitimateOutputs: fpTotal,
    seconds: Math.round((performance.now() - started) / 10) / 100,
  },
  encodings,
  falsePositives,
};
for (const t of TABLES) t.index.close();
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/tripwire.json"), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result.summary, null, 2)}\n`);
