// Benchmark of the compute environments (issue 10). Results: bench/results/environments.json.
//
// For each environment:
// 1. Build, cold: an empty cache (its own DATOMSPOD_CACHE: the pinned pip and every wheel come down
//    from PyPI) and no image: download, install, bytecode, Debian libraries, podman build.
// 2. Build, wheels cached: the same cache, built again under another tag (`as`: always builds).
// 3. Build, warm: `datomspod env build` when the image is here (skipped by its inputs label).
//    All three must give the same digest (byte-reproducible), the one environment.json pins.
//    Also: the wheels' bytes, the image's size.
// 4. Time to the algorithm's first instruction: `datomspod run` (in process, on the demo's contract
//    moved into the environment) of an algorithm whose first line reads the clock; measured from the
//    call of `run` to that line (same host clock), and to the end of importing the environment's
//    main packages. Median of --rounds runs.
//
// Run after `npm run build`, as root with podman (see .ci/setup):
//   node bench/environments.mjs [--rounds N] [--torch [--torch-build | --torch-cold]] [--skip-cold] [--skip-builds] [--out FILE]
// --skip-builds measures only the time to the first instruction and keeps the builds of FILE.
// python-torch (GBs of wheels) only with --torch; a build of it with the shared cache's wheels only
// with --torch-build, a cold one (a 3.9 GB download into an empty cache) only with --torch-cold.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, homedir, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { main } from "../dist/generator/cli/main.js";
import { demoSteps, prepareWorkspace } from "../dist/generator/demo/demo.js";
import { buildEnvironment, imageSize } from "../dist/generator/environment/build.js";
import { loadEnvironment } from "../dist/generator/environment/environment.js";
import { buildImages, cacheDirectory } from "../dist/generator/run/build-images.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const { values: options } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    torch: { type: "boolean", default: false },
    "torch-cold": { type: "boolean", default: false },
    "torch-build": { type: "boolean", default: false },
    "skip-cold": { type: "boolean", default: false },
    "skip-builds": { type: "boolean", default: false },
    out: { type: "string", default: join(root, "bench/results/environments.json") },
  },
});
const rounds = Number(options.rounds);
const ID = "hospital-demo";
const RUN = "run-1";
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
const cacheDir = cacheDirectory(process.env, homedir());
const work = mkdtempSync(join(tmpdir(), "datomspod-bench-env-"));

/** What each environment's algorithm imports after its first instruction. */
const ENVIRONMENTS = [
  { name: "python", modules: ["json", "csv", "statistics"] },
  { name: "python-data", modules: ["numpy", "pandas", "scipy.stats", "sklearn.linear_model", "matplotlib.pyplot", "PIL.Image", "pyarrow"] },
  { name: "python-privacy", modules: ["numpy", "pandas", "opendp.prelude", "diffprivlib"] },
  ...(options.torch ? [{ name: "python-torch", modules: ["numpy", "torch"] }] : []),
];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function podman(args, allowFailure = false) {
  try {
    return execFileSync("podman", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    if (allowFailure) return "";
    throw new Error(`podman ${args.join(" ")}: ${error.stderr ?? error.message}`);
  }
}

function seconds(start) {
  return Math.round((performance.now() - start) / 100) / 10;
}

/** The python base image, built again when something on this machine removed it meanwhile (same inputs, same digest). */
async function ensureBase() {
  await buildImages({ engine: "podman", root, cacheDir, only: ["python"], version, pullTimeoutMs: 20_000, log: () => undefined });
}

async function builds(name) {
  await ensureBase();
  const environment = loadEnvironment(root, name, { file: "bench", path: "$" });
  if (environment.definition.packages === undefined) {
    const reference = `${environment.definition.image.repository}:${environment.definition.image.tag}`;
    return { name, base: true, imageBytes: await imageSize("podman", reference), digest: environment.definition.image.digest };
  }
  const log = (line) => process.stderr.write(`  ${name}: ${line}\n`);
  const result = { name, packages: environment.packages.length, pinned: environment.definition.image.digest ?? null };
  if (name === "python-torch" && !options["torch-cold"] && !options["torch-build"]) {
    // Only the warm build and the runs below.
  } else if (name === "python-torch" && !options["torch-cold"] && !options["skip-cold"]) {
    const tag = `localhost/datomspod-bench/${name}:wheels-cached`;
    const t0 = performance.now();
    const again = await buildEnvironment({ engine: "podman", cacheDir, log, as: tag }, environment);
    result.wheelsCachedSeconds = seconds(t0);
    result.coldDigest = again.digest;
    result.reproducible = true;
    podman(["image", "rm", tag], true);
  } else if (!options["skip-cold"]) {
    const cold = mkdtempSync(join(work, `cache-${name}-`));
    const tag = `localhost/datomspod-bench/${name}:cold`;
    let t0 = performance.now();
    const first = await buildEnvironment({ engine: "podman", cacheDir: cold, log, as: tag }, environment);
    result.coldSeconds = seconds(t0);
    result.wheelBytes = first.wheelBytes;
    podman(["image", "rm", tag], true);
    await ensureBase();
    t0 = performance.now();
    const again = await buildEnvironment({ engine: "podman", cacheDir: cold, log, as: `${tag}-again` }, environment);
    result.wheelsCachedSeconds = seconds(t0);
    podman(["image", "rm", `${tag}-again`], true);
    rmSync(cold, { recursive: true, force: true });
    result.coldDigest = first.digest;
    result.reproducible = first.digest === again.digest;
  }
  // The shared cache and the image tagged here: built when missing, then a warm (skipped) build.
  await ensureBase();
  const built = await buildEnvironment({ engine: "podman", cacheDir, log }, environment);
  const t0 = performance.now();
  const warm = await buildEnvironment({ engine: "podman", cacheDir, log }, environment);
  result.warmSeconds = seconds(t0);
  result.warmSkipped = !warm.built;
  result.digest = warm.digest;
  result.wheelBytes ??= built.wheelBytes;
  result.matchesPinned = warm.digest === result.pinned;
  if (result.coldDigest !== undefined) result.reproducible &&= result.coldDigest === warm.digest;
  result.imageBytes = await imageSize("podman", warm.reference);
  return result;
}

/** The demo's workspace up to the run, with its contract moved into `environment` and the probe algorithm. */
async function workspace(dir, images, environment, image, code) {
  const now = new Date();
  const ws = prepareWorkspace(dir);
  Object.assign(ws.images, images);
  let edited = false;
  for (const step of demoSteps(ws, now)) {
    if (step.argv?.[0] === "run") break;
    if (step.argv?.[0] === "images") continue;
    if (!edited && step.argv?.[0] === "contract" && step.argv[1] === "sign") {
      edited = true;
      const file = join(dir, "contracts", ID, "contract.json");
      const contract = JSON.parse(readFileSync(file, "utf8"));
      const algorithm = join(dir, "contracts", ID, "algorithm", "probe.py");
      writeFileSync(algorithm, code);
      const envDir = join(dir, "environments", environment.name);
      mkdirSync(envDir, { recursive: true });
      execFileSync("cp", ["-r", `${environment.dir}/.`, envDir]);
      contract.inputs.algorithm.environment = environment.name;
      contract.inputs.algorithm.container = { image: image.repository, tag: image.tag, digest: image.digest, entrypoint: "python3 $ALGO" };
      contract.inputs.algorithm.code = { path: "algorithm/probe.py", sha256: createHash("sha256").update(code).digest("hex"), size: Buffer.byteLength(code) };
      contract.inputs.compute.memory = "2Gi";
      contract.inputs.compute.maxDurationSeconds = 600;
      writeFileSync(file, `${JSON.stringify(contract, null, 2)}\n`);
    }
    step.action?.();
    if (step.argv === undefined) continue;
    let stdout = "";
    let stderr = "";
    const argv = step.json === undefined ? step.argv : [...step.argv, "--format", "json"];
    const code_ = await main([...argv, "--repo", dir], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: dir, now });
    if (code_ !== 0) throw new Error(`datomspod ${step.argv.join(" ")} exited ${code_}: ${stdout}${stderr}`);
    if (step.json !== undefined) {
      step.json(JSON.parse(stdout));
      if (step.argv[0] === "keys") writeFileSync(`${step.argv[3]}.pub.json`, stdout);
    }
  }
  return ws;
}

/** `datomspod run` of the probe: from the call to its first instruction, and to the end of its imports. */
async function firstInstruction(images, spec) {
  const environment = loadEnvironment(root, spec.name, { file: "bench", path: "$" });
  const digest = JSON.parse(podman(["image", "inspect", `${environment.definition.image.repository}:${environment.definition.image.tag}`]))[0].Digest;
  const image = { ...environment.definition.image, digest };
  const code = [
    "import time",
    "FIRST = time.time()",
    "import json",
    ...spec.modules.map((m) => `import ${m}`),
    "IMPORTED = time.time()",
    // The demo contract lets only aggregate tables out (csv, a count column of at least 10).
    'with open("/data/outputs/probe.csv", "w") as f:',
    '    f.write(f"first,imported,patients\\n{FIRST!r},{IMPORTED!r},10\\n")',
    "",
  ].join("\n");
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    const dir = join(work, `ws-${spec.name}-${round}`);
    const ws = await workspace(dir, images, environment, image, code);
    let stdout = "";
    let stderr = "";
    const t0 = Date.now();
    const p0 = performance.now();
    const exit = await main(["run", ID, RUN, "--key", ws.keys.provider, "--repo", dir, "--format", "json"], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      cwd: dir,
      now: new Date(),
    });
    const totalMs = Math.round(performance.now() - p0);
    if (exit !== 0) throw new Error(`datomspod run (${spec.name}) exited ${exit}: ${stdout}${stderr}`);
    const receipt = JSON.parse(readFileSync(join(dir, "contracts", ID, "receipts", `${RUN}.json`), "utf8"));
    // The probe's own times leave sealed: fetch them as the consumer.
    const out = join(dir, "fetched");
    let fout = "";
    const fetched = await main(["fetch", ID, RUN, "--key", ws.keys.consumer, "--out", out, "--repo", dir], {
      stdout: (t) => (fout += t),
      stderr: (t) => (fout += t),
      cwd: dir,
      now: new Date(),
    });
    if (fetched !== 0)
      throw new Error(`fetch exited ${fetched}: ${fout}; the receipt: ${JSON.stringify({ status: receipt.predicate.status, policy: receipt.predicate.outputs.policy })}`);
    const [first, imported] = readFileSync(join(out, "outputs", "probe.csv"), "utf8").split("\n")[1].split(",").map(Number);
    const probe = { first, imported };
    samples.push({
      toFirstInstructionMs: Math.round(probe.first * 1000 - t0),
      importsMs: Math.round((probe.imported - probe.first) * 1000),
      toImportedMs: Math.round(probe.imported * 1000 - t0),
      runTotalMs: totalMs,
    });
    rmSync(dir, { recursive: true, force: true });
  }
  const keys = Object.keys(samples[0]);
  return { name: spec.name, modules: spec.modules, rounds, samples, median: Object.fromEntries(keys.map((k) => [k, median(samples.map((s) => s[k]))])) };
}

/**
 * A stopped container of each image a run pins, so that an image build by someone else on this
 * machine (which removes the image it replaces under the same tag, unless a container uses it)
 * cannot take it away mid-run.
 */
const keepers = [];
function keep(reference, digest) {
  const name = `datomspod-bench-keep-${randomBytes(4).toString("hex")}`;
  podman(["create", "--name", name, `${reference.split(":")[0]}@${digest}`, "true"]);
  keepers.push(name);
}

const result = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release(), node: process.version, loadAverageAtStart: loadavg().map((l) => Math.round(l * 10) / 10) },
  note: "cold: empty wheel cache and no image (PyPI download included); wheelsCached: image built again with the wheels cached; warm: datomspod env build with the image here (skipped by its inputs label). toFirstInstructionMs: from the call of datomspod run to the algorithm's first line; toImportedMs: to the end of importing the environment's main packages.",
  builds: [],
  firstInstruction: [],
};
if (options["skip-builds"] && existsSync(options.out)) result.builds = JSON.parse(readFileSync(options.out, "utf8")).builds ?? [];
function save() {
  mkdirSync(join(root, "bench", "results"), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
}

try {
  if (!options["skip-builds"]) {
    for (const spec of ENVIRONMENTS) {
      process.stderr.write(`builds of ${spec.name}\n`);
      const built = await builds(spec.name);
      process.stderr.write(`  ${JSON.stringify(built)}\n`);
      result.builds.push(built);
      save();
    }
  }
  await ensureBase();
  const built = await buildImages({ engine: "podman", root, cacheDir, only: ["python", "pod"], version, pullTimeoutMs: 20_000, log: () => undefined });
  const images = Object.fromEntries(built.map((image) => [image.key, { reference: image.reference, digest: image.digest }]));
  for (const image of Object.values(images)) keep(image.reference, image.digest);
  for (const spec of ENVIRONMENTS) {
    const environment = loadEnvironment(root, spec.name, { file: "bench", path: "$" });
    const reference = `${environment.definition.image.repository}:${environment.definition.image.tag}`;
    keep(reference, JSON.parse(podman(["image", "inspect", reference]))[0].Digest);
  }
  for (const spec of ENVIRONMENTS) {
    process.stderr.write(`first instruction in ${spec.name}\n`);
    const first = await firstInstruction(images, spec);
    process.stderr.write(`  ${JSON.stringify(first.median)}\n`);
    result.firstInstruction.push(first);
    save();
  }
  result.machine.loadAverageAtEnd = loadavg().map((l) => Math.round(l * 10) / 10);
  save();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  if (keepers.length > 0) podman(["rm", "--force", ...keepers], true);
  rmSync(work, { recursive: true, force: true });
}
