// Scale by simulation (issue 11): N contracts → N Argo CD Applications on the shared lab, their Jobs'
// pods "run" by kwok. Results: bench/results/cluster-scale.json ({byN: {N: {...}}}, merged run by run).
//
// For each N (--sizes, default 100,300,1000), against the running lab (DATOMSPOD_LAB_DIR):
// 1. N copies of the hospital-stats contract (bench/contracts.mjs, the compile bench's generator),
//    signed, approved, one run requested, for a bench-only cluster profile `scale-<id>` (the lab
//    profile under another name and StorageClass), compiled by the real CLI, committed as rendered
//    (the operator signs a receipt only for a Job that is exactly the committed one). The pods go to
//    this run's kwok nodes (untainted) because the lab's real node is cordoned for the run (and
//    uncordoned at the end), so kwok's stages run and complete them.
//    The cluster side the profile names is made: the StorageClass `scale-<id>-sealed` and one sealed
//    PersistentVolume per instance (claimRef to its claim). The rendered AppProject and
//    ApplicationSet (automated sync, prune) are applied, pointed at a loopback git repository of
//    this run; then one commit adds every instance folder.
// 2. Measures the time from that commit (+ the ApplicationSet refresh annotation; Argo CD never
//    polls here) until all N Applications are Synced and Healthy (Jobs Complete, claims Bound), the
//    RSS of the lab's daemons (kube-apiserver, etcd, Argo CD's application controller, repo server,
//    ApplicationSet controller, redis: VmRSS sampled every second from /proc/<pid>/status, and
//    VmHWM; and the CPU seconds each used in the phase) and of `datomspod operator` watching the N namespaces and Jobs (its own clone and remote,
//    at nice 10). Then the removal: every contract revoked by its provider, compile refuses to remove
//    N folders without --allow-removals (the mass-deletion guard), passes with it; then the time from
//    the commit removing every folder until all Applications and namespaces are gone.
// 3. Cleans up everything it made (ApplicationSet, Applications, AppProject, namespaces, PVs,
//    StorageClass, kwok nodes, git repository, folders), also when a step failed.
// Exits non-zero when an Application does not become Synced+Healthy, or a namespace is not deleted.
//
// Run after `npm run build`, as root, with the lab up (npm run lab -- up, or the shared one):
//   DATOMSPOD_LAB_DIR=/work/lab node bench/cluster-scale.mjs [--sizes 20,100] [--kwok-nodes 10] [--out FILE]
//     [--timeout S (default 6 s per Application, at least 300)] [--removal-timeout S (default: --timeout)]
//     [--no-removal (skip step 2's removal; the cleanup then deletes at once)]
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { runnerImport } from "vite";
import { parse } from "yaml";
import { contractWriter } from "./contracts.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const { values: options } = parseArgs({
  options: {
    sizes: { type: "string", default: "100,300,1000" },
    "kwok-nodes": { type: "string", default: "10" },
    "timeout-per-app": { type: "string", default: "6" },
    timeout: { type: "string" },
    "removal-timeout": { type: "string" },
    "no-removal": { type: "boolean", default: false },
    out: { type: "string", default: join(root, "bench/results/cluster-scale.json") },
  },
});

async function load(path) {
  return (await runnerImport(join(root, path), { configFile: false, logLevel: "error", server: { watch: null } })).module;
}
const lab = await load("test/cluster/lab/lab.ts");
const gitServer = await load("test/cluster/lab/git-server.ts");
const { refreshApplicationSet } = await load("test/cluster/lab/gitops.ts");
const { run, sleep } = await load("test/cluster/lab/exec.ts");
const { daemonRecord } = await load("test/cluster/lab/daemons.ts");
const { runId } = await load("test/cluster/lab/workloads.ts");

const log = (line) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} scale: ${line}\n`);
const cli = join(root, "dist/generator/cli/main.js");
const ARGOCD = "argocd";
const APPS = `/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD}/applications`;
const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
const RUN_LABEL = "datomspod.io/scale-run";
const DAEMONS = [
  "kube-apiserver",
  "etcd",
  "argocd-application-controller",
  "argocd-repo-server",
  "argocd-applicationset-controller",
  "redis",
  "kube-controller-manager",
  "kwok",
];
/** USER_HZ of /proc/<pid>/stat (100 on Linux). */
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
const load1 = () => Math.round(loadavg()[0] * 100) / 100;
const mb = (kb) => Math.round(kb / 1024);

const info = lab.readLabInfo();
if (info === undefined) throw new Error(`no lab in ${lab.defaultLabDir()}: start one (npm run lab -- up) or set DATOMSPOD_LAB_DIR`);
for (const piece of ["argocd", "kwok"])
  if (!info.running.includes(piece)) throw new Error(`the lab's ${piece} is not running (${info.skipped[piece] ?? "not started"}): the bench needs it`);
const api = lab.labKube(info);

/** VmRSS and VmHWM (kB) of a process and its CPU seconds (user + system, its own and its waited-for children's), or undefined when it is gone. */
function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    // fields after the command's closing parenthesis: utime, stime, cutime, cstime are the 12th-15th
    const line = readFileSync(`/proc/${pid}/stat`, "utf8");
    const stat = line.slice(line.lastIndexOf(")") + 2).split(" ");
    const cpu = [11, 12, 13, 14].reduce((sum, i) => sum + Number(stat[i]), 0) / CLOCK_TICKS;
    return { rss: field("VmRSS"), hwm: field("VmHWM"), cpu };
  } catch {
    return undefined;
  }
}

/** Samples the RSS of the lab's daemons (and extra pids) every second; peaks by phase. */
function sampler(extra) {
  const pids = Object.fromEntries(DAEMONS.map((name) => [name, daemonRecord(info.dir, name)?.pid]).filter(([, pid]) => pid !== undefined));
  const phases = {};
  let phase = "baseline";
  const sample = () => {
    const all = { ...pids, ...extra() };
    for (const [name, pid] of Object.entries(all)) {
      const m = memory(pid);
      if (m === undefined) continue;
      const entry = ((phases[phase] ??= {})[name] ??= { startMB: mb(m.rss), peakMB: 0, endMB: 0, hwmMB: 0, cpuStart: m.cpu, cpuSeconds: 0 });
      entry.peakMB = Math.max(entry.peakMB, mb(m.rss));
      entry.endMB = mb(m.rss);
      entry.hwmMB = mb(m.hwm);
      entry.cpuSeconds = Math.round((m.cpu - entry.cpuStart) * 10) / 10;
    }
  };
  sample();
  const timer = setInterval(sample, 1000);
  return {
    phase(name) {
      sample();
      phase = name;
      sample();
    },
    stop() {
      clearInterval(timer);
      sample();
      for (const entries of Object.values(phases)) for (const entry of Object.values(entries)) delete entry.cpuStart;
      return phases;
    },
  };
}

/** The flags the lab runs Argo CD's daemons with (lab-only tuning is stated with the numbers it gave). */
function argocdFlags() {
  const names = ["argocd-application-controller", "argocd-repo-server", "argocd-applicationset-controller"];
  return Object.fromEntries(
    names.map((name) => [name, (daemonRecord(info.dir, name)?.command ?? []).slice(1).filter((flag) => !/port|addr|redis|repo-server=|dir/.test(flag))]),
  );
}

/** The bench profile: the lab profile under the name `profile`, its sealed claims in StorageClass `<profile>-sealed`. */
function benchProfile(profile) {
  const text = readFileSync(join(root, "clusters/lab/cluster.yaml"), "utf8");
  const edited = text.replace(/^name: lab$/m, `name: ${profile}`).replace(/^storageClassName: .*$/m, `storageClassName: ${profile}-sealed`);
  if (!edited.includes(`name: ${profile}\n`) || !edited.includes(`${profile}-sealed`))
    throw new Error("clusters/lab/cluster.yaml: name or storageClassName not found to rename");
  return edited;
}

/** The number of rendered Jobs (job-*.yaml) in the instance folders of `folder`. */
function renderedJobs(folder) {
  let count = 0;
  for (const instance of readdirSync(folder)) {
    if (["argocd", "operator", "cluster.yaml"].includes(instance)) continue;
    count += readdirSync(join(folder, instance)).filter((name) => name.startsWith("job-")).length;
  }
  return count;
}

function timed(args, cwd) {
  const start = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, cli, ...args], { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const lines = result.stderr.trim().split("\n");
  return {
    code: result.status,
    seconds: Math.round(performance.now() - start) / 1000,
    peakRssMB: mb(Number(lines.pop())),
    stderr: lines.join("\n"),
    stdout: result.stdout,
  };
}

async function listApps(id) {
  return api.list(APPS, { labelSelector: `${RUN_LABEL}=${id}` });
}

async function listNamespaces(prefix) {
  return (await api.list("/api/v1/namespaces")).filter((ns) => ns.metadata.name.startsWith(prefix));
}

/** Polls the API server (not Argo CD) until `done(state)`; resolves with the milliseconds since `from`. */
async function until(what, from, timeoutMs, probe, done, progress) {
  let last = 0;
  for (;;) {
    const state = await probe();
    if (done(state)) return Date.now() - from;
    if (Date.now() - from > timeoutMs) {
      const error = new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
      error.state = state;
      throw error;
    }
    if (Date.now() - last > 15_000) {
      last = Date.now();
      log(`${what}: ${progress(state)} (${Math.round((Date.now() - from) / 1000)} s, load ${load1()})`);
    }
    await sleep(1000);
  }
}

function appCounts(apps) {
  const synced = apps.filter((a) => a.status?.sync?.status === "Synced");
  const healthy = apps.filter((a) => a.status?.sync?.status === "Synced" && a.status?.health?.status === "Healthy");
  return { created: apps.length, synced: synced.length, healthy: healthy.length, apps };
}

async function scale(n) {
  const id = runId();
  const profile = `scale-${id}`;
  const prefix = `s${id}`;
  const base = join(info.dir, "state", "scale", id);
  const result = { n, runId: id, profile, startedAt: new Date().toISOString(), loadAverage1m: { start: load1() }, argocdFlags: argocdFlags() };
  const made = { appset: `datomspod-${profile}`, project: `datomspod-${profile}`, nodes: [], cordoned: [], storageClass: `${profile}-sealed` };
  let server;
  let operator;
  let operatorEvents = { receipt: 0, deletion: 0, error: 0, firstError: undefined };
  let memorySampler;
  log(`N=${n}: run ${id}, profile ${profile}, folder ${base}`);
  try {
    // 1. The repository: N contracts compiled for the bench profile; the Jobs sent to kwok in this copy.
    // pushes accepted: the operator pushes its records over HTTP (isomorphic-git), as to any git host
    server = await gitServer.startGitServer({ root: join(base, "git"), acceptPush: true });
    const repo = await gitServer.createRepo("git", server.root, profile, join(base, "work"));
    const work = repo.work;
    writeFileSync(join(work, ".gitignore"), "/.datomspod/\n");
    mkdirSync(join(work, "clusters", profile), { recursive: true });
    cpSync(join(root, "clusters/cluster-profile.schema.json"), join(work, "clusters/cluster-profile.schema.json"));
    writeFileSync(join(work, "clusters", profile, "cluster.yaml"), benchProfile(profile));
    await repo.commit("the bench profile, no instance yet");
    let t = Date.now();
    const writer = await contractWriter(work, {
      prefix,
      edit: (contract, contractId) => {
        contract.cluster = profile;
        contract.inputs.data[0].location = { kind: "hostPath", path: `/var/lib/datomspod/data/${contractId}` };
        return contract;
      },
    });
    const ids = [];
    for (let i = 0; i < n; i++) ids.push(await writer.contract(i));
    result.contractsSetupSeconds = (Date.now() - t) / 1000;
    const compiled = timed(["compile"], work);
    if (compiled.code !== 0) throw new Error(`compile failed (${compiled.code}): ${compiled.stderr.slice(0, 2000)}`);
    result.compile = { seconds: compiled.seconds, peakRssMB: compiled.peakRssMB };
    const folder = join(work, "clusters", profile);
    const jobs = renderedJobs(folder);
    if (jobs !== n) throw new Error(`expected ${n} rendered Jobs, found ${jobs}`);
    log(`N=${n}: ${n} contracts made in ${result.contractsSetupSeconds} s, compiled in ${compiled.seconds} s (peak ${compiled.peakRssMB} MB)`);

    // The cluster side: kwok nodes, the profile's StorageClass, one sealed PV per instance.
    const kwokNodes = Number(options["kwok-nodes"]);
    for (let i = 0; i < kwokNodes; i++) {
      const name = `kwok-${profile}-${i}`;
      made.nodes.push(name);
      await api.apply({
        apiVersion: "v1",
        kind: "Node",
        metadata: { name, annotations: { [KWOK_NODE_ANNOTATION]: "fake" }, labels: { type: "kwok", [RUN_LABEL]: id, "kubernetes.io/hostname": name } },
      });
    }
    // Only kwok's nodes take pods during the run: every other schedulable node is cordoned (and uncordoned by the cleanup).
    for (const node of await api.list("/api/v1/nodes")) {
      if (node.metadata.annotations?.[KWOK_NODE_ANNOTATION] === "fake" || node.spec?.unschedulable === true) continue;
      made.cordoned.push(node.metadata.name);
      await api.patch(`/api/v1/nodes/${node.metadata.name}`, { spec: { unschedulable: true } });
    }
    await api.apply({
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: made.storageClass, labels: { [RUN_LABEL]: id } },
      provisioner: "kubernetes.io/no-provisioner",
      reclaimPolicy: "Retain",
      volumeBindingMode: "WaitForFirstConsumer",
    });
    const sealedRoot = join(base, "sealed");
    for (const contract of ids) {
      const dir = join(sealedRoot, contract, "sealed-run-1");
      mkdirSync(dir, { recursive: true });
      await api.request("POST", "/api/v1/persistentvolumes", {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: `dp-${contract}-sealed`, labels: { [RUN_LABEL]: id } },
        spec: {
          accessModes: ["ReadWriteOnce"],
          capacity: { storage: "64Mi" },
          persistentVolumeReclaimPolicy: "Retain",
          storageClassName: made.storageClass,
          hostPath: { path: dir, type: "Directory" },
          claimRef: { namespace: `dp-${contract}`, name: "sealed-run-1" },
        },
      });
    }

    // The rendered AppProject and ApplicationSet, pointed at the loopback repository.
    const repoUrl = server.repoUrl(profile);
    const project = parse(readFileSync(join(folder, "argocd/appproject.yaml"), "utf8"));
    project.spec.sourceRepos = [repoUrl];
    project.metadata.labels = { ...project.metadata.labels, [RUN_LABEL]: id };
    await api.apply(project);
    const appset = parse(readFileSync(join(folder, "argocd/applicationset.yaml"), "utf8"));
    appset.metadata.labels = { ...appset.metadata.labels, [RUN_LABEL]: id };
    appset.spec.generators[0].git.repoURL = repoUrl;
    appset.spec.generators[0].git.requeueAfterSeconds = 3600;
    appset.spec.template.spec.source.repoURL = repoUrl;
    appset.spec.template.metadata.labels = { ...appset.spec.template.metadata.labels, [RUN_LABEL]: id };
    result.applicationSet = {
      syncPolicy: appset.spec.template.spec.syncPolicy,
      edits: "repoURL (generator and source) → the loopback repository; requeueAfterSeconds 3600; label " + RUN_LABEL,
    };
    await api.apply(appset);

    // The operator: its own clone of a copy of the repository (its receipts never reach Argo CD's repository).
    await repo.commit(`${n} contracts: signed, approved, run-1 requested, compiled`);
    const operatorRemote = join(server.root, "operator-remote.git");
    const operatorClone = join(base, "operator-clone");
    await run("git", ["clone", "--quiet", "--bare", repo.bare, operatorRemote]);
    await run("git", ["clone", "--quiet", server.repoUrl("operator-remote"), operatorClone]);
    result.loadAverage1m.beforeCommit = load1();
    memorySampler = sampler(() => (operator?.pid === undefined || operator.exitCode !== null ? {} : { operator: operator.pid }));

    // 2. The commit is pushed (above); the ApplicationSet is told by annotation; wait for N Synced+Healthy.
    const committed = Date.now();
    await refreshApplicationSet(api, made.appset);
    memorySampler.phase("sync");
    operator = spawn(
      "nice",
      [
        "-n",
        "10",
        process.execPath,
        cli,
        "--repo",
        operatorClone,
        "--format",
        "json",
        "operator",
        "--cluster",
        profile,
        "--key",
        join(root, "test/keys/hospital-provider.json"),
        "--sealed-root",
        sealedRoot,
        "--kubeconfig",
        info.adminKubeconfig,
      ],
      { env: { ...process.env, DATOMSPOD_KEY_PASSWORD: "datomspod-test-only" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let operatorOutput = "";
    const takeLines = (chunk) => {
      operatorOutput += chunk.toString("utf8");
      let newline;
      while ((newline = operatorOutput.indexOf("\n")) >= 0) {
        const line = operatorOutput.slice(0, newline);
        operatorOutput = operatorOutput.slice(newline + 1);
        try {
          const event = JSON.parse(line);
          if (event.event in operatorEvents) operatorEvents[event.event]++;
          if (event.event === "error") operatorEvents.firstError ??= `${event.subject}: ${event.message}`;
        } catch {
          operatorEvents.firstError ??= line.slice(0, 300);
        }
      }
    };
    operator.stdout.on("data", takeLines);
    operator.stderr.on("data", takeLines);
    const timeoutMs = (options.timeout !== undefined ? Number(options.timeout) : Math.max(300, n * Number(options["timeout-per-app"]))) * 1000;
    const progress = [];
    const marks = {};
    try {
      await until(
        `${n} Applications Synced+Healthy`,
        committed,
        timeoutMs,
        async () => appCounts(await listApps(id)),
        (c) => {
          const at = Date.now() - committed;
          if (c.created === n) marks.allCreatedMs ??= at;
          if (c.synced === n) marks.allSyncedMs ??= at;
          return c.healthy === n;
        },
        (c) => {
          progress.push({ s: Math.round((Date.now() - committed) / 1000), created: c.created, synced: c.synced, healthy: c.healthy, load1m: load1() });
          return `${c.created} created, ${c.synced} synced, ${c.healthy} synced+healthy`;
        },
      );
      marks.allHealthyMs = Date.now() - committed;
    } catch (error) {
      const c = error.state;
      const notHealthy = (c?.apps ?? []).filter((a) => !(a.status?.sync?.status === "Synced" && a.status?.health?.status === "Healthy"));
      result.failure = {
        what: error.message,
        created: c?.created,
        synced: c?.synced,
        healthy: c?.healthy,
        examples: notHealthy.slice(0, 5).map((a) => ({
          name: a.metadata.name,
          sync: a.status?.sync?.status,
          health: a.status?.health?.status,
          operation: a.status?.operationState?.phase,
          message: a.status?.operationState?.message?.slice(0, 300),
          conditions: a.status?.conditions?.map((k) => `${k.type}: ${k.message}`.slice(0, 300)),
        })),
      };
      throw error;
    } finally {
      result.sync = { ...marks, progress, refresh: "annotation argocd.argoproj.io/application-set-refresh on the ApplicationSet, once after the commit" };
    }
    result.loadAverage1m.atHealthy = load1();
    log(`N=${n}: all ${n} Applications Synced+Healthy ${marks.allHealthyMs} ms after the commit`);
    const pods = await api.list("/api/v1/pods", { labelSelector: `datomspod.io/run=run-1` });
    const ours = pods.filter((p) => p.metadata.namespace.startsWith(`dp-${prefix}-`));
    result.pods = {
      succeeded: ours.filter((p) => p.status?.phase === "Succeeded").length,
      onKwokNodes: ours.filter((p) => made.nodes.includes(p.spec.nodeName)).length,
    };

    // The operator keeps watching for a while with everything finished; then it stops.
    memorySampler.phase("operator-watching");
    await sleep(15_000);
    operator.kill("SIGTERM");
    await new Promise((resolve) => (operator.exitCode !== null ? resolve() : operator.once("exit", resolve)));
    result.operator = {
      ...operatorEvents,
      note: "watched from the commit until 15 s after all were healthy (nice 10; its own remote); receipts counts what it recorded in that time",
    };

    // The removal: every contract revoked by its provider; the mass-deletion guard refuses the
    // compile that would remove N folders, --allow-removals N lets it.
    if (options["no-removal"]) {
      result.removal = { skipped: "--no-removal: the guard and the pruning were not measured at this N; the cleanup deleted everything" };
      return result;
    }
    memorySampler.phase("removal");
    for (const contract of ids) await writer.revoke(contract, "scale bench: the run is over");
    const refused = timed(["compile"], work);
    const guardLine = refused.stderr.split("\n").find((line) => line.includes("instance folders at once")) ?? refused.stderr.split("\n")[0];
    result.removalGuard = { exitCode: refused.code, message: guardLine, seconds: refused.seconds };
    if (n > 10 && refused.code !== 1)
      throw new Error(`compile without --allow-removals exited ${refused.code}, not 1: the mass-deletion guard did not hold (${refused.stderr.slice(0, 500)})`);
    if (readdirSync(folder).filter((name) => name.startsWith(prefix)).length !== n) throw new Error("the refused compile changed clusters/");
    const allowed = timed(["compile", "--allow-removals", String(n)], work);
    if (allowed.code !== 0) throw new Error(`compile --allow-removals ${n} failed (${allowed.code}): ${allowed.stderr.slice(0, 2000)}`);
    const left = readdirSync(folder).filter((name) => name.startsWith(prefix));
    if (left.length !== 0) throw new Error(`compile --allow-removals ${n} left ${left.length} instance folders`);
    result.removal = {
      how: "every contract revoked (provider's signed contracts/<id>/revocation.json), compile --allow-removals N",
      compileSeconds: allowed.seconds,
      compilePeakRssMB: allowed.peakRssMB,
    };
    t = Date.now();
    await repo.commit(`${n} contracts revoked: instance folders removed`);
    await refreshApplicationSet(api, made.appset);
    const removalTimeoutMs = options["removal-timeout"] !== undefined ? Number(options["removal-timeout"]) * 1000 : timeoutMs;
    result.removal.applicationsGoneMs = await until(
      `${n} Applications deleted`,
      t,
      removalTimeoutMs,
      () => listApps(id),
      (apps) => apps.length === 0,
      (apps) => `${apps.length} left`,
    );
    result.removal.namespacesGoneMs = await until(
      `${n} namespaces deleted`,
      t,
      removalTimeoutMs,
      () => listNamespaces(`dp-${prefix}-`),
      (list) => list.length === 0,
      (list) => `${list.length} left`,
    );
    log(`N=${n}: removal: Applications gone ${result.removal.applicationsGoneMs} ms, namespaces gone ${result.removal.namespacesGoneMs} ms after the commit`);
  } catch (error) {
    result.failure ??= { what: String(error?.message ?? error) };
    error.result = result;
    throw error;
  } finally {
    if (operator !== undefined && operator.exitCode === null) {
      operator.kill("SIGTERM");
      result.operator ??= { ...operatorEvents };
    }
    if (memorySampler !== undefined) result.memory = memorySampler.stop();
    result.loadAverage1m.end = load1();
    result.cleanup = await cleanUp(id, prefix, made, result.failure !== undefined || options["no-removal"]);
    await server?.stop();
    rmSync(base, { recursive: true, force: true });
    result.finishedAt = new Date().toISOString();
  }
  return result;
}

/**
 * Deletes what a run made, whatever state it got to; resolves with what was still there. After a
 * failure (`fast`) the Applications lose their resources finalizer at once and the namespaces are
 * deleted directly: no waiting for an application controller that is behind.
 */
async function cleanUp(id, prefix, made, fast) {
  const report = {};
  const wait = async (what, probe, ms) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if ((await probe()) === 0) return true;
      await sleep(1000);
    }
    return false;
  };
  try {
    await api.delete(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD}/applicationsets/${made.appset}`, fast ? "Background" : "Foreground");
    report.applicationsAtCleanup = (await listApps(id)).length;
    if (fast || !(await wait("Applications", async () => (await listApps(id)).length, 300_000))) {
      // the application controller did not finalize them: drop the finalizer, delete what they made below
      for (const app of await listApps(id)) {
        await api.patch(`${APPS}/${app.metadata.name}`, { metadata: { finalizers: null } }).catch(() => undefined);
        await api.delete(`${APPS}/${app.metadata.name}`).catch(() => undefined);
      }
      report.finalizersRemoved = true;
    }
    const namespaces = await listNamespaces(`dp-${prefix}-`);
    report.namespacesAtCleanup = namespaces.length;
    for (const ns of namespaces) await api.delete(`/api/v1/namespaces/${ns.metadata.name}`);
    await wait("namespaces", async () => (await listNamespaces(`dp-${prefix}-`)).length, 300_000);
    const volumes = (await api.list("/api/v1/persistentvolumes")).filter((pv) => pv.metadata.name.startsWith(`dp-${prefix}-`));
    report.volumesDeleted = volumes.length;
    for (const pv of volumes) await api.delete(`/api/v1/persistentvolumes/${pv.metadata.name}`);
    await api.delete(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD}/appprojects/${made.project}`);
    await api.delete(`/apis/storage.k8s.io/v1/storageclasses/${made.storageClass}`);
    for (const node of made.nodes) await api.delete(`/api/v1/nodes/${node}`);
  } catch (error) {
    report.error = String(error?.message ?? error);
    log(`cleanup of run ${id} failed: ${report.error}`);
  }
  // the lab's own nodes take pods again, whatever failed above
  for (const node of made.cordoned) {
    await api.patch(`/api/v1/nodes/${node}`, { spec: { unschedulable: null } }).catch((error) => log(`uncordon ${node} failed: ${error.message}`));
  }
  report.uncordoned = made.cordoned;
  return report;
}

function machine() {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version };
}

const previous = existsSync(options.out) ? JSON.parse(readFileSync(options.out, "utf8")) : {};
const output = {
  benchmark: "cluster-scale",
  description:
    "N contracts → N Argo CD Applications on the lab (bench/cluster-scale.mjs): commit → all Synced+Healthy (Jobs completed by kwok), daemons' RSS, operator RSS, removal → namespaces gone",
  versions: (await load("test/cluster/lab/tools.ts")).readVersions(),
  byN: previous.byN ?? {},
  // runs set aside by hand (other flags, another bench), kept as they were
  ...(previous.earlier !== undefined ? { earlier: previous.earlier } : {}),
};
let failed = false;
for (const n of options.sizes.split(",").map(Number)) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`--sizes: ${n} is not a count`);
  let result;
  try {
    result = await scale(n);
  } catch (error) {
    failed = true;
    log(`N=${n} FAILED: ${error.stack ?? error}`);
    result = error.result ?? { n, failed: String(error.message ?? error) };
  }
  output.byN[n] = { ...result, machine: machine() };
  output.growth = growth(output.byN);
  mkdirSync(join(options.out, ".."), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(output, null, 2)}\n`);
  log(`wrote ${options.out} (N=${n})`);
  if (failed) break;
}
api.close();
process.exitCode = failed ? 1 : 0;

/**
 * How the numbers grow with N: per N, the time to all Synced+Healthy (runs that got there), the
 * Applications Synced+Healthy per second, and each process's peak RSS over the run (also for a run
 * that did not finish: its N Applications existed, so Argo CD held them).
 */
function growth(byN) {
  const runs = Object.values(byN)
    .filter((r) => r.memory !== undefined)
    .sort((a, b) => a.n - b.n);
  if (runs.length < 2) return undefined;
  const peak = (r, name) => Math.max(0, ...Object.values(r.memory).map((phase) => phase[name]?.peakMB ?? 0));
  const names = [...DAEMONS, "operator"];
  const healthyPerSecond = (r) => {
    const last = r.sync?.allHealthyMs !== undefined ? { s: r.sync.allHealthyMs / 1000, healthy: r.n } : r.sync?.progress?.at(-1);
    return last === undefined || last.s === 0 ? null : Math.round((last.healthy / last.s) * 1000) / 1000;
  };
  return {
    sizes: runs.map((r) => r.n),
    incomplete: runs
      .filter((r) => r.failure !== undefined)
      .map((r) => ({ n: r.n, failure: r.failure.what, healthyAtEnd: r.sync?.progress?.at(-1)?.healthy ?? null })),
    allHealthyMs: Object.fromEntries(runs.map((r) => [r.n, r.sync?.allHealthyMs ?? null])),
    healthyApplicationsPerSecond: Object.fromEntries(runs.map((r) => [r.n, healthyPerSecond(r)])),
    removalNamespacesGoneMs: Object.fromEntries(runs.map((r) => [r.n, r.removal?.namespacesGoneMs ?? null])),
    peakRssMB: Object.fromEntries(names.map((name) => [name, Object.fromEntries(runs.map((r) => [r.n, peak(r, name)]))])),
    // CPU seconds from the commit to all Synced+Healthy (or to the timeout)
    syncCpuSeconds: Object.fromEntries(names.map((name) => [name, Object.fromEntries(runs.map((r) => [r.n, r.memory.sync?.[name]?.cpuSeconds ?? null]))])),
  };
}
