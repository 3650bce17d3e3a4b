/**
 * The installed package's own root (where package.json, contracts/contract.schema.json and the
 * policy bundle live), found by walking up from this module, so it works from the TypeScript
 * sources and from the compiled dist/ alike.
 */

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "datomspod") return dir;
    if (dirname(dir) === dir) throw new Error("datomspod package root not found above " + start);
  }
}

export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

export function packageFile(...segments: string[]): string {
  return join(PACKAGE_ROOT, ...segments);
}
