import { resolve } from "node:path";
import { assertContractId } from "../../repo/layout.js";
import { display } from "../../repo/files.js";
import { NO_CHAIN, generateSite } from "../../report/generate.js";
import { writeSite } from "../../report/site.js";
import { startServer } from "../../report/serve.js";
import { InputError } from "../../errors.js";
import type { Command } from "../command.js";
import { evaluationTime, stringOption } from "../options.js";
import { CHAIN_HELP, chainSpec } from "./anchor.js";

const CHAIN_NONE_HELP = "--chain none skips the chain: the pages then say the anchors were not checked (they do the same when the chain cannot be reached).";

export const report: Command = {
  name: ["report"],
  summary: "write the web view: a static site of every contract's life, evidence and OPS-C standing",
  usage: "--html DIR [ID...] [--chain local|URL|none] [--at TIME]",
  help: [
    "Writes index.html (every contract), and per contract its timeline, OPS-C triangle and factors, runs, audit and settlement, into DIR:",
    "plain files that work from disk or any static host, with no request to anywhere else. The same repository and chain give the same bytes.",
    CHAIN_HELP,
    CHAIN_NONE_HELP,
    "Exit 0 when the site was written, whatever it shows (datomspod check and datomspod audit verify give the verdicts).",
  ].join("\n"),
  options: { html: { type: "string" }, chain: { type: "string" }, at: { type: "string" } },
  positionals: [0, 64],
  async run(ctx, ids, values) {
    ids.forEach((id) => assertContractId(id));
    const dir = resolve(ctx.cwd, stringOption(values, "html", true));
    const generated = await generateSite(ctx.repo, ids, evaluationTime(ctx, values), chainSpec(values));
    writeSite(dir, generated.files, display(ctx.cwd, dir));
    const index = resolve(dir, "index.html");
    const { view } = generated;
    ctx.emit(
      { dir, index, files: generated.files.size, contracts: view.contracts.length, chain: view.chain, ms: generated.ms },
      [
        `wrote ${generated.files.size} files for ${view.contracts.length} contract${view.contracts.length === 1 ? "" : "s"} to ${dir} in ${generated.ms} ms`,
        view.chain.checked ? `anchors checked against chain ${view.chain.chainId}` : `anchors not checked: ${view.chain.reason}`,
        `open ${index}`,
      ].join("\n"),
    );
    return 0;
  },
};

function portOption(value: string | undefined): number {
  const text = value ?? "8470";
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw InputError.of({
      file: "command line",
      path: "--port",
      message: `${JSON.stringify(text)} is not a port`,
      fix: "use a number from 1 to 65535 (0: any free port)",
    });
  return port;
}

export const serve: Command = {
  name: ["serve"],
  summary: "serve the web view on 127.0.0.1, re-verified on every page request",
  usage: "[--port N] [--chain local|URL|none] [--at TIME]",
  help: [
    "The same pages as `datomspod report --html`, served on http://127.0.0.1:N/ only (default 8470; 0 picks a free port).",
    "Every page request reads the repository, its git history and the chain again. Stop it with Ctrl-C.",
    CHAIN_HELP,
    CHAIN_NONE_HELP,
  ].join("\n"),
  options: { port: { type: "string" }, chain: { type: "string" }, at: { type: "string" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const port = portOption(stringOption(values, "port"));
    const spec = chainSpec(values);
    const at = stringOption(values, "at") === undefined ? undefined : evaluationTime(ctx, values);
    const server = await startServer({
      port,
      generate: async () => (await generateSite(ctx.repo, [], at ?? new Date(), spec)).files,
      onError: (error) => ctx.err(`error: ${error instanceof Error ? error.message : String(error)}\n`),
    }).catch((error: unknown) => {
      throw InputError.of({
        file: "command line",
        path: "--port",
        message: `cannot listen on 127.0.0.1:${port}: ${error instanceof Error ? error.message : String(error)}`,
        fix: "choose another --port (0 picks a free one)",
      });
    });
    ctx.out(
      `serving the web view of ${ctx.repo} at ${server.url} (${spec === NO_CHAIN ? "no chain" : `chain ${spec === "local" ? "local" : "from --chain"}`}); Ctrl-C stops it\n`,
    );
    await new Promise<void>((done) => {
      process.once("SIGINT", done);
      process.once("SIGTERM", done);
    });
    await server.close();
    return 0;
  },
};
