/**
 * The compile cache: the rendered files of a contract, keyed by everything they depend on: every
 * byte of the contract's folder, its cluster profile, the generator's own code and schemas, and where
 * the evaluation time falls in the validity window. Unchanged contracts are not verified and rendered
 * again, so recompiling after one change among a thousand is fast. It lives in .datomspod/cache/
 * (never committed); a clean clone has none, and `compile --check` never trusts it.
 */

import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../repo/files.js";
import { packageFile } from "../repo/package-root.js";
import type { LifecycleState } from "../lifecycle/state.js";

export const CACHE_VERSION = "compile-v2";

export interface CacheEntry {
  readonly key: string;
  readonly cluster: string;
  readonly state: LifecycleState;
  readonly runs: readonly string[];
  readonly rendered: boolean;
  /** File name in the instance folder → content. */
  readonly files: Readonly<Record<string, string>>;
}

function hashTree(root: string, hash: ReturnType<typeof createHash>, filter: (name: string) => boolean = () => true): void {
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (filter(entry.name)) {
        hash.update(`${relative(root, path)}\u0000`);
        hash.update(entry.isSymbolicLink() ? "symlink" : readFileSync(path));
        hash.update("\u0000");
      }
    }
  };
  if (existsSync(root)) walk(root);
}

/**
 * The generator's code this module is part of: generator/ (or dist/generator/) above compile/, or
 * the bundle's folder (dist/bundle/) when it runs bundled.
 */
function codeDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return basename(here) === "compile" ? dirname(here) : here;
}

let fingerprint: string | undefined;

/** A hash of the generator's own code and the schemas it validates against. */
export function codeFingerprint(): string {
  if (fingerprint === undefined) {
    const hash = createHash("sha256").update(CACHE_VERSION);
    hashTree(codeDir(), hash, (name) => /\.(js|ts|json)$/.test(name));
    hashTree(packageFile("generator", "compile", "schemas"), hash);
    hash.update(readFileSync(packageFile("contracts", "contract.schema.json")));
    hash.update(readFileSync(packageFile("clusters", "cluster-profile.schema.json")));
    // The gate judges with the policy bundle and scenarios, and environments may come from the package.
    hashTree(packageFile("policies", "bundle"), hash);
    hashTree(packageFile("policies", "scenarios"), hash);
    hashTree(packageFile("environments"), hash);
    fingerprint = hash.digest("hex");
  }
  return fingerprint;
}

/**
 * The cache key of a contract folder, given its profile's text, the position of `now` in the
 * validity window and the repository's own environments folder.
 */
export function contractKey(contractDir: string, profileText: string, window: string, environmentsDir: string): string {
  const hash = createHash("sha256").update(codeFingerprint()).update(profileText).update(window);
  hashTree(contractDir, hash);
  hash.update("\u0000environments\u0000");
  hashTree(environmentsDir, hash);
  return hash.digest("hex");
}

/**
 * Whether this exact profile text passed validation before (with this code), remembering it when
 * `validated` says so. The literal-secret scan still runs every time.
 */
export function profileKnown(repo: string): { known: (text: string) => boolean; remember: (texts: Iterable<string>) => void } {
  const marker = (text: string): string =>
    join(repo, ".datomspod", "cache", CACHE_VERSION, "profiles", createHash("sha256").update(codeFingerprint()).update(text).digest("hex"));
  return {
    known: (text) => existsSync(marker(text)),
    remember: (texts) => {
      for (const text of texts) if (!existsSync(marker(text))) writeFileAtomic(marker(text), "");
    },
  };
}

function cacheFile(repo: string, id: string): string {
  return join(repo, ".datomspod", "cache", CACHE_VERSION, `${id}.json`);
}

export function readCache(repo: string, id: string, key: string): CacheEntry | undefined {
  const path = cacheFile(repo, id);
  if (!existsSync(path)) return undefined;
  try {
    const entry = JSON.parse(readFileSync(path, "utf8")) as CacheEntry;
    return entry.key === key ? entry : undefined;
  } catch {
    return undefined;
  }
}

export function writeCache(repo: string, id: string, entry: CacheEntry): void {
  writeFileAtomic(cacheFile(repo, id), JSON.stringify(entry));
}
