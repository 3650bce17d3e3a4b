/**
 * The folder where V8 keeps the code it compiled for the CLI's modules, so that a later start reuses
 * it (40–50 ms of a start here). The cache is code that runs: it is used only where no one but this
 * user (or root) can change it.
 */

import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { cacheDirectory } from "../repo/cache-directory.js";

/**
 * Makes the folder one level at a time (Node's recursive mkdir never returns under /proc) and
 * returns it when it and every folder above it belong to this user or root and no one else can
 * replace what they hold (writable by others only with the sticky bit, as /tmp); undefined
 * otherwise (no cache, nothing else changes).
 */
export function compileCacheFolder(env: NodeJS.ProcessEnv, home: string): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const dir = resolve(cacheDirectory(env, home), "node-compile-cache");
  try {
    const missing: string[] = [];
    for (let path = dir; !existsSync(path); path = dirname(path)) missing.unshift(path);
    for (const path of missing) mkdirSync(path, { mode: 0o700 });
    if (statSync(dir).uid !== uid) return undefined;
    for (let path = dir; ; path = dirname(path)) {
      const folder = statSync(path);
      // Writable by others only with the sticky bit (/tmp): then no one else can replace what is ours.
      const othersWrite = (folder.mode & 0o022) !== 0 && (folder.mode & 0o1000) === 0;
      if (!folder.isDirectory() || (folder.uid !== uid && folder.uid !== 0) || othersWrite) return undefined;
      if (dirname(path) === path) return dir;
    }
  } catch {
    return undefined;
  }
}
