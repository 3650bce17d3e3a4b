/**
 * `datomspod check`: the whole chain for each contract, stage by stage — schema → signatures →
 * approvals → compile → OPS-C policies → Kubernetes validation — into one CheckReport that every
 * report format renders. A stage that cannot run because an earlier one failed is "skipped", never
 * passed. Contracts are judged whatever their state: a proposed contract in a pull request gets its
 * OPS-C verdict before anyone signs; when no run is pending, a preview run stands in so the Job is
 * judged too.
 */

import { join } from "node:path";
import { InputError, type Issue } from "../errors.js";
import { checkAlgorithmCode, loadContract, type LoadedContract } from "../contract/load.js";
import { renderInstance, type K8sObject } from "../compile/instance.js";
import { loadProfiles, type ClusterProfile } from "../compile/profile.js";
import { validateObjects } from "../compile/validate.js";
import { gatherFacts } from "../lifecycle/facts.js";
import { evaluatePolicies } from "../policy/evaluate.js";
import { policyInput } from "../policy/input.js";
import { OK, SKIPPED, policyStage, stageOutcome, type CheckReport, type ContractCheck, type Stage, type StageOutcome } from "../policy/report/check-report.js";
import { loadScenarios, scenarioFor } from "../policy/scenarios.js";
import { display, readRegularFile } from "../repo/files.js";
import { contractFile, listContractIds } from "../repo/layout.js";

export const PREVIEW_RUN = "preview";

function stages(partial: Partial<Record<Stage, StageOutcome>>): Record<Stage, StageOutcome> {
  return { schema: SKIPPED, signatures: SKIPPED, approvals: SKIPPED, compile: SKIPPED, policy: SKIPPED, kubernetes: SKIPPED, ...partial };
}

function issuesOf(error: unknown): Issue[] {
  if (error instanceof InputError) return [...error.issues];
  throw error;
}

function render(loaded: LoadedContract, profile: ClusterProfile, runs: { id: string; parameters: Record<string, unknown> }[]): K8sObject[] {
  const codePath = loaded.contract.inputs.algorithm.code.path;
  return renderInstance({
    contract: loaded.contract,
    contractHash: loaded.hash,
    file: loaded.file,
    profile,
    code: codePath === undefined ? undefined : readRegularFile(join(loaded.dir, codePath), join("contracts", loaded.id, codePath), 16 * 1024 * 1024),
    runs,
  });
}

export function checkContract(repo: string, id: string, now: Date, profiles: ReadonlyMap<string, ClusterProfile>): ContractCheck {
  const file = display(repo, contractFile(repo, id));
  let loaded: LoadedContract;
  try {
    loaded = loadContract(repo, id);
  } catch (error) {
    return { id, file, stages: stages({ schema: stageOutcome(issuesOf(error)) }) };
  }
  const facts = gatherFacts(repo, loaded, now.getTime());
  const signatures = stageOutcome(facts.agreements.issues);
  const codeIssues = checkAlgorithmCode(repo, loaded);
  const approvals = stageOutcome([...facts.approvals.issues, ...codeIssues]);

  const profile = profiles.get(loaded.contract.cluster);
  if (profile === undefined) {
    const issue = {
      file,
      path: "$.cluster",
      message: `no cluster profile clusters/${loaded.contract.cluster}/cluster.yaml`,
      fix: `use one of ${[...profiles.keys()].join(", ")} or add the profile`,
    };
    return { id, file, stages: stages({ schema: OK, signatures, approvals, compile: stageOutcome([issue]) }) };
  }
  const defaults = loaded.contract.inputs.algorithm.parameters ?? {};
  const pending = facts.runRequests
    .filter((request) => !facts.facts.runs.some((run) => run.id === request.id && run.receipt))
    .map((request) => ({ id: request.id, parameters: { ...defaults, ...request.parameters } }));
  let objects: K8sObject[];
  try {
    objects = render(loaded, profile, pending.length > 0 ? pending : [{ id: PREVIEW_RUN, parameters: defaults }]);
  } catch (error) {
    return { id, file, stages: stages({ schema: OK, signatures, approvals, compile: stageOutcome(issuesOf(error)) }) };
  }
  const kubernetes = stageOutcome(validateObjects(objects, `clusters/${profile.name}/${id}`));
  let scenario;
  try {
    scenario = scenarioFor(loaded.contract.opsc.scenario, file, loadScenarios());
  } catch (error) {
    return { id, file, stages: stages({ schema: OK, signatures, approvals, compile: OK, policy: stageOutcome(issuesOf(error)), kubernetes }) };
  }
  const result = evaluatePolicies(
    policyInput({ loaded, profile, manifests: objects, agreements: facts.agreements, approvals: facts.approvals, codeMatches: codeIssues.length === 0, now }),
    scenario,
  );
  return { id, file, stages: stages({ schema: OK, signatures, approvals, compile: OK, policy: policyStage(result), kubernetes }), policy: result, scenario };
}

/** Checks the named contracts, or every contract in the repository. */
export function runCheck(repo: string, ids: readonly string[], now: Date): CheckReport {
  const known = listContractIds(repo);
  for (const id of ids) {
    if (!known.includes(id))
      throw InputError.of({ file: `contracts/${id}/contract.json`, path: "$", message: "no such contract", fix: `use one of ${known.join(", ") || "(none)"}` });
  }
  const profiles = loadProfiles(repo);
  return { contracts: (ids.length > 0 ? ids : known).map((id) => checkContract(repo, id, now, profiles)) };
}
