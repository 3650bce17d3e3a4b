/**
 * The output policy of a contract (`outputs.policy`), applied by datomspace-out to what the algorithm
 * left in /data/outputs and /data/logs before anything is sealed:
 * - only regular files leave: symbolic links, devices, FIFOs and sockets are violations, and so are
 *   hidden files and names outside `[A-Za-z0-9._-]` (at most 8 folders deep, 100 files);
 * - logs are only what the supervisor writes (`algorithm.log`), and text: UTF-8 without NUL bytes;
 * - every output's extension is one of `fileTypes` (compared case-insensitively); an output named
 *   without one (Ocean's `/data/outputs/result`) leaves only when the contract sets
 *   `extensionless`, its name is one of `extensionless.names` (when listed), and its content is
 *   one of `extensionless.types` (sniff.ts: magic bytes, or text); the type found then stands for
 *   its extension in every rule below (a csv without an extension is a table like any other);
 * - **one budget**: the bytes of every output and every log, plus the bytes of their names, are at
 *   most `maxBytes` per run;
 * - with `noRawRecords`, no output and no log holds a record of the inputs (rows.ts, views.ts);
 * - with `minGroupSize`, every table (csv/tsv output) has the `countColumn` and every data row's
 *   count is an integer of at least k; an output that is not a table is refused when the contract
 *   lets only aggregates leave.
 *
 * Violations come in two forms. In public (the manifest and the receipt) only the sorted set of the
 * rules broken: the algorithm chooses file names, their number and their content, so nothing else
 * about them may show in clear. In the report sealed for the data owners, every violation with the
 * file's real name and the details.
 */

import { closeSync, lstatSync, openSync, readFileSync, readSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Contract } from "../contract/types.generated.js";
import { isSafeName } from "./format.js";
import type { RowIndex } from "./rows.js";
import { SNIFF_HEAD_BYTES, SNIFF_WHOLE_MAX_BYTES, isText, sniffType } from "./sniff.js";
import { scanFile } from "./views.js";

export { isText } from "./sniff.js";

export const MAX_OUTPUT_FILES = 100;
export const MAX_DEPTH = 8;
/** Logs above this size are not read (the supervisor caps its log at 16 MiB; the logs volume holds 64 MiB). */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;
/** The only logs that may leave: what the supervisor writes (the Job's `--log /data/logs/algorithm.log`). */
export const SUPERVISOR_LOGS: readonly string[] = ["algorithm.log"];
/** Of a run that broke the policy, the data owners get at most this much of the log (its head), and never more than maxBytes. */
export const VIOLATION_LOG_BYTES = 64 * 1024;
/** Violations the sealed report lists with details; the rest are counted. */
export const MAX_LISTED_VIOLATIONS = 50;

export const RULES = [
  "file-kind",
  "file-name",
  "file-count",
  "file-type",
  "log-name",
  "log-text",
  "max-bytes",
  "min-group-size",
  "no-raw-records",
  "raw-record-index",
  "sealing",
] as const;
export type Rule = (typeof RULES)[number];

/** The rules a contract's policy can break (what the public list of broken rules can say). */
export function applicableRules(contract: Contract): Rule[] {
  const policy = contract.outputs.policy;
  return RULES.filter(
    (rule) =>
      !((rule === "no-raw-records" || rule === "raw-record-index") && !policy.noRawRecords) &&
      !(rule === "min-group-size" && policy.minGroupSize === undefined),
  );
}

export type Area = "output" | "log";

export interface Candidate {
  readonly area: Area;
  /** Path below the area's folder, '/'-separated; chosen by the algorithm. */
  readonly name: string;
  readonly path: string;
  readonly size: number;
}

/** A violation with the algorithm-chosen name: only ever written sealed. */
export interface DetailedViolation {
  readonly rule: Rule;
  readonly area: Area | "run";
  readonly name: string | null;
  readonly message: string;
}

export interface PolicyResult {
  readonly ok: boolean;
  readonly outputs: readonly Candidate[];
  /** The logs that may leave (the supervisor's), whatever else is wrong. */
  readonly logs: readonly Candidate[];
  readonly detailed: readonly DetailedViolation[];
  /** The rules broken, sorted, each once: all the public verdict says. */
  readonly rules: readonly Rule[];
  /** Bytes the run would let out: outputs, logs and their names. */
  readonly usedBytes: number;
  readonly maxBytes: number;
}

interface Walked {
  files: Candidate[];
  problems: DetailedViolation[];
  entries: number;
}

function walk(root: string, area: Area): Walked {
  const walked: Walked = { files: [], problems: [], entries: 0 };
  const visit = (dir: string, prefix: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      if (depth === 0 && (error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const name = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
      const path = join(dir, entry.name);
      const problem = (rule: Rule, message: string): void => {
        walked.entries += 1;
        walked.problems.push({ rule, area, name, message });
      };
      const stat = lstatSync(path);
      if (entry.name.startsWith(".")) problem("file-name", "is hidden (its name starts with a dot); hidden files do not leave the instance");
      else if (stat.isSymbolicLink()) problem("file-kind", "is a symbolic link; only regular files leave the instance");
      else if (stat.isDirectory()) {
        if (depth + 1 >= MAX_DEPTH) problem("file-name", `is more than ${MAX_DEPTH} folders deep`);
        else visit(path, name, depth + 1);
      } else if (!stat.isFile()) problem("file-kind", "is not a regular file (a device, FIFO or socket); only regular files leave the instance");
      else if (!isSafeName(name)) problem("file-name", "has a name with characters other than letters, digits, '.', '_' and '-'");
      else {
        walked.entries += 1;
        walked.files.push({ area, name, path, size: stat.size });
      }
    }
  };
  visit(root, "", 0);
  return walked;
}

function extensionOf(name: string): string | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot <= 0 ? undefined : base.slice(dot + 1).toLowerCase();
}

/** The records of a CSV (RFC 4180 quoting) or TSV text; CRLF, CR and LF end records. */
export function parseTable(text: string, separator: "," | "\t"): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  let fieldStarted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (c === separator) {
      record.push(field);
      field = "";
      fieldStarted = false;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      fieldStarted = false;
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (fieldStarted || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/**
 * Why a table breaks the minimum group size, or null when every data row's `countColumn` is an
 * integer of at least `k`. Blank lines are not rows.
 */
export function groupSizeProblem(bytes: Uint8Array, separator: "," | "\t", countColumn: string, k: number): string | null {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "is not UTF-8 text, so the size of its groups cannot be read";
  }
  const records = parseTable(text.replace(/^\uFEFF/, ""), separator).filter((record) => !(record.length === 1 && record[0].trim() === ""));
  const header = records[0];
  const column = header === undefined ? -1 : header.findIndex((name) => name.trim() === countColumn);
  if (column < 0) return `has no column ${JSON.stringify(countColumn)} (the contract's countColumn) in its first row, so the size of its groups is unknown`;
  for (let r = 1; r < records.length; r += 1) {
    const cell = (records[r][column] ?? "").trim();
    if (!/^[0-9]{1,15}$/.test(cell)) return `row ${r + 1}: the count ${JSON.stringify(cell.slice(0, 32))} is not a whole number`;
    if (Number(cell) < k) return `row ${r + 1}: describes a group of ${Number(cell)}, fewer than the contract's minGroupSize of ${k}`;
  }
  return null;
}

function tableSeparator(type: string | undefined): "," | "\t" | undefined {
  return type === "csv" ? "," : type === "tsv" ? "\t" : undefined;
}

/**
 * The whole file, or its first SNIFF_HEAD_BYTES when it is larger than `limit` (over the run's
 * budget it cannot leave anyway) or than SNIFF_WHOLE_MAX_BYTES (then only a binary type can be
 * recognised: the role's memory is small).
 */
function contentForSniffing(file: Candidate, limit: number): { bytes: Uint8Array; whole: boolean } {
  if (file.size <= Math.min(limit, SNIFF_WHOLE_MAX_BYTES)) return { bytes: readFileSync(file.path), whole: true };
  const head = Buffer.alloc(SNIFF_HEAD_BYTES);
  const fd = openSync(file.path, "r");
  try {
    return { bytes: head.subarray(0, readSync(fd, head, 0, SNIFF_HEAD_BYTES, 0)), whole: false };
  } finally {
    closeSync(fd);
  }
}

/**
 * Applies the policy to the files under `outputsDir` and `logsDir`. `rows` is the inputs' row index
 * (required when the contract sets noRawRecords; `undefined` then means it is missing, which fails
 * closed as soon as there is anything to check).
 */
export function applyOutputPolicy(contract: Contract, outputsDir: string, logsDir: string, rows: RowIndex | undefined): PolicyResult {
  const policy = contract.outputs.policy;
  const outputs = walk(outputsDir, "output");
  const logs = walk(logsDir, "log");
  const detailed: DetailedViolation[] = [...outputs.problems, ...logs.problems];
  const add = (rule: Rule, area: Area | "run", name: string | null, message: string): void => {
    detailed.push({ rule, area, name, message });
  };

  if (outputs.entries > MAX_OUTPUT_FILES)
    add("file-count", "output", null, `the outputs hold ${outputs.entries} files, more than the ${MAX_OUTPUT_FILES} a run may deliver`);

  // Logs: only what the supervisor wrote, and only text.
  const leaving: Candidate[] = [];
  for (const file of logs.files) {
    if (!SUPERVISOR_LOGS.includes(file.name)) {
      add("log-name", "log", file.name, `is not a log the supervisor writes (${SUPERVISOR_LOGS.join(", ")}); the algorithm's own files go to /data/outputs`);
      continue;
    }
    leaving.push(file);
    if (file.size > MAX_LOG_BYTES) add("log-text", "log", file.name, `is ${file.size} bytes, more than the ${MAX_LOG_BYTES} a log may have`);
    else if (!isText(readFileSync(file.path))) add("log-text", "log", file.name, "is not text: a log must be UTF-8 without NUL bytes");
  }

  const allowed = new Set(policy.fileTypes.map((type) => type.replace(/^\./, "").toLowerCase()));
  const extensionless = policy.extensionless;
  /** The file type of each output: its extension, or, without one, what its content was found to be. */
  const typeOf = new Map<string, string>();
  for (const file of outputs.files) {
    const extension = extensionOf(file.name);
    if (extension !== undefined) {
      typeOf.set(file.name, extension);
      if (!allowed.has(extension))
        add("file-type", "output", file.name, `is not one of the file types the contract allows (${[...allowed].sort().join(", ")})`);
      continue;
    }
    if (extensionless === undefined) {
      add("file-type", "output", file.name, "has no extension, and the contract lets no output without one leave (outputs.policy.extensionless)");
      continue;
    }
    if (extensionless.names !== undefined && !extensionless.names.includes(file.name)) {
      add("file-type", "output", file.name, `has no extension and is not one of the names the contract allows without one (${extensionless.names.join(", ")})`);
      continue;
    }
    const types = extensionless.types.filter((type) => allowed.has(type));
    const { bytes, whole } = contentForSniffing(file, policy.maxBytes);
    const type = sniffType(types, bytes, whole);
    if (type === undefined)
      add(
        "file-type",
        "output",
        file.name,
        `has no extension, and its content is none of the types the contract allows for such outputs (${types.join(", ")})`,
      );
    else typeOf.set(file.name, type);
  }

  // One budget: every byte that leaves, names included.
  const all = [...outputs.files, ...logs.files];
  const usedBytes = all.reduce((sum, file) => sum + file.size + Buffer.byteLength(file.name), 0);
  const overBudget = usedBytes > policy.maxBytes;
  if (overBudget)
    add("max-bytes", "run", null, `the outputs and logs total ${usedBytes} bytes (names included), more than the contract's maxBytes of ${policy.maxBytes}`);

  if (policy.minGroupSize !== undefined && !overBudget) {
    const k = policy.minGroupSize;
    const countColumn = policy.countColumn ?? "";
    const onlyAggregates = contract.outputs.kinds.every((kind) => kind === "aggregates");
    for (const file of outputs.files) {
      const separator = tableSeparator(typeOf.get(file.name));
      if (separator === undefined) {
        if (onlyAggregates)
          add(
            "min-group-size",
            "output",
            file.name,
            "is not a table (csv or tsv), and the contract lets only aggregates, with the size of their groups, leave",
          );
        continue;
      }
      const problem = groupSizeProblem(readFileSync(file.path), separator, countColumn, k);
      if (problem !== null) add("min-group-size", "output", file.name, problem);
    }
  }

  if (policy.noRawRecords) {
    const scanned = [...(overBudget ? [] : outputs.files), ...leaving.filter((file) => file.size <= MAX_LOG_BYTES)];
    if (rows === undefined) {
      if (scanned.length > 0 || outputs.files.length > 0)
        add("raw-record-index", "run", null, "the index of the inputs' records is missing or unreadable, so raw records cannot be ruled out");
    } else {
      for (const file of scanned) {
        const result = scanFile(rows, file.path, file.size);
        if (result.matches.length > 0) {
          const where = result.matches.map((match) => `${match.view} line${match.lines.length === 1 ? "" : "s"} ${match.lines.join(", ")}`).join("; ");
          add("no-raw-records", file.area, file.name, `holds records of the inputs (${where})`);
        }
        if (result.unchecked !== null) add("no-raw-records", file.area, file.name, `cannot be checked for records of the inputs: ${result.unchecked}`);
      }
    }
  }

  const rules = [...new Set(detailed.map((v) => v.rule))].sort();
  return { ok: detailed.length === 0, outputs: outputs.files, logs: leaving, detailed, rules, usedBytes, maxBytes: policy.maxBytes };
}
