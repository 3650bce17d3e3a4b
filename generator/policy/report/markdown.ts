/**
 * The Markdown report for the pull-request comment: a summary table of every contract, then per
 * contract its SVG triangle (by relative path), a table of the stages, a table of the scores
 * against the scenario (minimum, share, region), the factors behind each score (collapsed), and
 * its denies and warnings. Deterministic.
 */

import { AXES } from "../scenarios.js";
import { STAGES, bytesText, contractPassed, findingsOf, leakageText, sharePercent, type CheckReport, type ContractCheck } from "./check-report.js";

export interface MarkdownOptions {
  /** Relative path of a contract's SVG from where the Markdown is shown; default `opsc/<id>.svg`. */
  readonly svgHref?: (id: string) => string;
  /** Lines shown in place of the SVG image (e.g. a text rendering of the triangle where no image can be linked). */
  readonly figure?: (check: ContractCheck) => readonly string[];
}

const STATUS: Record<string, string> = { ok: "✅ ok", failed: "❌ failed", skipped: "➖ skipped" };

function cell(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("|", "\\|").replaceAll("\n", " ");
}

function code(text: string): string {
  return `\`${text.replaceAll("`", "'")}\``;
}

function valueText(value: unknown): string {
  if (value === null || value === undefined) return "none";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function contractSection(check: ContractCheck, options: MarkdownOptions): string[] {
  const out = [`### ${check.id}`, ""];
  const passed = contractPassed(check);
  const result = check.policy;
  if (result !== undefined && options.figure !== undefined) out.push(...options.figure(check));
  else if (result !== undefined) {
    const href = (options.svgHref ?? ((id: string) => `opsc/${id}.svg`))(check.id);
    out.push(`![OPS-C triangle of ${check.id}](${href})`, "");
  }
  out.push(`${passed ? "✅ passes" : "❌ fails"} · ${code(check.file)}${result === undefined ? "" : ` · scenario ${code(result.scenario)}`}`, "");
  out.push("| stage | status | issues |", "| --- | --- | --- |");
  const findings = findingsOf(check);
  for (const stage of STAGES) {
    const problems = findings.filter((f) => f.stage === stage && f.level === "error").length;
    const warnings = findings.filter((f) => f.stage === stage && f.level === "warning").length;
    const counts = [
      problems > 0 ? `${problems} problem${problems === 1 ? "" : "s"}` : "",
      warnings > 0 ? `${warnings} warning${warnings === 1 ? "" : "s"}` : "",
    ].filter((text) => text !== "");
    out.push(`| ${stage} | ${STATUS[check.stages[stage].status]} | ${counts.join(", ")} |`);
  }
  out.push("");
  if (result !== undefined) {
    out.push("| score | value | minimum | share | region |", "| --- | ---: | ---: | ---: | --- |");
    for (const axis of AXES) {
      const minimum = result.minimums[axis];
      const region = result.region[axis];
      const share = sharePercent(result, axis);
      out.push(
        `| ${axis} | ${result.scores[axis]} | ${minimum.min} ${minimum.ok ? "✅" : "❌"} | ${share === undefined ? "-" : `${share}%`} | ${region.min}–${region.max}% ${region.ok ? "✅" : "❌"} |`,
      );
    }
    out.push(`| weighted | ${result.weighted} | | | |`, "");
    out.push(`Leakage bound ${result.leakage.ok ? "✅" : "❌"} ${leakageText(result)}`, "");
    out.push("<details><summary>Why these scores</summary>", "", "| score | factor | value | points |", "| --- | --- | --- | ---: |");
    for (const axis of AXES) {
      for (const factor of result.factors[axis])
        out.push(`| ${axis} | ${cell(factor.title)} | ${cell(code(valueText(factor.value)))} | ${factor.points} / ${factor.max} |`);
    }
    out.push("", "</details>", "");
  }
  const errors = findings.filter((f) => f.level === "error");
  const warnings = findings.filter((f) => f.level === "warning");
  const item = (f: (typeof findings)[number]): string =>
    `- ${code(f.ruleId)} ${f.message}${f.path !== "$" || f.file !== check.file ? ` (${code(f.file === check.file ? f.path : `${f.file} ${f.path}`)})` : ""}${f.fix === undefined ? "" : `; fix: ${f.fix}`}`;
  if (errors.length > 0) out.push("**Problems**", "", ...errors.map(item), "");
  if (warnings.length > 0) out.push("**Warnings**", "", ...warnings.map(item), "");
  return out;
}

export function renderMarkdown(report: CheckReport, options: MarkdownOptions = {}): string {
  const failed = report.contracts.filter((check) => !contractPassed(check)).length;
  const title =
    report.contracts.length === 0
      ? "no contracts checked"
      : failed === 0
        ? `all ${report.contracts.length} contract${report.contracts.length === 1 ? "" : "s"} pass`
        : `${failed} of ${report.contracts.length} contract${report.contracts.length === 1 ? "" : "s"} fail${failed === 1 ? "s" : ""}`;
  const out = [`## datomspod check: ${title}`, ""];
  if (report.contracts.length > 0) {
    out.push(
      "| contract | scenario | openness | privacy | security | weighted | leakage bound | verdict |",
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    );
    for (const check of report.contracts) {
      const r = check.policy;
      const bound = r === undefined ? "-" : r.leakage.boundBytes === null ? "unknown" : bytesText(r.leakage.boundBytes);
      const scores = r === undefined ? "- | - | - | - | -" : `${r.scores.openness} | ${r.scores.privacy} | ${r.scores.security} | ${r.weighted} | ${bound}`;
      out.push(`| [${check.id}](#${check.id}) | ${r === undefined ? "-" : r.scenario} | ${scores} | ${contractPassed(check) ? "✅ pass" : "❌ fail"} |`);
    }
    out.push("");
  }
  for (const check of report.contracts) out.push(...contractSection(check, options));
  return `${out.join("\n").trimEnd()}\n`;
}
