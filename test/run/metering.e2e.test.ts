/**
 * Metering that can be billed, through the real `datomspod run` (podman): CPU time is the computing
 * container's cgroup, so processes the algorithm forks and never waits for are counted (the reaped
 * rusage alone saw almost nothing of them), peak memory is the whole container's, bytes out are
 * the sealed bytes, and the runner adds the whole pod's CPU and peak memory from the pod's cgroup.
 */

import { describe, expect, it } from "vitest";
import { podmanMissing, skipMessage } from "./podman.js";
import { CONSUMER, expectRemoved, fetchRun, runAlgorithm } from "./run-helpers.js";

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
    expect(p.usage.cpuSeconds).toBeGreaterThanOrEqual(burned + parent.parentCpuSeconds - 0.05);
    expect(p.usage.cpuSeconds).toBeLessThan(burned + parent.parentCpuSeconds + 2);
    expect(p.usage.notes).toEqual([]);
    // The first worker held 96 MiB: the container's peak has it, the reaped parent's resident set does not.
    expect(workers[0].heldBytes).toBe(96 * MiB);
    expect(p.usage.peakMemoryBytes).toBeGreaterThan(96 * MiB);
    expect(p.usage.maxRssBytes).toBeLessThan(64 * MiB);
    // No GPU was requested; the bytes out are exactly the sealed blobs the receipt lists.
    expect(p.usage.gpuSeconds).toBe(0);
    expect(p.usage.outputBytes).toBe(run.receipt!.subject.reduce((sum, s) => sum + s.annotations.size, 0));
    expect(p.usage.outputBytes).toBeGreaterThan(0);
    // The whole pod (every role) used at least what its computing container did.
    expect(p.usage.pod).not.toBeNull();
    expect(p.usage.pod!.cpuSeconds).toBeGreaterThanOrEqual(p.usage.cpuSeconds!);
    expect(p.usage.pod!.peakMemoryBytes).toBeGreaterThanOrEqual(p.usage.peakMemoryBytes!);
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
    expect(p.usage.cpuSeconds, JSON.stringify(p.usage)).toBeGreaterThanOrEqual(recorded + parent.parentCpuSeconds - 0.05);
    expect(p.usage.cpuSeconds).toBeLessThanOrEqual((p.usage.durationMs! / 1000) * 2 + 0.5);
    await expectRemoved(run);
  });
});
