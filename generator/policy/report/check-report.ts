/**
 * The outcome of `datomspod check` for a set of contracts, which every report format renders:
 * per contract, each stage of the chain (schema → signatures → approvals → compile → policy →
 * kubernetes) ok, failed or skipped (not run because an earlier stage failed) with its issues,
 * and the OPS-C policy result when the policy ran. Findings of all stages are flattened into one
 * list with rule ids (for SARIF, the table, Markdown).
 */

import type { Issue } from "../../errors.js";
import type { Finding, PolicyResult } from "../result.js";
import { AXES, type Scenario } from "../scenarios.js";

export const STAGES = ["schema", "signatures", "approvals", "compile", "policy", "kubernetes"] as const;
export type Stage = (typeof STAGES)[number];

export const STAGE_STATUSES = ["ok", "failed", "skipped"] as const;
export type StageStatus = (typeof STAGE_STATUSES)[number];

export interface StageOutcome {
  readonly status: StageStatus;
  readonly issues: readonly Issue[];
}

export interface ContractCheck {
  readonly id: string;
  /** The contract file as shown to users, e.g. contracts/hospital-stats/contract.json. */
  readonly file: string;
  readonly stages: Readonly<Record<Stage, StageOutcome>>;
  /** Records that do not count (stale run requests, unsigned receipts, …): reported as warnings, never failing the contract. */
  readonly notes?: readonly Issue[];
  /** The policy's verdict, when the policy stage ran. */
  readonly policy?: PolicyResult;
  /** The scenario the policy judged by (draws the region in the SVG). */
  readonly scenario?: Scenario;
}

export interface CheckReport {
  readonly contracts: readonly ContractCheck[];
}

export type FindingLevel = "error" | "warning";

/** One thing a report shows: a failed stage's issue, a policy deny, a missed minimum or region, a warning. */
export interface ReportFinding {
  /** "datomspod/<stage>" for stage issues, "opsc/<rule>" for policy rules, "opsc/minimum", "opsc/region". */
  readonly ruleId: string;
  readonly level: FindingLevel;
  readonly stage: Stage;
  readonly message: string;
  readonly file: string;
  /** JSON path in `file`; "$" for the whole file. */
  readonly path: string;
  readonly fix?: string;
  /** The rendered object concerned, e.g. "Job dp-x/run-1". */
  readonly resource?: string;
}

export const OK: StageOutcome = { status: "ok", issues: [] };
export const SKIPPED: StageOutcome = { status: "skipped", issues: [] };

/** A stage that ran: failed when it has issues. */
export function stageOutcome(issues: readonly Issue[]): StageOutcome {
  return { status: issues.length === 0 ? "ok" : "failed", issues };
}

/** The policy stage's outcome for a result: ok exactly when the policy passes (its findings come from the result). */
export function policyStage(result: PolicyResult): StageOutcome {
  return { status: result.pass ? "ok" : "failed", issues: [] };
}

/** A contract passes when every stage is ok. */
export function contractPassed(check: ContractCheck): boolean {
  return STAGES.every((stage) => check.stages[stage].status === "ok");
}

export function reportPassed(report: CheckReport): boolean {
  return report.contracts.every(contractPassed);
}

/** A score's share of the three scores' sum, in percent with one decimal ("33.3"). */
export function sharePercent(result: PolicyResult, axis: (typeof AXES)[number]): string | undefined {
  const total = AXES.reduce((sum, a) => sum + result.scores[a], 0);
  return total === 0 ? undefined : ((100 * result.scores[axis]) / total).toFixed(1);
}

function policyFinding(check: ContractCheck, finding: Finding, level: FindingLevel): ReportFinding {
  const path = typeof finding.details.path === "string" && finding.details.path.startsWith("$") ? finding.details.path : "$";
  const resource = typeof finding.details.resource === "string" ? finding.details.resource : undefined;
  return {
    ruleId: `opsc/${finding.rule}`,
    level,
    stage: "policy",
    message: finding.msg,
    file: check.file,
    path,
    ...(resource === undefined ? {} : { resource }),
  };
}

function scoreFindings(check: ContractCheck, result: PolicyResult): ReportFinding[] {
  const findings: ReportFinding[] = [];
  const scenario = result.scenario;
  for (const axis of AXES) {
    const { min, score, ok } = result.minimums[axis];
    if (!ok) {
      findings.push({
        ruleId: "opsc/minimum",
        level: "error",
        stage: "policy",
        message: `${axis} score ${score} is below the minimum ${min} of scenario ${scenario}`,
        file: check.file,
        path: "$.opsc.scenario",
        fix: `raise the ${axis} score (see its factors) or choose a fitting scenario`,
      });
    }
  }
  for (const axis of AXES) {
    const { min, max, ok } = result.region[axis];
    if (ok) continue;
    const share = sharePercent(result, axis);
    findings.push({
      ruleId: "opsc/region",
      level: "error",
      stage: "policy",
      message:
        share === undefined
          ? `all scores are 0, so the contract has no point in the OPS-C triangle of scenario ${scenario}`
          : `${axis} is ${share}% of the scores' sum, outside the ${min}% to ${max}% scenario ${scenario} accepts`,
      file: check.file,
      path: "$.opsc.scenario",
      fix: "rebalance the contract's openness, privacy and security (see the factors) or choose a fitting scenario",
    });
  }
  return findings;
}

/** Every finding of a contract, in stage order; within the policy: denies, minimums, region, warnings. */
export function findingsOf(check: ContractCheck): ReportFinding[] {
  const findings: ReportFinding[] = [];
  for (const stage of STAGES) {
    const outcome = check.stages[stage];
    for (const issue of outcome.issues) {
      findings.push({
        ruleId: `datomspod/${stage}`,
        level: outcome.status === "failed" ? "error" : "warning",
        stage,
        message: issue.message,
        file: issue.file,
        path: issue.path || "$",
        ...(issue.fix === undefined ? {} : { fix: issue.fix }),
      });
    }
    if (stage === "compile") {
      for (const issue of check.notes ?? []) {
        findings.push({
          ruleId: "datomspod/records",
          level: "warning",
          stage,
          message: issue.message,
          file: issue.file,
          path: issue.path || "$",
          ...(issue.fix === undefined ? {} : { fix: issue.fix }),
        });
      }
    }
    if (stage === "policy" && check.policy !== undefined) {
      const result = check.policy;
      findings.push(...result.deny.map((finding) => policyFinding(check, finding, "error")));
      findings.push(...scoreFindings(check, result));
      findings.push(...result.warn.map((finding) => policyFinding(check, finding, "warning")));
    }
  }
  return findings;
}
