// Benchmark of the local runner (issue 5, "Performance"; issue 10, "Speed of a run"). Results:
// bench/results/run.json.
//
// 0. Speed (issue 10): a trivial algorithm end to end through `datomspod run` (the CLI, a new
//    process, as a user types it: the demo contract, its aggregate.py on 30 rows) against the floor
//    of podman on this machine, side by side in one run, rounds alternating: a one-container pod
//    (python `print('hi')`, `kube play --network none --no-hosts`, `podman wait`, `kube down`) and
//    the same pod shape with tiny roles (test/run/fixtures/pod.yaml, 3 init containers + 1). Medians
//    and p90 of each, the load average at every round. Then a few runs in process (runLocally)
//    break the time down: outside playPod, playPod's phases, and each container's own time
//    (podman's StartedAt → FinishedAt). Goal: `datomspod run` ≤ 2 s.
// 1. Overhead: `datomspod run` of the demo contract (its algorithm aggregates a 30-row CSV in ~50 ms)
//    against raw podman on the same pod: `podman kube play --network none --no-hosts` of the very
//    pod `datomspod run` plays (the Job's template with its ConfigMaps, the sealed claim as an
//    emptyDir, as podman-managed volumes), `podman wait` on its last container, `podman kube down`.
//    Rounds alternate raw / the CLI / `runLocally` in process (which reports playPod's components);
//    medians of each. Goal: CLI ≤ 1.25 × raw. The same comparison on the test fixture's pod, whose
//    roles are tiny scripts, shows the runner's cost where the roles cost nothing.
// 2. Zero-copy inputs: a pod (played by playPod) whose algorithm stats its input and reads its first
//    byte, with a 1 MiB and a 1 GiB input (real files, written in a temp folder, removed after).
//    Measured: from playPod's call to the algorithm's first byte (host clock), and playPod's total.
//    Goal: 1 GiB / 1 MiB ≤ 1.1. The gate (datomspace-in's sha256 of every input, immediately before
//    the run) scales with the size by design; it is timed apart (hashFile on the host; see
//    bench/checksum.mjs for its throughput against sha256sum).
//
// Run after `npm run build`, as root with podman (see .ci/setup):
//   node bench/run.mjs [--rounds N] [--input-mib N] [--reuse-images] [--only trivial,overhead,fixture,zero-copy] [--out FILE]
// (default --only trivial; the issue 5 sections take about 4 minutes more)
// --reuse-images pins the images already tagged here (localhost/datomspod/{python:3.11,pod:VERSION})
// instead of building them from this tree (which is what `datomspod images build` does).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { cpus, homedir, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments, stringify } from "yaml";
import { main } from "../dist/generator/cli/main.js";
import { demoSteps, prepareWorkspace } from "../dist/generator/demo/demo.js";
import { parseQuantity } from "../dist/generator/compile/quantity.js";
import { buildImages, cacheDirectory } from "../dist/generator/run/build-images.js";
import { hashFile } from "../dist/generator/pod/roles/checksum.js";
import { playPod, podmanPod, podmanYaml } from "../dist/generator/run/pod.js";
import { runLocally, POD_PIDS_LIMIT } from "../dist/generator/run/run.js";
import { PASSWORD_ENV, loadKeystore } from "../dist/generator/signatures/keys.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const { values: options } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    "input-mib": { type: "string", default: "1024" },
    "reuse-images": { type: "boolean", default: false },
    only: { type: "string", default: "trivial" },
    breakdown: { type: "string", default: "3" },
    out: { type: "string", default: join(root, "bench/results/run.json") },
  },
});
const rounds = Number(options.rounds);
const only = new Set(options.only.split(","));
const inputMiB = Number(options["input-mib"]);
const ID = "hospital-demo";
const RUN = "run-1";
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
const work = mkdtempSync(join(tmpdir(), "datomspod-bench-run-"));
const keepers = [];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The nearest-rank 90th percentile. */
function p90(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.9) - 1)];
}

function podman(args, allowFailure = false) {
  try {
    return execFileSync("podman", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    if (allowFailure) return "";
    throw new Error(`podman ${args.join(" ")}: ${error.stderr ?? error.message}`);
  }
}

function ms(start) {
  return Math.round(performance.now() - start);
}

function summary(samples) {
  const keys = Object.keys(samples[0] ?? {});
  return Object.fromEntries(keys.map((key) => [key, median(samples.map((s) => s[key]))]));
}

function ratio(a, b) {
  return Math.round((a / b) * 1000) / 1000;
}

/** The images a run pins: built from this tree (as `datomspod images build` does), or the ones tagged here. */
async function images() {
  if (options["reuse-images"]) {
    const pinned = (reference) => {
      const [facts] = JSON.parse(podman(["image", "inspect", reference]));
      return { reference, digest: facts.Digest };
    };
    return { python: pinned("localhost/datomspod/python:3.11"), pod: pinned(`localhost/datomspod/pod:${version}`) };
  }
  const built = await buildImages({
    engine: "podman",
    root,
    cacheDir: cacheDirectory(process.env, homedir()),
    only: ["python", "pod"],
    version,
    pullTimeoutMs: 20_000,
    log: () => undefined,
  });
  return Object.fromEntries(built.map((image) => [image.key, { reference: image.reference, digest: image.digest }]));
}

/**
 * A stopped container of each pinned image, so that an image build by someone else on this machine
 * (which removes the image it replaces, unless a container uses it) cannot take it away mid-run.
 */
function keep(image) {
  const name = `datomspod-bench-keep-${randomBytes(4).toString("hex")}`;
  podman(["create", "--name", name, `${image.reference.split(":")[0]}@${image.digest}`, "true"]);
  keepers.push(name);
}

/** The demo's workspace up to the run: keys, contract, signatures, approvals, run request, compile, check. */
async function workspace(dir, pinned) {
  const now = new Date();
  const ws = prepareWorkspace(dir);
  Object.assign(ws.images, pinned);
  for (const step of demoSteps(ws, now)) {
    if (step.argv?.[0] === "run") break;
    if (step.argv?.[0] === "images") continue;
    step.action?.();
    if (step.argv === undefined) continue;
    let stdout = "";
    let stderr = "";
    const argv = step.json === undefined ? step.argv : [...step.argv, "--format", "json"];
    const code = await main([...argv, "--repo", dir], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: dir, now });
    if (code !== 0) throw new Error(`datomspod ${step.argv.join(" ")} exited ${code}: ${stdout}${stderr}`);
    if (step.json !== undefined) {
      step.json(JSON.parse(stdout));
      if (step.argv[0] === "keys") writeFileSync(`${step.argv[3]}.pub.json`, stdout);
    }
  }
}

/** The pod `datomspod run` plays, as podman-managed volumes: the Job's template, its ConfigMaps, the sealed claim as an emptyDir. */
function rawPod(dir) {
  const folder = join(dir, "clusters", "local", ID);
  const objects = readdirSync(folder)
    .filter((name) => name.endsWith(".yaml"))
    .sort()
    .flatMap((name) => parseAllDocuments(readFileSync(join(folder, name), "utf8")).map((doc) => doc.toJS()));
  const profile = parse(readFileSync(join(dir, "clusters", "local", "cluster.yaml"), "utf8"));
  const job = structuredClone(objects.find((o) => o.kind === "Job" && o.metadata.labels["datomspod.io/run"] === RUN));
  const spec = job.spec.template.spec;
  spec.volumes = spec.volumes.map((v) =>
    v.persistentVolumeClaim ? { name: v.name, emptyDir: { sizeLimit: String(parseQuantity(profile.sealedOutputSize ?? "1Gi")) } } : v,
  );
  return podmanPod([job, ...objects.filter((o) => o.kind === "ConfigMap")], folder);
}

/**
 * The pod as podman itself would run it: podmanPod's documents with the init containers given back
 * to podman (kept after they ran, as the runner's were), so `kube play` sequences them. (The runner
 * gives podman every role as a container and starts each itself: see playPod.)
 */
function rawYaml(pod) {
  const documents = structuredClone(pod.documents);
  const podDoc = documents.find((d) => d.kind === "Pod");
  const inits = new Set(pod.initContainers);
  podDoc.spec.initContainers = podDoc.spec.containers.filter((c) => inits.has(c.name));
  podDoc.spec.containers = podDoc.spec.containers.filter((c) => !inits.has(c.name));
  if (podDoc.spec.initContainers.length === 0) delete podDoc.spec.initContainers;
  podDoc.metadata.annotations = { ...podDoc.metadata.annotations, "io.podman.annotations.init.container.type": "always" };
  return podmanYaml({ ...pod, documents });
}

/** Raw podman: play (starts the pod; the init containers run inside it), wait for the last container, down. */
function playRaw(pod, yamlFile) {
  const t0 = performance.now();
  podman(["kube", "play", "--network", "none", "--no-hosts", "--quiet", yamlFile]);
  const playMs = ms(t0);
  const t1 = performance.now();
  podman(["wait", `${pod.name}-${pod.containers.at(-1)}`]);
  const waitMs = ms(t1);
  const t2 = performance.now();
  podman(["kube", "down", yamlFile]);
  const downMs = ms(t2);
  const totalMs = ms(t0);
  // Not timed: kube down leaves podman's volumes, which the next play would reuse with their content.
  podman(["volume", "rm", "--force", ...pod.emptyDirs.map((e) => e.volume), ...pod.configMapVolumes], true);
  return { totalMs, playMs, waitMs, downMs };
}

function receiptOf(dir) {
  const file = join(dir, "contracts", ID, "receipts", `${RUN}.json`);
  const receipt = JSON.parse(readFileSync(file, "utf8"));
  rmSync(file); // the same run again next round: the instance stays what the contract compiles to
  const { phase } = receipt.predicate.status;
  const { removed } = receipt.predicate.deletion;
  if (phase !== "succeeded" || removed !== true) throw new Error(`run ended ${phase}, removed ${removed}: ${JSON.stringify(receipt.predicate.status)}`);
}

function runCli(dir) {
  const t0 = performance.now();
  const stdout = execFileSync(process.execPath, [join(root, "dist/bundle/datomspod.js"), "run", ID, RUN, "--repo", dir, "--key", runnerKey(dir), "--format", "json"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const totalMs = ms(t0);
  try {
    receiptOf(dir);
  } catch (error) {
    // How each role ended and what podman refused, as the runner printed it.
    const { roles, refused } = JSON.parse(stdout);
    throw new Error(`${error.message}; roles ${JSON.stringify(roles)}; refused ${JSON.stringify(refused)}`);
  }
  return { totalMs };
}

/** The key `datomspod run` signs the receipt with: the provider's, one of the demo contract's runners. */
function runnerKey(dir) {
  return join(dir, "keys", "hospital.json");
}

let runnerWallet;
let lastRun;
async function runInProcess(dir) {
  runnerWallet ??= await loadKeystore(runnerKey(dir), process.env[PASSWORD_ENV]);
  const t0 = performance.now();
  const result = await runLocally({ repo: dir, id: ID, runId: RUN, now: new Date(), runner: runnerWallet });
  const totalMs = ms(t0);
  receiptOf(dir);
  lastRun = result.pod;
  const play = result.pod.timings;
  const playPodMs = play.totalMs ?? play.playMs + play.startMs + play.waitMs + play.downMs;
  return { totalMs, outsidePlayPodMs: totalMs - playPodMs, ...Object.fromEntries(Object.entries(play).map(([k, v]) => [`playPod.${k}`, v])) };
}

async function overhead(pinned) {
  const dir = join(work, "workspace");
  await workspace(dir, pinned);
  const pod = rawPod(dir);
  const yamlFile = join(work, "raw.podman.yaml");
  writeFileSync(yamlFile, rawYaml(pod));
  // Warm-up: page cache, image layers, node's compile cache.
  playRaw(pod, yamlFile);
  runCli(dir);
  const raw = [];
  const cli = [];
  const inProcess = [];
  for (let r = 0; r < rounds; r += 1) {
    raw.push(playRaw(pod, yamlFile));
    cli.push(runCli(dir));
    inProcess.push(await runInProcess(dir));
    process.stderr.write(
      `overhead round ${r + 1}/${rounds}: raw ${raw.at(-1).totalMs} ms, datomspod run ${cli.at(-1).totalMs} ms, in process ${inProcess.at(-1).totalMs} ms\n`,
    );
  }
  const medians = { raw: summary(raw), datomspodRun: summary(cli), runLocally: summary(inProcess) };
  return {
    pod: `${pod.name}: ${pod.initContainers.length} init containers (${pod.initContainers.join(", ")}), ${pod.containers.length} container (${pod.containers.join(", ")}), ${pod.emptyDirs.length} emptyDirs, ${pod.configMapVolumes.length} ConfigMaps`,
    rounds,
    medianMs: medians,
    ratio: ratio(medians.datomspodRun.totalMs, medians.raw.totalMs),
    ratioInProcess: ratio(medians.runLocally.totalMs, medians.raw.totalMs),
    overheadMs: medians.datomspodRun.totalMs - medians.raw.totalMs,
    goalRatio: 1.25,
    samplesMs: { raw: raw.map((s) => s.totalMs), datomspodRun: cli.map((s) => s.totalMs), runLocally: inProcess.map((s) => s.totalMs) },
  };
}

/** The floor: one container (python, `print('hi')`) in a pod, as podman plays it. */
function floorYaml(pinned, name) {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      restartPolicy: "Never",
      securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 },
      containers: [
        {
          name: "computing",
          image: `${pinned.python.reference.split(":")[0]}@${pinned.python.digest}`,
          command: ["python3", "-c", "print('hi')"],
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
          resources: { limits: { cpu: "500m", memory: "256Mi" } },
        },
      ],
    },
  };
  return { name, containers: ["computing"], emptyDirs: [], configMapVolumes: [], yaml: stringify(pod) };
}

function stats(samples) {
  return { median: median(samples), p90: p90(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

/** Each container's own time (podman's StartedAt → FinishedAt) and the gaps between them. */
function containerTimes(run) {
  return Object.fromEntries(run.containers.map((c) => [c.container, c.startedAt && c.finishedAt ? Date.parse(c.finishedAt) - Date.parse(c.startedAt) : null]));
}

async function trivial(pinned) {
  const dir = join(work, "workspace");
  await workspace(dir, pinned);
  const floor = floorYaml(pinned, `dp-bench-floor-${randomBytes(3).toString("hex")}`);
  const floorFile = join(work, "floor.yaml");
  writeFileSync(floorFile, floor.yaml);
  const input = join(work, "patients.csv");
  writeFileSync(input, "age,sex,region\n34,F,north\n51,M,south\n");
  const shape = fixturePod(pinned, `dp-bench-shape-${randomBytes(3).toString("hex")}`, input);
  const shapeFile = join(work, "shape.podman.yaml");
  writeFileSync(shapeFile, rawYaml(shape));
  // Warm-up: page cache, image layers, node's compile cache.
  playRaw(floor, floorFile);
  playRaw(shape, shapeFile);
  runCli(dir);
  const samples = { datomspodRun: [], onePod: [], podShape: [] };
  const load = [];
  for (let r = 0; r < rounds; r += 1) {
    load.push(loadavg()[0]);
    const order = [
      () => samples.onePod.push(playRaw(floor, floorFile).totalMs),
      () => samples.podShape.push(playRaw(shape, shapeFile).totalMs),
      () => samples.datomspodRun.push(runCli(dir).totalMs),
    ];
    for (const step of r % 2 === 0 ? order : [...order].reverse()) step();
    process.stderr.write(
      `trivial round ${r + 1}/${rounds} (load ${load.at(-1).toFixed(2)}): datomspod run ${samples.datomspodRun.at(-1)} ms, one-container pod ${samples.onePod.at(-1)} ms, pod shape with tiny roles ${samples.podShape.at(-1)} ms\n`,
    );
  }
  const breakdown = [];
  for (let r = 0; r < Number(options.breakdown); r += 1) {
    const { totalMs, ...rest } = await runInProcess(dir);
    breakdown.push({ totalMs, ...rest, ...Object.fromEntries(Object.entries(containerTimes(lastRun)).map(([k, v]) => [`container.${k}`, v])) });
  }
  const medians = {
    datomspodRun: stats(samples.datomspodRun),
    onePod: stats(samples.onePod),
    podShape: stats(samples.podShape),
  };
  return {
    how: "rounds alternate the order of: `datomspod run hospital-demo run-1` (the CLI, a new process, key decrypted, the demo's aggregate.py on 30 rows; every check: gate, committed manifests, images, inputs re-hashed, output policy, sealing, receipt signed, pod and volumes removed and checked), raw podman on a one-container pod (python print('hi')), raw podman on the same pod shape with tiny roles (test/run/fixtures/pod.yaml); play + wait + down each",
    rounds,
    loadAverage1m: stats(load),
    ms: medians,
    ratio: {
      toOnePod: ratio(medians.datomspodRun.median, medians.onePod.median),
      toPodShape: ratio(medians.datomspodRun.median, medians.podShape.median),
    },
    goalMs: 2000,
    samplesMs: samples,
    breakdown: {
      how: "runLocally in process (no CLI start, no key decryption): outside playPod, playPod's phases, and each container's StartedAt → FinishedAt (podman's clock); medians",
      rounds: breakdown.length,
      medianMs: summary(breakdown),
    },
  };
}

/** The test fixture's pod (roles as small scripts), with the python image and an input of its own. */
function fixturePod(pinned, name, inputFile) {
  const fixtures = join(root, "test/run/fixtures");
  const tokens = {
    POD_NAME: name,
    POD_IMAGE: pinned.pod.reference,
    ALGORITHM_IMAGE: `${pinned.python.reference.split(":")[0]}@${pinned.python.digest}`,
    INPUT_FILE: inputFile,
    INPUT_SHA256: execFileSync("sha256sum", [inputFile], { encoding: "utf8" }).split(" ")[0],
    DEADLINE: "60",
    MEMORY: "256Mi",
  };
  const text = readFileSync(join(fixtures, "pod.yaml"), "utf8").replace(/@([A-Z0-9_]+)@/g, (_, key) => tokens[key]);
  const objects = parseAllDocuments(text).map((doc) => doc.toJS());
  const configMap = (cm) => objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === cm);
  configMap("algorithm").data.algorithm = "print('hi')\n";
  for (const role of ["datomspace-in.cjs", "datomspace-out.cjs", "oracle.cjs"]) configMap("roles").data[role] = readFileSync(join(fixtures, role), "utf8");
  return podmanPod(objects, "test/run/fixtures/pod.yaml");
}

async function playTimed(pod, scratchDir, collect) {
  const t0 = performance.now();
  const run = await playPod(pod, { scratchDir, pidsLimit: POD_PIDS_LIMIT, timeoutMs: 120_000, collect });
  const totalMs = ms(t0);
  const failed = run.containers.filter((c) => c.exitCode !== 0);
  if (failed.length > 0 || run.leftovers.length > 0)
    throw new Error(`${pod.name}: ${JSON.stringify(failed.map((c) => [c.container, c.logs]))} left ${run.leftovers.join(", ")}`);
  return { totalMs, run, t0 };
}

async function fixtureOverhead(pinned) {
  const input = join(work, "patients.csv");
  writeFileSync(input, "age,sex,region\n34,F,north\n51,M,south\n");
  const pod = fixturePod(pinned, `dp-bench-fixture-${randomBytes(3).toString("hex")}`, input);
  const yamlFile = join(work, "fixture.podman.yaml");
  writeFileSync(yamlFile, rawYaml(pod));
  playRaw(pod, yamlFile);
  const raw = [];
  const ours = [];
  for (let r = 0; r < rounds; r += 1) {
    raw.push(playRaw(pod, yamlFile));
    const { totalMs, run } = await playTimed(pod, join(work, "fixture-scratch"));
    ours.push({ totalMs, ...run.timings });
  }
  const medians = { raw: summary(raw), playPod: summary(ours) };
  return {
    pod: "test/run/fixtures/pod.yaml with print('hi'): 3 init containers, 1 container, roles as small node scripts",
    rounds,
    medianMs: medians,
    ratio: ratio(medians.playPod.totalMs, medians.raw.totalMs),
    overheadMs: medians.playPod.totalMs - medians.raw.totalMs,
  };
}

/** Writes `bytes` of zeros for real (not a sparse file): the disk holds them. */
function writeInput(path, bytes) {
  const block = Buffer.alloc(8 * 1024 * 1024);
  const fd = openSync(path, "w");
  for (let written = 0; written < bytes;) {
    const n = Math.min(block.length, bytes - written);
    writeSync(fd, block, 0, n);
    written += n;
  }
  closeSync(fd);
}

// No leading newline: podman 4.3 kube play rejects a list item that starts with one (docs/local-runner.md).
const READER = `import json, os, time
path = "/data/inputs/0/input.bin"
started = time.time()
size = os.stat(path).st_size
with open(path, "rb") as f:
    first = f.read(1)
json.dump({"size": size, "first": first.hex(), "startedAt": started, "firstByteAt": time.time()}, open("/data/outputs/read.json", "w"))
`;

function readerPod(pinned, name, inputFile) {
  const restricted = {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    capabilities: { drop: ["ALL"] },
  };
  return podmanPod(
    [
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name },
        spec: {
          restartPolicy: "Never",
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 },
          containers: [
            {
              name: "computing",
              image: `${pinned.python.reference.split(":")[0]}@${pinned.python.digest}`,
              command: ["python3", "-c", READER],
              workingDir: "/",
              securityContext: restricted,
              resources: { limits: { cpu: "500m", memory: "256Mi" } },
              volumeMounts: [
                { name: "input-0-0", mountPath: "/data/inputs/0/input.bin", readOnly: true },
                { name: "outputs", mountPath: "/data/outputs" },
              ],
            },
          ],
          volumes: [
            { name: "input-0-0", hostPath: { path: inputFile, type: "File" } },
            { name: "outputs", emptyDir: { sizeLimit: "1Mi" } },
          ],
        },
      },
    ],
    "bench/run.mjs",
  );
}

async function zeroCopy(pinned) {
  const sizes = { small: 1024 * 1024, large: inputMiB * 1024 * 1024 };
  const files = {};
  for (const [key, bytes] of Object.entries(sizes)) {
    files[key] = join(work, `input-${key}.bin`);
    writeInput(files[key], bytes);
  }
  const once = async (key) => {
    const pod = readerPod(pinned, `dp-bench-input-${key}-${randomBytes(3).toString("hex")}`, files[key]);
    let read;
    const { totalMs, run, t0 } = await playTimed(pod, join(work, "reader-scratch"), (volumes) => {
      read = JSON.parse(readFileSync(join(volumes[`${pod.name}-outputs`], "read.json"), "utf8"));
    });
    if (read.size !== sizes[key] || read.first !== "00") throw new Error(`the algorithm read ${JSON.stringify(read)}`);
    // The host and the container share the clock; performance.timeOrigin + t0 is the call's wall time.
    const untilFirstByteMs = Math.round(read.firstByteAt * 1000 - (performance.timeOrigin + t0));
    return {
      untilFirstByteMs,
      inAlgorithmMs: Math.round((read.firstByteAt - read.startedAt) * 1000 * 1000) / 1000,
      totalMs,
      // Preparing includes staging the input (a bind and an overlay of its folder): it must not grow with the size.
      prepareMs: run.timings.prepareMs,
      playMs: run.timings.playMs,
      startMs: run.timings.startMs,
    };
  };
  await once("small");
  const samples = { small: [], large: [] };
  for (let r = 0; r < rounds; r += 1) {
    for (const key of r % 2 === 0 ? ["small", "large"] : ["large", "small"]) samples[key].push(await once(key));
    process.stderr.write(
      `zero-copy round ${r + 1}/${rounds}: 1 MiB ${samples.small.at(-1).untilFirstByteMs} ms, ${inputMiB} MiB ${samples.large.at(-1).untilFirstByteMs} ms to the first byte\n`,
    );
  }
  const medians = { small: summary(samples.small), large: summary(samples.large) };
  // The gate: datomspace-in hashes every input immediately before the run (here on the host, no CPU limit).
  const hash = (key) => {
    const seconds = [];
    for (let r = 0; r < 3; r += 1) {
      const t0 = performance.now();
      hashFile(files[key]);
      seconds.push((performance.now() - t0) / 1000);
    }
    return Math.round(median(seconds) * 1000);
  };
  const gate = { smallMs: hash("small"), largeMs: hash("large") };
  for (const file of Object.values(files)) rmSync(file);
  return {
    inputsMiB: { small: 1, large: inputMiB },
    how: "a pod whose algorithm stats its read-only input (hostPath File, staged by playPod through a read-only bind and overlay of its folder) and reads its first byte; untilFirstByteMs runs from playPod's call to that byte; prepareMs includes the staging",
    rounds,
    medianMs: medians,
    ratio: ratio(medians.large.untilFirstByteMs, medians.small.untilFirstByteMs),
    ratioTotal: ratio(medians.large.totalMs, medians.small.totalMs),
    goalRatio: 1.1,
    gate: {
      how: "datomspace-in's sha256 of the input (hashFile), median of 3 on the host; in the pod it runs under the role's cpu limit (one CPU), see bench/results/checksum.json for the throughput against sha256sum",
      ...gate,
      mibPerSecond: Math.round((inputMiB / (gate.largeMs / 1000)) * 10) / 10,
    },
  };
}

function machine() {
  const info = JSON.parse(podman(["info", "--format", "json"]));
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "",
    node: process.version,
    kernel: release(),
    podman: info.version.Version,
    ociRuntime: `${info.host.ociRuntime.name} ${(info.host.ociRuntime.version ?? "").split("\n")[0]}`,
    cgroups: `${info.host.cgroupVersion} ${info.host.cgroupManager}`,
    loadAverage1m: { start: loadavg()[0] },
  };
}

try {
  const host = machine();
  const pinned = await images();
  keep(pinned.python);
  keep(pinned.pod);
  const result = {
    benchmark: "run",
    machine: host,
    ...(only.has("trivial") ? { trivial: await trivial(pinned) } : {}),
    ...(only.has("overhead") ? { overhead: await overhead(pinned) } : {}),
    ...(only.has("fixture") ? { overheadFixturePod: await fixtureOverhead(pinned) } : {}),
    ...(only.has("zero-copy") ? { zeroCopy: await zeroCopy(pinned) } : {}),
  };
  result.machine.loadAverage1m.end = loadavg()[0];
  mkdirSync(join(options.out, ".."), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (
    (result.trivial?.ms.datomspodRun.median ?? 0) > (result.trivial?.goalMs ?? 0) ||
    (result.overhead?.ratio ?? 0) > (result.overhead?.goalRatio ?? 1) ||
    (result.zeroCopy?.ratio ?? 0) > (result.zeroCopy?.goalRatio ?? 1)
  )
    process.exitCode = 1;
} finally {
  for (const name of keepers) podman(["rm", "--force", name], true);
  rmSync(work, { recursive: true, force: true });
  if (existsSync(work)) process.stderr.write(`could not remove ${work}\n`);
}
