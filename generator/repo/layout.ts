/**
 * Where things live in a datomspod repository (git is the control plane):
 *
 *   contracts/<id>/contract.json           the agreement
 *   contracts/<id>/signatures/<addr>.json  every party's EIP-712 signature
 *   contracts/<id>/approvals/<addr>.json   each data owner's (and witness's) algorithm approval
 *   contracts/<id>/algorithm/...           the reviewed algorithm code
 *   contracts/<id>/runs/<run>.json         signed run requests
 *   contracts/<id>/receipts/<run>.json     what a run produced
 *   contracts/<id>/acks/<run>.json         the recipient's acknowledgement
 *   contracts/<id>/revocation.json         a party's signed revocation
 *   algorithms/<name>/<version>/...        algorithm packages, their approvals and revocations (market/package.ts)
 *   clusters/<cluster>/...                 rendered instances and Argo CD wiring
 */

import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { InputError } from "../errors.js";

export const CONTRACT_ID_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const CONTRACT_ID_MAX = 40;
export const RUN_ID_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const RUN_ID_MAX = 20;

export const RECORD_FOLDERS = ["signatures", "approvals", "runs", "receipts", "acks", "releases"] as const;
export type RecordFolder = (typeof RECORD_FOLDERS)[number];

/** The repository root: --repo when given, otherwise the enclosing git work tree, otherwise the current folder. */
export function findRepo(explicit: string | undefined, cwd = process.cwd()): string {
  if (explicit !== undefined) {
    const root = resolve(cwd, explicit);
    if (!existsSync(root) || !statSync(root).isDirectory()) {
      throw InputError.of({ file: root, path: "$", message: "--repo is not a folder", fix: "pass the repository's root folder" });
    }
    return root;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".git"))) return dir;
    if (dirname(dir) === dir) return resolve(cwd);
  }
}

/** Throws unless `id` is a contract id: a DNS-1123 label of at most 40 characters (so it cannot escape contracts/). */
export function assertContractId(id: string, source = "command line"): string {
  if (id.length > CONTRACT_ID_MAX || !CONTRACT_ID_PATTERN.test(id)) {
    throw InputError.of({
      file: source,
      path: "$",
      message: `contract id ${JSON.stringify(id)} is not a DNS-1123 label of at most ${CONTRACT_ID_MAX} characters`,
      fix: "use lower-case letters, digits and '-', starting with a letter, e.g. hospital-stats",
    });
  }
  return id;
}

export function assertRunId(id: string, source = "command line"): string {
  if (id.length > RUN_ID_MAX || !RUN_ID_PATTERN.test(id)) {
    throw InputError.of({
      file: source,
      path: "$",
      message: `run id ${JSON.stringify(id)} is not a DNS-1123 label of at most ${RUN_ID_MAX} characters`,
      fix: "use lower-case letters, digits and '-', e.g. run-1",
    });
  }
  return id;
}

export function contractsDir(repo: string): string {
  return join(repo, "contracts");
}

export function contractDir(repo: string, id: string): string {
  return join(contractsDir(repo), assertContractId(id));
}

export function contractFile(repo: string, id: string): string {
  return join(contractDir(repo, id), "contract.json");
}

export function recordDir(repo: string, id: string, folder: RecordFolder): string {
  return join(contractDir(repo, id), folder);
}

/** Contract ids in the repository: folders of contracts/ that hold a contract.json, sorted. */
export function listContractIds(repo: string): string[] {
  const dir = contractsDir(repo);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, "contract.json")))
    .map((entry) => entry.name)
    .sort();
}

/** Names of the regular `.json` files in a record folder, sorted; other entries are returned apart so callers can report them. */
export function listRecordFiles(dir: string): { json: string[]; other: string[] } {
  if (!existsSync(dir)) return { json: [], other: [] };
  const json: string[] = [];
  const other: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".json")) json.push(entry.name);
    else if (!entry.name.startsWith(".")) other.push(entry.name);
  }
  return { json: json.sort(), other: other.sort() };
}
