/**
 * What a run shows in public (the receipt in git, the sealed manifest), reduced so that the
 * algorithm chooses as little of it as possible, and how much it can still carry.
 *
 * - **Blobs**: exactly three per sealed run, `outputs/0` (every output, names and all, packed
 *   inside the ciphertext), `logs/0` and `logs/datomspace-out` (the report sealed for the data
 *   owners); each padded inside the ciphertext to the next power of two of at least 4 KiB.
 * - **Status**: the phase only (succeeded, failed, policy-violation, or rejected, which the
 *   algorithm cannot reach: it never ran); the exit code, signal, OOM kill, deadline, exact sizes
 *   and the violations' details are in the sealed report.
 * - **Policy**: whether it held, and the sorted set of the rules broken (no file, no count).
 * - **Usage**: duration, CPU seconds and peak memory, each rounded *up* to a power of two (seconds,
 *   CPU seconds, MiB; at least 1); the exact values are in the sealed report. Settlement bills from
 *   the public buckets, so a payer pays for at most twice what was used.
 *
 * `metadataBits` counts, for a contract, how many bits each public field can carry at most (the
 * base-2 logarithm of how many values the algorithm can make it take), and `leakageBound` adds the
 * byte budget: per run, `maxBytes` bytes of plaintext to the recipients plus those bits; over the
 * contract, times `maxRuns`. The time a receipt appears is counted too: the algorithm chooses when
 * it ends, to the second (the receipt's times are whole seconds), within its deadline.
 */

import type { Contract } from "../contract/types.generated.js";
import { parseQuantity } from "../compile/quantity.js";
import { ROLE_DEADLINE_SECONDS, ROLE_LIMITS } from "../compile/instance.js";
import type { PodUsage, RunUsage } from "../pod/roles/usage.js";
import { MAX_HEADER_BYTES } from "./format.js";
import { applicableRules } from "./policy.js";

/** The smallest padded blob. */
export const BLOB_FLOOR_BYTES = 4096;
/** Bytes of a blob around its payload: magic, nonce, header length, tag. */
export const BLOB_OVERHEAD_BYTES = 8 + 12 + 4 + 16;
/** The sealed report is cut to fit this many bytes. */
export const REPORT_MAX_BYTES = 256 * 1024;
/** The blobs of a sealed run: one of outputs, one of logs, the report. */
export const BLOB_SUBJECTS = ["outputs/0", "logs/0", "logs/datomspace-out"] as const;

/** The next power of two at or above `n` (n ≥ 1). */
export function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** The size a blob of `n` bytes is padded to. */
export function paddedSize(n: number): number {
  return Math.max(BLOB_FLOOR_BYTES, powerOfTwoAtLeast(n));
}

/** How many padded sizes a blob of at most `maxBytes` can have. */
export function sizeBuckets(maxBytes: number): number {
  return Math.log2(paddedSize(maxBytes) / BLOB_FLOOR_BYTES) + 1;
}

export interface PublicUsage {
  /** Wall time of the algorithm in seconds, rounded up to a power of two; null when not metered. */
  readonly durationSeconds: number | null;
  /** CPU seconds of every process of the computing container (its cgroup), rounded up to a power of two. */
  readonly cpuSeconds: number | null;
  /** Peak memory of the computing container (its cgroup) in MiB, rounded up to a power of two. */
  readonly peakMemoryMiB: number | null;
  /** GPU seconds: 0 when no GPU was requested, null when one was and could not be metered. */
  readonly gpuSeconds: number | null;
  /** Why values are null: fixed texts, never anything the algorithm wrote. */
  readonly notes: readonly string[];
  /** The whole pod (every role and process, from its cgroup), added by the runner; rounded up likewise. */
  readonly pod: { readonly cpuSeconds: number | null; readonly peakMemoryMiB: number | null } | null;
}

function bucket(value: number | null | undefined, unit: number): number | null {
  return value === null || value === undefined ? null : powerOfTwoAtLeast(Math.max(1, Math.ceil(value / unit - 1e-9)));
}

const MIB = 1024 * 1024;

/**
 * The usage as the receipt shows it: the metered values (roles/usage.ts) rounded up to powers of
 * two, so the algorithm can steer each into one of a few dozen values only; the exact values are in
 * the report sealed for the data owners. Settlement bills these (at most twice what was used).
 */
export function publicUsage(usage: RunUsage | undefined): PublicUsage {
  return {
    durationSeconds: bucket(usage?.durationMs, 1000),
    cpuSeconds: bucket(usage?.cpuSeconds, 1),
    peakMemoryMiB: bucket(usage?.peakMemoryBytes, MIB),
    gpuSeconds: usage?.gpuSeconds === 0 ? 0 : bucket(usage?.gpuSeconds, 1),
    notes: usage?.notes ?? [],
    pod: usage?.pod === null || usage?.pod === undefined ? null : publicPodUsage(usage.pod),
  };
}

/** The pod's usage as the receipt shows it. */
export function publicPodUsage(pod: PodUsage): NonNullable<PublicUsage["pod"]> {
  return { cpuSeconds: bucket(pod.cpuSeconds, 1), peakMemoryMiB: bucket(pod.peakMemoryBytes, MIB) };
}

/** A timestamp to the second (what the receipt shows of the runner's clock). */
export function toSecond(iso: string): string {
  return `${iso.slice(0, 19)}Z`;
}

export interface MetadataField {
  readonly field: string;
  /** How many values the algorithm can make the field take. */
  readonly values: number;
  readonly bits: number;
}

function field(name: string, values: number): MetadataField {
  return { field: name, values, bits: Math.round(Math.log2(Math.max(1, values)) * 100) / 100 };
}

/** Powers of two from 1 up to the first at or above `max`, and null. */
function bucketValues(max: number): number {
  return Math.log2(powerOfTwoAtLeast(Math.max(1, Math.ceil(max)))) + 2;
}

/** The public fields of a run of `contract` and the bits each can carry. */
export function metadataFields(contract: Contract): MetadataField[] {
  const compute = contract.inputs.compute;
  const seconds = compute.maxDurationSeconds + ROLE_DEADLINE_SECONDS;
  const maxPayload = BLOB_OVERHEAD_BYTES + MAX_HEADER_BYTES + contract.outputs.policy.maxBytes;
  return [
    field("status.phase (succeeded, failed, policy-violation)", 3),
    field("outputs.policy.rules (each rule broken or not)", 2 ** applicableRules(contract).length),
    field("blobs sealed or not (sealing failed)", 2),
    field("subject outputs/0 size (padded)", sizeBuckets(maxPayload)),
    field("subject logs/0 size (padded)", sizeBuckets(maxPayload)),
    field("subject logs/datomspace-out size (padded)", sizeBuckets(BLOB_OVERHEAD_BYTES + REPORT_MAX_BYTES)),
    field("usage.durationSeconds", bucketValues(seconds)),
    field("usage.cpuSeconds", bucketValues(parseQuantity(compute.cpu) * seconds)),
    field("usage.peakMemoryMiB", bucketValues(parseQuantity(compute.memory) / MIB)),
    ...((compute.gpu ?? 0) > 0 ? [field("usage.gpuSeconds", bucketValues((compute.gpu ?? 0) * seconds))] : []),
    field("usage.notes (fixed texts: what was not metered)", 4),
    // The pod's own figures add the roles' (bounded by their limits) to the algorithm's.
    field("usage.pod.cpuSeconds", bucketValues((parseQuantity(compute.cpu) + 3 * parseQuantity(ROLE_LIMITS.cpu)) * seconds)),
    field("usage.pod.peakMemoryMiB", bucketValues((parseQuantity(compute.memory) + 3 * parseQuantity(ROLE_LIMITS.memory)) / MIB)),
    field("when the run ends (the receipt's time, to the second)", seconds),
  ];
}

export interface LeakageBound {
  /** Plaintext bytes a run may let out (outputs, logs and names): outputs.policy.maxBytes. */
  readonly bytesPerRun: number;
  /** Bits the public metadata of one run can carry, rounded up. */
  readonly metadataBitsPerRun: number;
  readonly runs: number;
  /** runs × bytesPerRun + ⌈runs × metadataBitsPerRun / 8⌉. */
  readonly boundBytes: number;
}

/** The most a contract can ever let out: its byte budget and its public metadata over all its runs. */
export function leakageBound(contract: Contract): LeakageBound {
  const bits = Math.ceil(metadataFields(contract).reduce((sum, f) => sum + Math.log2(Math.max(1, f.values)), 0));
  const runs = contract.business.maxRuns;
  const bytesPerRun = contract.outputs.policy.maxBytes;
  return { bytesPerRun, metadataBitsPerRun: bits, runs, boundBytes: runs * bytesPerRun + Math.ceil((runs * bits) / 8) };
}
