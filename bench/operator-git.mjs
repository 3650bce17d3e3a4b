// Benchmark: the operator's git work per decision on a repository of 1,000 contracts (10,000 files),
// the operator's sink (dist/generator/operator/sink.js: commit onto the synced commit by writing only
// the trees on the record's path, push a pack of the new objects, follow a moved remote path by
// path) side by side with the baseline it replaced: isomorphic-git's own add + commit + push, and
// its checkout + statusMatrix walk to follow a foreign push. Same repository, same loopback
// `git http-backend` server, rounds alternating. Results: bench/results/operator-git.json.
// Run after `npm run build`: node bench/operator-git.mjs [--contracts 1000] [--rounds 5]
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import { runnerImport } from "vite";
import { GitSink } from "../dist/generator/operator/sink.js";
import { OPERATOR_NODE_OPTIONS } from "../dist/generator/compile/operator.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const { values: options } = parseArgs({
  options: {
    contracts: { type: "string", default: "1000" },
    rounds: { type: "string", default: "5" },
    out: { type: "string", default: join(root, "bench/results/operator-git.json") },
    "memory-child": { type: "string" },
  },
});
const contracts = Number(options.contracts);
const rounds = Number(options.rounds);
const { startGitServer } = (await runnerImport(join(root, "test/cluster/lab/git-server.ts"), { configFile: false, logLevel: "error", server: { watch: null } }))
  .module;

// The operator's memory, in a process of its own (RSS is per process): clone with the sink (as the
// Deployment's --clone does), first sync, then 40 receipts recorded; RSS and heap after each phase.
if (options["memory-child"] !== undefined) {
  const [url, dir] = JSON.parse(options["memory-child"]);
  const mb = (what) => {
    const m = process.memoryUsage();
    return { phase: what, rssMB: Math.round(m.rss / 2 ** 20), heapMB: Math.round(m.heapUsed / 2 ** 20) };
  };
  const phases = [mb("started")];
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const sink = new GitSink(dir);
  await sink.cloneInto(url);
  phases.push(mb("cloned"));
  await sink.sync();
  phases.push(mb("first sync"));
  for (let i = 0; i < 40; i++) {
    await sink.sync();
    const file = `contracts/c${i}/receipts/memory-${i}.json`;
    sink.willWrite([file]);
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), `{"run":${i}}\n`);
    await sink.record([file], "receipt");
  }
  phases.push(mb("40 receipts recorded"));
  // a restart on the same clone (the Deployment's volume outlives the container): the one full walk
  await new GitSink(dir).sync();
  phases.push(mb("restarted: the first sync walks the whole clone"));
  clearInterval(sample);
  process.stdout.write(JSON.stringify({ phases, peakRssMB: Math.round(Math.max(peak, process.memoryUsage().rss) / 2 ** 20) }));
  process.exit(0);
}

const base = mkdtempSync(join(tmpdir(), "datomspod-bench-operator-git-"));
const quiet = { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" } };
const sh = (dir, ...args) => execFileSync("git", ["-C", dir, "-c", "user.name=bench", "-c", "user.email=bench@bench.invalid", ...args], quiet).toString();

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
const summary = (values) => ({ median: Math.round(median(values)), min: Math.round(Math.min(...values)), max: Math.round(Math.max(...values)) });

/** A repository shaped like the scale bench's: per contract its folder (contract, signatures, algorithm) and its rendered instance folder. */
function makeSource(dir) {
  sh(base, "init", "--quiet", "--initial-branch=main", dir);
  for (let i = 0; i < contracts; i++) {
    const c = join(dir, "contracts", `c${i}`);
    mkdirSync(join(c, "signatures"), { recursive: true });
    mkdirSync(join(c, "algorithm"), { recursive: true });
    writeFileSync(join(c, "contract.json"), `{"id":"c${i}"}\n`);
    writeFileSync(join(c, "signatures", "owner.json"), `{"s":${i}}\n`);
    writeFileSync(join(c, "signatures", "consumer.json"), `{"t":${i}}\n`);
    writeFileSync(join(c, "algorithm", "main.py"), `print(${i})\n`);
    const k = join(dir, "clusters", "scale", `c${i}`);
    mkdirSync(k, { recursive: true });
    for (const f of ["namespace.yaml", "job.yaml", "networkpolicy.yaml", "resourcequota.yaml", "pvc.yaml", "application.yaml"])
      writeFileSync(join(k, f), `${f} ${i}\n`);
  }
  sh(dir, "add", "--all");
  sh(dir, "commit", "--quiet", "-m", "start");
}

const server = await startGitServer({ root: join(base, "git"), acceptPush: true });
const seed = join(base, "seed");
makeSource(seed);
const files = Number(sh(seed, "ls-files").trim().split("\n").length);
// each way its own remote (a bare copy of the same repository) and its own "someone else"
const remotes = {};
for (const name of ["baseline", "sink"]) {
  const bare = join(server.root, `${name}.git`);
  execFileSync("git", ["clone", "--quiet", "--bare", seed, bare], quiet);
  const other = join(base, `other-${name}`);
  execFileSync("git", ["clone", "--quiet", bare, other], quiet);
  remotes[name] = { bare, other, url: server.repoUrl(name), foreign: 0 };
}

/** Someone else's push: one contract file changed (what a foreign commit to the repository is). */
function foreignPush(name) {
  const remote = remotes[name];
  sh(remote.other, "pull", "--quiet", "origin", "main");
  writeFileSync(join(remote.other, "contracts", `c${remote.foreign % contracts}`, "contract.json"), `{"foreign":${remote.foreign++}}\n`);
  sh(remote.other, "commit", "--quiet", "-am", "foreign");
  sh(remote.other, "push", "--quiet", "origin", "HEAD:main");
}

const ways = {
  /** isomorphic-git's own: add + commit (whole index) + push (walks the commit's trees); follow = checkout + statusMatrix walk. */
  baseline: {
    async open(dir, url) {
      await git.clone({ fs, http, dir, url, ref: "main", singleBranch: true, noTags: true });
      return dir;
    },
    async record(dir, file) {
      await git.add({ fs, dir, filepath: file });
      await git.commit({ fs, dir, message: "receipt", author: { name: "bench", email: "bench@bench.invalid" } });
      await git.push({ fs, http, dir, remote: "origin", ref: "main", remoteRef: "main" });
    },
    async follow(dir) {
      await git.fetch({ fs, http, dir, remote: "origin", ref: "main", singleBranch: true, tags: false });
      const oid = await git.resolveRef({ fs, dir, ref: "refs/remotes/origin/main" });
      await git.writeRef({ fs, dir, ref: "refs/heads/main", value: oid, force: true });
      await git.checkout({ fs, dir, ref: "main", force: true });
      await git.statusMatrix({ fs, dir });
    },
  },
  /** The operator's sink. */
  sink: {
    async open(dir, url) {
      const sink = new GitSink(dir);
      await sink.cloneInto(url);
      await sink.sync();
      return sink;
    },
    async record(sink, file) {
      await sink.record([file], "receipt");
    },
    async follow(sink) {
      await sink.sync();
    },
  },
};

const results = { baseline: { openMs: 0, recordMs: [], followMs: [], cpuMs: 0 }, sink: { openMs: 0, recordMs: [], followMs: [], cpuMs: 0 } };
const handles = {};
for (const name of Object.keys(ways)) {
  const t = performance.now();
  handles[name] = await ways[name].open(join(base, `clone-${name}`), remotes[name].url);
  results[name].openMs = Math.round(performance.now() - t);
}
const load = { start: loadavg()[0] };
let n = 0;
for (let round = 0; round < rounds; round++) {
  for (const name of round % 2 === 0 ? ["baseline", "sink"] : ["sink", "baseline"]) {
    const way = ways[name];
    const dir = join(base, `clone-${name}`);
    const cpu = process.cpuUsage();
    // the receipt: written, then recorded
    const file = `contracts/c${n % contracts}/receipts/run-${n++}.json`;
    mkdirSync(join(dir, file, ".."), { recursive: true });
    if (name === "sink") handles.sink.willWrite([file]);
    writeFileSync(join(dir, file), `{"run":${n}}\n`);
    let t = performance.now();
    await way.record(handles[name], file);
    results[name].recordMs.push(performance.now() - t);
    // someone else pushes; the operator's next decision follows
    foreignPush(name);
    t = performance.now();
    await way.follow(handles[name]);
    results[name].followMs.push(performance.now() - t);
    const used = process.cpuUsage(cpu);
    results[name].cpuMs += (used.user + used.system) / 1000;
  }
}
load.end = loadavg()[0];
// the memory child: its own remote (a bare copy), cloned over HTTP by the sink
const memoryBare = join(server.root, "memory.git");
execFileSync("git", ["clone", "--quiet", "--bare", seed, memoryBare], quiet);
const memory = JSON.parse(
  await new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [OPERATOR_NODE_OPTIONS, fileURLToPath(import.meta.url), "--memory-child", JSON.stringify([server.repoUrl("memory"), join(base, "clone-memory")])],
      { maxBuffer: 1 << 20 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    ),
  ),
);
await server.stop();

// the sink's clone ended equal to its remote, git status clean
const sinkDir = join(base, "clone-sink");
if (sh(sinkDir, "rev-parse", "HEAD").trim() !== sh(remotes.sink.bare, "rev-parse", "main").trim()) throw new Error("sink: HEAD is not the remote's");
if (sh(sinkDir, "status", "--porcelain").trim() !== "") throw new Error("sink: git status is not clean");

const out = {
  benchmark: "operator-git",
  how: `a repository of ${contracts} contracts (${files} files), served by git http-backend on loopback; per round each way records one new receipt file (commit + push) and then follows one foreign push (one contract file changed); ${rounds} rounds, order alternating; median, min, max`,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, kernel: release(), node: process.version },
  loadAverage1m: { start: load.start, end: load.end },
  files,
  operatorMemory: {
    how: "a process of its own: the sink clones over HTTP (as the Deployment's --clone), syncs, records 40 receipts; RSS sampled every 50 ms",
    ...memory,
  },
  ms: Object.fromEntries(
    Object.entries(results).map(([name, r]) => [
      name,
      { openMs: r.openMs, record: summary(r.recordMs), follow: summary(r.followMs), cpuMsPerRound: Math.round(r.cpuMs / rounds) },
    ]),
  ),
};
out.speedup = {
  record: Math.round((median(results.baseline.recordMs) / median(results.sink.recordMs)) * 10) / 10,
  follow: Math.round((median(results.baseline.followMs) / median(results.sink.followMs)) * 10) / 10,
};
mkdirSync(join(options.out, ".."), { recursive: true });
writeFileSync(options.out, `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(out.ms), JSON.stringify(out.speedup), JSON.stringify(out.operatorMemory.phases), out.operatorMemory.peakRssMB);
rmSync(base, { recursive: true, force: true });
