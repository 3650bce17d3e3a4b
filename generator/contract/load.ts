/**
 * Loading a contract from the repository: strict JSON, the schema, the cross-field rules, and the
 * canonical hash every signature covers. All issues are collected before anything is thrown.
 */

import { existsSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { InputError, type Issue } from "../errors.js";
import { contractDir, contractFile } from "../repo/layout.js";
import { display, readJsonFile, readRegularFile } from "../repo/files.js";
import { canonicalize, sha256Hex } from "./canonical.js";
import { checkContractRules } from "./rules.js";
import { validateContractSchema } from "./schema.js";
import type { Contract } from "./types.generated.js";

export interface LoadedContract {
  readonly id: string;
  /** Absolute folder of the contract. */
  readonly dir: string;
  /** contract.json as shown in messages (relative to the repository). */
  readonly file: string;
  readonly contract: Contract;
  /** sha256 (hex, no prefix) of the RFC 8785 form of the contract without "$schema". */
  readonly hash: string;
}

/** The signed content: the contract without its editor-only "$schema" member. */
export function signedContent(contract: Contract): Omit<Contract, "$schema"> {
  const { $schema: _ignored, ...content } = contract;
  return content;
}

export function contractHash(contract: Contract): string {
  return sha256Hex(canonicalize(signedContent(contract)));
}

/** Validates a parsed document as the contract in folder `folderId`; returns every issue found. */
export function validateContract(value: unknown, file: string, folderId: string): Issue[] {
  const schemaIssues = validateContractSchema(value, file);
  if (schemaIssues.length > 0) return schemaIssues;
  return checkContractRules(value as Contract, file, folderId);
}

/**
 * Symbolic links at or inside a contract folder: a linked folder or file can show a reviewer one
 * thing and the tool another, or lead outside the repository, so none is allowed.
 */
export function symlinkIssues(repo: string, dir: string): Issue[] {
  const links: string[] = [];
  for (const path of [join(repo, "contracts"), dir]) {
    if (existsSync(path) && lstatSync(path).isSymbolicLink()) links.push(path);
  }
  if (links.length === 0 && existsSync(dir)) {
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isSymbolicLink()) links.push(join(entry.parentPath, entry.name));
    }
  }
  return links
    .sort()
    .map((link) => ({ file: display(repo, link), path: "$", message: "is a symbolic link", fix: "commit the file or folder itself, not a link" }));
}

export function loadContract(repo: string, id: string): LoadedContract {
  const path = contractFile(repo, id);
  const file = display(repo, path);
  const links = symlinkIssues(repo, contractDir(repo, id));
  if (links.length > 0) throw InputError.many(`contracts/${id}: symbolic links are not allowed`, links);
  const value = readJsonFile(path, file);
  const issues = validateContract(value, file, id);
  if (issues.length > 0) throw InputError.many(`${file}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`, issues);
  const contract = value as unknown as Contract;
  return { id, dir: contractDir(repo, id), file, contract, hash: contractHash(contract) };
}

/** The algorithm code as committed, or an issue when it is missing or differs from the contract. */
export function checkAlgorithmCode(repo: string, loaded: LoadedContract): Issue[] {
  const { code, package: pkg } = loaded.contract.inputs.algorithm;
  let path: string;
  if (code.path !== undefined) path = join(loaded.dir, code.path);
  else if (code.packageFile !== undefined && pkg !== undefined) path = join(repo, "algorithms", pkg.name, pkg.version, code.packageFile);
  else return [];
  const shown = display(repo, path);
  let bytes: Buffer;
  try {
    // Read a little more than the contract says, so that a changed file is reported as changed.
    bytes = readRegularFile(path, shown, Math.max(code.size + 1, 16 * 1024 * 1024));
  } catch (error) {
    if (error instanceof InputError) return error.issues.map((issue) => ({ ...issue, fix: issue.fix ?? "commit the algorithm file named in the contract" }));
    throw error;
  }
  const actual = sha256Hex(bytes);
  const issues: Issue[] = [];
  if (actual !== code.sha256) {
    issues.push({
      file: loaded.file,
      path: "$.inputs.algorithm.code.sha256",
      message: `does not match ${shown} (its sha256 is ${actual})`,
      fix: "the code changed after the contract was written: restore it, or update the contract and sign it again",
    });
  }
  if (bytes.length !== code.size) {
    issues.push({
      file: loaded.file,
      path: "$.inputs.algorithm.code.size",
      message: `is ${code.size} but ${shown} has ${bytes.length} bytes`,
      fix: "set the real size",
    });
  }
  return issues;
}
