/**
 * Metering that can be billed, through the real `datomspod run` (podman): CPU time is the computing
 * container's cgroup, so processes the algorithm forks and never waits for are counted (the reaped
 * rusage alone saw almost nothing of them), peak memory is the whole container's, bytes out are
 * the sealed bytes, and the runner adds the whole pod's CPU and peak memory from the pod's cgroup.
 */

import { describe, expect, it } from "vitest";
import { podmanMissing, skipMessage } from "./podman.js";
import { CONSUMER, expectRemoved, fetchRun, ownerReport, runAlgorithm } from "./run-helpers.js";

/** The public bucket of a metered value: rounded up to a power of two units, at least 1. */
function bucket(value: number, unit: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(value / unit - 1e-9))));
}

const missing = await podmanMissing();
skipMessage(missing);

const slow = { timeout: 300_000 };
const MiB = 1024 * 1024;

describe.skipIf(missing !== undefined)("metering through datomspod run", { concurrent: true }, () => {
  it("four workers the algorithm never waits for: CPU seconds are theirs all (≈ 4 × 1 s), peak memory the container's", slow, async (t) => {
    const run = await runAlgorithm(t, { algorithm: "metering-workers.py", compute: { cpu: "2", memory: "256Mi" } });

    expect(run.result.code, run.result.stdout + run.result.stderr).toBe(0);
    const p = run.receipt!.predicate;
    expect(p.status.phase).toBe("succeeded");
    const fetched = await fetchRun(run, CONSUMER);
    const workers = [0, 1, 2, 3].map((i) => JSON.parse(fetched.outputs[`worker-${i}.json`] ?? "null") as { cpuSeconds: number; heldBytes: number });
    const parent = JSON.parse(fetched.outputs["parent.json"] ?? "null") as { parentCpuSeconds: number };
    const burned = workers.reduce((sum, w) => sum + w.cpuSeconds, 0);
    // Every worker measured at least its second; the cgroup has all of it, plus the parent, the
    // interpreters' start and the supervisor, and not much more.
    expect(burned).toBeGreaterThanOrEqual(4);
    const exact = (await ownerReport(run)).computing;
    expect(exact.cgroupCpuSeconds).toBeGreaterThanOrEqual(burned + parent.parentCpuSeconds - 0.05);
    expect(exact.cgroupCpuSeconds).toBeLessThan(burned + parent.parentCpuSeconds + 2);
    // In public, the exact CPU seconds rounded up to a power of two: billed at most twice what was used.
    expect(p.usage.cpuSeconds).toBe(bucket(exact.cgroupCpuSeconds, 1));
    expect(p.usage.notes).toEqual([]);
    // The first worker held 96 MiB: the container's peak has it, the reaped parent's resident set does not.
    expect(workers[0].heldBytes).toBe(96 * MiB);
    expect(exact.cgroupPeakMemoryBytes).toBeGreaterThan(96 * MiB);
    expect(exact.maxRssBytes).toBeLessThan(64 * MiB);
    expect(p.usage.peakMemoryMiB).toBe(bucket(exact.cgroupPeakMemoryBytes, MiB));
    expect(p.usage.peakMemoryMiB).toBeGreaterThanOrEqual(128);
    // No GPU was requested.
    expect(p.usage.gpuSeconds).toBe(0);
    // The whole pod (every role) used at least what its computing container did.
    expect(p.usage.pod).not.toBeNull();
    expect(p.usage.pod!.cpuSeconds).toBeGreaterThanOrEqual(p.usage.cpuSeconds!);
    expect(p.usage.pod!.peakMemoryMiB).toBeGreaterThanOrEqual(p.usage.peakMemoryMiB!);
    await expectRemoved(run);
  });

  it("busy workers stopped at the deadline: every second they burned is counted, not just the parent's", slow, async (t) => {
    const run = await runAlgorithm(t, { algorithm: "metering-deadline.py", compute: { cpu: "2", maxDurationSeconds: 3 } });

    expect(run.result.code, run.result.stdout + run.result.stderr).toBe(0);
    const p = run.receipt!.predicate;
    expect(p.status).toMatchObject({ phase: "failed", deadlineExceeded: true });
    const fetched = await fetchRun(run, CONSUMER);
    const workers = [0, 1].map((i) => JSON.parse(fetched.outputs[`worker-${i}.json`] ?? "null") as { cpuSeconds: number });
    const parent = JSON.parse(fetched.outputs["parent.json"] ?? "null") as { parentCpuSeconds: number };
    // What the workers had recorded shortly before they were stopped is a lower bound of what they
    // burned; the cgroup has at least that, however busy the machine was. The parent, the only
    // process the supervisor reaps, slept.
    const recorded = workers.reduce((sum, w) => sum + w.cpuSeconds, 0);
    expect(recorded).toBeGreaterThan(parent.parentCpuSeconds);
    const exact = (await ownerReport(run)).computing;
    expect(exact.cgroupCpuSeconds, JSON.stringify(exact)).toBeGreaterThanOrEqual(recorded + parent.parentCpuSeconds - 0.05);
    expect(exact.cgroupCpuSeconds).toBeLessThanOrEqual((exact.durationMs! / 1000) * 2 + 0.5);
    expect(p.usage.cpuSeconds).toBe(bucket(exact.cgroupCpuSeconds, 1));
    await expectRemoved(run);
  });
});
