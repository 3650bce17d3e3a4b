import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseComputingStatus } from "../../../generator/pod/roles/computing.js";
import { CPU_NOT_METERED, GPU_NOT_METERED, runUsage } from "../../../generator/pod/roles/usage.js";
import { podCgroupUsage } from "../../../generator/run/pod.js";
import type { SealedManifest } from "../../../generator/seal/manifest.js";
import { computingStatus, contractJson } from "./pod.js";

const manifest = (sizes: number[]): SealedManifest =>
  ({
    files: sizes.map((size, i) => ({ name: `outputs/${i}`, kind: "output", blob: `blobs/${i}`, size, ciphertextSha256: "0".repeat(64), cid: "b" })),
  }) as never;

describe("runUsage", () => {
  it("bills the cgroup's CPU (every process), the container's peak, and the sealed bytes", () => {
    const usage = runUsage(contractJson(), parseComputingStatus(computingStatus()), manifest([100, 20, 3]));

    expect(usage).toEqual({
      durationMs: 512,
      cpuSeconds: 1.25,
      maxRssBytes: 24117248,
      peakMemoryBytes: 31457280,
      gpuSeconds: 0,
      outputBytes: 123,
      notes: [],
      pod: null,
    });
  });

  it("never falls back to the reaped CPU: without the cgroup's figure CPU is null, with a fixed public note", () => {
    const status = parseComputingStatus({ ...computingStatus(), cgroupCpuSeconds: null, cgroupNote: "the cgroup of /sys/fs/cgroup/cpu.stat is shared" });

    const usage = runUsage(contractJson(), status, manifest([]));

    expect(usage.cpuSeconds).toBeNull();
    expect(usage.outputBytes).toBe(0);
    // Fixed text: the supervisor's note (a path) stays in the sealed report.
    expect(usage.notes).toEqual([CPU_NOT_METERED]);
  });

  it.each([
    ["a forged negative figure", -5],
    ["a string", "9"],
    ["infinity", Number.POSITIVE_INFINITY],
  ])("reads %s in the status as not metered", (_name, value) => {
    const usage = runUsage(contractJson(), parseComputingStatus({ ...computingStatus(), cgroupCpuSeconds: value }), undefined);

    expect(usage.cpuSeconds).toBeNull();
    expect(usage.outputBytes).toBeNull();
  });

  it("a GPU run: GPU seconds are null with the reason, never 0", () => {
    const usage = runUsage(
      contractJson((c) => (c.inputs.compute.gpu = 1)),
      parseComputingStatus(computingStatus()),
      manifest([1]),
    );

    expect(usage.gpuSeconds).toBeNull();
    expect(usage.notes).toEqual([GPU_NOT_METERED]);
  });

  it("nothing ran (no status): nothing is metered", () => {
    expect(runUsage(contractJson(), undefined, undefined)).toMatchObject({ durationMs: null, cpuSeconds: null, gpuSeconds: null, outputBytes: null });
  });
});

describe("podCgroupUsage", () => {
  let root = "";
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string): void => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  it("cgroup v1: cpuacct.usage in nanoseconds, memory.max_usage_in_bytes", () => {
    root = mkdtempSync(join(tmpdir(), "datomspod-cgroup-"));
    write("cpuacct/libpod_parent/abc/cpuacct.usage", "7654321000\n");
    write("memory/libpod_parent/abc/memory.max_usage_in_bytes", "104857600\n");

    expect(podCgroupUsage(root, "/libpod_parent/abc")).toEqual({ cpuSeconds: 7.654, peakMemoryBytes: 104857600 });
  });

  it("cgroup v2: usage_usec of cpu.stat, memory.peak", () => {
    root = mkdtempSync(join(tmpdir(), "datomspod-cgroup-"));
    write("machine.slice/pod.slice/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n");
    write("machine.slice/pod.slice/memory.peak", "5000\n");

    expect(podCgroupUsage(root, "/machine.slice/pod.slice")).toEqual({ cpuSeconds: 2.5, peakMemoryBytes: 5000 });
  });

  it("unreadable or garbled files are null, not zero", () => {
    root = mkdtempSync(join(tmpdir(), "datomspod-cgroup-"));
    write("cpuacct/p/cpuacct.usage", "lots\n");

    expect(podCgroupUsage(root, "/p")).toEqual({ cpuSeconds: null, peakMemoryBytes: null });
  });
});
