/**
 * What a run used, as the receipt reports it and settlement bills it. Metered where it cannot be
 * talked down: CPU and peak memory come from the computing container's cgroup (every process the
 * algorithm started, waited for or not: the supervisor reads it, the same in a local pod and in a
 * cluster), the wall time from the supervisor, the bytes out from what datomspace-out sealed, and
 * the whole pod's CPU and peak memory from the pod's cgroup (the runner adds them after the pod
 * ended). A value that could not be metered is null, with a note that says why; it is never
 * replaced by a smaller estimate. Pure.
 */

import type { Contract } from "../../contract/types.generated.js";
import type { SealedManifest } from "../../seal/manifest.js";
import type { ComputingStatus } from "./computing.js";

/** The whole pod's accounting, from its cgroup (all roles, every process). */
export interface PodUsage {
  readonly cpuSeconds: number | null;
  readonly peakMemoryBytes: number | null;
}

export interface RunUsage {
  /** Wall time of the algorithm, start to end. */
  readonly durationMs: number | null;
  /** CPU seconds of every process of the computing container (its cgroup). */
  readonly cpuSeconds: number | null;
  /** The largest resident set of one process the supervisor reaped. */
  readonly maxRssBytes: number | null;
  /** Peak memory of the whole computing container (its cgroup). */
  readonly peakMemoryBytes: number | null;
  /** GPU seconds: 0 when no GPU was requested; null when one was and this runner cannot meter it. */
  readonly gpuSeconds: number | null;
  /** Bytes that left the pod: the sealed outputs, logs and report (ciphertext). */
  readonly outputBytes: number | null;
  /** Why a value is null. */
  readonly notes: readonly string[];
  /** The whole pod, added by the runner from the pod's cgroup; null until then, or when unreadable. */
  readonly pod: PodUsage | null;
}

/** Why CPU is null: the container's cgroup could not be read (the sealed report's cgroupNote says how). */
export const CPU_NOT_METERED = "CPU time not metered: the computing container's cgroup could not be read (the report sealed for the data owners says why)";

/** GPUs are metered through NVML (nvidia-smi); the pod images carry neither, so a GPU run's time is not metered yet. */
export const GPU_NOT_METERED = "a GPU was requested, but this runner has no GPU accounting (NVML / nvidia-smi): GPU seconds are not metered";

/** The usage of a run from the supervisor's status and datomspace-out's manifest (either may be missing). */
export function runUsage(contract: Contract, computing: ComputingStatus | undefined, manifest: SealedManifest | undefined): RunUsage {
  const notes: string[] = [];
  const c = computing;
  const cpuSeconds = c?.cgroupCpuSeconds ?? null;
  if (c !== undefined && cpuSeconds === null) {
    // Fixed text only: the note is public, and the supervisor's own note (in the sealed report) names paths and numbers.
    notes.push(CPU_NOT_METERED);
  }
  const gpuRequested = (contract.inputs.compute.gpu ?? 0) > 0;
  const gpuSeconds = gpuRequested ? null : c === undefined ? null : 0;
  if (gpuRequested) notes.push(GPU_NOT_METERED);
  const outputBytes = manifest === undefined ? null : manifest.files.reduce((sum, file) => sum + file.size, 0);
  return {
    durationMs: c?.durationMs ?? null,
    cpuSeconds,
    maxRssBytes: c?.maxRssBytes ?? null,
    peakMemoryBytes: c?.cgroupPeakMemoryBytes ?? null,
    gpuSeconds,
    outputBytes,
    notes,
    pod: null,
  };
}
