/**
 * The supervisor's status file (`computing.json`, written by generator/pod/supervise, version 1),
 * read tolerantly: a missing or malformed field becomes null, and the run is then reported as
 * failed with the reason, never as succeeded.
 */

export const SUPERVISOR_STATES = ["starting", "running", "exited", "signaled", "not-started"] as const;
export type SupervisorState = (typeof SUPERVISOR_STATES)[number];

export interface ComputingStatus {
  readonly state: SupervisorState | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly oomKilled: boolean;
  readonly deadlineExceeded: boolean;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly durationMs: number | null;
  /** CPU seconds of the processes the supervisor reaped (the child and what it waited for). */
  readonly cpuSeconds: number | null;
  readonly maxRssBytes: number | null;
  /** CPU seconds of every process of the container, from its cgroup; null when not metered (cgroupNote says why). */
  readonly cgroupCpuSeconds: number | null;
  /** Peak memory of the whole container, from its cgroup. */
  readonly cgroupPeakMemoryBytes: number | null;
  readonly cgroupNote: string | null;
  readonly error: string | null;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

function text(value: unknown, pattern?: RegExp, max = 300): string | null {
  if (typeof value !== "string") return null;
  if (pattern !== undefined && !pattern.test(value)) return null;
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

export function parseComputingStatus(value: unknown): ComputingStatus {
  const s = (value !== null && typeof value === "object" && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
  const state = (SUPERVISOR_STATES as readonly unknown[]).includes(s["state"]) ? (s["state"] as SupervisorState) : null;
  const exitCode = typeof s["exitCode"] === "number" && Number.isInteger(s["exitCode"]) ? s["exitCode"] : null;
  return {
    state,
    exitCode,
    signal: text(s["signal"], /^SIG[A-Z0-9+-]{1,12}$/),
    oomKilled: s["oomKilled"] === true,
    deadlineExceeded: s["deadlineExceeded"] === true,
    startedAt: text(s["startedAt"], RFC3339),
    endedAt: text(s["endedAt"], RFC3339),
    durationMs: num(s["durationMs"]),
    cpuSeconds: num(s["cpuSeconds"]),
    maxRssBytes: num(s["maxRssBytes"]),
    cgroupCpuSeconds: num(s["cgroupCpuSeconds"]),
    cgroupPeakMemoryBytes: num(s["cgroupPeakMemoryBytes"]),
    cgroupNote: text(s["cgroupNote"]),
    error: text(s["error"]),
  };
}
