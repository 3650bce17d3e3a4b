// Benchmark: `datomspod compile` over 1,000 signed, approved contracts with one pending run each,
// then a recompile after one contract changed, then the whole `datomspod check` over them. Goals:
// ≤ 5 s and ≤ 300 MB peak RSS for the full compile, ≤ 0.5 s for the recompile (issue 3);
// ≤ 10 s for check (issue 4). Results: bench/results/compile.json.
// Run after `npm run build`: node bench/compile.mjs [COUNT]
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { contractWriter } from "./contracts.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const count = Number(process.argv[2] ?? 1000);
const cliPath = join(root, "dist/generator/cli/main.js");
const AT = "2026-11-24T00:00:00Z";

const repo = mkdtempSync(join(tmpdir(), "datomspod-bench-compile-"));
cpSync(join(root, "clusters"), join(repo, "clusters"), { recursive: true });
rmSync(join(repo, "clusters/local/hospital-stats"), { recursive: true, force: true });
rmSync(join(repo, "clusters/self-built-example/bank-credit-model"), { recursive: true, force: true });
const { contract: makeContract } = await contractWriter(repo);

const setupStart = performance.now();
for (let i = 0; i < count; i++) await makeContract(i);
const setupSeconds = (performance.now() - setupStart) / 1000;

function timedCompile() {
  const start = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, cliPath, "compile", "--repo", repo], { encoding: "utf8" });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(`compile failed: ${result.stderr}`);
  const peakKb = Number(result.stderr.trim().split("\n").pop());
  return { seconds: Math.round(seconds * 1000) / 1000, peakRssMB: Math.round(peakKb / 1024) };
}

function timedCheck() {
  const start = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, cliPath, "check", "--repo", repo, "--at", AT, "--format", "json"], { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(`check failed (${result.status}): ${result.stderr.slice(0, 2000)}`);
  const report = JSON.parse(result.stdout);
  const peakKb = Number(result.stderr.trim().split("\n").pop());
  return { seconds: Math.round(seconds * 1000) / 1000, peakRssMB: Math.round(peakKb / 1024), contracts: report.contracts.length, passed: report.contracts.filter((c) => Object.values(c.stages).every((s) => s.status === "ok")).length };
}

const full = timedCompile();
const noChange = timedCompile();
await makeContract(500, { groupBy: "sex" });
const oneChanged = timedCompile();
const check = timedCheck();

const results = {
  benchmark: "compile",
  contracts: count,
  node: process.version,
  cpus: (await import("node:os")).cpus().length,
  setupSeconds: Math.round(setupSeconds * 10) / 10,
  fullCompile: { ...full, goalSeconds: 5, goalPeakRssMB: 300 },
  recompileNoChange: noChange,
  recompileOneChanged: { ...oneChanged, goalSeconds: 0.5 },
  check: { ...check, goalSeconds: 10 },
  files: Number(execFileSync("find", [join(repo, "clusters"), "-type", "f"], { encoding: "utf8" }).trim().split("\n").length),
};
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/compile.json"), `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
if (process.env.KEEP) console.log(`kept ${repo}`); else rmSync(repo, { recursive: true, force: true });
