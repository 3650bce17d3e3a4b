/**
 * Whether what the cluster ran is what git holds (pure). Someone with access to the cluster could
 * have run another Job under the committed Job's name, taken the deny-all NetworkPolicy or the Pod
 * Security labels away, or let a second Job or pod write into the run's sealed claim; the operator
 * signs a receipt only when none of that happened:
 *   - the Job the API server holds is the one the operator noticed (same uid), its spec is the
 *     committed spec exactly (the API server's own defaults aside, listed in JOB_DEFAULTS), and its
 *     metadata carries every committed label and annotation;
 *   - the namespace carries every committed label (Pod Security `restricted`);
 *   - every committed NetworkPolicy is there with the committed spec, created before the Job;
 *   - the sealed claim is the committed one (its spec as committed, created before the Job: not
 *     replaced after the pod ended by one bound to a volume holding other files);
 *   - no other Job of the namespace is for the same run or mounts the run's sealed claim, and no pod
 *     that is not the Job's own mounts that claim.
 * Each finding names the object and the field.
 */

import { isDeepStrictEqual } from "node:util";
import type { ClaimObject, JobObject, KubeObject, PodObject } from "../cluster/kube.js";
import { RUN_LABEL } from "./jobs.js";

type Json = Record<string, unknown>;

/** What the operator read from the API server about a finished Job's namespace. */
export interface LiveInstance {
  /** The Job now (undefined: it is gone). */
  readonly job: JobObject | undefined;
  readonly namespace: KubeObject | undefined;
  readonly networkPolicies: readonly KubeObject[];
  /** Every Job and every pod of the namespace. */
  readonly jobs: readonly JobObject[];
  readonly pods: readonly PodObject[];
  /** The claim the Job's sealed volume mounts (undefined: it has none, or it is gone). */
  readonly claim: ClaimObject | undefined;
}

/** The committed side: the instance folder's objects and the run's Job (from gate/admit.ts). */
export interface CommittedRun {
  readonly objects: readonly Json[];
  readonly job: Json;
  /** The claim the run's sealed volume mounts. */
  readonly sealedClaim: string | undefined;
}

/**
 * What the API server adds to a Job it admits, as Kubernetes 1.36's answered a server-side dry run
 * of a rendered Job: a field that holds exactly this value is the server's, not the Job's author's.
 * Any other difference is drift.
 */
export const JOB_DEFAULTS = {
  spec: { completionMode: "NonIndexed", manualSelector: false, podReplacementPolicy: "TerminatingOrFailed", suspend: false },
  podSpec: { dnsPolicy: "ClusterFirst", schedulerName: "default-scheduler" },
  container: { terminationMessagePath: "/dev/termination-log", terminationMessagePolicy: "File" },
  configMapDefaultMode: 420,
} as const;

function withoutDefaults(object: Json, defaults: Readonly<Record<string, unknown>>): Json {
  return Object.fromEntries(Object.entries(object).filter(([key, value]) => !(key in defaults) || !isDeepStrictEqual(defaults[key], value)));
}

/** The live Job's spec with the API server's defaults (and the selector and labels it derives from the Job's uid and name) taken out. */
export function authoredJobSpec(live: JobObject): Json {
  const uid = live.metadata.uid;
  const name = live.metadata.name;
  const spec = withoutDefaults(structuredClone((live.spec ?? {}) as Json), JOB_DEFAULTS.spec);
  if (isDeepStrictEqual(spec["selector"], { matchLabels: { "batch.kubernetes.io/controller-uid": uid } })) delete spec["selector"];
  const template = (spec["template"] ?? {}) as Json;
  const metadata = (template["metadata"] ?? {}) as Json;
  const derived: Json = { "batch.kubernetes.io/controller-uid": uid, "controller-uid": uid, "batch.kubernetes.io/job-name": name, "job-name": name };
  if (metadata["labels"] !== undefined) metadata["labels"] = withoutDefaults(metadata["labels"] as Json, derived);
  if (metadata["creationTimestamp"] === null) delete metadata["creationTimestamp"];
  const podSpec = withoutDefaults((template["spec"] ?? {}) as Json, JOB_DEFAULTS.podSpec);
  for (const list of ["initContainers", "containers"]) {
    if (Array.isArray(podSpec[list])) podSpec[list] = (podSpec[list] as Json[]).map((container) => withoutDefaults(container, JOB_DEFAULTS.container));
  }
  if (Array.isArray(podSpec["volumes"])) {
    podSpec["volumes"] = (podSpec["volumes"] as Json[]).map((volume) =>
      volume["configMap"] === undefined
        ? volume
        : { ...volume, configMap: withoutDefaults(volume["configMap"] as Json, { defaultMode: JOB_DEFAULTS.configMapDefaultMode }) },
    );
  }
  return { ...spec, template: { ...template, metadata, spec: podSpec } };
}

/** The JSON paths at which two values differ (at most `limit`). */
export function differences(expected: unknown, actual: unknown, path = "$", limit = 5): string[] {
  if (isDeepStrictEqual(expected, actual)) return [];
  const bothArrays = Array.isArray(expected) && Array.isArray(actual);
  const bothObjects = !Array.isArray(expected) && !Array.isArray(actual) && typeof expected === "object" && typeof actual === "object";
  if (expected === null || actual === null || !(bothArrays || bothObjects)) return [path];
  if (bothArrays && expected.length !== actual.length) return [`${path} (${expected.length} entries committed, ${actual.length} in the cluster)`];
  const found: string[] = [];
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const key of [...keys].sort()) {
    const at = bothArrays ? `${path}[${key}]` : `${path}.${key}`;
    found.push(...differences((expected as Json)[key], (actual as Json)[key], at, limit - found.length));
    if (found.length >= limit) break;
  }
  return found;
}

function claimsOf(spec: { readonly volumes?: readonly { readonly persistentVolumeClaim?: { readonly claimName?: string } }[] } | undefined): string[] {
  return (spec?.volumes ?? []).flatMap((volume) => (volume.persistentVolumeClaim?.claimName === undefined ? [] : [volume.persistentVolumeClaim.claimName]));
}

function missingEntries(committed: unknown, live: Readonly<Record<string, string>> | undefined, at: string): string[] {
  return Object.entries((committed ?? {}) as Record<string, string>)
    .filter(([key, value]) => live?.[key] !== value)
    .map(([key]) => `${at}.${key}`);
}

/** Every way in which the live instance differs from the committed run (empty: it ran as approved). */
export function instanceDrift(committed: CommittedRun, live: LiveInstance, uid: string): string[] {
  const found: string[] = [];
  const job = live.job;
  const name = String((committed.job["metadata"] as Json)["name"]);
  if (job === undefined) return [`Job ${name} is no longer in the cluster: what ran cannot be compared with git`];
  if (job.metadata.uid !== uid) return [`Job ${name} was replaced (uid ${job.metadata.uid ?? "none"}, the finished one was ${uid})`];
  const metadata = committed.job["metadata"] as Json;
  for (const path of [
    ...missingEntries(metadata["labels"], job.metadata.labels, "$.metadata.labels"),
    ...missingEntries(metadata["annotations"], job.metadata.annotations, "$.metadata.annotations"),
  ])
    found.push(`Job ${name}: ${path} differs from the committed Job`);
  for (const path of differences(committed.job["spec"], authoredJobSpec(job), "$.spec")) found.push(`Job ${name}: ${path} differs from the committed Job`);

  const namespace = committed.objects.find((object) => object["kind"] === "Namespace");
  const nsName = String(((namespace?.["metadata"] ?? {}) as Json)["name"]);
  if (live.namespace === undefined) found.push(`namespace ${nsName} is not in the cluster`);
  else
    for (const path of missingEntries(((namespace?.["metadata"] ?? {}) as Json)["labels"], live.namespace.metadata.labels, "$.metadata.labels"))
      found.push(`namespace ${nsName}: ${path} differs from the committed namespace`);

  const startedAt = Date.parse(job.metadata.creationTimestamp ?? "");
  for (const policy of committed.objects.filter((object) => object["kind"] === "NetworkPolicy")) {
    const policyName = String((policy["metadata"] as Json)["name"]);
    const present = live.networkPolicies.find((object) => object.metadata.name === policyName);
    if (present === undefined) {
      found.push(`NetworkPolicy ${policyName} is not in the namespace: the pod may have had network access`);
      continue;
    }
    for (const path of differences(policy["spec"], present["spec"], "$.spec"))
      found.push(`NetworkPolicy ${policyName}: ${path} differs from the committed policy`);
    const createdAt = Date.parse(present.metadata.creationTimestamp ?? "");
    if (!(createdAt <= startedAt))
      found.push(
        `NetworkPolicy ${policyName} was created after Job ${name} (${present.metadata.creationTimestamp ?? "unknown"}): the pod may have run without it`,
      );
  }

  const claim = committed.sealedClaim;
  const committedClaim = committed.objects.find((object) => object["kind"] === "PersistentVolumeClaim" && (object["metadata"] as Json)["name"] === claim);
  if (claim === undefined || committedClaim === undefined) found.push(`Job ${name} mounts no committed claim as its sealed volume`);
  else if (live.claim === undefined) found.push(`claim ${claim} is not in the namespace`);
  else {
    // Only what the committed claim sets: the API server and the binder add volumeMode and volumeName.
    const spec = (committedClaim["spec"] ?? {}) as Json;
    for (const key of Object.keys(spec).sort())
      for (const path of differences(spec[key], (live.claim.spec as Json | undefined)?.[key], `$.spec.${key}`))
        found.push(`claim ${claim}: ${path} differs from the committed claim`);
    // A claim made after the Job is not the one its pod wrote into (it was replaced once the pod ended).
    const claimedAt = Date.parse(live.claim.metadata.creationTimestamp ?? "");
    if (!(claimedAt <= startedAt))
      found.push(`claim ${claim} was created after Job ${name} (${live.claim.metadata.creationTimestamp ?? "unknown"}): it is not the one the pod wrote into`);
  }
  for (const other of live.jobs.filter((object) => object.metadata.uid !== uid)) {
    if (other.metadata.labels?.[RUN_LABEL] === job.metadata.labels?.[RUN_LABEL]) found.push(`Job ${other.metadata.name} is a second Job for the same run`);
    else if (claim !== undefined && claimsOf(other.spec?.template?.spec).includes(claim))
      found.push(`Job ${other.metadata.name} also mounts the sealed claim ${claim}`);
  }
  if (claim !== undefined) {
    for (const pod of live.pods) {
      const owner = pod.metadata.ownerReferences?.find((reference) => reference.controller === true);
      if (owner?.uid !== uid && claimsOf(pod.spec).includes(claim))
        found.push(`pod ${pod.metadata.name} is not the Job's and mounts the sealed claim ${claim}`);
    }
  }
  return found;
}
