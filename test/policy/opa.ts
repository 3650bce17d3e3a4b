/** The real `opa` binary for tests: on PATH or in ~/.cache/datomspod/bin (where .ci/setup builds it). */

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";

function findOpa(): string | undefined {
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), join(homedir(), ".cache", "datomspod", "bin")];
  return dirs.map((dir) => join(dir, "opa")).find((path) => existsSync(path));
}

export const OPA = findOpa();

/** Why tests that need opa are skipped, or undefined when it is there. */
export const NO_OPA = OPA === undefined ? "opa is not installed (PATH or ~/.cache/datomspod/bin); build it with .ci/tools/build-go-tools opa" : undefined;

/** `opa eval` of data.opsc.result over the policy sources for the input file: the value, or undefined when the result is undefined. */
export function opaEval(inputFile: string): unknown {
  const out = execFileSync(
    OPA!,
    ["eval", "--format", "json", "--data", join(PACKAGE_ROOT, "policies", "opsc"), "--ignore", "*_test.rego", "--input", inputFile, "data.opsc.result"],
    {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const parsed = JSON.parse(out) as { result?: { expressions: { value: unknown }[] }[] };
  return parsed.result?.[0]?.expressions[0]?.value;
}

/** `value` with object keys sorted at every depth, for comparing results of either engine. */
export function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
