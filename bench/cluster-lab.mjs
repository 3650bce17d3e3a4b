// Benchmark of the real-cluster lab (issue 11, phase 1). Results: bench/results/cluster-lab.json.
//
// 1. Builds: the cold build time of each piece as .ci/tools/cluster/build recorded it
//    ($DATOMSPOD_CACHE/cluster/<piece>-<version>/build.json), and a warm run of the build script now.
// 2. Lab: `up` (each step) and `down`, --rounds times, each from nothing.
// 3. GitOps, in one lab: --gitops-rounds times, a commit adding an instance folder to the loopback
//    git server (+ the ApplicationSet refresh annotation) until its Application is Synced and its
//    Job's pod Running; then a commit removing the folder until its Application and namespace are gone.
//
// Run as root after .ci/tools/cluster/build, with no other lab up on the machine (one lab per machine):
//   node bench/cluster-lab.mjs [--rounds N] [--gitops-rounds N] [--out FILE]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, homedir, loadavg, release } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { runnerImport } from "vite";

const root = fileURLToPath(new URL("../", import.meta.url));
const { values: options } = parseArgs({
  options: {
    rounds: { type: "string", default: "2" },
    "gitops-rounds": { type: "string", default: "3" },
    out: { type: "string", default: join(root, "bench/results/cluster-lab.json") },
  },
});

async function load(path) {
  return (await runnerImport(join(root, path), { configFile: false, logLevel: "error", server: { watch: null } })).module;
}
const lab = await load("test/cluster/lab/lab.ts");
const gitServer = await load("test/cluster/lab/git-server.ts");
const gitops = await load("test/cluster/lab/gitops.ts");
const { waitFor } = await load("test/cluster/lab/exec.ts");
const { readVersions } = await load("test/cluster/lab/tools.ts");

const log = (line) => process.stderr.write(`${line}\n`);
const cache = process.env.DATOMSPOD_CACHE ?? join(homedir(), ".cache", "datomspod");
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const load1 = () => Math.round(loadavg()[0] * 100) / 100;
const loadStart = load1();

// 1. builds
const cold = {};
for (const entry of existsSync(join(cache, "cluster")) ? readdirSync(join(cache, "cluster")) : []) {
  const file = join(cache, "cluster", entry, "build.json");
  if (existsSync(file)) {
    const built = JSON.parse(readFileSync(file, "utf8"));
    cold[built.piece] = { version: built.version, seconds: built.seconds, go: built.go, builtAt: built.builtAt };
  }
}
let t = Date.now();
execFileSync("bash", [join(root, ".ci/tools/cluster/build")], { stdio: ["ignore", "ignore", "inherit"] });
const warmBuildMs = Date.now() - t;
log(`bench: warm build check ${warmBuildMs} ms`);

// 2. up/down from nothing
const rounds = [];
for (let i = 0; i < Number(options.rounds); i++) {
  await lab.labDown({});
  t = Date.now();
  const info = await lab.labUp({ log });
  const upMs = Date.now() - t;
  const down = await lab.labDown({});
  rounds.push({ upMs, steps: info.timingsMs, downMs: down.ms, running: info.running });
  log(`bench: round ${i + 1}: up ${upMs} ms, down ${down.ms} ms`);
}

// 3. GitOps in one lab
const info = await lab.labUp({ log });
const api = lab.labKube(info);
const image = info.images?.busybox.pinned ?? "localhost/datomspod-lab/busybox@sha256:" + "0".repeat(64);
const server = await gitServer.startGitServer({ root: join(info.dir, "state", "git", "bench") });
const repo = await gitServer.createRepo("git", server.root, "instances", join(info.dir, "state", "git", "bench-work"));
const APPSET = "bench";
const gitopsRounds = [];
try {
  gitops.writeInstance(repo, "keep", image);
  await repo.commit("first instance");
  await api.apply(gitops.applicationSet(APPSET, server.repoUrl("instances")));
  await gitops.refreshApplicationSet(api, APPSET);
  await gitops.waitApplicationSynced(api, "keep", 180_000);
  for (let i = 0; i < Number(options["gitops-rounds"]); i++) {
    const folder = `r${i}`;
    gitops.writeInstance(repo, folder, image);
    t = Date.now();
    await repo.commit(`add ${folder}`);
    await gitops.refreshApplicationSet(api, APPSET);
    await gitops.waitApplicationSynced(api, folder, 180_000);
    const syncedMs = Date.now() - t;
    let runningMs = null;
    if (info.running.includes("node")) {
      await gitops.waitInstanceRunning(api, folder, 180_000);
      runningMs = Date.now() - t;
    }
    gitops.writeInstance(repo, folder, undefined);
    t = Date.now();
    await repo.commit(`remove ${folder}`);
    await gitops.refreshApplicationSet(api, APPSET);
    await waitFor(`Application of ${folder} gone`, 180_000, async () => ((await gitops.findApplication(api, gitops.applicationName(folder))) === undefined ? true : undefined));
    const appGoneMs = Date.now() - t;
    await waitFor(`namespace of ${folder} gone`, 180_000, async () => ((await api.find(`/api/v1/namespaces/${gitops.instanceNamespace(folder)}`)) === undefined ? true : undefined));
    const namespaceGoneMs = Date.now() - t;
    gitopsRounds.push({ commitToSyncedMs: syncedMs, commitToPodRunningMs: runningMs, removalToApplicationGoneMs: appGoneMs, removalToNamespaceGoneMs: namespaceGoneMs });
    log(`bench: gitops round ${i + 1}: commit->synced ${syncedMs} ms, ->running ${runningMs} ms; removal->app gone ${appGoneMs} ms, ->namespace gone ${namespaceGoneMs} ms`);
  }
} finally {
  api.close();
  await server.stop();
  await lab.labDown({});
}

const pick = (key) => gitopsRounds.map((r) => r[key]).filter((v) => v !== null);
const result = {
  benchmark: "cluster-lab",
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    kernel: release(),
    node: process.version,
    loadAverage1m: { start: loadStart, end: load1() },
    note: "shared 2-core machine: other engineers' test runs were going on (see the load averages)",
  },
  versions: readVersions(),
  build: { coldSeconds: cold, warmCheckMs: warmBuildMs },
  lab: {
    rounds,
    medianUpMs: median(rounds.map((r) => r.upMs)),
    medianDownMs: median(rounds.map((r) => r.downMs)),
  },
  gitops: {
    rounds: gitopsRounds,
    medianCommitToSyncedMs: median(pick("commitToSyncedMs")),
    medianCommitToPodRunningMs: pick("commitToPodRunningMs").length > 0 ? median(pick("commitToPodRunningMs")) : null,
    medianRemovalToApplicationGoneMs: median(pick("removalToApplicationGoneMs")),
    medianRemovalToNamespaceGoneMs: median(pick("removalToNamespaceGoneMs")),
  },
};
mkdirSync(join(options.out, ".."), { recursive: true });
writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
log(`bench: wrote ${options.out}`);
