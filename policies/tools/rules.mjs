#!/usr/bin/env node
/**
 * Reads `opa inspect --annotations --format json policies/opsc` on stdin, checks that every policy
 * package carries METADATA (title, description, custom.severity) and that every deny and warn
 * package names its rule (custom.rule), and prints the rule index the reports use (SARIF rules,
 * Markdown): [{id, kind, title, description, severity, package}], sorted by kind then id.
 */

import { readFileSync } from "node:fs";

const inspected = JSON.parse(readFileSync(0, "utf8"));
const problems = [];
const packageOf = (path) => path.slice(1).map((segment) => segment.value).join(".");

const annotated = new Map();
for (const entry of inspected.annotations ?? []) {
  if (entry.annotations.scope !== "package") continue;
  annotated.set(packageOf(entry.path), { ...entry.annotations, file: entry.location.file });
}

const packages = Object.values(inspected.namespaces ?? {})
  .flat()
  .filter((file) => !file.endsWith("_test.rego"));
const files = new Set(packages);
for (const [name, annotations] of annotated) files.delete(annotations.file);
for (const file of [...files].sort()) problems.push(`${file}: package without # METADATA`);

const rules = [];
for (const [name, annotations] of [...annotated].sort(([a], [b]) => (a < b ? -1 : 1))) {
  const where = `${annotations.file} (package ${name})`;
  if (!annotations.title) problems.push(`${where}: METADATA has no title`);
  if (!annotations.description) problems.push(`${where}: METADATA has no description`);
  if (!annotations.custom?.severity) problems.push(`${where}: METADATA has no custom.severity`);
  const kind = name.startsWith("opsc.deny.") ? "deny" : name.startsWith("opsc.warn.") ? "warn" : undefined;
  if (kind === undefined) continue;
  const id = annotations.custom?.rule;
  const expected = name.split(".").at(-1).replaceAll("_", "-");
  if (id !== expected) problems.push(`${where}: custom.rule must be ${JSON.stringify(expected)}, the package name in kebab case`);
  rules.push({ id: expected, kind, title: annotations.title, description: annotations.description, severity: annotations.custom?.severity, package: name });
}

if (problems.length > 0) {
  process.stderr.write(`policies: ${problems.length} METADATA problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
  process.exit(1);
}
rules.sort((a, b) => (a.kind === b.kind ? (a.id < b.id ? -1 : 1) : a.kind < b.kind ? -1 : 1));
const sorted = rules.map((rule) => Object.fromEntries(Object.keys(rule).sort().map((key) => [key, rule[key]])));
process.stdout.write(`${JSON.stringify(sorted, null, 2)}\n`);
