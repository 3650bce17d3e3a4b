import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../../errors.js";
import { loadContract } from "../../contract/load.js";
import { findParty } from "../../contract/rules.js";
import { gatherFacts, runMessage } from "../../lifecycle/facts.js";
import { runParameters } from "../../contract/parameters.js";
import { display, toJsonText, writeFileAtomic } from "../../repo/files.js";
import { assertRunId } from "../../repo/layout.js";
import { signRecord } from "../../signatures/records.js";
import type { Command } from "../command.js";
import { keyOption } from "../options.js";

/** `--param key=value`: the value is JSON when it parses as JSON, a string otherwise. */
export function parseParams(raw: readonly string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const item of raw) {
    const eq = item.indexOf("=");
    const key = item.slice(0, eq);
    if (eq < 1 || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(key)) {
      throw InputError.of({
        file: "command line",
        path: "--param",
        message: `${JSON.stringify(item)} is not key=value`,
        fix: "write e.g. --param groupBy=region",
      });
    }
    if (Object.hasOwn(params, key))
      throw InputError.of({ file: "command line", path: `--param ${key}`, message: "is given twice", fix: "give each parameter once" });
    const text = item.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    Object.defineProperty(params, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return params;
}

export const request: Command = {
  name: ["request"],
  summary: "request a run as the consumer; writes contracts/ID/runs/RUN.json",
  usage: "ID RUN --key FILE [--param KEY=VALUE ...]",
  help: [
    "Only the parameters the contract lists in inputs.algorithm.consumerParameters may be set, within their approved limits;",
    "values are JSON when they parse as JSON. A request signed over an earlier version of the contract (stale) is replaced.",
  ].join("\n"),
  options: { key: { type: "string" }, param: { type: "string", multiple: true } },
  positionals: [2, 2],
  async run(ctx, [id = "", runId = ""], values) {
    assertRunId(runId);
    const loaded = loadContract(ctx.repo, id);
    const path = join(loaded.dir, "runs", `${runId}.json`);
    if (existsSync(path) && !gatherFacts(ctx.repo, loaded, ctx.now.getTime()).staleRequests.includes(runId))
      throw InputError.of({ file: display(ctx.repo, path), path: "$", message: "already exists", fix: "choose another run id" });
    const parameters = parseParams((values["param"] as string[] | undefined) ?? []);
    const checked = runParameters(loaded.contract, parameters);
    if (checked.problems.length > 0) {
      throw InputError.many(
        `the parameters are not allowed by contract ${id}`,
        checked.problems.map((problem) => ({
          file: "command line",
          path: `--param ${problem.path.replace(/^\$\.parameters\./, "")}`,
          message: problem.message,
          fix: problem.fix,
        })),
      );
    }
    const { file: keyFile, wallet } = await keyOption(ctx, values);
    if (findParty(loaded.contract, wallet.address)?.role !== "consumer") {
      throw InputError.of({
        file: keyFile,
        path: "$",
        message: `key ${wallet.address} is not the consumer of ${id}`,
        fix: "request runs with the consumer's key",
      });
    }
    const record = await signRecord(wallet, "run", loaded.id, loaded.contract.chainId, runMessage(loaded, runId, parameters), { parameters });
    writeFileAtomic(path, toJsonText(record));
    ctx.emit({ file: display(ctx.repo, path), run: runId, parameters }, `requested run ${runId} of ${id}: ${display(ctx.repo, path)}`);
    return 0;
  },
};
