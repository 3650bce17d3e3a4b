#!/usr/bin/env node
/**
 * The `datomspod` executable: runs the CLI with the process's streams, clock and folder, and sets
 * the exit code. It loads only the modules of the command it is asked for (commands/lazy.ts), not
 * every command's; in-process callers (the demo, tests) get the whole CLI (generator/cli/cli.ts)
 * through `main` below, which is kept apart from this entry point's top-level await.
 */

import * as nodeModule from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { accessSync, constants, mkdirSync, realpathSync, statSync } from "node:fs";
import type { Io } from "./dispatch.js";

export type { Io } from "./dispatch.js";

/** Runs the CLI with `argv` (without node and script) and returns the exit code; never throws. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  return (await import("./cli.js")).main(argv, io);
}

/**
 * Whether only this user (or root) can change what the folder holds: it is this user's, and it and
 * every folder above it belong to this user or root and are writable by no one else (root running
 * with another user's HOME would otherwise load code that user wrote).
 */
function cacheIsOurs(dir: string): boolean {
  const uid = process.getuid?.();
  if (uid === undefined || statSync(dir).uid !== uid) return false;
  for (let path = dir; ; path = dirname(path)) {
    const folder = statSync(path);
    if (!folder.isDirectory() || (folder.uid !== uid && folder.uid !== 0) || (folder.mode & 0o022) !== 0) return false;
    if (dirname(path) === path) return true;
  }
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isEntry) {
  // V8 keeps the code it compiled for the CLI's modules, and a later start reuses it (about a
  // fifth of the start). The cache is code: it lives in the user's own datomspod cache
  // (DATOMSPOD_CACHE, else ~/.cache/datomspod), never in a folder others can write. A cache that
  // cannot be made costs nothing but the saving.
  try {
    const cache =
      process.env["DATOMSPOD_CACHE"] !== undefined && process.env["DATOMSPOD_CACHE"] !== ""
        ? process.env["DATOMSPOD_CACHE"]
        : join(homedir(), ".cache", "datomspod");
    const dir = join(cache, "node-compile-cache");
    // Only a folder this user made and can write: Node 24 spins forever when it cannot create the folder.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
    if (cacheIsOurs(dir)) {
      // Node 22.1 and later (a name import would fail to link on 22.0).
      (nodeModule as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache?.(dir);
    }
  } catch {
    // No cache: the modules are compiled as they load.
  }
  const argv = process.argv.slice(2);
  const [{ dispatch }, { commandsFor }] = await Promise.all([import("./dispatch.js"), import("./commands/lazy.js")]);
  process.exitCode = await dispatch(await commandsFor(argv), argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
    now: new Date(),
  });
}
