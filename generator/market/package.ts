/**
 * The algorithm market (seed: 算法市场): reusable algorithm packages in git,
 *
 *   algorithms/<name>/<version>/algorithm.json            the manifest (algorithms/algorithm.schema.json)
 *   algorithms/<name>/<version>/<code>                    the code the manifest names ($ALGO)
 *   algorithms/<name>/<version>/parameters.schema.json    the parameters the algorithm takes (JSON Schema)
 *   algorithms/<name>/<version>/README.md                 what it does, for the data owners who review it
 *   algorithms/<name>/<version>/author.json               the author's EIP-712 signature over the package digest
 *   algorithms/<name>/<version>/approvals/<address>.json  a data owner's approval for their datasets, with limits
 *   algorithms/<name>/<version>/revocations/<address>.<time>.json  a data owner's revocation of their approval
 *
 * A package is content-addressed: its digest is sha256 over the RFC 8785 JSON of {path: sha256}
 * of every file in the folder except the signature, approvals and revocations (which sign the
 * digest). Any file changed, added or removed is another digest, which no signature covers.
 */

import { existsSync, lstatSync, readFileSync, readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { ValidateFunction } from "ajv";
import { getAddress } from "ethers";
import { InputError, type Issue } from "../errors.js";
import { canonicalize, sha256Hex } from "../contract/canonical.js";
import { newAjv, validateAgainst } from "../contract/schema.js";
import { isChecksummedAddress } from "../contract/rules.js";
import { loadEnvironment, type Environment } from "../environment/environment.js";
import { parseEntrypoint } from "../environment/entrypoint.js";
import { display, readJsonFile, readRegularFile } from "../repo/files.js";
import { packageFile } from "../repo/package-root.js";
import { verifyRecord } from "../signatures/records.js";
import { algorithmDomainId, toBytes32, type RecordMessage } from "../signatures/typed-data.js";

export const ALGORITHMS_DIR = "algorithms";
export const MANIFEST_FILE = "algorithm.json";
export const PARAMETERS_FILE = "parameters.schema.json";
export const README_FILE = "README.md";
export const AUTHOR_FILE = "author.json";
export const APPROVALS_FOLDER = "approvals";
export const REVOCATIONS_FOLDER = "revocations";
export const ALGORITHM_SCHEMA_FILE = "algorithms/algorithm.schema.json";

/** Entries of a package folder that sign its digest, and so are not part of it. */
const SIGNING_ENTRIES: readonly string[] = [AUTHOR_FILE, APPROVALS_FOLDER, REVOCATIONS_FOLDER];
const NAME = /^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$/;
const MAX_FILES = 256;
const MAX_FILE_BYTES = 16 * 1024 * 1024;

export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly title: string;
  readonly description: string;
  /** The author's checksummed address: who signs author.json. */
  readonly author: string;
  /** The environment by name and the digest of its folder (its locked packages) when published. */
  readonly environment: { readonly name: string; readonly digest: string };
  /** The command line, as in a contract: an interpreter of the environment, $ALGO, arguments. */
  readonly entrypoint: string;
  /** The code file ($ALGO), a file of the package. */
  readonly code: string;
}

export interface AlgorithmPackage {
  readonly name: string;
  readonly version: string;
  /** `name@version`, as records and messages name it. */
  readonly ref: string;
  /** Absolute folder. */
  readonly dir: string;
  /** The folder as messages name it: `algorithms/<name>/<version>/`. */
  readonly subject: string;
  readonly manifest: Manifest;
  /** sha256 hex of every file of the package (see the module comment). */
  readonly digest: string;
  /** Relative path → sha256 hex, sorted by path. */
  readonly files: Readonly<Record<string, string>>;
}

export function packageDir(repo: string, name: string, version: string): string {
  return join(repo, ALGORITHMS_DIR, name, version);
}

/** `name@version` → [name, version], or undefined when it is not one. */
export function parsePackageRef(ref: string): { name: string; version: string } | undefined {
  const at = ref.lastIndexOf("@");
  if (at <= 0) return undefined;
  const name = ref.slice(0, at);
  const version = ref.slice(at + 1);
  return NAME.test(name) && NAME.test(version) && name.length <= 63 && version.length <= 63 ? { name, version } : undefined;
}

export function assertPackageRef(ref: string): { name: string; version: string } {
  const parsed = parsePackageRef(ref);
  if (parsed === undefined)
    throw InputError.of({
      file: "command line",
      path: "$",
      message: `${JSON.stringify(ref)} is not NAME@VERSION`,
      fix: "name a package as e.g. hospital-stats@1.0.0 (lower-case letters, digits, '-', '.', '_')",
    });
  return parsed;
}

/** The packages of the repository as [name, version], sorted. */
export function listPackages(repo: string): { name: string; version: string }[] {
  const root = join(repo, ALGORITHMS_DIR);
  if (!existsSync(root)) return [];
  const out: { name: string; version: string }[] = [];
  for (const name of readdirSync(root, { withFileTypes: true })) {
    if (!name.isDirectory() || !NAME.test(name.name)) continue;
    for (const version of readdirSync(join(root, name.name), { withFileTypes: true })) {
      if (version.isDirectory() && existsSync(join(root, name.name, version.name, MANIFEST_FILE))) out.push({ name: name.name, version: version.name });
    }
  }
  return out.sort((a, b) => (a.name === b.name ? (a.version < b.version ? -1 : 1) : a.name < b.name ? -1 : 1));
}

/**
 * The files of a package folder and their sha256, signing entries left out. Symbolic links,
 * special files, too many or too large files are issues: what a reviewer reads must be what runs.
 */
export function packageFiles(dir: string, subject: string, issues: Issue[]): Record<string, string> {
  const files: Record<string, string> = {};
  let count = 0;
  const walk = (folder: string, top: boolean): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (top && SIGNING_ENTRIES.includes(entry.name)) continue;
      const path = join(folder, entry.name);
      const rel = relative(dir, path).split(sep).join("/");
      if (entry.isSymbolicLink()) {
        issues.push({ file: `${subject}${rel}`, path: "$", message: "is a symbolic link", fix: "commit the file itself, not a link" });
      } else if (entry.isDirectory()) walk(path, false);
      else if (++count > MAX_FILES) {
        if (count === MAX_FILES + 1) issues.push({ file: subject, path: "$", message: `has more than ${MAX_FILES} files`, fix: "keep a package small" });
      } else {
        try {
          files[rel] = sha256Hex(readRegularFile(path, `${subject}${rel}`, MAX_FILE_BYTES));
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          issues.push(...error.issues);
        }
      }
    }
  };
  walk(dir, true);
  return files;
}

/** The package digest of a {path: sha256} map. */
export function digestOfFiles(files: Readonly<Record<string, string>>): string {
  return sha256Hex(canonicalize(files));
}

let manifestValidator: ValidateFunction | undefined;

function validateManifest(value: unknown, file: string): Issue[] {
  manifestValidator ??= newAjv().compile(JSON.parse(readFileSync(packageFile(ALGORITHM_SCHEMA_FILE), "utf8")) as object);
  return validateAgainst(manifestValidator, value, file);
}

/**
 * Loads package `name@version`: its manifest (schema, folder name, required files) and its digest.
 * Throws InputError with every problem found. The author's signature is verified apart
 * (`verifyAuthor`), so that `algorithm publish` can load a package that is not signed yet.
 */
export function loadPackage(repo: string, name: string, version: string, source?: { file: string; path: string }): AlgorithmPackage {
  const dir = packageDir(repo, name, version);
  const subject = `${ALGORITHMS_DIR}/${name}/${version}/`;
  const ref = `${name}@${version}`;
  if (!NAME.test(name) || !NAME.test(version) || !existsSync(join(dir, MANIFEST_FILE))) {
    throw InputError.of({
      file: source?.file ?? subject,
      path: source?.path ?? "$",
      message: `names the algorithm package ${ref}, which is not in ${subject}`,
      fix: "commit the package (datomspod algorithm new, then publish) or name an existing one (datomspod algorithm list)",
    });
  }
  for (const path of [join(repo, ALGORITHMS_DIR), join(repo, ALGORITHMS_DIR, name), dir]) {
    if (lstatSync(path).isSymbolicLink())
      throw InputError.of({ file: display(repo, path), path: "$", message: "is a symbolic link", fix: "commit the folder itself, not a link" });
  }
  const manifestFile = `${subject}${MANIFEST_FILE}`;
  const value = readJsonFile(join(dir, MANIFEST_FILE), manifestFile, 64 * 1024);
  const issues = validateManifest(value, manifestFile);
  const files = packageFiles(dir, subject, issues);
  if (issues.length === 0) {
    const manifest = value as unknown as Manifest;
    if (manifest.name !== name || manifest.version !== version)
      issues.push({
        file: manifestFile,
        path: "$.name",
        message: `says ${manifest.name}@${manifest.version} but the folder is ${subject}`,
        fix: `move the package to algorithms/${manifest.name}/${manifest.version}/ or correct the manifest`,
      });
    if (!isChecksummedAddress(manifest.author))
      issues.push({
        file: manifestFile,
        path: "$.author",
        message: "is not an EIP-55 checksummed address",
        fix: `write ${getAddress(manifest.author.toLowerCase())}`,
      });
    for (const [path, required] of [
      ["$.code", manifest.code],
      ["$", PARAMETERS_FILE],
      ["$", README_FILE],
    ] as const) {
      if (files[required] === undefined)
        issues.push({
          file: `${subject}${required}`,
          path: "$",
          message: `is missing (${path === "$" ? "every package has one" : "the manifest's code"})`,
          fix: `commit ${subject}${required}`,
        });
    }
  }
  if (issues.length > 0) throw InputError.many(`${subject}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`, issues);
  return { name, version, ref, dir, subject, manifest: value as unknown as Manifest, digest: digestOfFiles(files), files };
}

export function authorMessage(pkg: Pick<AlgorithmPackage, "ref" | "digest">): RecordMessage {
  return { package: pkg.ref, packageDigest: toBytes32(pkg.digest) };
}

/**
 * The author's signature (author.json) over the package digest: signed by the manifest's author,
 * on any chain (the domain is the package's). Returns every problem; empty means signed.
 */
export function verifyAuthor(pkg: AlgorithmPackage): Issue[] {
  const path = join(pkg.dir, AUTHOR_FILE);
  const file = `${pkg.subject}${AUTHOR_FILE}`;
  if (!existsSync(path))
    return [{ file, path: "$", message: `package ${pkg.ref} is not signed by its author`, fix: `datomspod algorithm publish ${pkg.ref} --key <author's key>` }];
  let value: unknown;
  try {
    value = readJsonFile(path, file, 64 * 1024);
  } catch (error) {
    if (error instanceof InputError) return [...error.issues];
    throw error;
  }
  const chainId = (value as { chainId?: unknown } | null)?.chainId;
  const issues = verifyRecord(
    value,
    { kind: "package", contractId: algorithmDomainId(pkg.name, pkg.version), chainId: typeof chainId === "number" ? chainId : 0, message: authorMessage(pkg) },
    file,
  );
  const signer = (value as { signer?: unknown } | null)?.signer;
  if (issues.length === 0 && String(signer) !== pkg.manifest.author)
    issues.push({
      file,
      path: "$.signer",
      message: `is ${String(signer)}, not the author ${pkg.manifest.author} the manifest names`,
      fix: "the author publishes the package with their own key",
    });
  return issues;
}

/** The code file of a package (the manifest's `code`), read again. */
export function packageCode(pkg: AlgorithmPackage): Buffer {
  return readRegularFile(join(pkg.dir, pkg.manifest.code), `${pkg.subject}${pkg.manifest.code}`, MAX_FILE_BYTES);
}

/**
 * Checks what a package stands for against the repository: its environment exists and has the
 * digest the package pins (its locked packages did not change), and its entrypoint is one the
 * environment allows. Returns the environment when it loads.
 */
export function checkPackageEnvironment(repo: string, pkg: AlgorithmPackage, issues: Issue[]): Environment | undefined {
  const file = `${pkg.subject}${MANIFEST_FILE}`;
  let environment: Environment;
  try {
    environment = loadEnvironment(repo, pkg.manifest.environment.name, { file, path: "$.environment.name" });
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    issues.push(...error.issues);
    return undefined;
  }
  if (`sha256:${environment.digest}` !== pkg.manifest.environment.digest)
    issues.push({
      file,
      path: "$.environment.digest",
      message: `pins ${pkg.manifest.environment.digest}, but ${environment.subject} is now sha256:${environment.digest} (its packages or image changed)`,
      fix: "publish a new version of the package for the current environment, and have it approved",
    });
  const parsed = parseEntrypoint(pkg.manifest.entrypoint, environment);
  for (const problem of parsed.problems) issues.push({ file, path: "$.entrypoint", message: problem.message, fix: problem.fix });
  return environment;
}

/** The JSON Schema of the package's parameters, parsed (it is a file of the package, so covered by the digest). */
export function parameterSchema(pkg: AlgorithmPackage): unknown {
  return readJsonFile(join(pkg.dir, PARAMETERS_FILE), `${pkg.subject}${PARAMETERS_FILE}`, 256 * 1024);
}

const parameterValidators = new Map<string, ValidateFunction>();

/** Validates parameters against the package's parameter schema; issues are reported at `where`. */
export function checkParameters(pkg: AlgorithmPackage, parameters: Record<string, unknown>, where: { file: string; path: string }): Issue[] {
  let validate = parameterValidators.get(pkg.digest);
  try {
    // Keyed by the package digest, which covers the schema file: a changed schema is another key.
    validate ??= newAjv().compile(parameterSchema(pkg) as object);
    parameterValidators.set(pkg.digest, validate);
  } catch (error) {
    if (error instanceof InputError) return [...error.issues];
    return [
      {
        file: `${pkg.subject}${PARAMETERS_FILE}`,
        path: "$",
        message: `is not a valid JSON Schema: ${(error as Error).message}`,
        fix: "correct it and publish a new version",
      },
    ];
  }
  return validateAgainst(validate, parameters, where.file).map((issue) => ({
    ...issue,
    path: issue.path === "$" ? where.path : `${where.path}${issue.path.slice(1)}`,
    message: `${issue.message} (the parameters ${pkg.subject}${PARAMETERS_FILE} allows)`,
  }));
}
