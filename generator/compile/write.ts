/**
 * Bringing clusters/ to the plan: each generated folder is built aside and swapped in with a rename,
 * folders of instances that no longer exist are removed, and `--check` only reports the differences.
 * Hand-written files (cluster.yaml, READMEs) are never touched.
 */

import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { InputError, VerdictError } from "../errors.js";
import { RESERVED_FOLDERS } from "./argocd.js";
import type { CompilePlan } from "./plan.js";

export interface Drift {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
}

/** Generated folders now in clusters/: every sub-folder of clusters/<cluster>/. */
export function existingGeneratedDirs(repo: string): string[] {
  const root = join(repo, "clusters");
  if (!existsSync(root)) return [];
  const dirs: string[] = [];
  for (const cluster of readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    for (const entry of readdirSync(join(root, cluster.name), { withFileTypes: true })) {
      if (entry.isDirectory() && !entry.name.startsWith(".")) dirs.push(`clusters/${cluster.name}/${entry.name}`);
    }
  }
  return dirs.sort();
}

function filesIn(repo: string, dir: string): string[] {
  const full = join(repo, dir);
  if (!existsSync(full)) return [];
  return readdirSync(full, { withFileTypes: true }).map((entry) => {
    if (!entry.isFile() || !entry.name.endsWith(".yaml")) {
      throw InputError.of({
        file: `${dir}/${entry.name}`,
        path: "$",
        message: "is not a generated manifest, but sits in a generated folder",
        fix: "move it out of the folder; datomspod owns it and would delete it",
      });
    }
    return `${dir}/${entry.name}`;
  });
}

/** The plan's files grouped by folder. */
function filesByDir(plan: CompilePlan): Map<string, [string, string][]> {
  const byDir = new Map<string, [string, string][]>();
  for (const [path, content] of plan.files) {
    const dir = dirname(path);
    let list = byDir.get(dir);
    if (list === undefined) byDir.set(dir, (list = []));
    list.push([path, content]);
  }
  return byDir;
}

export function computeDrift(repo: string, plan: CompilePlan): Drift {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  const dirs = new Set([...existingGeneratedDirs(repo), ...plan.dirs]);
  const byDir = filesByDir(plan);
  for (const dir of [...dirs].sort()) {
    const current = new Set(filesIn(repo, dir));
    for (const [path, content] of byDir.get(dir) ?? []) {
      if (!current.has(path)) added.push(path);
      else if (readFileSync(join(repo, path), "utf8") !== content) changed.push(path);
      current.delete(path);
    }
    removed.push(...current);
  }
  return { added: added.sort(), changed: changed.sort(), removed: removed.sort() };
}

export function hasDrift(drift: Drift): boolean {
  return drift.added.length + drift.changed.length + drift.removed.length > 0;
}

/** Applies the plan; returns the drift that was applied. Checks every folder before changing any. */
export function applyPlan(repo: string, plan: CompilePlan): Drift {
  const drift = computeDrift(repo, plan);
  const touched = new Set([...drift.added, ...drift.changed, ...drift.removed].map((path) => dirname(path)));
  const byDir = filesByDir(plan);
  for (const dir of [...touched].sort()) {
    const target = join(repo, dir);
    const suffix = randomBytes(6).toString("hex");
    if (!plan.dirs.has(dir)) {
      const trash = join(dirname(target), `.old-${suffix}`);
      renameSync(target, trash);
      rmSync(trash, { recursive: true, force: true });
      continue;
    }
    const staging = join(dirname(target), `.new-${suffix}`);
    mkdirSync(staging, { recursive: true });
    try {
      for (const [path, content] of byDir.get(dir) ?? []) writeFileSync(join(staging, path.slice(dir.length + 1)), content);
      if (existsSync(target)) {
        const trash = join(dirname(target), `.old-${suffix}`);
        renameSync(target, trash);
        renameSync(staging, target);
        rmSync(trash, { recursive: true, force: true });
      } else renameSync(staging, target);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
  }
  return drift;
}

/** The most instance folders one compile removes without being told to (`--allow-removals N`). */
export const MAX_REMOVALS = 10;

/** Instance folders the plan would remove (each one deletes a namespace when Argo CD prunes). */
export function removedInstances(repo: string, plan: CompilePlan): string[] {
  return existingGeneratedDirs(repo).filter((dir) => !plan.dirs.has(dir) && !(RESERVED_FOLDERS as readonly string[]).includes(dir.split("/")[2] ?? ""));
}

/**
 * The mass-deletion guard: a generator or repository that misbehaves (a wrong clock, contracts/
 * missing from a checkout, a bad merge) would make compile drop many folders at once, and Argo CD
 * would prune every one of those instances. More than `allowed` removals are refused, nothing is
 * written, and the command says how to allow them when they are meant.
 */
export function guardRemovals(removed: readonly string[], allowed = MAX_REMOVALS): void {
  if (removed.length <= allowed) return;
  throw new VerdictError(
    `compile would remove ${removed.length} instance folders at once (more than ${allowed}): nothing was written`,
    removed.map((dir) => ({
      file: dir,
      path: "$",
      message: "would be removed, and Argo CD would delete its namespace",
      fix: `check the contracts' states (datomspod contract status) and the clock; when these removals are meant, run compile --allow-removals ${removed.length}`,
    })),
  );
}
