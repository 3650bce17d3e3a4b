#!/usr/bin/env node
/**
 * The `datomspod` executable: runs the CLI (generator/cli/cli.ts) with the process's streams, clock
 * and folder, and sets the exit code. Kept apart from the CLI itself so that modules can run
 * commands in-process (the demo) without waiting on this entry point's top-level await.
 */

import { main } from "./cli.js";

export { helpText, main, type Io } from "./cli.js";

const isEntry =
  process.argv[1] !== undefined && import.meta.url === (await import("node:url")).pathToFileURL((await import("node:fs")).realpathSync(process.argv[1])).href;
if (isEntry) {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
    now: new Date(),
  });
}
