/**
 * Temporary datomspod repositories for tests: a fresh folder per test (removed when the test ends)
 * holding a copy of the schema and of the example contracts, plus small file helpers.
 */

import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";

/** The project's own checkout (read only in tests). */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The example contracts committed under contracts/. */
export function exampleIds(): string[] {
  return readdirSync(join(ROOT, "contracts"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** A new empty folder, removed when the current test finishes. Call it inside a test. */
export function tempDir(prefix = "datomspod-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A temporary repository with contracts/contract.schema.json, copies of the given example contracts
 * (all by default) and the cluster profiles (clusters/<cluster>/cluster.yaml, no rendered
 * instances): what the contracts' approvals cover.
 */
export function tempRepo(ids: readonly string[] = exampleIds()): string {
  const repo = tempDir("datomspod-repo-");
  mkdirSync(join(repo, "contracts"));
  cpSync(join(ROOT, "contracts", "contract.schema.json"), join(repo, "contracts", "contract.schema.json"));
  for (const id of ids) cpSync(join(ROOT, "contracts", id), join(repo, "contracts", id), { recursive: true });
  copyProfiles(repo);
  return repo;
}

/** Copies the committed cluster profiles (not their rendered instances) into `repo`. */
export function copyProfiles(repo: string): void {
  mkdirSync(join(repo, "clusters"), { recursive: true });
  cpSync(join(ROOT, "clusters", "cluster-profile.schema.json"), join(repo, "clusters", "cluster-profile.schema.json"));
  for (const entry of readdirSync(join(ROOT, "clusters"), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    mkdirSync(join(repo, "clusters", entry.name), { recursive: true });
    cpSync(join(ROOT, "clusters", entry.name, "cluster.yaml"), join(repo, "clusters", entry.name, "cluster.yaml"));
  }
}

export function readText(repo: string, file: string): string {
  return readFileSync(join(repo, file), "utf8");
}

export function writeText(repo: string, file: string, text: string | Uint8Array): void {
  mkdirSync(dirname(join(repo, file)), { recursive: true });
  writeFileSync(join(repo, file), text);
}

export function readJson<T = Record<string, unknown>>(repo: string, file: string): T {
  return JSON.parse(readText(repo, file)) as T;
}

/** Writes JSON the way datomspod does: two-space indent, LF, trailing newline. */
export function writeJson(repo: string, file: string, value: unknown): void {
  writeText(repo, file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Reads a JSON file, lets `edit` change it in place, and writes it back. */
export function editJson<T = any>(repo: string, file: string, edit: (value: T) => unknown): void {
  const value = readJson<T>(repo, file);
  edit(value);
  writeJson(repo, file, value);
}

export function contractJson(id: string): string {
  return `contracts/${id}/contract.json`;
}
