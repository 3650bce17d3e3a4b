/**
 * What `datomspod compile` should make `clusters/` look like: for every contract whose state gives it
 * an instance, its rendered objects under clusters/<cluster>/<id>/, plus each cluster's Argo CD
 * wiring. Everything is read and checked before anything is written.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError, type Issue } from "../errors.js";
import { checkAlgorithmCode, loadContract, type LoadedContract } from "../contract/load.js";
import { gatherFacts } from "../lifecycle/facts.js";
import { hasInstance, type LifecycleState } from "../lifecycle/state.js";
import { readRegularFile } from "../repo/files.js";
import { listContractIds } from "../repo/layout.js";
import { renderArgoCd } from "./argocd.js";
import { renderInstance, type K8sObject, type PendingRun } from "./instance.js";
import { contractKey, profileKnown, readCache, writeCache } from "./cache.js";
import { loadProfiles, profileFile, type ClusterProfile } from "./profile.js";
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
function pendingRuns(
  loaded: LoadedContract,
  requests: readonly { id: string; parameters: Record<string, unknown> }[],
  produced: number,
  issues: Issue[],
): PendingRun[] {
  const { contract } = loaded;
  const defaults = contract.inputs.algorithm.parameters ?? {};
  const runs: PendingRun[] = [];
  for (const request of requests) {
    const file = join("contracts", contract.id, "runs", `${request.id}.json`);
    const unknown = Object.keys(request.parameters).filter((key) => !Object.hasOwn(defaults, key));
    if (unknown.length > 0) {
      issues.push({
        file,
        path: `$.parameters.${unknown[0]}`,
        message: `is not a parameter of the contract (allowed: ${Object.keys(defaults).join(", ") || "none"})`,
        fix: "request only parameters the contract lists in inputs.algorithm.parameters",
      });
      continue;
    }
    if (produced + runs.length >= contract.business.maxRuns) {
      issues.push({
        file,
        path: "$",
        message: `run ${request.id} would exceed the contract's maxRuns of ${contract.business.maxRuns}`,
        fix: "remove the run request; the contract allows no more runs",
      });
      continue;
    }
    runs.push({ id: request.id, parameters: { ...defaults, ...request.parameters } });
  }
  return runs;
}

export interface ContractOutcome {
  readonly plan: ContractPlan;
  /** File name in the instance folder → content (empty when not rendered). */
  readonly files: Record<string, string>;
}

/** Verifies, renders and validates one contract; every problem is added to `issues`. */
export function planContract(repo: string, id: string, now: Date, profiles: ReadonlyMap<string, ClusterProfile>, issues: Issue[]): ContractOutcome | undefined {
  let loaded: LoadedContract;
  try {
    loaded = loadContract(repo, id);
  } catch (error) {
    if (error instanceof InputError) {
      issues.push(...error.issues);
      return undefined;
    }
    throw error;
  }
  const { contract } = loaded;
  const facts = gatherFacts(repo, loaded, now.getTime());
  if (facts.issues.length > 0) {
    issues.push(...facts.issues);
    return undefined;
  }
  if (!hasInstance(facts.state)) return { plan: { id, cluster: contract.cluster, state: facts.state, runs: [], rendered: false, objects: [] }, files: {} };
  const profile = profiles.get(contract.cluster);
  if (profile === undefined) {
    issues.push({
      file: loaded.file,
      path: "$.cluster",
      message: `no cluster profile clusters/${contract.cluster}/cluster.yaml`,
      fix: `use one of ${[...profiles.keys()].join(", ") || "(none yet)"} or add the profile`,
    });
    return undefined;
  }
  const codeIssues = checkAlgorithmCode(repo, loaded);
  if (codeIssues.length > 0) {
    issues.push(...codeIssues);
    return undefined;
  }
  const produced = facts.facts.runs.filter((run) => run.receipt).length;
  const pendingRequests = facts.runRequests.filter((request) => !facts.facts.runs.some((run) => run.id === request.id && run.receipt));
  const before = issues.length;
  const runs = pendingRuns(loaded, pendingRequests, produced, issues);
  if (issues.length > before) return undefined;
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
      return undefined;
    }
    throw error;
  }
  const dir = `clusters/${profile.name}/${id}`;
  const invalid = validateObjects(objects, dir);
  if (invalid.length > 0) {
    issues.push(...invalid);
    return undefined;
  }
  const files = Object.fromEntries(objects.map((object) => [objectFileName(object), toYaml(object)]));
  return { plan: { id, cluster: profile.name, state: facts.state, runs: runs.map((r) => r.id), rendered: true, objects }, files };
}

/** Where `now` falls in the contract's validity window, or undefined when contract.json does not parse. */
function windowPosition(repo: string, id: string, now: Date): { cluster: string; window: string } | undefined {
  try {
    const contract = JSON.parse(readFileSync(join(repo, "contracts", id, "contract.json"), "utf8")) as {
      cluster?: unknown;
      business?: { validity?: { notBefore?: string; notAfter?: string } };
    };
    const from = Date.parse(contract.business?.validity?.notBefore ?? "");
    const until = Date.parse(contract.business?.validity?.notAfter ?? "");
    if (typeof contract.cluster !== "string" || Number.isNaN(from) || Number.isNaN(until)) return undefined;
    return { cluster: contract.cluster, window: `${now.getTime() < from ? "before" : now.getTime() >= until ? "after" : "within"}` };
  } catch {
    return undefined;
  }
}

export interface PlanOptions {
  /** Reuse the rendered files of unchanged contracts from .datomspod/cache/ (objects are then not available). */
  readonly cache?: boolean;
  /** Keep the rendered objects in the plan (check and tests use them; compile only needs the files). Default true. */
  readonly objects?: boolean;
}

export interface Rendered {
  readonly outcomes: (ContractOutcome | undefined)[];
  readonly issues: Issue[];
}

/** Renders `ids` somewhere (this thread or workers), in the order given. */
export type RenderMany = (ids: readonly string[]) => Promise<Rendered>;

/** Renders `ids` in this thread. */
export function renderHere(repo: string, now: Date, profiles: ReadonlyMap<string, ClusterProfile>, keepObjects = true): (ids: readonly string[]) => Rendered {
  return (ids) => {
    const issues: Issue[] = [];
    const outcomes = ids.map((id) => {
      const outcome = planContract(repo, id, now, profiles, issues);
      return outcome === undefined || keepObjects ? outcome : { plan: { ...outcome.plan, objects: [] }, files: outcome.files };
    });
    return { outcomes, issues };
  };
}

interface Prepared {
  readonly profiles: ReadonlyMap<string, ClusterProfile>;
  readonly files: Map<string, string>;
  readonly dirs: Set<string>;
  readonly issues: Issue[];
  readonly ids: readonly string[];
  readonly keys: Map<string, string>;
  readonly outcomes: Map<string, ContractOutcome | undefined>;
  readonly misses: readonly string[];
}

/** Loads profiles, renders the Argo CD wiring, and takes unchanged contracts from the cache. */
function prepare(repo: string, now: Date, options: PlanOptions): Prepared {
  const issues: Issue[] = [];
  const cachedProfiles = options.cache === true ? profileKnown(repo) : undefined;
  const profiles = loadProfiles(repo, cachedProfiles?.known);
  const files = new Map<string, string>();
  const dirs = new Set<string>();
  const profileTexts = new Map([...profiles.keys()].map((name) => [name, readFileSync(profileFile(repo, name), "utf8")]));
  cachedProfiles?.remember(profileTexts.values());

  for (const profile of profiles.values()) {
    const dir = `clusters/${profile.name}/argocd`;
    const objects = renderArgoCd(profile);
    issues.push(...validateObjects(objects, dir));
    dirs.add(dir);
    for (const object of objects) files.set(`${dir}/${object.kind.toLowerCase()}.yaml`, toYaml(object));
  }

  const ids = listContractIds(repo);
  const keys = new Map<string, string>();
  const outcomes = new Map<string, ContractOutcome | undefined>();
  for (const id of ids) {
    const position = options.cache === true ? windowPosition(repo, id, now) : undefined;
    const key = position === undefined ? undefined : contractKey(join(repo, "contracts", id), profileTexts.get(position.cluster) ?? "", position.window);
    const cached = key === undefined ? undefined : readCache(repo, id, key);
    if (key !== undefined) keys.set(id, key);
    if (cached !== undefined) {
      outcomes.set(id, {
        plan: { id, cluster: cached.cluster, state: cached.state, runs: cached.runs, rendered: cached.rendered, objects: [] },
        files: { ...cached.files },
      });
    }
  }
  return { profiles, files, dirs, issues, ids, keys, outcomes, misses: ids.filter((id) => !outcomes.has(id)) };
}

/** Adds the rendered misses (caching them), and assembles the plan; throws when anything failed. */
function finish(repo: string, prepared: Prepared, rendered: Rendered): CompilePlan {
  const { files, dirs, issues, ids, keys, outcomes, misses, profiles } = prepared;
  issues.push(...rendered.issues);
  misses.forEach((id, i) => {
    const outcome = rendered.outcomes[i];
    outcomes.set(id, outcome);
    const key = keys.get(id);
    if (outcome !== undefined && key !== undefined) {
      const { cluster, state, runs, rendered: isRendered } = outcome.plan;
      writeCache(repo, id, { key, cluster, state, runs, rendered: isRendered, files: outcome.files });
    }
  });
  const contracts: ContractPlan[] = [];
  for (const id of ids) {
    const outcome = outcomes.get(id);
    if (outcome === undefined) continue;
    contracts.push(outcome.plan);
    if (!outcome.plan.rendered) continue;
    const dir = `clusters/${outcome.plan.cluster}/${id}`;
    dirs.add(dir);
    for (const [name, content] of Object.entries(outcome.files)) files.set(`${dir}/${name}`, content);
  }
  if (issues.length > 0) throw InputError.many(`compile refused: ${issues.length} problem${issues.length === 1 ? "" : "s"}; nothing was written`, issues);
  return { files, dirs, contracts, profiles };
}

/** What clusters/ should be, rendering in this thread. */
export function planCompile(repo: string, now: Date, options: PlanOptions = {}): CompilePlan {
  const prepared = prepare(repo, now, options);
  return finish(repo, prepared, renderHere(repo, now, prepared.profiles, options.objects ?? true)(prepared.misses));
}

/** planCompile, rendering the cache misses with `render` (e.g. in worker threads). */
export async function planCompileWith(
  repo: string,
  now: Date,
  options: PlanOptions,
  render: (profiles: ReadonlyMap<string, ClusterProfile>) => RenderMany,
): Promise<CompilePlan> {
  const prepared = prepare(repo, now, options);
  return finish(repo, prepared, prepared.misses.length === 0 ? { outcomes: [], issues: [] } : await render(prepared.profiles)(prepared.misses));
}
