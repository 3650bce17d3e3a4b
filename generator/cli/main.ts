#!/usr/bin/env node
/**
 * The `datomspod` executable: runs the CLI with the process's streams, clock and folder, and sets
 * the exit code. It loads only the modules of the command it is asked for (commands/lazy.ts), not
 * every command's; in-process callers (the demo, tests) get the whole CLI (generator/cli/cli.ts)
 * through `main` below, which is kept apart from this entry point's top-level await.
 */

import * as nodeModule from "node:module";
import { homedir } from "node:os";
import { pathToFileURL } from "node:url";
import { realpathSync } from "node:fs";
import { compileCacheFolder } from "./compile-cache.js";
import type { Io } from "./dispatch.js";

export type { Io } from "./dispatch.js";

/** Runs the CLI with `argv` (without node and script) and returns the exit code; never throws. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  return (await import("./cli.js")).main(argv, io);
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isEntry) {
  // V8's compiled code for the CLI's modules, kept where only this user can change it (compile-cache.ts).
  const cache = compileCacheFolder(process.env, homedir());
  // Node 22.1 and later (a name import would fail to link on 22.0).
  if (cache !== undefined) (nodeModule as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache?.(cache);
  const argv = process.argv.slice(2);
  const [{ dispatch }, { commandsFor }] = await Promise.all([import("./dispatch.js"), import("./commands/lazy.js")]);
  process.exitCode = await dispatch(await commandsFor(argv), argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
    now: new Date(),
  });
}
