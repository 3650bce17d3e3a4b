/**
 * Slow (real containers, `datomspod run`): every way out of the pod is bounded and counted. A
 * hostile algorithm (test/run/algorithms/hostile-exits.py) copies the inputs out disguised, through
 * its log, past the byte budget, in public metadata and past the minimum group size; each test runs
 * it through the real CLI with real podman and asserts the receipt in git, what the consumer can
 * fetch and what the data owners' sealed report says.
 */

import { describe, expect, it } from "vitest";
import { PUBLIC_REASONS, type Receipt } from "../../generator/pod/roles/receipt.js";
import { podmanMissing, skipMessage } from "../run/podman.js";
import {
  CONSUMER,
  PATIENTS_DID,
  PROVIDER,
  dp,
  expectRemoved,
  fetchRun,
  ownerReport,
  prepareRun,
  runAlgorithm,
  runImages,
  runPrepared,
  type RunOutcome,
  type RunSpec,
} from "../run/run-helpers.js";

const missing = await podmanMissing();
skipMessage(missing);

const slow = { timeout: 600_000 };

function hostile(mode: string, extra: Partial<RunSpec> = {}, parameters: Record<string, unknown> = {}): RunSpec {
  return { algorithm: "hostile-exits.py", parameters: { mode, ...parameters }, ...extra };
}

/** A run that broke the policy: only the named rules in public, nothing for the consumer, the owners' report names the files. */
async function expectViolation(run: RunOutcome, rules: string[]): Promise<any> {
  expect(run.result.code, run.result.stdout + run.result.stderr).toBe(0);
  const p = run.receipt!.predicate;
  expect(p.status).toEqual({ phase: "policy-violation", reason: PUBLIC_REASONS["policy-violation"] });
  expect(p.outputs.policy).toEqual({ ok: false, rules });
  expect(p.outputs.sealedFor).toEqual([PROVIDER.address]);
  const consumer = await fetchRun(run, CONSUMER);
  expect(consumer.result.code).toBe(1);
  expect(consumer.outputs).toEqual({});
  expect(consumer.logs).toEqual({});
  await expectRemoved(run);
  return ownerReport(run);
}

/** The receipt without what differs between any two runs (random ciphertext, keys, times, the consumer's parameters). */
function publicShape(receipt: Receipt): unknown {
  const p = receipt.predicate;
  return {
    subject: receipt.subject.map((s) => ({ name: s.name, annotations: s.annotations })),
    status: p.status,
    inputs: p.inputs,
    outputs: { ...p.outputs, wrappedKeys: Object.keys(p.outputs.wrappedKeys), ownerKeys: Object.keys(p.outputs.ownerKeys) },
  };
}

describe.skipIf(missing !== undefined)("every exit channel is bounded and counted", { concurrent: true }, () => {
  it("rows disguised with CR-only endings, zero-width and no-break spaces, fullwidth digits, other separators and quoting: all caught", slow, async (t) => {
    await runImages();
    const run = await runAlgorithm(t, hostile("disguised", { policy: { fileTypes: ["txt", "json"] } }));

    const report = await expectViolation(run, ["no-raw-records"]);
    expect(report.policy.violations.map((v: any) => [v.rule, v.name])).toEqual([
      ["no-raw-records", "cr-only.txt"],
      ["no-raw-records", "fullwidth.txt"],
      ["no-raw-records", "nbsp.txt"],
      ["no-raw-records", "quoted.json"],
      ["no-raw-records", "zero-width.txt"],
    ]);
  });

  it("a single-column input (e-mail addresses) copied out, re-cased: caught", slow, async (t) => {
    await runImages();
    const emails = ["ann.lee@example.org", "bo.chan@example.org", "chen.garcia@example.org"].join("\n") + "\n";
    const run = await runAlgorithm(
      t,
      hostile("single-column", { datasets: [{ did: PATIENTS_DID, serviceId: "compute", files: [{ name: "emails.txt", content: emails }] }] }),
    );

    const report = await expectViolation(run, ["no-raw-records"]);
    expect(report.policy.violations).toEqual([expect.objectContaining({ rule: "no-raw-records", area: "output", name: "contacts.txt" })]);
  });

  it("a gzip of the input in the log (not text) and its base64 as 'debug output' (decoded, found)", slow, async (t) => {
    await runImages();
    const run = await runAlgorithm(t, hostile("log-encodings"));

    const report = await expectViolation(run, ["log-text", "no-raw-records"]);
    expect(report.policy.violations.map((v: any) => [v.rule, v.area, v.name])).toEqual([
      ["log-text", "log", "algorithm.log"],
      ["no-raw-records", "log", "algorithm.log"],
    ]);
    expect(report.policy.violations[1].message).toMatch(/base64>gzip>text/);
  });

  it("a 5 MB log and a file of its own in /data/logs: over the budget, the consumer gets nothing, the owners at most 64 KiB of the log", slow, async (t) => {
    await runImages();
    const run = await runAlgorithm(t, hostile("huge-log"));

    const report = await expectViolation(run, ["log-name", "max-bytes"]);
    expect(report.policy.usedBytes).toBeGreaterThan(5_000_000);
    const owner = await fetchRun(run, PROVIDER);
    expect(Object.keys(owner.logs)).toEqual(["algorithm.log"]);
    expect(Buffer.byteLength(owner.logs["algorithm.log"])).toBe(64 * 1024);
    expect(report.files.find((f: any) => f.name === "algorithm.log")).toMatchObject({ sealedBytes: 64 * 1024, size: 80_000 * 70 });
    // What is public about the logs blob: one padded size, bounded by the cap.
    expect(run.receipt!.subject.find((s) => s.name === "logs/0")!.annotations.size).toBe(128 * 1024);
  });

  it("a secret in the exit code, file names, number and sizes of files: two secrets give the same public receipt", slow, async (t) => {
    await runImages();
    const spec = (secret: number): RunSpec => hostile("metadata", { policy: { fileTypes: ["txt"] } }, { secret });
    // 3: four files of 30 bytes, exit 3; 100: three files of 1000 bytes, exit 100. Both fit the smallest padded blob.
    const [a, b] = await Promise.all([runAlgorithm(t, spec(3), "secret-a"), runAlgorithm(t, spec(100), "secret-b")]);

    for (const run of [a, b]) {
      expect(run.result.code, run.result.stderr).toBe(0);
      expect(run.receipt!.predicate.status).toEqual({ phase: "failed", reason: PUBLIC_REASONS.failed });
    }
    // Everything public, but the random parts: the same for both secrets; nothing to decode.
    expect(publicShape(b.receipt!)).toEqual(publicShape(a.receipt!));
    // Usage is public only in powers of two (how long the interpreter took to start is the machine's, not the secret's: not compared).
    for (const run of [a, b]) {
      const u = run.receipt!.predicate.usage;
      for (const value of [u.durationSeconds, u.cpuSeconds, u.peakMemoryMiB, u.pod?.cpuSeconds, u.pod?.peakMemoryMiB])
        expect(Number.isInteger(Math.log2(value!)), JSON.stringify(u)).toBe(true);
      expect([u.gpuSeconds, u.notes]).toEqual([0, []]);
    }
    expect(JSON.stringify(a.receipt)).not.toMatch(/part-3-|"exitCode"|"outputBytes"/);
    // The data owners still learn exactly what happened.
    expect((await ownerReport(a)).status).toMatchObject({ exitCode: 3 });
    expect((await ownerReport(b)).status).toMatchObject({ exitCode: 100 });
    // And the consumer gets the files the algorithm wrote, names and all.
    expect(Object.keys((await fetchRun(b, CONSUMER)).outputs).sort()).toEqual(["part-100-0.txt", "part-100-1.txt", "part-100-2.txt"]);
  });

  it("minGroupSize: the consumer cannot lower it, and an algorithm ignoring k delivers nothing", slow, async (t) => {
    await runImages();
    const policy = { fileTypes: ["csv"], minGroupSize: 10, countColumn: "n" };
    const prepared = await prepareRun(t, hostile("ignore-k", { policy }));

    const lowered = await dp(prepared.repo, "request", prepared.id, "run-2", "--key", CONSUMER.file, "--param", "minGroupSize=1");

    expect(lowered.code).not.toBe(0);
    expect(lowered.stderr).toMatch(/minGroupSize/);
    const run = await runPrepared(prepared);
    const report = await expectViolation(run, ["min-group-size"]);
    expect(report.policy.violations).toEqual([
      {
        rule: "min-group-size",
        area: "output",
        name: "aggregates.csv",
        message: "row 2: describes a group of 1, fewer than the contract's minGroupSize of 10",
      },
    ]);
  });

  it("minGroupSize kept: the table reaches the consumer, the log (free text, no group sizes) only the owners", slow, async (t) => {
    await runImages();
    const run = await runAlgorithm(t, hostile("keep-k", { policy: { fileTypes: ["csv"], minGroupSize: 10, countColumn: "n" } }));

    expect(run.receipt!.predicate.status).toEqual({ phase: "succeeded", reason: PUBLIC_REASONS.succeeded });
    const consumer = await fetchRun(run, CONSUMER);
    expect(consumer.outputs).toEqual({ "aggregates.csv": "region,n\nall,30\n" });
    expect(consumer.logs).toEqual({});
    expect((await fetchRun(run, PROVIDER)).logs).toEqual({ "algorithm.log": "one group\n" });
    await expectRemoved(run);
  });
});
