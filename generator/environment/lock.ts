/**
 * Package locks of compute environments, as data. Pure: text in, packages or problems out.
 *
 * - A pip lock (`requirements.lock`) pins every package that is installed, `name==version`, each
 *   with the sha256 of its wheel (`--hash=sha256:...`). It is installed with `--require-hashes
 *   --only-binary=:all: --no-deps`: nothing outside the lock can be installed, and a changed file
 *   on the index is refused. Anything else a requirements file may hold (URLs, paths, VCS,
 *   editable installs, other indexes, extras, markers, ranges, includes) is refused, with the line
 *   and the fix, so that the lock alone says what runs.
 * - A requirements file (`requirements.in`) is what a user asks for: names with optional version
 *   ranges. `datomspod env lock` resolves it against PyPI into the lock.
 * - An npm lock (`package-lock.json`, lockfileVersion 2 or 3) must give every package a version,
 *   a registry tarball and an sha512 integrity; links, git and file dependencies are refused.
 */

import { createHash } from "node:crypto";
import type { Issue } from "../errors.js";

/** One locked package. */
export interface LockedPackage {
  /** The name as PEP 503 normalises it (lowercase, runs of -_. as one -), or the npm name. */
  readonly name: string;
  readonly version: string;
  /** sha256 hex digests of the files that may be installed (pip), or the npm integrity. */
  readonly hashes: readonly string[];
  /** The line the package starts on (1-based), for messages. */
  readonly line: number;
}

export interface ParsedLock {
  readonly packages: readonly LockedPackage[];
  readonly issues: readonly Issue[];
}

/** PEP 503 normalised name. */
export function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** `name version` of a wheel file name (`{dist}-{version}(-{build})?-{py}-{abi}-{platform}.whl`). */
export function wheelNameVersion(file: string): { name: string; version: string } | undefined {
  if (!file.endsWith(".whl")) return undefined;
  const parts = file.slice(0, -4).split("-");
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  return { name: normaliseName(parts[0] ?? ""), version: parts[1] ?? "" };
}

const NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/** A PEP 440 version as pinned with ==: no wildcards, no local part beyond letters, digits and dots. */
const VERSION = /^[0-9][A-Za-z0-9.+!_-]*$/;
const HASH = /^--hash=sha256:([0-9a-f]{64})$/;

/** Logical lines: comments dropped, backslash continuations joined, with the number of the first physical line. */
function logicalLines(text: string): { text: string; line: number }[] {
  const physical = text.replace(/\r\n/g, "\n").split("\n");
  const lines: { text: string; line: number }[] = [];
  let current: { text: string; line: number } | undefined;
  physical.forEach((raw, i) => {
    // A comment starts at a # at the line's start or after whitespace (pip's rule).
    const withoutComment = raw.replace(/(^|\s)#.*$/, "");
    const continued = /\\\s*$/.test(withoutComment);
    const part = withoutComment.replace(/\\\s*$/, "").trim();
    if (current === undefined) current = { text: part, line: i + 1 };
    else current.text = `${current.text} ${part}`.trim();
    if (!continued) {
      if (current.text !== "") lines.push(current);
      current = undefined;
    }
  });
  if (current !== undefined && current.text !== "") lines.push(current);
  return lines;
}

/** Why a requirement word is not a plain `name==version` (or undefined when it is one). */
function requirementProblem(word: string): { message: string; fix: string } | undefined {
  if (word.startsWith("-"))
    return {
      message: `has the option ${word.split("=")[0]}, which a lock may not hold (only --hash=sha256:...)`,
      fix: "remove it: packages come from PyPI only, as wheels, each pinned with == and its hashes",
    };
  if (/:\/\/|^git\+|^hg\+|^svn\+|^bzr\+|@/.test(word))
    return { message: `names a URL or VCS location (${word})`, fix: "pin a PyPI release instead: name==version with --hash=sha256:..." };
  if (/^[./~]|[\\/]/.test(word) || /\.(whl|tar\.gz|zip|tar\.bz2)$/.test(word))
    return { message: `names a path (${word})`, fix: "pin a PyPI release instead: name==version with --hash=sha256:..." };
  if (word.includes("[")) return { message: `asks for extras (${word})`, fix: "list the packages the extra brings, each pinned with its hash" };
  if (word.includes(";")) return { message: `has an environment marker (${word})`, fix: "a lock is for one platform: drop the marker" };
  const match = /^([^=<>!~ ]+)==([^=]+)$/.exec(word);
  if (match === null) return { message: `is not pinned with == (${word})`, fix: "pin an exact version: name==version" };
  if (!NAME.test(match[1] ?? "")) return { message: `has an invalid package name (${word})`, fix: "use the name as PyPI spells it" };
  if (!VERSION.test(match[2] ?? "") || (match[2] ?? "").includes("*"))
    return { message: `pins an invalid or wildcard version (${word})`, fix: "pin one exact version, e.g. numpy==2.2.6" };
  return undefined;
}

/**
 * Parses and strictly validates a pip lock. `file` names it in issues; every problem is reported
 * (with its line), not only the first.
 */
export function parsePipLock(text: string, file: string): ParsedLock {
  const issues: Issue[] = [];
  const packages: LockedPackage[] = [];
  const seen = new Map<string, number>();
  const issue = (line: number, message: string, fix: string): void => {
    issues.push({ file, path: `line ${line}`, message, fix });
  };
  for (const { text: lineText, line } of logicalLines(text)) {
    // The requirement is everything before the first option; URLs (`name @ https://...`) and
    // markers may hold spaces.
    const optionAt = lineText.search(/\s--?[A-Za-z]/);
    const head = (optionAt < 0 ? lineText : lineText.slice(0, optionAt)).trim();
    const rest = (optionAt < 0 ? "" : lineText.slice(optionAt))
      .trim()
      .split(/\s+/)
      .filter((word) => word !== "");
    const requirement = head;
    const problem = /\s/.test(head) && !head.startsWith("-") ? requirementProblem(head.replace(/\s+/g, "")) : requirementProblem(head);
    if (problem !== undefined) {
      issue(line, problem.message, problem.fix);
      continue;
    }
    const [name = "", version = ""] = requirement.split("==");
    const hashes: string[] = [];
    let bad = false;
    for (const word of rest) {
      const hash = HASH.exec(word);
      if (hash !== null) hashes.push(hash[1] ?? "");
      else {
        bad = true;
        if (/^--hash=/.test(word)) issue(line, `has a hash that is not sha256 with 64 lowercase hex digits (${word})`, "use --hash=sha256:<64 hex digits>");
        else issue(line, `has ${JSON.stringify(word)} after ${requirement}; only --hash=sha256:... may follow a requirement`, "remove it");
      }
    }
    if (bad) continue;
    if (hashes.length === 0) {
      issue(line, `pins ${requirement} without a hash`, "add --hash=sha256:<digest of the wheel> (datomspod env lock writes them)");
      continue;
    }
    if (new Set(hashes).size !== hashes.length) issue(line, `repeats a hash of ${requirement}`, "list each hash once");
    const normalised = normaliseName(name);
    const previous = seen.get(normalised);
    if (previous !== undefined) {
      issue(line, `pins ${normalised} again (first on line ${previous})`, "keep one line per package");
      continue;
    }
    seen.set(normalised, line);
    packages.push({ name: normalised, version, hashes: [...new Set(hashes)], line });
  }
  if (packages.length === 0 && issues.length === 0)
    issues.push({ file, path: "$", message: "pins no package", fix: "run datomspod env lock NAME, or remove packages from environment.json" });
  return { packages, issues };
}

/** One requirement of a requirements file: a name, optional version ranges. */
export interface Requirement {
  readonly name: string;
  readonly specifier: string;
  readonly line: number;
}

const SPECIFIER = /^((~=|==|!=|<=|>=|<|>)\s*[0-9][A-Za-z0-9.*+!_-]*)(\s*,\s*(~=|==|!=|<=|>=|<|>)\s*[0-9][A-Za-z0-9.*+!_-]*)*$/;

/**
 * Parses a requirements file as `datomspod env lock` accepts it: one package a line, a name and
 * optional version ranges (`pandas>=2,<3`), comments. Indexes, URLs, paths, VCS, editable installs,
 * includes, extras and markers are refused: what the lock may hold comes from PyPI, by name.
 */
export function parseRequirements(text: string, file: string): { requirements: Requirement[]; issues: Issue[] } {
  const issues: Issue[] = [];
  const requirements: Requirement[] = [];
  const seen = new Set<string>();
  for (const { text: lineText, line } of logicalLines(text)) {
    const issue = (message: string, fix: string): void => {
      issues.push({ file, path: `line ${line}`, message, fix });
    };
    if (lineText.startsWith("-")) {
      issue(
        `has the option ${lineText.split(/[\s=]/)[0] ?? ""}, which datomspod does not accept here`,
        "list package names (and version ranges) only; packages come from PyPI",
      );
      continue;
    }
    if (/:\/\/|^(git|hg|svn|bzr)\+|@/.test(lineText) || /^[./~]/.test(lineText)) {
      issue(`names a URL, path or VCS location (${lineText})`, "name a package published on PyPI");
      continue;
    }
    if (lineText.includes("[") || lineText.includes(";")) {
      issue(`has extras or an environment marker (${lineText})`, "list the packages themselves; a lock is for one platform");
      continue;
    }
    const match = /^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(.*)$/.exec(lineText);
    const specifier = (match?.[3] ?? "").replace(/\s+/g, "");
    if (match === null || (specifier !== "" && !SPECIFIER.test(specifier))) {
      issue(`is not a package name with optional version ranges (${lineText})`, "write e.g. pandas or pandas>=2.2,<3");
      continue;
    }
    const name = normaliseName(match[1] ?? "");
    if (seen.has(name)) {
      issue(`names ${name} twice`, "keep one line per package");
      continue;
    }
    seen.add(name);
    requirements.push({ name, specifier, line });
  }
  if (requirements.length === 0 && issues.length === 0)
    issues.push({ file, path: "$", message: "names no package", fix: "list the packages the environment needs, one a line" });
  return { requirements, issues };
}

/** A package as `datomspod env lock` resolved it. */
export interface ResolvedPackage {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  /** The wheel's file name. */
  readonly wheel: string;
  /** Whether requirements.in names it (else a dependency). */
  readonly requested: boolean;
}

/** The text of a pip lock: a header, then the packages sorted by name, each with its hash and wheel. */
export function renderPipLock(environment: string, header: readonly string[], packages: readonly ResolvedPackage[]): string {
  const lines = [
    `# The packages of the compute environment ${environment}, written by \`datomspod env lock ${environment}\`.`,
    "# Installed with pip --require-hashes --only-binary=:all: --no-deps: exactly these wheels, nothing else.",
    "# A change here is a new environment: every data owner approves it again.",
    ...header.map((line) => `# ${line}`),
    "",
  ];
  for (const pkg of [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    lines.push(`${pkg.name}==${pkg.version} \\`, `    --hash=sha256:${pkg.sha256}`, `    # ${pkg.requested ? "requested" : "dependency"}; wheel ${pkg.wheel}`);
  }
  return `${lines.join("\n")}\n`;
}

/** sha256 of the lock's meaning: the sorted `name==version hashes` lines (comments and layout do not count). */
export function lockDigest(packages: readonly LockedPackage[]): string {
  const lines = packages.map((p) => `${p.name}==${p.version} ${[...p.hashes].sort().join(" ")}\n`).sort();
  return createHash("sha256").update(lines.join("")).digest("hex");
}

const NPM_INTEGRITY = /^sha512-[A-Za-z0-9+/]{86}==$/;

/**
 * Parses an npm package-lock.json (lockfileVersion 2 or 3): every installed package (every
 * `packages` entry but the root) must have a version, a tarball from the npm registry and an
 * sha512 integrity; links, git, file and remote tarball dependencies are refused.
 */
export function parseNpmLock(text: string, file: string): ParsedLock {
  const issues: Issue[] = [];
  const packages: LockedPackage[] = [];
  let lock: unknown;
  try {
    lock = JSON.parse(text);
  } catch (error) {
    return {
      packages,
      issues: [{ file, path: "$", message: `is not JSON: ${(error as Error).message}`, fix: "regenerate it with npm install --package-lock-only" }],
    };
  }
  const root = lock as { lockfileVersion?: unknown; packages?: Record<string, unknown> };
  if (root.lockfileVersion !== 2 && root.lockfileVersion !== 3)
    issues.push({ file, path: "$.lockfileVersion", message: `is ${JSON.stringify(root.lockfileVersion)}`, fix: "use npm 7 or later (lockfileVersion 2 or 3)" });
  if (typeof root.packages !== "object" || root.packages === null) {
    issues.push({ file, path: "$.packages", message: "is missing", fix: "regenerate it with npm install --package-lock-only" });
    return { packages, issues };
  }
  for (const [path, value] of Object.entries(root.packages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (path === "") continue;
    const at = `$.packages[${JSON.stringify(path)}]`;
    const entry = value as { version?: unknown; resolved?: unknown; integrity?: unknown; link?: unknown; dev?: unknown };
    const name = path.replace(/^.*node_modules\//, "");
    if (entry.link === true) {
      issues.push({ file, path: at, message: "is a link to a folder", fix: "depend on a published npm release" });
      continue;
    }
    if (typeof entry.version !== "string" || !/^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$/.test(entry.version)) {
      issues.push({
        file,
        path: `${at}.version`,
        message: `is ${JSON.stringify(entry.version)}, not a published version`,
        fix: "depend on a published npm release",
      });
      continue;
    }
    // No `resolved`: npm wrote the lock with omit-lockfile-registry-resolved; the integrity still pins the bytes.
    if (entry.resolved !== undefined && (typeof entry.resolved !== "string" || !entry.resolved.startsWith("https://registry.npmjs.org/"))) {
      issues.push({
        file,
        path: `${at}.resolved`,
        message: `is ${JSON.stringify(entry.resolved)}, not a tarball of the npm registry`,
        fix: "depend on a published npm release (no git, file or URL dependencies)",
      });
      continue;
    }
    if (typeof entry.integrity !== "string" || !NPM_INTEGRITY.test(entry.integrity)) {
      issues.push({ file, path: `${at}.integrity`, message: "is not an sha512 integrity", fix: "regenerate the lock with npm 7 or later" });
      continue;
    }
    if (entry.dev === true) continue;
    packages.push({ name, version: entry.version, hashes: [entry.integrity], line: 0 });
  }
  return { packages, issues };
}
