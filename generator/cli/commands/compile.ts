import { InputError, VerdictError, formatIssue } from "../../errors.js";
import { applyPlan, computeDrift, guardRemovals, hasDrift, MAX_REMOVALS, removedInstances } from "../../compile/write.js";
import { defaultWorkers, renderInWorkers } from "../../compile/parallel.js";
import { planCompileWith, renderHere } from "../../compile/plan.js";
import type { Command } from "../command.js";
import { evaluationTime, stringOption } from "../options.js";

function allowedRemovals(value: string | undefined): number {
  if (value === undefined) return MAX_REMOVALS;
  if (!/^\d{1,6}$/.test(value))
    throw InputError.of({
      file: "command line",
      path: "--allow-removals",
      message: `${JSON.stringify(value)} is not a number`,
      fix: "pass how many instance folders may be removed, e.g. --allow-removals 25",
    });
  return Number(value);
}

export const compile: Command = {
  name: ["compile"],
  summary: "render every active contract into clusters/<cluster>/<id>/ and each cluster's Argo CD wiring",
  usage: "[--check] [--at TIME] [--no-cache] [--allow-removals N]",
  help: [
    "Only contracts that are active (or ran, awaiting delivery) and pass the same gate as `datomspod check`",
    "(signatures, approvals, OPS-C policies, Kubernetes validation) get an instance; the folders of delivered,",
    "deleted, expired, revoked or refused contracts are removed, which is what deletes their pods. Exit 1 when",
    "a contract was refused (the others are rendered).",
    "--check writes nothing and exits 1 listing the differences when clusters/ is not what the contracts render to.",
    "--at previews the contracts at an RFC 3339 time instead of now: it writes nothing (like --check).",
    `Mass-deletion guard: more than ${MAX_REMOVALS} instance folders removed by one compile are refused (exit 1, nothing written);`,
    "--allow-removals N allows up to N when they are meant.",
    "Unchanged contracts are taken from .datomspod/cache/ (keyed by every byte they depend on); --no-cache renders all again. --check never uses the cache.",
  ].join("\n"),
  options: { check: { type: "boolean" }, at: { type: "string" }, "no-cache": { type: "boolean" }, "allow-removals": { type: "string" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    // A preview at another time executes nothing: what Argo CD syncs is only ever rendered at the real clock.
    const check = values["check"] === true || values["at"] !== undefined;
    const now = evaluationTime(ctx, values);
    const options = { cache: !check && values["no-cache"] !== true, objects: false };
    const plan = await planCompileWith(ctx.repo, now, options, (profiles) =>
      renderInWorkers(ctx.repo, now, defaultWorkers(), renderHere(ctx.repo, now, profiles, false)),
    );
    if (!check) guardRemovals(removedInstances(ctx.repo, plan), allowedRemovals(stringOption(values, "allow-removals")));
    const drift = check ? computeDrift(ctx.repo, plan) : applyPlan(ctx.repo, plan);
    const refused = new Map(plan.refused.map((r) => [r.id, r.issues]));
    const summary = {
      check,
      contracts: plan.contracts.map(({ id, cluster, state, runs, rendered }) => ({ id, cluster, state, runs, rendered, refused: refused.has(id) })),
      refused: plan.refused,
      notes: plan.notes,
      ...drift,
    };
    const lines = [
      ...plan.contracts.map(
        (c) =>
          `${c.rendered ? "rendered" : refused.has(c.id) ? "REFUSED " : "skipped "} ${c.id.padEnd(40)} ${c.state.padEnd(9)} ${c.rendered ? `clusters/${c.cluster}/${c.id}/ (${c.runs.length} run${c.runs.length === 1 ? "" : "s"}: ${c.runs.join(", ") || "none pending"})` : refused.has(c.id) ? "the gate refused it: no instance" : "no instance in this state"}`,
      ),
      ...plan.refused.flatMap((r) => r.issues.map((issue) => `  ${r.id}: ${formatIssue(issue)}`)),
      ...plan.notes.map((issue) => `  note: ${formatIssue(issue)}`),
      ...drift.added.map((path) => `${check ? "missing  " : "added    "} ${path}`),
      ...drift.changed.map((path) => `${check ? "differs  " : "changed  "} ${path}`),
      ...drift.removed.map((path) => `${check ? "stale    " : "removed  "} ${path}`),
      hasDrift(drift) ? (check ? "clusters/ is NOT what the contracts render to: run `datomspod compile`" : "clusters/ updated") : "clusters/ is up to date",
    ];
    ctx.emit(summary, lines.join("\n"));
    if (check && hasDrift(drift)) throw new VerdictError("clusters/ differs from the compiled contracts");
    if (plan.refused.length > 0) {
      // A contract that cannot even be read is bad input (2); one the gate judged and refused is a verdict (1).
      const invalid = plan.contracts.some((c) => c.state === "invalid");
      throw new (invalid ? InputError : VerdictError)(
        `the gate refused ${plan.refused.length} contract${plan.refused.length === 1 ? "" : "s"} (${plan.refused.map((r) => r.id).join(", ")}): no instance is rendered for ${plan.refused.length === 1 ? "it" : "them"}`,
        plan.refused.flatMap((r) => r.issues),
      );
    }
    return 0;
  },
};
