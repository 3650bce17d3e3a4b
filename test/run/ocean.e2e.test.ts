/**
 * Slow (real containers, `datomspod run`): algorithms written for Ocean Compute-to-Data run
 * unchanged, in Python and in Node, whichever generation of Ocean's layout they use. Each
 * convention has an algorithm of its own in algorithms/ocean-*.py and ocean-*.cjs; each test
 * asserts the receipt, what the consumer fetched (what the algorithm computed) and that the pod
 * and its volumes are gone.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { SCRATCH } from "../../generator/compile/instance.js";
import { PUBLIC_REASONS } from "../../generator/pod/roles/receipt.js";
import { podmanMissing, skipMessage } from "./podman.js";
import {
  ALGORITHM_DID,
  CONSUMER,
  PATIENTS_CSV,
  PATIENTS_DID,
  PROVIDER,
  expectRemoved,
  fetchRun,
  fetchedJson,
  runAlgorithm,
  runImages,
  sha256,
  type DatasetSpec,
  type RunOutcome,
} from "./run-helpers.js";

const missing = await podmanMissing();
skipMessage(missing);

const VISITS_DID = "did:op:0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d";
const VISITS_CSV = "patient,month,kind\n1,2026-01,outpatient\n2,2026-02,inpatient\n";
const CODES_TXT = "J respiratory\nI circulatory\nK digestive\n";

/** Two datasets: patients.csv, and visits.csv with codes.txt (two files, so legacy indexes 0 and 1). */
const DATASETS: readonly DatasetSpec[] = [
  { did: PATIENTS_DID, serviceId: "compute", files: [{ name: "patients.csv", content: PATIENTS_CSV, contentType: "text/csv" }] },
  {
    did: VISITS_DID,
    serviceId: "visits-compute",
    files: [
      { name: "visits.csv", content: VISITS_CSV, contentType: "text/csv" },
      { name: "codes.txt", content: CODES_TXT, contentType: "text/plain" },
    ],
  },
];

const LANGUAGES = [
  { language: "python", ext: "py", argv: (algo: string) => [algo] },
  { language: "node", ext: "cjs", argv: (algo: string) => [algo] },
] as const;

const ALGO = "/data/transformations/algorithm";

function lines(text: string): number {
  return text.split("\n").length - 1;
}

/** A run that succeeded, with its inputs verified, its outputs within the policy and sealed for the consumer. */
async function expectSucceeded(run: RunOutcome): Promise<void> {
  expect(run.result.code, run.result.stdout + run.result.stderr).toBe(0);
  const p = run.receipt!.predicate;
  expect(p.status, run.result.stdout + run.result.stderr).toEqual({ phase: "succeeded", reason: PUBLIC_REASONS.succeeded });
  expect(p.inputs.verified).toBe(true);
  expect(p.inputs.failures).toEqual([]);
  expect(p.inputs.checked.map((c) => c.file)).toEqual([
    run.contract.inputs.algorithm.code.path,
    ...run.contract.inputs.data.flatMap((d) => d.files.map((f) => f.name)),
  ]);
  expect(p.outputs.policy).toEqual({ ok: true, rules: [] });
  expect(p.outputs.sealedFor).toEqual([CONSUMER.address]);
  expect(run.receipt!.subject.map((s) => s.name)).toEqual(["outputs/0", "logs/0", "logs/datomspace-out"]);
  await expectRemoved(run);
}

describe.skipIf(missing !== undefined)("Ocean Compute-to-Data algorithms run unchanged under `datomspod run`", { concurrent: true }, () => {
  beforeAll(async () => {
    await runImages();
  }, 900_000);

  describe.each(LANGUAGES)("in $language", ({ language, ext, argv }) => {
    const image = language;
    const slow = { timeout: 300_000 };

    it("reads every input at /data/inputs/{did}/{service_id}/<file name>", slow, async (t) => {
      const run = await runAlgorithm(t, { algorithm: `ocean-service.${ext}`, image, datasets: DATASETS });

      await expectSucceeded(run);
      expect(await fetchedJson(run)).toEqual({
        [PATIENTS_DID]: { compute: { "patients.csv": { sha256: sha256(PATIENTS_CSV), lines: 4 } } },
        [VISITS_DID]: {
          "visits-compute": { "codes.txt": { sha256: sha256(CODES_TXT), lines: 3 }, "visits.csv": { sha256: sha256(VISITS_CSV), lines: lines(VISITS_CSV) } },
        },
      });
    });

    it("reads every input at the legacy /data/inputs/{did}/<index>, numbered from 0 in the DDO's order", slow, async (t) => {
      const run = await runAlgorithm(t, { algorithm: `ocean-legacy.${ext}`, image, datasets: DATASETS });

      await expectSucceeded(run);
      expect(await fetchedJson(run)).toEqual({ [PATIENTS_DID]: [sha256(PATIENTS_CSV)], [VISITS_DID]: [sha256(VISITS_CSV), sha256(CODES_TXT)] });
    });

    it("reads every input at the flat /data/inputs/<original file name>", slow, async (t) => {
      const run = await runAlgorithm(t, { algorithm: `ocean-flat.${ext}`, image, datasets: DATASETS });

      await expectSucceeded(run);
      expect(await fetchedJson(run)).toEqual({ "codes.txt": sha256(CODES_TXT), "patients.csv": sha256(PATIENTS_CSV), "visits.csv": sha256(VISITS_CSV) });
    });

    it("finds the files in /data/ddos/{did}: the legacy service[] metadata entry and the v4 metadata and services", slow, async (t) => {
      const run = await runAlgorithm(t, { algorithm: `ocean-ddo.${ext}`, image, datasets: DATASETS });

      await expectSucceeded(run);
      const container = run.contract.inputs.algorithm.container;
      expect(await fetchedJson(run)).toEqual({
        datasets: {
          [PATIENTS_DID]: {
            id: PATIENTS_DID,
            type: "dataset",
            legacyType: "dataset",
            name: "patients.csv",
            service: "compute",
            files: [{ index: 0, name: "patients.csv", legacyMatches: true, serviceMatches: true }],
          },
          [VISITS_DID]: {
            id: VISITS_DID,
            type: "dataset",
            legacyType: "dataset",
            name: "visits.csv, codes.txt",
            service: "visits-compute",
            files: [
              { index: 0, name: "visits.csv", legacyMatches: true, serviceMatches: true },
              { index: 1, name: "codes.txt", legacyMatches: true, serviceMatches: true },
            ],
          },
        },
        algorithm: { type: "algorithm", image: container.image, checksum: container.digest, codeMatches: true },
      });
    });

    it(
      "gets DIDS (a JSON list), TRANSFORMATION_DID and $ALGO = /data/transformations/algorithm, the approved code, as uid 65532 in /scratch",
      slow,
      async (t) => {
        const run = await runAlgorithm(t, { algorithm: `ocean-env.${ext}`, image, datasets: DATASETS });

        await expectSucceeded(run);
        expect(await fetchedJson(run)).toEqual({
          dids: [PATIENTS_DID, VISITS_DID],
          transformationDid: ALGORITHM_DID,
          algo: ALGO,
          argv: argv(ALGO),
          codeSha256: run.contract.inputs.algorithm.code.sha256,
          cwd: SCRATCH,
          uid: 65532,
        });
      },
    );

    it(
      "reads /data/inputs/algoCustomData.json (the run request's parameters merged over the contract's defaults) and the consumerParameters its DDO declares",
      slow,
      async (t) => {
        const run = await runAlgorithm(t, {
          algorithm: `ocean-params.${ext}`,
          image,
          parameters: { groupBy: "region", minGroupSize: 2, label: "default" },
          request: { groupBy: "sex" },
        });

        await expectSucceeded(run);
        const result = await fetchedJson(run);
        expect(result).toEqual({
          params: { groupBy: "sex", minGroupSize: 2, label: "default" },
          declared: [{ name: "groupBy", type: "text", label: "groupBy", required: false, description: "groupBy", default: "region" }],
          counts: { F: 2 },
        });
        expect(run.receipt!.predicate.run.parametersHash).toBe(sha256(JSON.stringify({ groupBy: "sex", label: "default", minGroupSize: 2 })));
      },
    );

    it("uses relative paths data/inputs/..., data/ddos/..., data/outputs/... from its working directory, as from / in Ocean", slow, async (t) => {
      const run = await runAlgorithm(t, { algorithm: `ocean-relative.${ext}`, image });

      await expectSucceeded(run);
      expect(await fetchedJson(run)).toEqual({ cwd: SCRATCH, rows: 3, ddo: PATIENTS_DID, listed: ["ddos", "inputs", "logs", "outputs", "transformations"] });
    });

    it(
      "Ocean's line-count example: writes /data/outputs/result (no extension), delivered as the contract's extensionless rule allows; its scratch files stay behind",
      slow,
      async (t) => {
        const run = await runAlgorithm(t, {
          algorithm: `ocean-scratch.${ext}`,
          image,
          policy: { extensionless: { types: ["txt"], names: ["result"] } },
        });

        await expectSucceeded(run);
        const fetched = await fetchRun(run, CONSUMER);
        expect(fetched.result.code, fetched.result.stderr).toBe(0);
        expect(Object.keys(fetched.outputs)).toEqual(["details.json", "result"]);
        expect(fetched.outputs["result"]).toBe(String(lines(PATIENTS_CSV)));
        expect(JSON.parse(fetched.outputs["details.json"] ?? "")).toEqual({
          cwd: SCRATCH,
          scratch: ["checkpoints", "data", "scratch.tmp"],
          restored: lines(PATIENTS_CSV),
          relative: lines(PATIENTS_CSV),
        });
      },
    );

    it("is a failed run when it exits non-zero: phase failed, its exit code, what it wrote delivered, its stderr in the log", slow, async (t) => {
      const run = await runAlgorithm(t, { algorithm: `ocean-exit.${ext}`, image });

      expect(run.result.code).toBe(0);
      const p = run.receipt!.predicate;
      expect(p.status).toEqual({ phase: "failed", reason: PUBLIC_REASONS.failed });
      expect(p.inputs).toMatchObject({ verified: true, failures: [] });
      expect(p.outputs.policy).toEqual({ ok: true, rules: [] });
      await expectRemoved(run);
      const fetched = await fetchRun(run, CONSUMER);
      expect(fetched.result.code, fetched.result.stderr).toBe(0);
      expect(fetched.outputs).toEqual({ "result.json": language === "python" ? '{"partial": true}' : '{"partial":true}' });
      expect(fetched.logs["algorithm.log"]).toBe("giving up: the data does not fit the model\n");
      // The data owner opens the sealed report (the exact exit code), not the outputs.
      const owner = await fetchRun(run, PROVIDER);
      expect(owner.outputs).toEqual({});
      expect(owner.report.status).toMatchObject({ phase: "failed", exitCode: 3, reason: "the algorithm exited with code 3" });
    });
  });

  it(
    "Ocean's /data/outputs/result under a contract without an extensionless rule: a policy violation, nothing delivered to the consumer",
    { timeout: 300_000 },
    async (t) => {
      const run = await runAlgorithm(t, { algorithm: "ocean-scratch.py", image: "python" });

      const p = run.receipt!.predicate;
      expect(p.status).toEqual({ phase: "policy-violation", reason: PUBLIC_REASONS["policy-violation"] });
      expect(p.outputs.policy).toEqual({ ok: false, rules: ["file-type"] });
      expect(p.outputs.sealedFor).toEqual([PROVIDER.address]);
      const owner = await fetchRun(run, PROVIDER);
      expect(owner.report.policy.violations.map((v: any) => [v.rule, v.name, v.message])).toEqual([
        ["file-type", "result", "has no extension, and the contract lets no output without one leave (outputs.policy.extensionless)"],
      ]);
      await expectRemoved(run);
    },
  );
});
