/**
 * What `datomspod compile` should make `clusters/` look like: for every contract whose state gives it
 * an instance, its rendered objects under clusters/<cluster>/<id>/, plus each cluster's Argo CD
 * wiring. Everything is read and checked before anything is written.
 */

import { join } from "node:path";
import { InputError, type Issue } from "../errors.js";
import { checkAlgorithmCode, loadContract, type LoadedContract } from "../contract/load.js";
import { gatherFacts } from "../lifecycle/facts.js";
import { hasInstance, type LifecycleState } from "../lifecycle/state.js";
import { readRegularFile } from "../repo/files.js";
import { listContractIds } from "../repo/layout.js";
import { renderArgoCd } from "./argocd.js";
import { renderInstance, type K8sObject, type PendingRun } from "./instance.js";
import { loadProfiles, type ClusterProfile } from "./profile.js";
import { validateObjects } from "./validate.js";
import { toYaml } from "./yaml.js";

export interface ContractPlan {
  readonly id: string;
  readonly cluster: string;
  readonly state: LifecycleState;
  /** Runs that get a Job now. */
  readonly runs: readonly string[];
  readonly rendered: boolean;
  readonly objects: readonly K8sObject[];
}

export interface CompilePlan {
  /** Generated files: path relative to the repository → content. */
  readonly files: ReadonlyMap<string, string>;
  /** Folders the generator owns and fills completely (relative paths). */
  readonly dirs: ReadonlySet<string>;
  readonly contracts: readonly ContractPlan[];
  readonly profiles: ReadonlyMap<string, ClusterProfile>;
}

export function objectFileName(object: K8sObject): string {
  return object.kind === "Namespace" ? "namespace.yaml" : `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`;
}

/** The runs that get a Job: valid requests without a receipt, within max runs; parameters merged over the defaults. */
function pendingRuns(loaded: LoadedContract, requests: readonly { id: string; parameters: Record<string, unknown> }[], produced: number, issues: Issue[]): PendingRun[] {
  const { contract } = loaded;
  const defaults = contract.inputs.algorithm.parameters ?? {};
  const runs: PendingRun[] = [];
  for (const request of requests) {
    const file = join("contracts", contract.id, "runs", `${request.id}.json`);
    const unknown = Object.keys(request.parameters).filter((key) => !(key in defaults));
    if (unknown.length > 0) {
      issues.push({ file, path: `$.parameters.${unknown[0]}`, message: `is not a parameter of the contract (allowed: ${Object.keys(defaults).join(", ") || "none"})`, fix: "request only parameters the contract lists in inputs.algorithm.parameters" });
      continue;
    }
    if (produced + runs.length >= contract.business.maxRuns) {
      issues.push({ file, path: "$", message: `run ${request.id} would exceed the contract's maxRuns of ${contract.business.maxRuns}`, fix: "remove the run request; the contract allows no more runs" });
      continue;
    }
    runs.push({ id: request.id, parameters: { ...defaults, ...request.parameters } });
  }
  return runs;
}

export function planCompile(repo: string, now: Date): CompilePlan {
  const issues: Issue[] = [];
  const profiles = loadProfiles(repo);
  const files = new Map<string, string>();
  const dirs = new Set<string>();
  const contracts: ContractPlan[] = [];

  for (const profile of profiles.values()) {
    const dir = `clusters/${profile.name}/argocd`;
    dirs.add(dir);
    for (const object of renderArgoCd(profile)) files.set(`${dir}/${object.kind.toLowerCase()}.yaml`, toYaml(object));
  }

  for (const id of listContractIds(repo)) {
    let loaded: LoadedContract;
    try {
      loaded = loadContract(repo, id);
    } catch (error) {
      if (error instanceof InputError) {
        issues.push(...error.issues);
        continue;
      }
      throw error;
    }
    const { contract } = loaded;
    const facts = gatherFacts(repo, loaded, now.getTime());
    issues.push(...facts.issues);
    if (!hasInstance(facts.state)) {
      contracts.push({ id, cluster: contract.cluster, state: facts.state, runs: [], rendered: false, objects: [] });
      continue;
    }
    const profile = profiles.get(contract.cluster);
    if (profile === undefined) {
      issues.push({ file: loaded.file, path: "$.cluster", message: `no cluster profile clusters/${contract.cluster}/cluster.yaml`, fix: `use one of ${[...profiles.keys()].join(", ") || "(none yet)"} or add the profile` });
      continue;
    }
    const codeIssues = checkAlgorithmCode(repo, loaded);
    if (codeIssues.length > 0) {
      issues.push(...codeIssues);
      continue;
    }
    const produced = facts.facts.runs.filter((run) => run.receipt).length;
    const pendingRequests = facts.runRequests.filter((request) => !facts.facts.runs.some((run) => run.id === request.id && run.receipt));
    const runs = pendingRuns(loaded, pendingRequests, produced, issues);
    const codePath = contract.inputs.algorithm.code.path;
    let objects: K8sObject[];
    try {
      objects = renderInstance({
        contract,
        contractHash: loaded.hash,
        file: loaded.file,
        profile,
        code: codePath === undefined ? undefined : readRegularFile(join(loaded.dir, codePath), join("contracts", id, codePath), 16 * 1024 * 1024),
        runs,
      });
    } catch (error) {
      if (error instanceof InputError) {
        issues.push(...error.issues);
        continue;
      }
      throw error;
    }
    issues.push(...validateObjects(objects, `clusters/${profile.name}/${id}`));
    const dir = `clusters/${profile.name}/${id}`;
    dirs.add(dir);
    for (const object of objects) files.set(`${dir}/${objectFileName(object)}`, toYaml(object));
    contracts.push({ id, cluster: profile.name, state: facts.state, runs: runs.map((r) => r.id), rendered: true, objects });
  }

  for (const profile of profiles.values()) {
    issues.push(...validateObjects(renderArgoCd(profile), `clusters/${profile.name}/argocd`));
  }
  if (issues.length > 0) throw InputError.many(`compile refused: ${issues.length} problem${issues.length === 1 ? "" : "s"}; nothing was written`, issues);
  return { files, dirs, contracts, profiles };
}
