/**
 * What a pull request changes, from the paths GitHub lists: the contracts it proposes or changes
 * (their folder, their rendered instance, or an environment or cluster profile they run with), and
 * the datomspod tooling it changes (the checker, compiler, policies, schemas, workflows). Pure.
 *
 * Tooling is never taken from the pull request: the workflows check it with the base branch's
 * datomspod. A pull request that changes tooling cannot grade itself, and approvals by review do
 * not count in it: its new tooling takes effect on merge, and contracts are approved after that.
 */

import { CONTRACT_ID_MAX, CONTRACT_ID_PATTERN } from "../repo/layout.js";
import { RESERVED_FOLDERS } from "../compile/argocd.js";
import type { ChangedFile } from "./client.js";

/** Paths (folders end in "/") that make up the tooling. */
export const TOOLING_PATHS = [
  "generator/",
  "policies/",
  ".github/",
  ".ci/",
  "action.yml",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "contracts/contract.schema.json",
  "clusters/cluster-profile.schema.json",
  "environments/environment.schema.json",
] as const;

/** Generated from the contracts (`datomspod github codeowners`; CI checks it), so not tooling. */
export const CODEOWNERS_FILE = ".github/CODEOWNERS";

/** What each contract of the head runs with (to map environment and profile changes to contracts). */
export interface ContractUse {
  readonly id: string;
  readonly environment?: string;
  readonly cluster?: string;
}

export interface PullChanges {
  /** Contract ids, sorted. */
  readonly contracts: readonly string[];
  /** Changed tooling paths, sorted. */
  readonly tooling: readonly string[];
}

function isTooling(path: string): boolean {
  if (path === CODEOWNERS_FILE) return false;
  return TOOLING_PATHS.some((prefix) => (prefix.endsWith("/") ? path.startsWith(prefix) : path === prefix));
}

function isId(value: string | undefined): value is string {
  return value !== undefined && value.length <= CONTRACT_ID_MAX && CONTRACT_ID_PATTERN.test(value);
}

export function pullChanges(files: readonly ChangedFile[], uses: readonly ContractUse[]): PullChanges {
  const contracts = new Set<string>();
  const tooling = new Set<string>();
  const paths = files.flatMap((file) => (file.previousFilename === undefined ? [file.filename] : [file.filename, file.previousFilename]));
  for (const path of paths) {
    if (isTooling(path)) {
      tooling.add(path);
      continue;
    }
    const [top, second, third] = path.split("/");
    if (top === "contracts" && isId(second) && third !== undefined) contracts.add(second);
    else if (
      top === "clusters" &&
      second !== undefined &&
      !(RESERVED_FOLDERS as readonly string[]).includes(third ?? "") &&
      isId(third) &&
      path.split("/").length > 3
    )
      contracts.add(third);
    else if (top === "clusters" && second !== undefined && third === "cluster.yaml") {
      for (const use of uses) if (use.cluster === second) contracts.add(use.id);
    } else if (top === "environments" && second !== undefined) {
      for (const use of uses) if (use.environment === second) contracts.add(use.id);
    }
  }
  return { contracts: [...contracts].sort(), tooling: [...tooling].sort() };
}
