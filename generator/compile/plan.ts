/**
 * What `datomspod compile` should make `clusters/` look like: for every contract whose state gives it
 * an instance, its rendered objects under clusters/<cluster>/<id>/, plus each cluster's Argo CD
 * wiring. Everything is read and checked before anything is written.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError, type Issue } from "../errors.js";
import { gateContract, type GateResult } from "../gate/gate.js";
import { hasInstance, type LifecycleState } from "../lifecycle/state.js";
import { findingsOf } from "../policy/report/check-report.js";
import { listContractIds } from "../repo/layout.js";
import { DASHBOARD_ANNOTATIONS, RESERVED_FOLDERS, renderArgoCd } from "./argocd.js";
import { operatorRendered, renderOperator } from "./operator.js";
import { admissionRendered, renderAdmission, renderPlatform } from "./admission.js";
import type { K8sObject } from "./instance.js";
import { contractKey, profileKnown, readCache, writeCache } from "./cache.js";
import { loadProfiles, profileFile, type ClusterProfile } from "./profile.js";
import { validateObjects } from "./validate.js";
import { toYaml } from "./yaml.js";

export interface ContractPlan {
  readonly id: string;
  /** The contract's cluster ("" when its file cannot be read). */
  readonly cluster: string;
  /** "invalid" when the contract's file cannot be read or validated. */
  readonly state: LifecycleState | "invalid";
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
  /** Contracts the gate refused: no instance is rendered for them (an existing one is removed), with the reasons. */
  readonly refused: readonly { readonly id: string; readonly issues: readonly Issue[] }[];
  /** Records that do not count (stale run requests, unsigned receipts, …), by contract. */
  readonly notes: readonly Issue[];
}

export function objectFileName(object: K8sObject): string {
  return object.kind === "Namespace" ? "namespace.yaml" : `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`;
}

export interface ContractOutcome {
  readonly plan: ContractPlan;
  /** File name in the instance folder → content (empty when not rendered). */
  readonly files: Record<string, string>;
  /** Why the gate refused the contract (then nothing is rendered for it). */
  readonly refused?: readonly Issue[];
  readonly notes?: readonly Issue[];
  /** What a contract without an instance is waiting for: the issues of its signatures (proposed) or approvals (signed). */
  readonly waiting?: readonly Issue[];
}

/** The errors of a gate result that refused a contract: every failed stage's issues and the policy's failures. */
export function gateIssues(result: GateResult): Issue[] {
  const check = { id: result.id, file: result.file, stages: result.stages, ...(result.policy === undefined ? {} : { policy: result.policy }) };
  return findingsOf(check)
    .filter((finding) => finding.level === "error")
    .map((finding) => ({ file: finding.file, path: finding.path, message: finding.message, ...(finding.fix === undefined ? {} : { fix: finding.fix }) }));
}

/** What Argo CD's dashboard shows of the contract (spec.info of its Application), as the Namespace's annotations. */
export function dashboardAnnotations(result: Pick<GateResult, "state" | "policy">): Record<string, string> {
  const policy = result.policy;
  const verdict =
    policy === undefined
      ? "not evaluated"
      : `${policy.pass ? "pass" : "fail"}: openness ${policy.scores.openness}, privacy ${policy.scores.privacy}, security ${policy.scores.security} (scenario ${policy.scenario})`;
  return { [DASHBOARD_ANNOTATIONS.state]: result.state ?? "invalid", [DASHBOARD_ANNOTATIONS.opsc]: verdict };
}

function withDashboard(namespace: K8sObject, result: GateResult): K8sObject {
  const metadata = namespace.metadata as K8sObject["metadata"] & { annotations?: Record<string, string> };
  return { ...namespace, metadata: { ...metadata, annotations: { ...(metadata.annotations ?? {}), ...dashboardAnnotations(result) } } };
}

/**
 * Judges and renders one contract through the gate. An outcome without `refused` is what compile
 * writes; a refused contract gets no instance (an existing one is removed), whatever the reason.
 */
export function planContract(repo: string, id: string, now: Date, profiles: ReadonlyMap<string, ClusterProfile>): ContractOutcome {
  const result = gateContract(repo, id, now, profiles, { preview: false });
  if (result.loaded === undefined || result.state === undefined) {
    return { plan: { id, cluster: "", state: "invalid", runs: [], rendered: false, objects: [] }, files: {}, refused: result.stages.schema.issues };
  }
  const cluster = result.loaded.contract.cluster;
  const plan = { id, cluster, state: result.state, runs: result.runs.map((run) => run.id), rendered: false, objects: [] as K8sObject[] };
  if (!hasInstance(result.state)) {
    const facts = result.facts;
    const waiting = result.state === "proposed" ? facts?.agreements.issues : result.state === "signed" ? facts?.approvals.issues : undefined;
    return { plan, files: {}, notes: result.notes, ...(waiting === undefined ? {} : { waiting }) };
  }
  if (!result.passed || result.objects === undefined) return { plan, files: {}, refused: gateIssues(result), notes: result.notes };
  const objects = result.objects.map((object) => (object.kind === "Namespace" ? withDashboard(object, result) : object));
  const files = Object.fromEntries(objects.map((object) => [objectFileName(object), toYaml(object)]));
  return { plan: { ...plan, cluster: result.facts?.prepared?.profile.name ?? cluster, rendered: true, objects }, files, notes: result.notes };
}

/** Where `now` falls in the contract's validity window, or undefined when contract.json does not parse. */
function windowPosition(repo: string, id: string, now: Date): { cluster: string; window: string } | undefined {
  try {
    const contract = JSON.parse(readFileSync(join(repo, "contracts", id, "contract.json"), "utf8")) as {
      cluster?: unknown;
      business?: { validity?: { notBefore?: string; notAfter?: string } };
      inputs?: { algorithm?: { package?: unknown } };
    };
    // A contract that uses an algorithm package depends on files outside its folder (the package,
    // its approvals and revocations) and on the approvals' own validity: it is judged every time.
    if (contract.inputs?.algorithm?.package !== undefined) return undefined;
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
    const outcomes = ids.map((id) => {
      const outcome = planContract(repo, id, now, profiles);
      return keepObjects ? outcome : { ...outcome, plan: { ...outcome.plan, objects: [] } };
    });
    return { outcomes, issues: [] };
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
    if (admissionRendered(profile)) {
      const admissionDir = `clusters/${profile.name}/admission`;
      const admissionObjects = renderAdmission(profile);
      const platform = renderPlatform(profile);
      issues.push(...validateObjects(admissionObjects, admissionDir), ...validateObjects(platform, dir));
      dirs.add(admissionDir);
      for (const object of admissionObjects) files.set(`${admissionDir}/${objectFileName(object)}`, toYaml(object));
      for (const object of platform)
        files.set(`${dir}/${object.kind.toLowerCase()}-${object.kind === "AppProject" ? "platform" : "admission"}.yaml`, toYaml(object));
    }
    if (operatorRendered(profile)) {
      const operatorDir = `clusters/${profile.name}/operator`;
      const operatorObjects = renderOperator(profile);
      issues.push(...validateObjects(operatorObjects, operatorDir));
      dirs.add(operatorDir);
      for (const object of operatorObjects) files.set(`${operatorDir}/${object.kind.toLowerCase()}.yaml`, toYaml(object));
    }
  }

  const ids = listContractIds(repo);
  const keys = new Map<string, string>();
  const outcomes = new Map<string, ContractOutcome | undefined>();
  for (const id of ids) {
    const position = options.cache === true ? windowPosition(repo, id, now) : undefined;
    const key =
      position === undefined
        ? undefined
        : contractKey(join(repo, "contracts", id), profileTexts.get(position.cluster) ?? "", position.window, join(repo, "environments"));
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
    if (outcome !== undefined && outcome.refused === undefined && (outcome.notes ?? []).length === 0 && key !== undefined) {
      const { cluster, state, runs, rendered: isRendered } = outcome.plan;
      if (state !== "invalid") writeCache(repo, id, { key, cluster, state, runs, rendered: isRendered, files: outcome.files });
    }
  });
  const contracts: ContractPlan[] = [];
  const refused: { id: string; issues: readonly Issue[] }[] = [];
  const notes: Issue[] = [];
  for (const id of ids) {
    const outcome = outcomes.get(id);
    if (outcome === undefined) continue;
    contracts.push(outcome.plan);
    notes.push(...(outcome.notes ?? []));
    if (outcome.refused !== undefined) refused.push({ id, issues: outcome.refused });
    if (!outcome.plan.rendered) continue;
    if ((RESERVED_FOLDERS as readonly string[]).includes(id)) {
      issues.push({
        file: `contracts/${id}/contract.json`,
        path: "$.id",
        message: `${id} is a folder datomspod keeps in every cluster (${RESERVED_FOLDERS.join(", ")}): its instance would mix with it`,
        fix: "give the contract another id",
      });
      continue;
    }
    const dir = `clusters/${outcome.plan.cluster}/${id}`;
    dirs.add(dir);
    for (const [name, content] of Object.entries(outcome.files)) files.set(`${dir}/${name}`, content);
  }
  if (issues.length > 0) throw InputError.many(`compile refused: ${issues.length} problem${issues.length === 1 ? "" : "s"}; nothing was written`, issues);
  return { files, dirs, contracts, profiles, refused, notes };
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
