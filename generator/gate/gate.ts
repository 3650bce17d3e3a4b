/**
 * The one gate. Everything `datomspod check` judges — schema → signatures → approvals → compile →
 * OPS-C policies → Kubernetes validation — is judged here, once, for every command that executes or
 * decides: `check` reports it, `compile` renders an instance only for a contract that passes it,
 * `run` (and the cluster's operator) start nothing that does not pass it at the real clock. A
 * stage that cannot run because an earlier one failed is "skipped", never passed.
 *
 * Records that do not count (a run request signed over an earlier version, an unsigned receipt, a
 * forged acknowledgement) do not stop a contract: they are left out of its lifecycle and reported
 * as notes, so that one stale file blocks nothing but itself.
 */

import { InputError, type Issue } from "../errors.js";
import { checkAlgorithmCode, loadContract, type LoadedContract } from "../contract/load.js";
import { instanceBase } from "../compile/prepare.js";
import { renderInstance, type K8sObject, type PendingRun } from "../compile/instance.js";
import type { ClusterProfile } from "../compile/profile.js";
import { validateObjects } from "../compile/validate.js";
import { gatherFacts, type ContractFacts } from "../lifecycle/facts.js";
import { hasInstance, type LifecycleState } from "../lifecycle/state.js";
import { evaluatePolicies } from "../policy/evaluate.js";
import { policyInput } from "../policy/input.js";
import { OK, SKIPPED, policyStage, stageOutcome, STAGES, type Stage, type StageOutcome } from "../policy/report/check-report.js";
import type { PolicyResult } from "../policy/result.js";
import { loadScenarios, scenarioFor, type Scenario } from "../policy/scenarios.js";
import { display } from "../repo/files.js";
import { contractFile } from "../repo/layout.js";

/** The run that stands in when `check` judges a contract with no run pending. */
export const PREVIEW_RUN = "preview";

export interface GateOptions {
  /** check: judge the contract whatever its state, with a preview run when none is pending. compile/run: only contracts that have an instance are judged and rendered. */
  readonly preview: boolean;
}

export interface GateResult {
  readonly id: string;
  /** contract.json as users see it. */
  readonly file: string;
  readonly stages: Readonly<Record<Stage, StageOutcome>>;
  readonly policy?: PolicyResult;
  readonly scenario?: Scenario;
  /** Records that do not count, reported without failing the contract. */
  readonly notes: readonly Issue[];
  readonly loaded?: LoadedContract;
  readonly facts?: ContractFacts;
  readonly state?: LifecycleState;
  /** The runs that get a Job now (valid requests without a receipt, within maxRuns). */
  readonly runs: readonly PendingRun[];
  /** The rendered instance (with `runs`, or with the preview run under `preview`). */
  readonly objects?: readonly K8sObject[];
  /** Whether the instance would be rendered: the state has one (or preview) and every stage passed. */
  readonly passed: boolean;
}

function stages(partial: Partial<Record<Stage, StageOutcome>>): Record<Stage, StageOutcome> {
  return { schema: SKIPPED, signatures: SKIPPED, approvals: SKIPPED, compile: SKIPPED, policy: SKIPPED, kubernetes: SKIPPED, ...partial };
}

function issuesOf(error: unknown): Issue[] {
  if (error instanceof InputError) return [...error.issues];
  throw error;
}

/** Whether every stage of a gate result is ok. */
export function allStagesOk(result: Pick<GateResult, "stages">): boolean {
  return STAGES.every((stage) => result.stages[stage].status === "ok");
}

/** The runs that get a Job: valid requests without a receipt, within maxRuns (the rest are issues). */
function pendingRuns(loaded: LoadedContract, facts: ContractFacts, issues: Issue[]): PendingRun[] {
  const { contract } = loaded;
  const done = new Set(facts.receiptFiles);
  const produced = facts.facts.runs.filter((run) => run.receipt).length;
  const runs: PendingRun[] = [];
  for (const request of facts.runRequests) {
    if (done.has(request.id)) continue;
    if (produced + runs.length >= contract.business.maxRuns) {
      issues.push({
        file: `contracts/${contract.id}/runs/${request.id}.json`,
        path: "$",
        message: `run ${request.id} would exceed the contract's maxRuns of ${contract.business.maxRuns}`,
        fix: "remove the run request; the contract allows no more runs",
      });
      continue;
    }
    runs.push({ id: request.id, parameters: request.effective });
  }
  return runs;
}

/** Judges contract `id` at `now`; see the module comment. */
export function gateContract(repo: string, id: string, now: Date, profiles: ReadonlyMap<string, ClusterProfile>, options: GateOptions): GateResult {
  const file = display(repo, contractFile(repo, id));
  let loaded: LoadedContract;
  try {
    loaded = loadContract(repo, id);
  } catch (error) {
    return { id, file, stages: stages({ schema: stageOutcome(issuesOf(error)) }), notes: [], runs: [], passed: false };
  }
  const facts = gatherFacts(repo, loaded, now.getTime(), { profiles });
  const base = { id, file, notes: facts.issues, loaded, facts, state: facts.state };
  if (!options.preview && !hasInstance(facts.state)) {
    // Say why approvals cannot count when that is what keeps the contract from its instance.
    const notes = facts.prepared === undefined ? [...facts.issues, ...facts.prepareIssues] : facts.issues;
    return { ...base, notes, stages: stages({ schema: OK }), runs: [], passed: false };
  }

  const signatures = stageOutcome(facts.agreements.issues);
  const codeIssues = checkAlgorithmCode(repo, loaded);
  const approvals = stageOutcome([...facts.approvals.issues, ...codeIssues]);
  const prepared = facts.prepared;
  if (prepared === undefined)
    return { ...base, stages: stages({ schema: OK, signatures, approvals, compile: stageOutcome(facts.prepareIssues) }), runs: [], passed: false };

  const runIssues: Issue[] = [];
  const runs = pendingRuns(loaded, facts, runIssues);
  const rendered = options.preview && runs.length === 0 ? [{ id: PREVIEW_RUN, parameters: loaded.contract.inputs.algorithm.parameters ?? {} }] : runs;
  let objects: K8sObject[];
  try {
    objects = renderInstance({ ...instanceBase(loaded, prepared), runs: rendered });
  } catch (error) {
    return { ...base, stages: stages({ schema: OK, signatures, approvals, compile: stageOutcome([...runIssues, ...issuesOf(error)]) }), runs, passed: false };
  }
  const compile = stageOutcome(runIssues);
  const kubernetes = stageOutcome(validateObjects(objects, `clusters/${prepared.profile.name}/${id}`));
  let scenario: Scenario;
  try {
    scenario = scenarioFor(loaded.contract.opsc.scenario, file, loadScenarios());
  } catch (error) {
    const result = {
      ...base,
      stages: stages({ schema: OK, signatures, approvals, compile, policy: stageOutcome(issuesOf(error)), kubernetes }),
      runs,
      objects,
    };
    return { ...result, passed: false };
  }
  const policy = evaluatePolicies(
    policyInput({
      loaded,
      profile: prepared.profile,
      environment: prepared.environment,
      manifests: objects,
      agreements: facts.agreements,
      approvals: facts.approvals,
      codeMatches: codeIssues.length === 0,
      now,
    }),
    scenario,
  );
  const judged = {
    ...base,
    stages: stages({ schema: OK, signatures, approvals, compile, policy: policyStage(policy), kubernetes }),
    policy,
    scenario,
    runs,
    objects,
  };
  return { ...judged, passed: allStagesOk(judged) };
}
