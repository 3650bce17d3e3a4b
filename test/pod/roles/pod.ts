/**
 * A pod's volumes as folders of a temporary directory, laid out and named like the rendered Job's
 * mounts, with the example contract hospital-stats and its real input data; and the computing step
 * played the way the supervisor leaves it (outputs, the algorithm's log, computing.json), so the
 * roles run exactly as in the pod, without podman.
 */

import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "../../helpers/repo.js";
import { runDatomspaceIn, type DatomspaceInOptions, type Verdict } from "../../../generator/pod/roles/datomspace-in.js";
import { runDatomspaceOut } from "../../../generator/pod/roles/datomspace-out.js";
import { runOracle } from "../../../generator/pod/roles/oracle.js";
import type { SealedManifest } from "../../../generator/seal/manifest.js";
import type { Receipt } from "../../../generator/pod/roles/receipt.js";

export const CONTRACT_ID = "hospital-stats";
export const RUN_ID = "run-1";
export const PATIENTS = join(ROOT, "generator", "demo", "data", "hospital-stats", "patients.csv");
export const ALGORITHM = join(ROOT, "contracts", CONTRACT_ID, "algorithm", "aggregate.py");

/** What the example algorithm writes for the example data (aggregates per region, k = 10). */
export const AGGREGATES =
  "region,patients,mean_age,mean_length_of_stay_days\ncentral,23,58.9,12.17\neast,37,51.6,12.32\nnorth,88,58.5,10.97\nsouth,53,56.0,11.04\nwest,39,55.6,12.56\n";
export const ALGORITHM_LOG = "5 groups, 0 suppressed below k=10\n";
/** algoCustomData.json of run-1 as the run ConfigMap holds it (the request's parameters over the contract's defaults). */
export const PARAMETERS = '{\n  "groupBy": "region",\n  "minGroupSize": 10\n}\n';
/** A stand-in for the supervisor binary in the pod image. */
export const SUPERVISOR_BYTES = "#!/bin/sh\n# stand-in for the static supervise binary\n";

export interface Pod {
  readonly root: string;
  readonly contract: string;
  readonly inputs: string;
  readonly algorithm: string;
  readonly ocean: string;
  /** The computing container's working directory (/scratch). */
  readonly scratch: string;
  readonly parameters: string;
  readonly tools: string;
  readonly status: string;
  readonly outputs: string;
  readonly logs: string;
  readonly sealed: string;
  readonly supervisor: string;
}

/** The contract as the Job mounts it (the ConfigMap's contract.json), optionally edited. */
export function contractJson(edit?: (contract: any) => void): any {
  const contract = JSON.parse(readFileSync(join(ROOT, "contracts", CONTRACT_ID, "contract.json"), "utf8"));
  edit?.(contract);
  return contract;
}

export function makePod(options: { edit?: (contract: any) => void } = {}): Pod {
  const root = tempDir("datomspod-pod-");
  const pod: Pod = {
    root,
    contract: join(root, "datomspod", "contract", "contract.json"),
    inputs: join(root, "datomspod", "inputs"),
    algorithm: join(root, "data", "transformations", "algorithm"),
    ocean: join(root, "datomspod", "ocean"),
    scratch: join(root, "datomspod", "scratch"),
    parameters: join(root, "datomspod", "run", "algoCustomData.json"),
    tools: join(root, "datomspod", "bin"),
    status: join(root, "datomspod", "status"),
    outputs: join(root, "data", "outputs"),
    logs: join(root, "data", "logs"),
    sealed: join(root, "sealed"),
    supervisor: join(root, "opt", "datomspod", "bin", "supervise"),
  };
  for (const dir of [
    join(root, "datomspod", "contract"),
    join(pod.inputs, "0"),
    join(root, "data", "transformations", "..data"),
    pod.ocean,
    pod.scratch,
    join(root, "datomspod", "run"),
    pod.tools,
    pod.status,
    pod.outputs,
    pod.logs,
    pod.sealed,
    join(root, "opt", "datomspod", "bin"),
  ]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(pod.contract, `${JSON.stringify(contractJson(options.edit), null, 2)}\n`);
  cpSync(PATIENTS, join(pod.inputs, "0", "patients.csv"));
  // The algorithm ConfigMap as a volume presents it: the key is a link into the volume's ..data folder.
  cpSync(ALGORITHM, join(root, "data", "transformations", "..data", "algorithm"));
  symlinkSync(join("..data", "algorithm"), pod.algorithm);
  writeFileSync(pod.parameters, PARAMETERS);
  writeFileSync(pod.supervisor, SUPERVISOR_BYTES, { mode: 0o755 });
  return pod;
}

export function datomspaceIn(pod: Pod, extra: Partial<DatomspaceInOptions> = {}): Verdict {
  return runDatomspaceIn({
    ...extra,
    contract: pod.contract,
    inputs: pod.inputs,
    oceanInputs: pod.ocean,
    scratch: pod.scratch,
    parameters: pod.parameters,
    algorithm: pod.algorithm,
    tools: pod.tools,
    status: pod.status,
    supervisor: pod.supervisor,
  });
}

export interface Computed {
  readonly outputs?: Readonly<Record<string, string | Uint8Array>>;
  readonly log?: string;
  readonly exitCode?: number;
}

/** The supervisor's status after the algorithm ran (the Go supervisor's field set, version 1). */
export function computingStatus(exitCode = 0): object {
  return {
    cgroupCpuSeconds: 1.25,
    cgroupNote: null,
    cgroupPeakMemoryBytes: 31457280,
    cpuSeconds: 0.42,
    deadlineExceeded: false,
    durationMs: 512,
    endedAt: "2026-11-24T10:00:01.512Z",
    error: null,
    exitCode,
    interruptedBy: null,
    logBytes: 35,
    logTruncated: false,
    maxRssBytes: 24117248,
    oomEvidence: null,
    oomKilled: false,
    signal: null,
    startedAt: "2026-11-24T10:00:01Z",
    state: "exited",
    version: 1,
  };
}

/** Plays the computing container: what the algorithm leaves, and the supervisor's status. */
export function compute(pod: Pod, computed: Computed = {}): void {
  const outputs = computed.outputs ?? { "aggregates.csv": AGGREGATES };
  for (const [name, content] of Object.entries(outputs)) {
    mkdirSync(join(pod.outputs, name, ".."), { recursive: true });
    writeFileSync(join(pod.outputs, name), content);
  }
  writeFileSync(join(pod.logs, "algorithm.log"), computed.log ?? ALGORITHM_LOG);
  writeFileSync(join(pod.status, "computing.json"), `${JSON.stringify(computingStatus(computed.exitCode ?? 0), null, 2)}\n`);
}

/** What the supervisor writes when the gate is missing. */
export function refuseToStart(pod: Pod): void {
  const status = {
    ...computingStatus(),
    cpuSeconds: 0,
    durationMs: 0,
    endedAt: null,
    exitCode: null,
    logBytes: 0,
    maxRssBytes: 0,
    cgroupCpuSeconds: null,
    cgroupNote: "no cgroup CPU accounting is readable (cpu.stat, cpuacct.usage)",
    cgroupPeakMemoryBytes: null,
    startedAt: null,
    state: "not-started",
    error: "the gate file /datomspod/status/inputs-verified does not exist: the inputs were not verified, the algorithm was not started",
  };
  writeFileSync(join(pod.status, "computing.json"), `${JSON.stringify(status, null, 2)}\n`);
}

export function datomspaceOut(pod: Pod): Promise<SealedManifest> {
  return runDatomspaceOut({ contract: pod.contract, run: RUN_ID, outputs: pod.outputs, logs: pod.logs, status: pod.status, sealed: pod.sealed });
}

export function oracle(pod: Pod): Receipt {
  return runOracle({ contract: pod.contract, run: RUN_ID, status: pod.status, sealed: pod.sealed });
}

/** The whole pod: datomspace-in, then (when the gate opened) the algorithm, datomspace-out, the oracle. */
export async function runPod(pod: Pod, computed: Computed = {}): Promise<{ verdict: Verdict; manifest: SealedManifest; receipt: Receipt }> {
  const verdict = datomspaceIn(pod);
  if (verdict.ok) compute(pod, computed);
  else refuseToStart(pod);
  const manifest = await datomspaceOut(pod);
  return { verdict, manifest, receipt: oracle(pod) };
}
