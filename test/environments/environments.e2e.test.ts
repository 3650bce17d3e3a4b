/**
 * Slow (real images, real PyPI wheels, `datomspod run`): algorithms that need more than Python's
 * standard library run in the shipped compute environments and deliver. python-data: an algorithm
 * written as Ocean's Compute-to-Data examples are, with pandas, scikit-learn, matplotlib and
 * Pillow, keeping scratch files in its working directory, delivering a CSV, a PNG chart, a model
 * and Ocean's extension-less `result`; python-privacy: an OpenDP release; python-torch
 * (on demand: DATOMSPOD_TEST_TORCH=1, or its image is here): a model trained on CPU. And the
 * builds are reproducible: python-privacy built again, under another tag, gives the same digest.
 */

import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { buildEnvironment } from "../../generator/environment/build.js";
import { loadEnvironment } from "../../generator/environment/environment.js";
import { cacheDirectory } from "../../generator/run/build-images.js";
import { inspectImage, removeImage } from "../../generator/run/exec.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { PUBLIC_REASONS } from "../../generator/pod/roles/receipt.js";
import { runCli } from "../helpers/cli.js";
import { podmanMissing, skipMessage } from "../run/podman.js";
import { CONSUMER, PATIENTS_DID, expectRemoved, fetchRun, runAlgorithm, runEnvironment, type DatasetSpec, type RunOutcome } from "../run/run-helpers.js";

const missing = await podmanMissing();
skipMessage(missing);

const ALGORITHMS = join(dirname(fileURLToPath(import.meta.url)), "algorithms");
const REGIONS = ["north", "south", "east", "west"] as const;

/** 80 patients, readmitted when old and long-staying (a logistic regression separates them well). */
const PATIENTS = Array.from({ length: 80 }, (_, i) => {
  const age = 20 + ((i * 37) % 70);
  const stay = 1 + ((i * 11) % 12);
  const region = REGIONS[i % REGIONS.length] ?? "north";
  return { age, sex: i % 2 === 0 ? "F" : "M", region, stay, readmitted: age / 10 + stay > 12 ? 1 : 0 };
});
const PATIENTS_CSV = `age,sex,region,stay,readmitted\n${PATIENTS.map((p) => `${p.age},${p.sex},${p.region},${p.stay},${p.readmitted}`).join("\n")}\n`;
const DATASETS: readonly DatasetSpec[] = [
  { did: PATIENTS_DID, serviceId: "compute", files: [{ name: "patients.csv", content: PATIENTS_CSV, contentType: "text/csv" }] },
];

const TORCH_IMAGE = loadEnvironment(PACKAGE_ROOT, "python-torch", { file: "test", path: "$" }).definition.image;
const torchWanted =
  process.env["DATOMSPOD_TEST_TORCH"] === "1" ||
  (missing === undefined &&
    TORCH_IMAGE.digest !== undefined &&
    (await inspectImage("podman", `${TORCH_IMAGE.repository}@${TORCH_IMAGE.digest}`)) !== undefined);
if (missing === undefined && !torchWanted)
  console.warn(
    "NOT RUN: the python-torch training on CPU. Its image (6.6 GB) is built on demand: datomspod env build python-torch (or DATOMSPOD_TEST_TORCH=1 builds it here)",
  );

/** The run succeeded and its outputs passed the policy and were sealed for the consumer. */
async function expectDelivered(run: RunOutcome): Promise<void> {
  expect(run.result.code, run.result.stdout + run.result.stderr).toBe(0);
  const p = run.receipt!.predicate;
  expect(p.status).toEqual({ phase: "succeeded", reason: PUBLIC_REASONS.succeeded });
  expect(p.outputs.policy).toEqual({ ok: true, rules: [] });
  expect(p.outputs.sealedFor).toEqual([CONSUMER.address]);
  await expectRemoved(run);
}

/** The consumer's fetch of the run: the files of outputs/ as bytes. */
async function fetchedFiles(run: RunOutcome): Promise<Record<string, Buffer>> {
  const fetched = await fetchRun(run, CONSUMER);
  expect(fetched.result.code, fetched.result.stderr).toBe(0);
  const dir = join(fetched.dir, "outputs");
  return Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))]));
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const slow = { timeout: 1_800_000 };

describe.skipIf(missing !== undefined)("algorithms run in the compute environments and deliver", { concurrent: true }, () => {
  beforeAll(async () => {
    await Promise.all([runEnvironment("python-data"), runEnvironment("python-privacy")]);
  }, 3_600_000);

  it(
    "python-data: an Ocean-style algorithm with pandas, scikit-learn, matplotlib and Pillow keeps its scratch files and delivers a CSV, a PNG chart, a model and its extension-less result",
    slow,
    async (t) => {
      const run = await runAlgorithm(t, {
        algorithm: "ocean-data-report.py",
        algorithms: ALGORITHMS,
        environment: "python-data",
        datasets: DATASETS,
        compute: { memory: "1Gi", maxDurationSeconds: 300 },
        parameters: { groupBy: "region", minGroupSize: 1 },
        policy: { maxBytes: 64 * 1024, fileTypes: ["csv", "png", "json", "txt"], extensionless: { types: ["txt"], names: ["result"] } },
      });

      await expectDelivered(run);
      const files = await fetchedFiles(run);
      expect(Object.keys(files).sort()).toEqual(["chart.png", "model.json", "result", "summary.csv"]);
      expect(files["result"].toString("utf8")).toBe("80 rows in 4 groups; scratch: chart-full.png, data, model.pkl");
      const [header, ...rows] = files["summary.csv"].toString("utf8").trim().split("\n");
      expect(header).toBe("region,patients,mean_age,mean_stay");
      for (const region of REGIONS) {
        const group = PATIENTS.filter((p) => p.region === region);
        const row = rows.find((line) => line.startsWith(`${region},`))!.split(",");
        expect(Number(row[1])).toBe(group.length);
        expect(Number(row[2])).toBeCloseTo(group.reduce((s, p) => s + p.age, 0) / group.length, 3);
        expect(Number(row[3])).toBeCloseTo(group.reduce((s, p) => s + p.stay, 0) / group.length, 3);
      }
      expect(pngSize(files["chart.png"])).toEqual({ width: 320, height: 240 });
      const model = JSON.parse(files["model.json"].toString("utf8")) as Record<string, any>;
      expect(model).toMatchObject({ features: ["age", "stay"], rows: 80, chart: { width: 320, height: 240 }, font: "DejaVuSans.ttf" });
      expect(String(model.backend).toLowerCase()).toBe("agg");
      expect(model.coefficients).toHaveLength(2);
      expect(model.coefficients[0]).toBeGreaterThan(0);
      expect(model.coefficients[1]).toBeGreaterThan(0);
      expect(model.trainingAccuracy).toBeGreaterThanOrEqual(0.9);
    },
  );

  it("python-privacy: an OpenDP release spends the contract's epsilon on a noisy count and mean", slow, async (t) => {
    const run = await runAlgorithm(t, {
      algorithm: "opendp-release.py",
      algorithms: ALGORITHMS,
      environment: "python-privacy",
      datasets: DATASETS,
      compute: { memory: "1Gi", maxDurationSeconds: 300 },
      parameters: { differentialPrivacyEpsilon: 1, minGroupSize: 1 },
    });

    await expectDelivered(run);
    const release = JSON.parse((await fetchedFiles(run))["release.json"].toString("utf8")) as Record<string, any>;
    expect(release).toMatchObject({ epsilon: 1, queries: 2, library: expect.stringMatching(/^opendp \d/) });
    // Laplace noise of scale 2 (sensitivity 1, epsilon 0.5 per query): 60 scales away is never seen.
    expect(release.countScale).toBeCloseTo(2, 6);
    expect(Math.abs(release.count - PATIENTS.length)).toBeLessThan(120);
    expect(release.meanStay).toBeGreaterThan(0);
  });

  it.skipIf(!torchWanted)("python-torch: a PyTorch model trains on CPU (built on demand)", slow, async (t) => {
    const run = await runAlgorithm(t, {
      algorithm: "torch-train.py",
      algorithms: ALGORITHMS,
      environment: "python-torch",
      datasets: DATASETS,
      compute: { memory: "2Gi", maxDurationSeconds: 600 },
      parameters: { minGroupSize: 1 },
    });

    await expectDelivered(run);
    const model = JSON.parse((await fetchedFiles(run))["model.json"].toString("utf8")) as Record<string, any>;
    expect(model).toMatchObject({ device: "cpu", cudaAvailable: false, parameters: 33 });
    expect(model.torch).toMatch(/^2\./);
    expect(model.lastLoss).toBeLessThan(model.firstLoss / 2);
    expect(model.trainingAccuracy).toBeGreaterThanOrEqual(0.85);
  });

  it("env build exits 1 when the build is not the digest environment.json pins, and --pin writes it", slow, async (t) => {
    const built = await runEnvironment("python-privacy");
    const repo = mkdtempSync(join(tmpdir(), "datomspod-env-drift-"));
    t.onTestFinished(() => rmSync(repo, { recursive: true, force: true }));
    mkdirSync(join(repo, ".git"));
    cpSync(join(PACKAGE_ROOT, "environments", "python-privacy"), join(repo, "environments", "python-privacy"), { recursive: true });
    const file = join(repo, "environments", "python-privacy", "environment.json");
    const wrong = `sha256:${"e".repeat(64)}`;
    writeFileSync(file, readFileSync(file, "utf8").replace(/sha256:[0-9a-f]{64}/, wrong));

    const drift = await runCli(["env", "build", "python-privacy"], { repo });
    const pinned = await runCli(["env", "build", "python-privacy", "--pin"], { repo });
    const again = await runCli(["env", "build", "python-privacy"], { repo });

    expect(drift.code).toBe(1);
    expect(drift.stderr).toContain(
      `environments/python-privacy/environment.json $.image.digest: the build gave ${built.digest} but environment.json pins ${wrong}`,
    );
    expect(drift.stderr).toContain("datomspod env build python-privacy --pin writes the new digest");
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toContain(`"digest": "${built.digest}"`);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("up to date");
  });

  it("python-privacy builds again to the same digest, under another tag (byte-reproducible)", slow, async () => {
    const environment = loadEnvironment(PACKAGE_ROOT, "python-privacy", { file: "test", path: "$" });
    const first = await runEnvironment("python-privacy");
    const again = `localhost/datomspod-test/python-privacy:repro-${process.pid}`;

    try {
      const rebuilt = await buildEnvironment(
        { engine: "podman", cacheDir: cacheDirectory(process.env, homedir()), log: () => undefined, as: again },
        environment,
      );

      expect(rebuilt.built).toBe(true);
      expect(rebuilt.digest).toBe(first.digest);
      expect(rebuilt.digest).toBe(environment.definition.image.digest);
    } finally {
      if (existsSync("/dev/null")) await removeImage("podman", again);
    }
  });
});
