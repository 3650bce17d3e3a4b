#!/usr/bin/env node
// Start and stop the real-cluster lab by hand: `npm run lab -- up|down|status [--dir DIR] [--pieces a,b]`.
// The lab is TypeScript (test/cluster/lab/*.ts); Vite, which vitest brings, loads it here.
import { fileURLToPath } from "node:url";
import { runnerImport } from "vite";

const { module } = await runnerImport(fileURLToPath(new URL("./cli.ts", import.meta.url)), {
  configFile: false,
  logLevel: "error",
  server: { watch: null },
});
process.exitCode = await module.main(process.argv.slice(2));
