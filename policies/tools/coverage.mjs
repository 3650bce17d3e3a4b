#!/usr/bin/env node
/**
 * Reads `opa test --coverage --format json` on stdin and prints the coverage of the policy files
 * (tests excluded): one line per file below 100%, then the total. Exits 1 below the minimum
 * (first argument, percent; default 90).
 */

import { readFileSync } from "node:fs";

const minimum = Number(process.argv[2] ?? "90");
const report = JSON.parse(readFileSync(0, "utf8"));
let covered = 0;
let total = 0;
const lines = [];
for (const [file, entry] of Object.entries(report.files ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
  if (file.endsWith("_test.rego")) continue;
  const count = (ranges) => (ranges ?? []).reduce((sum, r) => sum + r.end.row - r.start.row + 1, 0);
  const yes = count(entry.covered);
  const no = count(entry.not_covered);
  covered += yes;
  total += yes + no;
  if (no > 0) lines.push(`  ${file}: ${((100 * yes) / (yes + no)).toFixed(1)}% (lines not covered: ${entry.not_covered.map((r) => (r.start.row === r.end.row ? r.start.row : `${r.start.row}-${r.end.row}`)).join(", ")})`);
}
const percent = total === 0 ? 0 : (100 * covered) / total;
process.stdout.write(`${lines.join("\n")}${lines.length > 0 ? "\n" : ""}policy coverage: ${percent.toFixed(1)}% of ${total} lines (minimum ${minimum}%)\n`);
if (percent < minimum) process.exit(1);
