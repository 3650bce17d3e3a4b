/**
 * `datomspod contract fill ID`: the sha256 and size of every data file (read where the contract's
 * location says: a hostPath folder on this machine) and of the algorithm code, written into the
 * contract. Works on a contract that is still being written (it reads the JSON, not the validated
 * contract), refuses every file it cannot read (all of them reported at once, nothing written), and
 * says which signatures and approvals the change leaves behind: they were over the old contract and
 * no longer count; nothing is deleted.
 */

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { InputError, type Issue } from "../errors.js";
import { display, readJsonFile, toJsonText, writeFileAtomic } from "../repo/files.js";
import { contractDir, contractFile } from "../repo/layout.js";
import { OpenFileError, hashFile, type FileDigest } from "../pod/roles/checksum.js";
import { canonicalize, sha256Hex } from "./canonical.js";

type Json = Record<string, unknown>;

export interface FilledValue {
  /** JSON path in the contract, e.g. `$.inputs.data[0].files[0]`. */
  readonly path: string;
  /** The file that was read, as shown. */
  readonly file: string;
  readonly before: { readonly sha256: unknown; readonly size: unknown };
  readonly after: FileDigest;
}

export interface FillResult {
  readonly file: string;
  readonly changed: readonly FilledValue[];
  readonly unchanged: readonly FilledValue[];
  /** Signature and approval files made over the contract as it was (when it changed). */
  readonly invalidated: readonly string[];
  readonly hashBefore: string;
  readonly hashAfter: string;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hashOf(contract: Json): string {
  const { $schema: _ignored, ...content } = contract;
  return sha256Hex(canonicalize(content));
}

const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;

function digestOf(path: string, shown: string, where: { file: string; path: string }): FileDigest | Issue {
  try {
    return hashFile(path);
  } catch (error) {
    const problem = error instanceof OpenFileError ? error.message : ((error as NodeJS.ErrnoException).code ?? String(error));
    return {
      ...where,
      message: `cannot read ${shown}: ${problem}`,
      fix:
        error instanceof OpenFileError && error.problem === "missing"
          ? "put the file there first (a data owner: `datomspod data place ID --from DIR`), or correct the name or location"
          : "make it a regular file this user can read (symbolic links are refused)",
    };
  }
}

/** Fills the digests of contract `id` in `repo`; writes contract.json only when something changed. */
export function fillContract(repo: string, id: string): FillResult {
  const path = contractFile(repo, id);
  const file = display(repo, path);
  const value = readJsonFile(path, file);
  if (!isObject(value)) throw InputError.of({ file, path: "$", message: "is not a JSON object", fix: "start from `datomspod contract new`" });
  const contract = structuredClone(value);
  const issues: Issue[] = [];
  const filled: FilledValue[] = [];
  const inputs = contract["inputs"];
  const data = isObject(inputs) ? inputs["data"] : undefined;
  if (!Array.isArray(data)) issues.push({ file, path: "$.inputs.data", message: "is not a list of datasets", fix: "see contracts/contract.schema.json" });
  else {
    data.forEach((asset: unknown, i) => {
      const at = `$.inputs.data[${i}]`;
      const location = isObject(asset) ? asset["location"] : undefined;
      const files = isObject(asset) ? asset["files"] : undefined;
      if (!isObject(location) || !Array.isArray(files)) {
        issues.push({ file, path: at, message: "has no location and files", fix: "see contracts/contract.schema.json" });
        return;
      }
      if (location["kind"] !== "hostPath" || typeof location["path"] !== "string" || !location["path"].startsWith("/")) {
        issues.push({
          file,
          path: `${at}.location`,
          message: `a ${String(location["kind"])} location cannot be read from this machine`,
          fix: "fill sha256 (sha256sum FILE) and size (stat -c %s FILE) of its files by hand where the data is, or use a hostPath location",
        });
        return;
      }
      const folder = location["path"];
      files.forEach((entry: unknown, j) => {
        const where = { file, path: `${at}.files[${j}]` };
        const name = isObject(entry) ? entry["name"] : undefined;
        if (!isObject(entry) || typeof name !== "string" || !PLAIN_NAME.test(name) || name === "." || name === "..") {
          issues.push({ ...where, message: "has no plain file name", fix: "set name to the file's name in the location folder" });
          return;
        }
        const digest = digestOf(join(folder, name), join(folder, name), where);
        if ("message" in digest) issues.push(digest);
        else {
          filled.push({ path: where.path, file: join(folder, name), before: { sha256: entry["sha256"], size: entry["size"] }, after: digest });
          entry["sha256"] = digest.sha256;
          entry["size"] = digest.size;
        }
      });
    });
  }
  const algorithm = isObject(inputs) ? inputs["algorithm"] : undefined;
  const code = isObject(algorithm) ? algorithm["code"] : undefined;
  if (!isObject(code)) issues.push({ file, path: "$.inputs.algorithm.code", message: "is missing", fix: "see contracts/contract.schema.json" });
  else if (typeof code["path"] === "string") {
    const where = { file, path: "$.inputs.algorithm.code" };
    const relative = code["path"];
    if (!/^algorithm\/[A-Za-z0-9._/-]+$/.test(relative) || relative.split("/").includes("..")) {
      issues.push({
        ...where,
        message: `path ${JSON.stringify(relative)} is not a file under algorithm/`,
        fix: "commit the code under contracts/ID/algorithm/",
      });
    } else {
      const codeFile = join(contractDir(repo, id), relative);
      const digest = digestOf(codeFile, display(repo, codeFile), where);
      if ("message" in digest) issues.push(digest);
      else {
        filled.push({ path: where.path, file: display(repo, codeFile), before: { sha256: code["sha256"], size: code["size"] }, after: digest });
        code["sha256"] = digest.sha256;
        code["size"] = digest.size;
      }
    }
  }
  if (issues.length > 0)
    throw InputError.many(`${file}: ${issues.length} file${issues.length === 1 ? "" : "s"} could not be read; nothing was written`, issues);

  const changed = filled.filter((f) => f.before.sha256 !== f.after.sha256 || f.before.size !== f.after.size);
  const hashBefore = hashOf(value);
  const hashAfter = hashOf(contract);
  const invalidated: string[] = [];
  if (changed.length > 0) {
    writeFileAtomic(path, toJsonText(contract));
    for (const folder of ["signatures", "approvals"]) {
      const dir = join(contractDir(repo, id), folder);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir).sort()) if (name.endsWith(".json")) invalidated.push(display(repo, join(dir, name)));
    }
  }
  return { file, changed, unchanged: filled.filter((f) => !changed.includes(f)), invalidated, hashBefore, hashAfter };
}
