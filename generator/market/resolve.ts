/**
 * A contract that names an algorithm package (`inputs.algorithm.package`) gets its code from the
 * package, never from a copy: the package is loaded, its digest recomputed from every file and
 * compared with the digest the contract pins, its author's signature verified, its environment
 * checked against the digest it was published for, and the contract's environment, entrypoint
 * and code entry compared with the manifest. Any difference fails closed, naming the file.
 */

import { InputError, type Issue } from "../errors.js";
import type { LoadedContract } from "../contract/load.js";
import { sha256Hex } from "../contract/canonical.js";
import { checkPackageEnvironment, checkParameters, loadPackage, packageCode, verifyAuthor, type AlgorithmPackage } from "./package.js";

export interface ResolvedPackage {
  readonly package?: AlgorithmPackage;
  /** The code file's bytes, read from the package (set only when there is no issue). */
  readonly code?: Uint8Array;
  readonly issues: Issue[];
}

export function resolvePackage(repo: string, loaded: LoadedContract): ResolvedPackage {
  const algorithm = loaded.contract.inputs.algorithm;
  const ref = algorithm.package;
  if (ref === undefined) return { issues: [] };
  const file = loaded.file;
  let pkg: AlgorithmPackage;
  try {
    pkg = loadPackage(repo, ref.name, ref.version, { file, path: "$.inputs.algorithm.package" });
  } catch (error) {
    if (error instanceof InputError) return { issues: [...error.issues] };
    throw error;
  }
  const issues: Issue[] = [];
  if (ref.digest !== `sha256:${pkg.digest}`) {
    issues.push({
      file,
      path: "$.inputs.algorithm.package.digest",
      message: `is ${ref.digest}, but the files of ${pkg.subject} give sha256:${pkg.digest} (a file of the package was changed, added or removed)`,
      fix: `restore the package from git; a changed algorithm is a new version: publish it and name its digest here`,
    });
    return { package: pkg, issues };
  }
  issues.push(...verifyAuthor(pkg));
  checkPackageEnvironment(repo, pkg, issues);
  const manifest = pkg.manifest;
  const manifestFile = `${pkg.subject}algorithm.json`;
  if (algorithm.environment !== manifest.environment.name)
    issues.push({
      file,
      path: "$.inputs.algorithm.environment",
      message: `is ${JSON.stringify(algorithm.environment)}, but ${manifestFile} runs in ${JSON.stringify(manifest.environment.name)}`,
      fix: `use the package's environment (datomspod algorithm use ${pkg.ref} ${loaded.id})`,
    });
  if (algorithm.container.entrypoint !== manifest.entrypoint)
    issues.push({
      file,
      path: "$.inputs.algorithm.container.entrypoint",
      message: `is ${JSON.stringify(algorithm.container.entrypoint)}, but ${manifestFile} runs ${JSON.stringify(manifest.entrypoint)}`,
      fix: `use the package's entrypoint (datomspod algorithm use ${pkg.ref} ${loaded.id})`,
    });
  if (algorithm.code.packageFile !== manifest.code)
    issues.push({
      file,
      path: "$.inputs.algorithm.code.packageFile",
      message: `is ${JSON.stringify(algorithm.code.packageFile)}, but the code of ${pkg.ref} is ${JSON.stringify(manifest.code)}`,
      fix: `set it to ${JSON.stringify(manifest.code)}`,
    });
  let code: Buffer | undefined;
  try {
    code = packageCode(pkg);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    issues.push(...error.issues);
  }
  if (code !== undefined && (sha256Hex(code) !== algorithm.code.sha256 || code.length !== algorithm.code.size))
    issues.push({
      file,
      path: "$.inputs.algorithm.code",
      message: `says sha256 ${algorithm.code.sha256} and ${algorithm.code.size} bytes, but ${pkg.subject}${manifest.code} has sha256 ${sha256Hex(code)} and ${code.length} bytes`,
      fix: `copy the package's code entry (datomspod algorithm use ${pkg.ref} ${loaded.id})`,
    });
  issues.push(...checkParameters(pkg, algorithm.parameters ?? {}, { file, path: "$.inputs.algorithm.parameters" }));
  return issues.length > 0 ? { package: pkg, issues } : { package: pkg, code, issues };
}
