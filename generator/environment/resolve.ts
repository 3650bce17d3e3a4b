/**
 * `datomspod env lock NAME` and `datomspod env new NAME --from FILE`: turn what a user asks for
 * (a requirements file, or a package.json) into the environment's lock, resolved against PyPI
 * (or the npm registry) for the platform environments run on. The wheels pip downloads to resolve
 * go straight into the wheel cache, so the build that follows downloads nothing again.
 */

import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { InputError, ServiceError, formatIssue } from "../errors.js";
import { writeFileAtomic } from "../repo/files.js";
import { pipWheel } from "./build.js";
import { ENVIRONMENTS_DIR, ENVIRONMENT_FILE, type Environment } from "./environment.js";
import { PIP, PYTHON_TARGET, npmLock, pipResolveDownload } from "./exec.js";
import { parseNpmLock, parsePipLock, parseRequirements, renderPipLock, wheelNameVersion, type ResolvedPackage } from "./lock.js";

export const DEFAULT_REQUIREMENTS = "requirements.in";
export const DEFAULT_LOCK = "requirements.lock";

/** What changed between two locks, for the reviewer. */
export interface LockChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

export interface LockResult {
  readonly name: string;
  readonly file: string;
  readonly packages: readonly { name: string; version: string }[];
  readonly change: LockChange;
  readonly wheelBytes: number;
}

/** The packages added, removed and changed from one lock to the next. */
export function lockChange(before: readonly { name: string; version: string }[], after: readonly { name: string; version: string }[]): LockChange {
  const old = new Map(before.map((p) => [p.name, p.version]));
  const now = new Map(after.map((p) => [p.name, p.version]));
  return {
    added: [...now].filter(([name]) => !old.has(name)).map(([name, version]) => `${name}==${version}`),
    removed: [...old].filter(([name]) => !now.has(name)).map(([name, version]) => `${name}==${version}`),
    changed: [...now]
      .filter(([name, version]) => old.has(name) && old.get(name) !== version)
      .map(([name, version]) => `${name} ${old.get(name) ?? ""} -> ${version}`),
  };
}

function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function serviceFail(environment: string, message: string, fix: string): ServiceError {
  const issue = { file: `${ENVIRONMENTS_DIR}/${environment}/`, path: "$", message: `environment ${environment}: ${message}`, fix };
  return new ServiceError(formatIssue(issue), [issue]);
}

/** Resolves a pip environment's requirements file into its lock (written beside it). */
async function lockPip(environment: Environment, cacheDir: string, log: (line: string) => void): Promise<LockResult> {
  const packages = environment.definition.packages;
  if (packages === undefined) throw new Error("unreachable");
  const requirementsName = packages.requirements ?? DEFAULT_REQUIREMENTS;
  const requirementsPath = join(environment.dir, requirementsName);
  const shown = `${environment.subject}${requirementsName}`;
  if (!existsSync(requirementsPath))
    throw InputError.of({
      file: shown,
      path: "$",
      message: "does not exist",
      fix: "write the packages the environment needs there, one a line (e.g. pandas>=2.2)",
    });
  const requirementsText = readFileSync(requirementsPath, "utf8");
  const { requirements, issues } = parseRequirements(requirementsText, shown);
  if (issues.length > 0) throw InputError.many(`${shown}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`, issues);
  const listed = packages.dependencies === "listed";

  const pip = await pipWheel(cacheDir);
  mkdirSync(join(cacheDir, "tmp"), { recursive: true });
  const work = mkdtempSync(join(cacheDir, "tmp", `lock-${environment.name}-`));
  const resolved: ResolvedPackage[] = [];
  try {
    writeFileSync(join(work, "requirements.txt"), `${requirements.map((r) => `${r.name}${r.specifier}`).join("\n")}\n`);
    log(`resolving ${shown} against PyPI for CPython ${PYTHON_TARGET.pythonVersion} manylinux x86_64${listed ? " (the listed packages only)" : ""}`);
    try {
      await pipResolveDownload(pip, join(work, "requirements.txt"), join(work, "out"), listed);
    } catch (error) {
      throw serviceFail(
        environment.name,
        `pip could not resolve ${requirementsName}: ${(error as Error).message}`,
        "check the names and version ranges: every package needs a cp311 (or py3) wheel for manylinux x86_64 on PyPI",
      );
    }
    const requested = new Set(requirements.map((r) => r.name));
    for (const file of readdirSync(join(work, "out")).sort()) {
      const nameVersion = wheelNameVersion(file);
      if (nameVersion === undefined) throw serviceFail(environment.name, `pip downloaded ${file}, which is not a wheel`, "name packages that publish wheels");
      const path = join(work, "out", file);
      const digest = sha256(readFileSync(path));
      const dir = join(cacheDir, "wheels", digest);
      mkdirSync(dir, { recursive: true });
      if (!existsSync(join(dir, file))) renameSync(path, join(dir, file));
      resolved.push({ ...nameVersion, sha256: digest, wheel: file, requested: requested.has(nameVersion.name) });
    }
    const missing = [...requested].filter((name) => !resolved.some((p) => p.name === name));
    if (missing.length > 0) throw serviceFail(environment.name, `pip resolved no wheel for ${missing.join(", ")}`, "check the names in the requirements file");
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const lockName = packages.lock;
  const lockPath = join(environment.dir, lockName);
  const before = existsSync(lockPath) ? parsePipLock(readFileSync(lockPath, "utf8"), lockName).packages : [];
  const text = renderPipLock(
    environment.name,
    [
      `from ${requirementsName} (sha256:${sha256(requirementsText)})${listed ? ", the listed packages only (dependencies: listed)" : ", with every dependency"}`,
      `for CPython ${PYTHON_TARGET.pythonVersion} (${PYTHON_TARGET.abi}), manylinux x86_64 (glibc 2.36), resolved by pip ${PIP.version}`,
    ],
    resolved,
  );
  const parsed = parsePipLock(text, lockName);
  if (parsed.issues.length > 0) throw new Error(`the lock written for ${environment.name} does not validate: ${parsed.issues.map(formatIssue).join("; ")}`);
  writeFileAtomic(lockPath, text);
  const cached = (p: ResolvedPackage): number => readFileSync(join(cacheDir, "wheels", p.sha256, p.wheel)).length;
  return {
    name: environment.name,
    file: `${environment.subject}${lockName}`,
    packages: parsed.packages.map((p) => ({ name: p.name, version: p.version })),
    change: lockChange(before, parsed.packages),
    wheelBytes: resolved.reduce((sum, p) => sum + cached(p), 0),
  };
}

/** Writes an npm environment's package-lock.json for its package.json (the npm registry only). */
async function lockNpm(environment: Environment, cacheDir: string, log: (line: string) => void): Promise<LockResult> {
  const packages = environment.definition.packages;
  if (packages === undefined) throw new Error("unreachable");
  const manifest = join(environment.dir, packages.requirements ?? "package.json");
  if (!existsSync(manifest))
    throw InputError.of({
      file: `${environment.subject}package.json`,
      path: "$",
      message: "does not exist",
      fix: "write a package.json with the dependencies",
    });
  mkdirSync(join(cacheDir, "tmp"), { recursive: true });
  const work = mkdtempSync(join(cacheDir, "tmp", `lock-${environment.name}-`));
  const lockPath = join(environment.dir, packages.lock);
  const before = existsSync(lockPath) ? parseNpmLock(readFileSync(lockPath, "utf8"), packages.lock).packages : [];
  try {
    copyFileSync(manifest, join(work, "package.json"));
    log(`resolving ${environment.subject}package.json against the npm registry`);
    await npmLock(work, join(cacheDir, "npm-environments"));
    const text = readFileSync(join(work, "package-lock.json"), "utf8");
    const parsed = parseNpmLock(text, `${environment.subject}${packages.lock}`);
    if (parsed.issues.length > 0) throw InputError.many(`the npm lock of ${environment.name} does not validate`, parsed.issues);
    writeFileAtomic(lockPath, text);
    return {
      name: environment.name,
      file: `${environment.subject}${packages.lock}`,
      packages: parsed.packages.map((p) => ({ name: p.name, version: p.version })),
      change: lockChange(before, parsed.packages),
      wheelBytes: 0,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `datomspod env lock NAME`: (re)writes the environment's lock from its requirements. */
export async function lockEnvironment(environment: Environment, cacheDir: string, log: (line: string) => void): Promise<LockResult> {
  if (environment.definition.packages === undefined)
    throw InputError.of({
      file: `${environment.subject}${ENVIRONMENT_FILE}`,
      path: "$.packages",
      message: `environment ${environment.name} has no packages to lock`,
      fix: 'add "packages": {"format": "pip", "lock": "requirements.lock"} and a requirements.in',
    });
  if (!environment.inRepository)
    throw InputError.of({
      file: `${environment.subject}${ENVIRONMENT_FILE}`,
      path: "$",
      message: `environment ${environment.name} is the copy shipped with datomspod, which is not changed in place`,
      fix: `copy it into this repository's environments/${environment.name}/ first`,
    });
  return environment.definition.packages.format === "pip" ? lockPip(environment, cacheDir, log) : lockNpm(environment, cacheDir, log);
}

/** The environment.json of a new environment (pip on python, npm on node). */
export function newEnvironmentDefinition(name: string, base: "python" | "node", requirements: string): Record<string, unknown> {
  return {
    $schema: "../environment.schema.json",
    name,
    description: `${base === "python" ? "Python 3.11" : "Node.js 24"} with the packages of ${requirements}, locked with their hashes.`,
    base,
    image: { repository: `localhost/datomspod/${name}`, tag: "1" },
    interpreters: base === "python" ? [{ command: "python3", language: "python" }] : [{ command: "node", language: "node" }],
    packages:
      base === "python"
        ? { format: "pip", lock: DEFAULT_LOCK, requirements: DEFAULT_REQUIREMENTS }
        : { format: "npm", lock: "package-lock.json", requirements: "package.json" },
  };
}

/**
 * `datomspod env new NAME --from FILE`: environments/NAME/ with environment.json and the
 * requirements copied from FILE (a requirements.txt-style file, or a package.json for node).
 * Refuses to overwrite an existing environment.
 */
export function scaffoldEnvironment(repo: string, name: string, from: string, base: "python" | "node"): string {
  const dir = join(repo, ENVIRONMENTS_DIR, name);
  if (existsSync(join(dir, ENVIRONMENT_FILE)))
    throw InputError.of({
      file: `${ENVIRONMENTS_DIR}/${name}/${ENVIRONMENT_FILE}`,
      path: "$",
      message: "exists already",
      fix: `edit it, or run datomspod env lock ${name}`,
    });
  if (!existsSync(from)) throw InputError.of({ file: from, path: "$", message: "does not exist", fix: "name a requirements file (one package a line)" });
  const text = readFileSync(from, "utf8");
  if (base === "python") {
    const { issues } = parseRequirements(text, basename(from));
    if (issues.length > 0) throw InputError.many(`${from}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`, issues);
  }
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, base === "python" ? DEFAULT_REQUIREMENTS : "package.json"), text.endsWith("\n") ? text : `${text}\n`);
  writeFileAtomic(
    join(dir, ENVIRONMENT_FILE),
    `${JSON.stringify(newEnvironmentDefinition(name, base, base === "python" ? DEFAULT_REQUIREMENTS : "package.json"), null, 2)}\n`,
  );
  return dir;
}
