/**
 * The output policy of a contract (`outputs.policy`), applied by datomspace-out to what the algorithm
 * left in /data/outputs and /data/logs before anything is sealed:
 * - only regular files leave: symbolic links, devices, FIFOs and sockets are violations, and so are
 *   hidden files and names outside `[A-Za-z0-9._-]` (at most 8 folders deep, 100 files);
 * - every output's extension is one of `fileTypes` (compared case-insensitively);
 * - the outputs together are at most `maxBytes`;
 * - with `noRawRecords`, no line of an output or a log repeats a row of the inputs (see rows.ts).
 *
 * Violations come in two forms: the public one, which goes into the receipt in clear, names files by
 * number ("output #2") and carries only fixed text and numbers, since file names and contents are
 * chosen by the algorithm and could otherwise carry data out in clear; the detailed one, with real
 * names, is sealed (a report blob) for the parties who may read the outputs or, on a violation, for
 * the data owners.
 */

import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Contract } from "../../contract/types.generated.js";
import { isSafeName } from "./crypto.js";
import type { RowIndex } from "./rows.js";

export const MAX_OUTPUT_FILES = 100;
export const MAX_DEPTH = 8;
/** Logs above this size are not scanned for raw records and count as a violation (the supervisor caps its log at 16 MiB). */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;
/** Violations listed in the receipt; the rest are counted. */
export const MAX_LISTED_VIOLATIONS = 20;

export const RULES = ["file-kind", "file-name", "file-count", "file-type", "max-bytes", "no-raw-records", "raw-record-index", "sealing"] as const;
export type Rule = (typeof RULES)[number];

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

/** A violation as the receipt shows it in clear. */
export interface PublicViolation {
  readonly rule: Rule;
  /** "output #N" / "log #N" (1-based, in name order), or null for the run as a whole. */
  readonly file: string | null;
  readonly message: string;
}

export interface PolicyResult {
  readonly ok: boolean;
  readonly outputs: readonly Candidate[];
  readonly logs: readonly Candidate[];
  readonly detailed: readonly DetailedViolation[];
  readonly violations: readonly PublicViolation[];
  readonly outputBytes: number;
}

interface Walked {
  files: Candidate[];
  problems: DetailedViolation[];
  /** Every entry name seen (files and the bad entries), sorted: what "#N" counts. */
  names: string[];
}

function walk(root: string, area: Area): Walked {
  const walked: Walked = { files: [], problems: [], names: [] };
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
        walked.names.push(name);
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
        walked.names.push(name);
        walked.files.push({ area, name, path, size: stat.size });
      }
    }
  };
  visit(root, "", 0);
  walked.names.sort();
  return walked;
}

function extensionOf(name: string): string | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot <= 0 ? undefined : base.slice(dot + 1).toLowerCase();
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
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

  if (outputs.names.length > MAX_OUTPUT_FILES)
    add("file-count", "output", null, `the outputs hold ${outputs.names.length} files, more than the ${MAX_OUTPUT_FILES} a run may deliver`);
  if (logs.names.length > MAX_OUTPUT_FILES)
    add("file-count", "log", null, `the logs hold ${logs.names.length} files, more than the ${MAX_OUTPUT_FILES} a run may deliver`);

  const allowed = new Set(policy.fileTypes.map((type) => type.replace(/^\./, "").toLowerCase()));
  for (const file of outputs.files) {
    const extension = extensionOf(file.name);
    if (extension === undefined || !allowed.has(extension))
      add("file-type", "output", file.name, `is not one of the file types the contract allows (${[...allowed].sort().join(", ")})`);
  }

  const outputBytes = outputs.files.reduce((sum, file) => sum + file.size, 0);
  const overSize = outputBytes > policy.maxBytes;
  if (overSize) add("max-bytes", "run", null, `the outputs total ${outputBytes} bytes, more than the contract's maxBytes of ${policy.maxBytes}`);

  if (policy.noRawRecords) {
    const scanned = [...(overSize ? [] : outputs.files), ...logs.files];
    if (rows === undefined) {
      if (scanned.length > 0 || outputs.files.length > 0)
        add("raw-record-index", "run", null, "the index of the inputs' rows is missing or unreadable, so raw records cannot be ruled out");
    } else {
      for (const file of scanned) {
        if (file.area === "log" && file.size > MAX_LOG_BYTES) {
          add("no-raw-records", "log", file.name, `is ${file.size} bytes, more than the ${MAX_LOG_BYTES} a log may have to be checked for raw records`);
          continue;
        }
        const lines = rows.matchingLines(readFileSync(file.path));
        if (lines.length > 0)
          add(
            "no-raw-records",
            file.area,
            file.name,
            `line${lines.length === 1 ? "" : "s"} ${lines.join(", ")} repeat${lines.length === 1 ? "s" : ""} a row of the inputs`,
          );
      }
    }
  }

  const numberOf = (area: Area, name: string): string => {
    const names = area === "output" ? outputs.names : logs.names;
    return `${area} #${names.indexOf(name) + 1}`;
  };
  const all = detailed.map((v) => ({ rule: v.rule, file: v.name === null || v.area === "run" ? null : numberOf(v.area, v.name), message: v.message }));
  const violations = all.slice(0, MAX_LISTED_VIOLATIONS);
  if (all.length > MAX_LISTED_VIOLATIONS)
    violations.push({ rule: all[MAX_LISTED_VIOLATIONS].rule, file: null, message: `and ${plural(all.length - MAX_LISTED_VIOLATIONS, "more violation")}` });
  return { ok: detailed.length === 0, outputs: outputs.files, logs: logs.files, detailed, violations, outputBytes };
}
