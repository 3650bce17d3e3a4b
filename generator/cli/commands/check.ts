import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { InputError, VerdictError } from "../../errors.js";
import { runCheck } from "../../check/check.js";
import { renderJson } from "../../policy/report/json.js";
import { renderMarkdown } from "../../policy/report/markdown.js";
import { renderSarif } from "../../policy/report/sarif.js";
import { renderSvg } from "../../policy/report/svg.js";
import { renderTable } from "../../policy/report/table.js";
import { reportPassed } from "../../policy/report/check-report.js";
import { writeFileAtomic } from "../../repo/files.js";
import { assertContractId } from "../../repo/layout.js";
import { packageFile } from "../../repo/package-root.js";
import type { Command } from "../command.js";
import { evaluationTime, stringOption } from "../options.js";

const REPORT_FORMATS = ["text", "json", "sarif", "markdown"] as const;

export const check: Command = {
  name: ["check"],
  summary: "run schema → signatures → approvals → compile → OPS-C policies → Kubernetes validation",
  usage: "[ID...] [--report text|json|sarif|markdown] [--svg-dir DIR] [--at TIME]",
  help: [
    "Checks the named contracts, or all of them. Exit 0 when every contract passes every stage, 1 when one fails.",
    "--report markdown prints the pull-request comment; --svg-dir writes one OPS-C triangle per contract",
    "(opsc/<id>.svg is how the Markdown refers to them). --format json is the same as --report json.",
  ].join("\n"),
  options: { report: { type: "string" }, "svg-dir": { type: "string" }, at: { type: "string" } },
  positionals: [0, 64],
  run(ctx, ids, values) {
    ids.forEach((id) => assertContractId(id));
    const format = stringOption(values, "report") ?? ctx.format;
    if (!(REPORT_FORMATS as readonly string[]).includes(format)) {
      throw InputError.of({
        file: "command line",
        path: "--report",
        message: `unknown report ${JSON.stringify(format)}`,
        fix: `use one of ${REPORT_FORMATS.join(", ")}`,
      });
    }
    const report = runCheck(ctx.repo, ids, evaluationTime(ctx, values));
    const svgDir = stringOption(values, "svg-dir");
    if (svgDir !== undefined) {
      const dir = resolve(ctx.cwd, svgDir);
      mkdirSync(dir, { recursive: true });
      for (const contract of report.contracts) {
        const svg = renderSvg(contract);
        if (svg !== undefined) writeFileAtomic(join(dir, `${contract.id}.svg`), svg);
      }
    }
    const version = (JSON.parse(readFileSync(packageFile("package.json"), "utf8")) as { version: string }).version;
    const sources = new Map(report.contracts.map((c) => [c.file, safeRead(join(ctx.repo, c.file))]));
    switch (format) {
      case "json":
        ctx.out(renderJson(report));
        break;
      case "sarif":
        ctx.out(renderSarif(report, { version, sources }));
        break;
      case "markdown":
        ctx.out(renderMarkdown(report, svgDir === undefined ? {} : { svgHref: (id) => `${svgDir.replace(/\/+$/, "")}/${id}.svg` }));
        break;
      default:
        ctx.out(renderTable(report, { color: process.stdout.isTTY === true && process.env["NO_COLOR"] === undefined }));
    }
    if (!reportPassed(report))
      throw new VerdictError(`${report.contracts.filter((c) => !Object.values(c.stages).every((s) => s.status === "ok")).length} contract(s) failed the check`);
    return 0;
  },
};

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
