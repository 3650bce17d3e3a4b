/**
 * The JSON report: every contract with its stages, policy result and flattened findings. Keys
 * sorted, two-space indent, LF: byte-identical for the same report.
 */

import { contractPassed, findingsOf, reportPassed, type CheckReport } from "./check-report.js";

/** A copy of `value` with object keys sorted and undefined members dropped. */
export function sortedJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .map((key) => [key, sortedJson((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

export function renderJson(report: CheckReport): string {
  const document = {
    ok: reportPassed(report),
    contracts: report.contracts.map((check) => ({
      id: check.id,
      file: check.file,
      passed: contractPassed(check),
      stages: check.stages,
      policy: check.policy,
      scenario: check.scenario,
      findings: findingsOf(check),
    })),
  };
  return `${JSON.stringify(sortedJson(document), null, 2)}\n`;
}
