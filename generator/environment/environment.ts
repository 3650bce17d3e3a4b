/**
 * Compute environments (environments/<name>/): a reviewed definition of what an algorithm runs
 * in — a base image, the packages locked with their hashes, the image it builds to, and the
 * interpreters an entrypoint may name. The digest of the whole folder is part of every data
 * owner's approval, so an approval shows (and pins) which packages run; a changed lock is a new
 * environment that must be approved again.
 *
 * A repository's own environments/<name>/ is used when it has one; otherwise the copy shipped
 * with datomspod. Either way the digest is of the folder that was read, and it is evidence.
 */

import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { ValidateFunction } from "ajv";
import { InputError, type Issue } from "../errors.js";
import { compileSchema, validateAgainst } from "../contract/schema.js";
import { directoryDigest } from "../evidence/digest.js";
import { display, readJsonFile, readRegularFile } from "../repo/files.js";
import { parseNpmLock, parsePipLock } from "./lock.js";
import { packageFile } from "../repo/package-root.js";

export const ENVIRONMENTS_DIR = "environments";
export const ENVIRONMENT_FILE = "environment.json";
export const ENVIRONMENT_SCHEMA_FILE = "environments/environment.schema.json";
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export type InterpreterLanguage = "python" | "node";

export interface Interpreter {
  readonly command: string;
  readonly language: InterpreterLanguage;
  /** Modules `-m` may run (python). */
  readonly modules?: readonly string[];
}

export interface EnvironmentDefinition {
  readonly name: string;
  readonly description: string;
  readonly base: "python" | "node";
  readonly image: { readonly repository: string; readonly tag: string; readonly digest?: string };
  readonly interpreters: readonly Interpreter[];
  readonly packages?: {
    readonly format: "pip" | "npm";
    readonly lock: string;
    readonly requirements?: string;
    readonly dependencies?: "resolve" | "listed";
  };
  /** Debian packages whose shared libraries the image adds to the base. */
  readonly system?: readonly string[];
  readonly gpu?: boolean;
}

export interface Environment {
  readonly name: string;
  /** Absolute folder the definition was read from. */
  readonly dir: string;
  /** The folder as evidence and messages name it: `environments/<name>/`. */
  readonly subject: string;
  /** Whether the repository holds it (false: the copy shipped with datomspod). */
  readonly inRepository: boolean;
  readonly definition: EnvironmentDefinition;
  /** sha256 of the folder (every file's sha256 by relative path, RFC 8785): what an approval pins. */
  readonly digest: string;
  /** The locked packages (none for a base environment), sorted by name, as the lock pins them. */
  readonly packages: readonly EnvironmentPackage[];
  /** sha256 of the lock file's bytes, when there is one. */
  readonly lockSha256?: string;
}

/** A package an environment installs: what approvals and policies see. */
export interface EnvironmentPackage {
  readonly name: string;
  readonly version: string;
}

let validator: ValidateFunction | undefined;

function validate(value: unknown, file: string): Issue[] {
  validator ??= compileSchema(JSON.parse(readFileSync(packageFile(ENVIRONMENT_SCHEMA_FILE), "utf8")) as object);
  return validateAgainst(validator, value, file);
}

/** The folder of environment `name`: the repository's, else the one shipped with datomspod, else undefined. */
export function environmentDir(repo: string, name: string): { dir: string; inRepository: boolean } | undefined {
  if (!NAME.test(name)) return undefined;
  const own = join(repo, ENVIRONMENTS_DIR, name);
  if (existsSync(join(own, ENVIRONMENT_FILE))) return { dir: own, inRepository: true };
  const shipped = packageFile(ENVIRONMENTS_DIR, name);
  if (existsSync(join(shipped, ENVIRONMENT_FILE))) return { dir: shipped, inRepository: false };
  return undefined;
}

/** Names of the environments the repository and datomspod provide, sorted. */
export function environmentNames(repo: string): string[] {
  const names = new Set<string>();
  for (const root of [join(repo, ENVIRONMENTS_DIR), packageFile(ENVIRONMENTS_DIR)]) {
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      if (entry.isDirectory() && NAME.test(entry.name) && existsSync(join(root, entry.name, ENVIRONMENT_FILE))) names.add(entry.name);
    }
  }
  return [...names].sort();
}

/**
 * Loads and validates environment `name` and its lock. `source` names where it was asked for (e.g.
 * the contract file and path) so that an unknown name is reported there. With `lock: false` the
 * lock is not read (`datomspod env lock`, which writes it).
 */
export function loadEnvironment(repo: string, name: string, source: { file: string; path: string }, options: { readonly lock?: boolean } = {}): Environment {
  const found = environmentDir(repo, name);
  if (found === undefined) {
    const known = environmentNames(repo);
    throw InputError.of({
      file: source.file,
      path: source.path,
      message: `names the environment ${JSON.stringify(name)}, which neither environments/${name}/ nor datomspod provides`,
      fix: `use one of ${known.join(", ") || "(none)"}, or add environments/${name}/environment.json (see docs/environments.md)`,
    });
  }
  const path = join(found.dir, ENVIRONMENT_FILE);
  const subject = `${ENVIRONMENTS_DIR}/${name}/`;
  const file = found.inRepository ? display(repo, path) : `${subject}${ENVIRONMENT_FILE}`;
  const value = readJsonFile(path, file, 256 * 1024);
  const issues = validate(value, file);
  const definition = value as unknown as EnvironmentDefinition;
  if (issues.length === 0) {
    if (definition.name !== name)
      issues.push({
        file,
        path: "$.name",
        message: `is ${JSON.stringify(definition.name)} but the folder is ${JSON.stringify(name)}`,
        fix: `set name to ${JSON.stringify(name)}`,
      });
    const languages = new Set(definition.interpreters.map((i) => i.language));
    definition.interpreters.forEach((interpreter, i) => {
      if (interpreter.modules !== undefined && interpreter.language !== "python")
        issues.push({ file, path: `$.interpreters[${i}].modules`, message: "only python interpreters run modules with -m", fix: "remove modules" });
    });
    if (!languages.has(definition.base))
      issues.push({
        file,
        path: "$.interpreters",
        message: `declares no ${definition.base} interpreter for its ${definition.base} base`,
        fix: "declare the base's interpreter",
      });
  }
  const lock = issues.length === 0 && options.lock !== false ? readLock(found.dir, subject, definition, file, issues) : undefined;
  if (issues.length > 0) throw InputError.many(`${file}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`, issues);
  return {
    name,
    dir: found.dir,
    subject,
    inRepository: found.inRepository,
    definition,
    digest: directoryDigest(found.dir, subject),
    packages: lock?.packages ?? [],
    ...(lock !== undefined ? { lockSha256: lock.sha256 } : {}),
  };
}

/** Reads and strictly validates the environment's lock (its problems go to `issues`). */
function readLock(
  dir: string,
  subject: string,
  definition: EnvironmentDefinition,
  file: string,
  issues: Issue[],
): { packages: EnvironmentPackage[]; sha256: string } | undefined {
  const packages = definition.packages;
  if (packages === undefined) return undefined;
  const language = packages.format === "pip" ? "python" : "node";
  if (definition.base !== language) {
    issues.push({
      file,
      path: "$.packages.format",
      message: `is ${packages.format}, which a ${definition.base} base cannot install`,
      fix: `use base ${language}`,
    });
    return undefined;
  }
  const path = join(dir, packages.lock);
  if (!existsSync(path)) {
    issues.push({
      file,
      path: "$.packages.lock",
      message: `names ${packages.lock}, which is not in ${subject}`,
      fix: "commit the lock file beside environment.json (datomspod env lock writes it)",
    });
    return undefined;
  }
  if (packages.format === "npm" && !existsSync(join(dir, "package.json")))
    issues.push({ file, path: "$.packages", message: `an npm lock needs package.json beside it in ${subject}`, fix: "commit package.json" });
  const bytes = readRegularFile(path, `${subject}${packages.lock}`, 8 * 1024 * 1024);
  const parsed =
    packages.format === "pip"
      ? parsePipLock(bytes.toString("utf8"), `${subject}${packages.lock}`)
      : parseNpmLock(bytes.toString("utf8"), `${subject}${packages.lock}`);
  issues.push(...parsed.issues);
  const unique = new Map(parsed.packages.map((p) => [`${p.name}@${p.version}`, { name: p.name, version: p.version }]));
  return {
    packages: [...unique.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0)),
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

/** `repository@digest` of the environment's image, when the definition pins one. */
export function environmentImage(environment: Environment): string | undefined {
  const { repository, digest } = environment.definition.image;
  return digest === undefined ? undefined : `${repository}@${digest}`;
}
