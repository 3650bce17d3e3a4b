import { resolve } from "node:path";
import { runDemo } from "../../demo/demo.js";
import type { Command } from "../command.js";
import { stringOption } from "../options.js";

export const demo: Command = {
  name: ["demo"],
  summary: "run the end-to-end demo in a fresh workspace (default .datomspod/demo)",
  usage: "[--workspace DIR]",
  help: "Creates keys, a contract, signatures, approvals, a run request, the compiled instance, the OPS-C check, a local run, delivery, anchoring and the audit, then the settlement paid through the escrow on the local chain, printing every command it runs.",
  options: { workspace: { type: "string" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    // Imported here: cli.js imports the command table, which imports this module.
    const cli = await import("../cli.js");
    const dir = resolve(ctx.cwd, stringOption(values, "workspace") ?? ".datomspod/demo");
    return runDemo(
      dir,
      ctx.now,
      async (argv) => {
        let stdout = "";
        let stderr = "";
        const code = await cli.main([...argv, "--repo", dir], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: dir, now: ctx.now });
        return { code, stdout, stderr };
      },
      ctx.out,
    );
  },
};
