/**
 * Kubernetes names of an instance: DNS-1123 labels of at most 63 characters, derived from the
 * contract id, with short hash suffixes where a name must change when its content changes.
 */

import { InputError } from "../errors.js";
import { canonicalHash } from "../contract/canonical.js";

export const LABEL_MAX = 63;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const LABELS = {
  managedBy: "app.kubernetes.io/managed-by",
  partOf: "app.kubernetes.io/part-of",
  contract: "datomspod.io/contract",
  run: "datomspod.io/run",
  role: "datomspod.io/role",
} as const;

export const ANNOTATIONS = {
  contractHash: "datomspod.io/contract-hash",
  specHash: "datomspod.io/spec-hash",
  did: "datomspod.io/did",
  environment: "datomspod.io/environment",
} as const;

/** First 8 hex digits of the canonical sha256 of `value`. */
export function shortHash(value: unknown): string {
  return canonicalHash(value).slice(0, 8);
}

/** Throws an input error naming the contract field when `name` is not a DNS-1123 label of at most 63 characters. */
export function assertLabel(name: string, what: string, file: string, path: string): string {
  if (name.length > LABEL_MAX || !DNS_LABEL.test(name)) {
    throw InputError.of({
      file,
      path,
      message: `would make the ${what} name ${JSON.stringify(name)} (${name.length} characters), not a DNS-1123 label of at most ${LABEL_MAX}`,
      fix: "shorten the id",
    });
  }
  return name;
}

export function namespaceName(contractId: string): string {
  return `dp-${contractId}`;
}

export function jobName(runId: string, specHash: string): string {
  return `run-${runId}-${specHash}`;
}

export function sealedClaimName(runId: string): string {
  return `sealed-${runId}`;
}

export function runConfigMapName(runId: string): string {
  return `run-${runId}`;
}

/** Cluster-scoped PersistentVolume for input `index` of a contract: unique across the cluster. */
export function inputVolumeName(contractId: string, index: number, did: string): string {
  return `dp-${contractId}-in${index}-${shortHash(did)}`;
}
