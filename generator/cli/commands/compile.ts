import { VerdictError } from "../../errors.js";
import { applyPlan, computeDrift, hasDrift } from "../../compile/write.js";
import { defaultWorkers, renderInWorkers } from "../../compile/parallel.js";
import { planCompileWith, renderHere } from "../../compile/plan.js";
import type { Command } from "../command.js";
import { evaluationTime } from "../options.js";

export const compile: Command = {
  name: ["compile"],
  summary: "render every active contract into clusters/<cluster>/<id>/ and each cluster's Argo CD wiring",
  usage: "[--check] [--at TIME] [--no-cache]",
  help: [
    "Only contracts that are active (or ran, awaiting delivery) get an instance; the folders of delivered,",
    "deleted, expired or revoked contracts are removed, which is what deletes their pods.",
    "--check writes nothing and exits 1 listing the differences when clusters/ is not what the contracts render to.",
    "--at evaluates the contracts' states at an RFC 3339 time instead of now.",
    "Unchanged contracts are taken from .datomspod/cache/ (keyed by every byte they depend on); --no-cache renders all again. --check never uses the cache.",
  ].join("\n"),
  options: { check: { type: "boolean" }, at: { type: "string" }, "no-cache": { type: "boolean" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const check = values["check"] === true;
    const now = evaluationTime(ctx, values);
    const options = { cache: !check && values["no-cache"] !== true, objects: false };
    const plan = await planCompileWith(ctx.repo, now, options, (profiles) =>
      renderInWorkers(ctx.repo, now, defaultWorkers(), renderHere(ctx.repo, now, profiles, false)),
    );
    const drift = check ? computeDrift(ctx.repo, plan) : applyPlan(ctx.repo, plan);
    const summary = {
      check,
      contracts: plan.contracts.map(({ id, cluster, state, runs, rendered }) => ({ id, cluster, state, runs, rendered })),
      ...drift,
    };
    const lines = [
      ...plan.contracts.map(
        (c) =>
          `${c.rendered ? "rendered" : "skipped "} ${c.id.padEnd(40)} ${c.state.padEnd(9)} ${c.rendered ? `clusters/${c.cluster}/${c.id}/ (${c.runs.length} run${c.runs.length === 1 ? "" : "s"}: ${c.runs.join(", ") || "none pending"})` : "no instance in this state"}`,
      ),
      ...drift.added.map((path) => `${check ? "missing  " : "added    "} ${path}`),
      ...drift.changed.map((path) => `${check ? "differs  " : "changed  "} ${path}`),
      ...drift.removed.map((path) => `${check ? "stale    " : "removed  "} ${path}`),
      hasDrift(drift) ? (check ? "clusters/ is NOT what the contracts render to: run `datomspod compile`" : "clusters/ updated") : "clusters/ is up to date",
    ];
    ctx.emit(summary, lines.join("\n"));
    if (check && hasDrift(drift)) throw new VerdictError("clusters/ differs from the compiled contracts");
    return 0;
  },
};
