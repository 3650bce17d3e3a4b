/** A temporary copy of this repository's contracts and cluster profiles, and the CLI run in-process against it. */

import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { onTestFinished } from "vitest";
import { main } from "../../generator/cli/main.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";

export const AT = "2026-11-24T00:00:00Z";
export const KEYS = join(PACKAGE_ROOT, "test", "keys");
process.env["DATOMSPOD_KEY_PASSWORD"] = "datomspod-test-only";

export function tempRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), "datomspod-compile-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(PACKAGE_ROOT, "contracts"), join(dir, "contracts"), { recursive: true });
  cpSync(join(PACKAGE_ROOT, "clusters"), join(dir, "clusters"), { recursive: true });
  return dir;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function cli(repo: string, ...argv: string[]): Promise<CliResult> {
  return cliAt(AT, repo, ...argv);
}

/** The CLI with its clock at `at` (the real clock of a command run then). */
export async function cliAt(at: string, repo: string, ...argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await main([...argv, "--repo", repo], {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    cwd: repo,
    now: new Date(at),
  });
  return { code, stdout, stderr };
}

/** Overrides environment `name` in the repository (environments/<name>/environment.json) with `edit` applied to the shipped one. */
export function editEnvironment(repo: string, name: string, edit: (environment: Record<string, any>) => void): void {
  const environment = readJson(join(PACKAGE_ROOT, "environments", name, "environment.json"));
  edit(environment);
  mkdirSync(join(repo, "environments", name), { recursive: true });
  writeJson(join(repo, "environments", name, "environment.json"), environment);
}

/** Every file under `dir` (relative path → content), sorted. */
export function tree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (path: string): void => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else files[relative(dir, full)] = readFileSync(full, "utf8");
    }
  };
  walk(dir);
  return files;
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Edits contracts/<id>/contract.json (dropping its run requests, which were signed over the old version) and signs and approves it again with the test keys. */
export async function editContract(
  repo: string,
  id: string,
  edit: (contract: Record<string, any>) => void,
  signers: string[],
  approvers: string[],
): Promise<void> {
  const path = join(repo, "contracts", id, "contract.json");
  rmSync(join(repo, "contracts", id, "runs"), { recursive: true, force: true });
  const contract = readJson(path);
  edit(contract);
  writeJson(path, contract);
  for (const key of signers) {
    const result = await cli(repo, "contract", "sign", id, "--key", join(KEYS, `${key}.json`));
    if (result.code !== 0) throw new Error(result.stderr);
  }
  for (const key of approvers) {
    const result = await cli(repo, "approve", id, "--key", join(KEYS, `${key}.json`));
    if (result.code !== 0) throw new Error(result.stderr);
  }
}

export const HOSPITAL = {
  id: "hospital-stats",
  signers: ["hospital-provider", "health-consumer", "notary-witness"],
  approvers: ["hospital-provider", "notary-witness"],
};
export const BANK = {
  id: "bank-credit-model",
  signers: ["bank-provider", "fintech-consumer", "model-vendor", "platform-operator"],
  approvers: ["bank-provider"],
};
