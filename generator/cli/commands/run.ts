import { ENGINES } from "../../run/exec.js";
import { runLocally } from "../../run/run.js";
import { InputError } from "../../errors.js";
import { display } from "../../repo/files.js";
import { commitFiles, type CommitOutcome } from "../../repo/git.js";
import { receiptSignatureFile } from "../../lifecycle/facts.js";
import { contractDir } from "../../repo/layout.js";
import type { Command } from "../command.js";
import { keyOptionDecrypting, stringOption } from "../options.js";

export const run: Command = {
  name: ["run"],
  summary: "run a requested run of an active contract on this machine (podman), publish its sealed outputs, write its receipt",
  usage: "ID RUN --key FILE [--engine podman] [--ipfs URL] [--no-commit]",
  help: [
    "Plays the Job's pod from clusters/<local cluster>/ID/ exactly as rendered (it must be what the contract compiles to),",
    "with no network, read-only inputs, the contract's limits and deadline, and a pids limit; then publishes the encrypted",
    "outputs (local content-addressed store, or the IPFS API of --ipfs / the profile) and writes contracts/ID/receipts/RUN.json",
    "with the evidence that the pod and its volumes were removed, signed with --key (one of the contract's evidence.runners).",
    "The contract must pass the same gate as `datomspod check` at the real clock (there is no --at: a run is never judged at",
    "another time). Exit 0 when the receipt was written, whatever the algorithm did: the receipt's status says how the run ended.",
    "The receipt and its signature are then committed (only those two files, as a cluster's operator commits its runs'), so",
    "that they are evidence; --no-commit leaves that to you (the output says how), as does a folder that is not a git repository.",
  ].join("\n"),
  options: { engine: { type: "string" }, ipfs: { type: "string" }, key: { type: "string" }, "no-commit": { type: "boolean" } },
  positionals: [2, 2],
  async run(ctx, [id = "", runId = ""], values) {
    const engine = stringOption(values, "engine") ?? "podman";
    if (engine !== "podman") {
      throw InputError.of({
        file: "command line",
        path: "--engine",
        message: `${JSON.stringify(engine)} cannot play a pod here`,
        fix: `use podman (${ENGINES.join(" and ")} build images; only podman plays kube pods)`,
      });
    }
    // The key is decrypted while the gate runs; runLocally awaits it before anything runs or is written.
    const { wallet } = await keyOptionDecrypting(ctx, values);
    const result = await runLocally({ repo: ctx.repo, id, runId, now: ctx.now, runner: wallet, engine: engine, ipfsApi: stringOption(values, "ipfs") });
    const records = [display(ctx.repo, result.receiptFile), display(ctx.repo, receiptSignatureFile(contractDir(ctx.repo, id), runId))];
    const message = `Receipt of run ${runId} of ${id} (${result.receipt.predicate.status.phase})`;
    const commit: CommitOutcome =
      values["no-commit"] === true
        ? { committed: false, reason: "--no-commit", fix: `git add ${records.join(" ")} && git commit -m ${JSON.stringify(message)}` }
        : await commitFiles(ctx.repo, records, message);
    const status = result.receipt.predicate.status;
    const usage = result.receipt.predicate.usage;
    // How each role container ended, and what podman refused: for the runner, on this machine only (the receipt keeps its public reason).
    const roles = (result.pod?.containers ?? []).map((c) => ({ container: c.container, status: c.status, exitCode: c.exitCode }));
    const refused = result.pod?.refused ?? [];
    ctx.emit(
      {
        receipt: display(ctx.repo, result.receiptFile),
        status,
        usage,
        subjects: result.receipt.subject,
        published: result.published,
        deletion: result.receipt.predicate.deletion,
        roles,
        refused,
        commit,
      },
      [
        `run ${runId} of ${id}: ${status.phase} (${status.reason})`,
        usage.durationSeconds === null
          ? ""
          : `  at most ${usage.durationSeconds} s, ${usage.cpuSeconds ?? "unmetered"} cpu-s (every process), peak ${usage.peakMemoryMiB ?? "unmetered"} MiB (rounded up to powers of two; exact values are sealed for the data owners)`,
        ...(status.phase === "succeeded"
          ? []
          : roles.map((r) => `  role ${r.container}: ${r.status}${r.status === "created" ? " (never started)" : `, exit code ${r.exitCode}`}`)),
        ...refused.map((message) => `  podman refused to start: ${message}`),
        ...result.receipt.subject.map((s) => `  sealed ${s.name}  ${s.uri}`),
        `  receipt ${display(ctx.repo, result.receiptFile)}; pod and volumes removed: ${result.pod === undefined ? "no pod was created" : result.pod.leftovers.length === 0 ? "yes" : "NO"}`,
        commit.committed
          ? `  committed the receipt and its signature: ${commit.commit.slice(0, 12)} "${message}"`
          : `  not committed (${commit.reason}): the receipt is evidence once committed: ${commit.fix}`,
      ]
        .filter((line) => line !== "")
        .join("\n"),
    );
    return 0;
  },
};
