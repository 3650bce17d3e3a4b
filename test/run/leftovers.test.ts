/**
 * The receipt `datomspod run` writes when the pod's oracle did not: the supervisor's status file is
 * evidence only when podman saw the supervisor finish (exit 0, or a could-not-start code); otherwise
 * the algorithm, which can write that volume, may have left it, and the receipt says only that the
 * run failed. (The real-container case is in hostile.e2e.test.ts.)
 */

import { describe, expect, it } from "vitest";
import { contractHash } from "../../generator/contract/load.js";
import type { ContainerResult } from "../../generator/run/pod.js";
import { parseComputingStatus } from "../../generator/pod/roles/computing.js";
import { PUBLIC_REASONS, type ReceiptFacts } from "../../generator/pod/roles/receipt.js";
import { receiptFromLeftovers } from "../../generator/run/run.js";
import { RUN_ID, computingStatus, contractJson } from "../pod/roles/pod.js";

/** What a hostile algorithm leaves in the status volume: a clean, cheap success. */
const FORGED = { ...(computingStatus(0) as Record<string, unknown>), durationMs: 1, cpuSeconds: 0.001 };

function facts(): ReceiptFacts {
  const contract = contractJson();
  const hash = contractHash(contract);
  return {
    contract,
    contractHash: hash,
    runId: RUN_ID,
    verdict: {
      version: 1,
      ok: true,
      contract: { id: contract.id, hash },
      checked: [],
      failures: [],
      parametersHash: null,
      supervisor: null,
      rows: null,
      ocean: null,
    },
    gate: true,
    computing: parseComputingStatus(FORGED),
    manifest: undefined,
  };
}

function computing(exitCode: number, seconds: number, status = "exited"): ContainerResult {
  return {
    name: "hospital-stats-run-1-0123abcd-computing",
    container: "computing",
    role: "init",
    status,
    exitCode,
    oomKilled: false,
    startedAt: "2026-11-24T10:00:00.000Z",
    finishedAt: new Date(Date.parse("2026-11-24T10:00:00.000Z") + seconds * 1000).toISOString(),
    logs: { stdout: "", stderr: "" },
  };
}

describe("receiptFromLeftovers", () => {
  it("ignores the status file when the supervisor exited otherwise: the phase, fixed text, no usage", () => {
    const receipt = receiptFromLeftovers(facts(), [computing(3, 612.4)], 600);

    expect(receipt.predicate.status).toEqual({ phase: "failed", reason: PUBLIC_REASONS.failed });
    expect(receipt.predicate.usage).toEqual({ durationSeconds: null, cpuSeconds: null, peakMemoryMiB: null, gpuSeconds: null, notes: [], pod: null });
    expect(receipt.predicate.startedAt).toBeNull();
  });

  it("does not show how long the algorithm ran, however long podman saw it run", () => {
    expect(receiptFromLeftovers(facts(), [computing(137, 2)], 600)).toEqual(receiptFromLeftovers(facts(), [computing(137, 612.4)], 600));
  });

  it.each(["running", "removed", "stopping"])("ignores the status file when podman last saw the computing container %s", (status) => {
    const receipt = receiptFromLeftovers(facts(), [computing(0, 2, status)], 600);

    expect(receipt.predicate.status).toEqual({ phase: "failed", reason: PUBLIC_REASONS.failed });
    expect(receipt.predicate.usage.cpuSeconds).toBeNull();
  });

  it.each([0, 125, 126, 127])("keeps the status the supervisor wrote when it exited %i (usage in buckets)", (code) => {
    const receipt = receiptFromLeftovers(facts(), [computing(code, 2)], 600);

    expect(receipt.predicate.usage).toEqual({ durationSeconds: 1, cpuSeconds: 2, peakMemoryMiB: 32, gpuSeconds: 0, notes: [], pod: null });
    expect(receipt.predicate.startedAt).toBe("2026-11-24T10:00:01Z");
  });
});
