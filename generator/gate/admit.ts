/**
 * What must hold before a run's receipt may be signed, in both modes: `datomspod run` checks it
 * before it starts the pod, the cluster's operator before it signs the receipt of a Job Argo CD
 * ran. One function, so the operator signs only what `run` would sign:
 *   - the signer is one of the contract's evidence.runners;
 *   - the contract passes the one gate (gate.ts: signatures, approvals of the exact algorithm,
 *     environment and images, compile, OPS-C policies, Kubernetes validation) at the real clock,
 *     and its state is active (or ran);
 *   - the run has a valid, signed request that is still pending (no receipt yet);
 *   - the committed instance folder is exactly what the contract compiles to now: the same files,
 *     byte for byte, and nothing else in it (Argo CD applies every .yaml, .yml and .json it finds);
 *   - the folder holds exactly one Job for the run.
 * Every refusal names the file, the reason and the fix; nothing is written.
 */

import { existsSync, lstatSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { getAddress } from "ethers";
import { InputError, VerdictError, formatIssue, type Issue } from "../errors.js";
import { loadContract, type LoadedContract } from "../contract/load.js";
import type { K8sObject } from "../compile/instance.js";
import { objectFileName, planContract, type ContractOutcome } from "../compile/plan.js";
import type { ClusterProfile } from "../compile/profile.js";
import { ordered } from "../compile/yaml.js";
import { assertRunId } from "../repo/layout.js";

type Json = Record<string, unknown>;

export interface CommittedInstance {
  /** The folder on disk, and as users see it (clusters/<cluster>/<id>). */
  readonly dir: string;
  readonly shown: string;
  /** Every object of the folder, in file-name order. */
  readonly objects: readonly Json[];
  readonly files: readonly string[];
}

export interface AdmittedRun {
  readonly loaded: LoadedContract;
  readonly outcome: ContractOutcome;
  readonly instance: CommittedInstance;
  /** The committed Job of the run, as parsed from its file. */
  readonly job: Json;
  /** Its file name in the instance folder. */
  readonly jobFile: string;
}

export interface AdmitOptions {
  readonly repo: string;
  readonly id: string;
  readonly runId: string;
  /** The real clock. */
  readonly now: Date;
  /** The cluster profile the run executes on (its name is the instance folder's cluster). */
  readonly profile: ClusterProfile;
  /** The address that will sign the receipt; undefined when the caller checks it later with assertRunner (its key still decrypting). */
  readonly runner: string | undefined;
  /** Where the signer's key came from, for messages (--key). */
  readonly keyFile: string;
}

/**
 * The committed instance folder, refused unless it holds exactly the files the gate renders for the
 * contract now (`expected`, each the YAML of one of the `rendered` objects). Its objects are those
 * objects as their files say them (`ordered`: what toYaml writes), not parsed again from the files.
 */
export function committedInstance(
  repo: string,
  profile: ClusterProfile,
  id: string,
  expected: Readonly<Record<string, string>>,
  rendered: readonly K8sObject[],
): CommittedInstance {
  const shown = `clusters/${profile.name}/${id}`;
  const dir = join(repo, shown);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    throw InputError.of({ file: shown, path: "$", message: "does not exist", fix: "run `datomspod compile` and commit clusters/" });
  }
  const fix = "run `datomspod compile`, review and commit clusters/; only the reviewed manifests run";
  // Links and folders are not what compile writes: a link could point anywhere, and Argo CD may recurse.
  const strange = names.filter((name) => !lstatSync(join(dir, name)).isFile());
  if (strange.length > 0)
    throw InputError.of({ file: shown, path: "$", message: `holds ${strange.join(", ")}, which is not a regular file compile wrote`, fix });
  const stale = names.filter((name) => expected[name] !== readFileSync(join(dir, name), "utf8"));
  const missing = Object.keys(expected).filter((name) => !names.includes(name));
  if (stale.length + missing.length > 0) {
    throw InputError.of({
      file: shown,
      path: "$",
      message: `is not what contract ${id} compiles to (${[...stale, ...missing].join(", ")})`,
      fix,
    });
  }
  // Every name is one of `expected`'s (any other was refused above as not what compile wrote).
  const byFile = new Map(rendered.map((object) => [objectFileName(object), ordered(object) as Json]));
  const objects = names.map((name) => byFile.get(name)!);
  return { dir, shown, objects, files: names };
}

/** Whether an object is a Job of run `runId`. */
export function isRunJob(object: Json, runId: string): boolean {
  return object["kind"] === "Job" && ((object["metadata"] as Json)["labels"] as Json | undefined)?.["datomspod.io/run"] === runId;
}

/** The signer must be one of the contract's evidence.runners: a receipt signed by anyone else would not count. */
export function assertRunner(loaded: LoadedContract, address: string, keyFile: string): void {
  const runner = getAddress(address);
  if (!loaded.contract.evidence.runners.includes(runner)) {
    throw InputError.of({
      file: keyFile,
      path: "$",
      message: `${runner} is not a runner of ${loaded.contract.id}: the receipt it signed would not count`,
      fix: `use the key of one of the contract's evidence.runners (${loaded.contract.evidence.runners.join(", ")})`,
    });
  }
}

/** See the module comment: the contract, its gate outcome, the committed folder and the run's Job, or a refusal. */
export function admitRun(options: AdmitOptions): AdmittedRun {
  const { repo, id, runId, now, profile } = options;
  assertRunId(runId);
  const loaded = loadContract(repo, id);
  if (options.runner !== undefined) assertRunner(loaded, options.runner, options.keyFile);
  // The same gate as `datomspod check` and `compile`, at the real clock: nothing is admitted that it refuses.
  const outcome = planContract(repo, id, now, new Map([[profile.name, profile]]));
  const state = outcome.plan.state;
  if (state !== "active" && state !== "ran") {
    const issue: Issue = {
      file: loaded.file,
      path: "$",
      message: `contract ${id} is ${state}; only an active contract runs`,
      fix: "see `datomspod contract status`",
    };
    const why = [...(outcome.refused ?? []), ...(outcome.waiting ?? []), ...(outcome.notes ?? [])];
    throw why.length === 0 ? InputError.of(issue) : InputError.many(formatIssue(issue), [issue, ...why]);
  }
  if (outcome.refused !== undefined) {
    throw new VerdictError(`contract ${id} does not pass the gate (what \`datomspod check\` shows), so nothing runs and no receipt is signed`, outcome.refused);
  }
  if (existsSync(join(repo, "contracts", id, "receipts", `${runId}.json`))) {
    throw InputError.of({ file: `contracts/${id}/receipts/${runId}.json`, path: "$", message: `run ${runId} already has a receipt`, fix: "request a new run" });
  }
  if (!outcome.plan.runs.includes(runId)) {
    throw InputError.of({
      file: `contracts/${id}/runs/${runId}.json`,
      path: "$",
      message: "no valid run request that is pending",
      fix: `the consumer requests it: datomspod request ${id} ${runId} --key FILE`,
    });
  }
  const instance = committedInstance(repo, profile, id, outcome.files, outcome.plan.objects);
  const jobs = instance.objects.filter((object) => isRunJob(object, runId));
  if (jobs.length !== 1)
    throw InputError.of({
      file: instance.shown,
      path: "$",
      message: `holds ${jobs.length} Jobs for run ${runId}`,
      fix: "request the run, compile, and run it before its receipt exists",
    });
  const job = jobs[0];
  return { loaded, outcome, instance, job, jobFile: objectFileName(job as unknown as K8sObject) };
}
