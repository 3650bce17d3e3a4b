/**
 * What the operator reads from the API server's objects (pure): whether a datomspod Job has
 * finished, which contract and run it is, which claim holds its sealed outputs; and the namespace
 * facts the deletion evidence records.
 */

import type { JobObject, KubeObject, VolumeObject } from "../cluster/kube.js";
import { CONTRACT_ID_PATTERN, RUN_ID_PATTERN } from "../repo/layout.js";

/** The labels every rendered instance object carries (generator/compile/instance.ts). */
export const MANAGED_SELECTOR = "app.kubernetes.io/managed-by=datomspod,datomspod.io/contract";
export const CONTRACT_LABEL = "datomspod.io/contract";
export const RUN_LABEL = "datomspod.io/run";
export const CONTRACT_HASH_ANNOTATION = "datomspod.io/contract-hash";
/** The volume of the Job's pod that the oracle and datomspace-out seal into. */
export const SEALED_VOLUME = "sealed";

export const OUTCOMES = ["Complete", "Failed"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface FinishedJob {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly contract: string;
  readonly run: string;
  readonly contractHash: string | undefined;
  readonly outcome: Outcome;
  /** When the Job controller marked it finished (the API server's clock), to the second. */
  readonly finishedAt: string | undefined;
  /** The claim the sealed volume mounts, if the pod has one. */
  readonly sealedClaim: string | undefined;
}

/** A finished datomspod Job's facts, or undefined while it runs (or when it is not one of ours). */
export function finishedJob(job: JobObject): FinishedJob | undefined {
  const labels = job.metadata.labels ?? {};
  const contract = labels[CONTRACT_LABEL];
  const run = labels[RUN_LABEL];
  const namespace = job.metadata.namespace;
  if (contract === undefined || run === undefined || namespace === undefined || job.metadata.uid === undefined) return undefined;
  if (!CONTRACT_ID_PATTERN.test(contract) || !RUN_ID_PATTERN.test(run) || namespace !== `dp-${contract}`) return undefined;
  const conditions = job.status?.conditions ?? [];
  const done = conditions.find((c) => (OUTCOMES as readonly string[]).includes(c.type) && c.status === "True");
  if (done === undefined) return undefined;
  const volumes = job.spec?.template?.spec?.volumes ?? [];
  return {
    namespace,
    name: job.metadata.name,
    uid: job.metadata.uid,
    contract,
    run,
    contractHash: job.metadata.annotations?.[CONTRACT_HASH_ANNOTATION],
    outcome: done.type as Outcome,
    finishedAt: job.status?.completionTime ?? done.lastTransitionTime,
    sealedClaim: volumes.find((v) => v.name === SEALED_VOLUME)?.persistentVolumeClaim?.claimName,
  };
}

/** The contract an instance namespace belongs to (dp-<id>, labelled so), or undefined. */
export function namespaceContract(namespace: KubeObject): string | undefined {
  const contract = namespace.metadata.labels?.[CONTRACT_LABEL];
  return contract !== undefined && CONTRACT_ID_PATTERN.test(contract) && namespace.metadata.name === `dp-${contract}` ? contract : undefined;
}

/** Where a bound PersistentVolume keeps its files on the node: hostPath or local volumes only. */
export function volumePath(pv: VolumeObject): string | undefined {
  return pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
}
