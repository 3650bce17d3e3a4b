/**
 * The terminal report: one row per contract (each stage, the three scores, the weighted score,
 * the verdict), below it each OPS-C score with the factors behind it (the points each gave, what it
 * is, what it saw), then its findings, and a summary line. Colour (ANSI) only when asked for,
 * i.e. when the stream is a TTY; the text is otherwise identical.
 */

import { formatIssue } from "../../errors.js";
import { AXES } from "../scenarios.js";
import { STAGES, bytesText, contractPassed, findingsOf, type CheckReport, type StageStatus } from "./check-report.js";

export interface TableOptions {
  readonly color: boolean;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
type Style = keyof typeof CODES;

const STATUS_STYLE: Record<StageStatus, Style> = { ok: "green", failed: "red", skipped: "dim" };
const STATUS_TEXT: Record<StageStatus, string> = { ok: "ok", failed: "FAILED", skipped: "-" };
const HEADERS = ["contract", ...STAGES, "O", "P", "S", "W", "leak", "verdict"];

/** A cell: its plain text (which sets the width) and an optional style. */
interface Cell {
  readonly text: string;
  readonly style?: Style;
}

function valueText(value: unknown): string {
  if (value === null || value === undefined) return "none";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Per axis its score, then one line per factor: the points it gave, what it is, what it saw. */
function factorLines(check: CheckReport["contracts"][number], paint: (text: string, style?: Style) => string): string[] {
  const result = check.policy;
  if (result === undefined) return [];
  return AXES.flatMap((axis) => {
    const factors = result.factors[axis];
    const width = Math.max(0, ...factors.map((f) => `${f.points}/${f.max}`.length));
    return [
      `  ${axis} ${result.scores[axis]}`,
      ...factors.map((f) => `    ${`${f.points}/${f.max}`.padStart(width)}  ${f.title}: ${paint(valueText(f.value), "dim")}`),
    ];
  });
}

export function renderTable(report: CheckReport, options: TableOptions): string {
  const paint = (text: string, style?: Style): string => (options.color && style !== undefined ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text);
  const rows: Cell[][] = report.contracts.map((check) => {
    const passed = contractPassed(check);
    const scores = AXES.map((axis): Cell => ({ text: check.policy === undefined ? "-" : String(check.policy.scores[axis]) }));
    return [
      { text: check.id },
      ...STAGES.map((stage): Cell => ({ text: STATUS_TEXT[check.stages[stage].status], style: STATUS_STYLE[check.stages[stage].status] })),
      ...scores,
      { text: check.policy === undefined ? "-" : String(check.policy.weighted) },
      { text: check.policy === undefined ? "-" : check.policy.leakage.boundBytes === null ? "unknown" : bytesText(check.policy.leakage.boundBytes) },
      { text: passed ? "pass" : "FAIL", style: passed ? "green" : "red" },
    ];
  });
  const widths = HEADERS.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].text.length)));
  const line = (cells: readonly Cell[]): string =>
    cells
      .map((cell, i) => paint(i === cells.length - 1 ? cell.text : cell.text.padEnd(widths[i]), cell.style))
      .join("  ")
      .trimEnd();

  const out = [line(HEADERS.map((text): Cell => ({ text, style: "bold" })))];
  report.contracts.forEach((check, i) => {
    out.push(line(rows[i]));
    out.push(...factorLines(check, paint));
    for (const finding of findingsOf(check)) {
      const level = finding.level === "error" ? paint("error  ", "red") : paint("warning", "yellow");
      const where = formatIssue({
        file: finding.file,
        path: finding.path,
        message: finding.message,
        ...(finding.fix === undefined ? {} : { fix: finding.fix }),
      });
      out.push(`  ${level} ${paint(finding.ruleId, "dim")} ${where}`);
    }
  });
  const passed = report.contracts.filter(contractPassed).length;
  const failed = report.contracts.length - passed;
  const summary = `${report.contracts.length} contract${report.contracts.length === 1 ? "" : "s"}: ${passed} passed, ${failed} failed`;
  out.push(paint(summary, failed > 0 ? "red" : "green"));
  return `${out.join("\n")}\n`;
}
