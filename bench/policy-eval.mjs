// Benchmark: OPS-C policy evaluation of 1,000 contracts in-process (the committed wasm bundle through
// @open-policy-agent/opa-wasm, as `datomspod check` does it) against `opa eval` run once per contract
// with the same policy (the Rego the wasm is compiled from, as a bundle built once). opa is timed on a
// sample and extrapolated per contract. Goal (issue 4): in-process >= 10x faster. conftest is timed the
// same way when it is installed (~/.cache/datomspod/bin or PATH): its `conftest test` runs the policy's
// deny packages over one input file.
// Results: bench/results/policy-eval.json. Run after `npm run build`: node bench/policy-eval.mjs [COUNT] [SAMPLE]
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, homedir, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkAlgorithmCode, loadContract } from "../dist/generator/contract/load.js";
import { planCompile } from "../dist/generator/compile/plan.js";
import { loadPolicyBundle } from "../dist/generator/policy/evaluate.js";
import { policyInput } from "../dist/generator/policy/input.js";
import { loadScenarios } from "../dist/generator/policy/scenarios.js";
import { gatherFacts } from "../dist/generator/lifecycle/facts.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const count = Number(process.argv[2] ?? 1000);
const sample = Math.min(count, Number(process.argv[3] ?? 50));
const NOW = new Date("2026-11-24T00:00:00Z");
const round = (x, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

function tool(name, ...extra) {
  const dirs = [join(homedir(), ".cache", "datomspod", "bin"), ...extra, ...(process.env.PATH ?? "").split(delimiter)];
  return dirs.map((dir) => join(dir, name)).find((path) => existsSync(path));
}

// The example contracts as `datomspod check` sees them: rendered by the compiler, records verified.
const plan = planCompile(root, NOW);
const scenarios = loadScenarios();
const examples = plan.contracts.map((c) => {
  const loaded = loadContract(root, c.id);
  const facts = gatherFacts(root, loaded, NOW.getTime());
  const input = policyInput({
    loaded,
    profile: plan.profiles.get(c.cluster),
    environment: facts.prepared.environment,
    manifests: c.objects,
    agreements: facts.agreements,
    approvals: facts.approvals,
    codeMatches: checkAlgorithmCode(root, loaded).length === 0,
    now: NOW,
  });
  return { input, scenario: scenarios.get(loaded.contract.opsc.scenario) };
});

// 1,000 contracts: the examples with their id, runs, duration, output cap and group size varied
// (a fixed linear congruential sequence, so every run judges the same contracts).
let seed = 42;
const next = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
const cases = Array.from({ length: count }, (_, i) => {
  const { input, scenario } = examples[i % examples.length];
  const contract = structuredClone(input.contract);
  contract.id = `${contract.id.slice(0, 30)}-${i}`;
  contract.business.maxRuns = 1 + next(20);
  contract.inputs.compute.maxDurationSeconds = 60 * (1 + next(120));
  contract.outputs.policy.maxBytes = 1024 * (1 + next(4096));
  if (next(2) === 1) contract.outputs.policy.minGroupSize = 2 + next(30);
  return { input: { ...input, contract }, scenario };
});

// In-process: load once, evaluate every contract.
let t = performance.now();
const bundle = loadPolicyBundle();
const loadMs = performance.now() - t;
const verdicts = { pass: 0, fail: 0 };
t = performance.now();
for (const { input, scenario } of cases) verdicts[bundle.evaluate(input, scenario).pass ? "pass" : "fail"]++;
const inProcessMs = performance.now() - t;

// opa eval per contract, same policy, spawned for each of `sample` contracts.
const work = mkdtempSync(join(tmpdir(), "datomspod-bench-policy-"));
const results = {};
try {
  const opa = tool("opa");
  if (opa === undefined) throw new Error("opa is not installed (~/.cache/datomspod/bin or PATH); build it with .ci/tools/build-go-tools opa");
  const regoBundle = join(work, "rego-bundle.tar.gz");
  execFileSync(opa, ["build", "--ignore", "*_test.rego", "-o", regoBundle, join(root, "policies", "opsc")]);
  const files = cases.slice(0, sample).map(({ input, scenario }, i) => {
    const file = join(work, `input-${i}.json`);
    writeFileSync(file, JSON.stringify({ ...input, scenario }));
    return file;
  });
  const times = [];
  for (const file of files) {
    const start = performance.now();
    execFileSync(opa, ["eval", "--bundle", regoBundle, "--input", file, "--format", "json", "data.opsc.result"], { maxBuffer: 64 * 1024 * 1024 });
    times.push(performance.now() - start);
  }
  results.opa = {
    version: execFileSync(opa, ["version"], { encoding: "utf8" }).match(/^Version: (.*)$/m)?.[1],
    sample,
    perContractMs: { median: round(median(times)), mean: round(mean(times)), min: round(Math.min(...times)), max: round(Math.max(...times)) },
    extrapolatedMs: round(mean(times) * count, 0),
  };

  const conftest = tool("conftest", join(homedir(), ".cache", "datomspod", "conftest-v0.71.1", "bin"));
  if (conftest === undefined) {
    results.conftest = { skipped: "conftest is not installed (GOBIN=~/.cache/datomspod/conftest-v0.71.1/bin go install github.com/open-policy-agent/conftest@v0.71.1)" };
  } else {
    const denyNamespaces = ["network_egress", "network_deny_all", "image_digest", "computing_image", "pod_security", "host_path", "literal_secret", "signatures", "approvals", "code_mismatch", "output_policy", "raw_records", "validity"];
    const ctimes = [];
    for (const file of files) {
      const start = performance.now();
      try {
        execFileSync(conftest, ["test", "--no-color", "--output", "json", "--policy", join(root, "policies", "opsc"), ...denyNamespaces.map((ns) => `--namespace=opsc.deny.${ns}`), file], { maxBuffer: 64 * 1024 * 1024 });
      } catch (error) {
        if (error.status !== 1) throw error; // 1: some deny fired
      }
      ctimes.push(performance.now() - start);
    }
    results.conftest = {
      version: execFileSync(conftest, ["--version"], { encoding: "utf8" }).trim().split("\n").join(", "),
      sample,
      perContractMs: { median: round(median(ctimes)), mean: round(mean(ctimes)) },
      extrapolatedMs: round(mean(ctimes) * count, 0),
      note: "conftest evaluates the deny packages only (no scores), so it does less work than the full result",
    };
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const perContract = inProcessMs / count;
const report = {
  benchmark: "OPS-C policy evaluation: in-process wasm vs opa eval per contract",
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
  contracts: count,
  verdicts,
  inProcess: { bundleSha256: bundle.sha256, loadMs: round(loadMs), totalMs: round(inProcessMs), perContractMs: round(perContract, 4) },
  ...results,
  ratio: results.opa === undefined ? null : round(results.opa.perContractMs.mean / perContract, 1),
  ratioConftest: results.conftest?.perContractMs === undefined ? null : round(results.conftest.perContractMs.mean / perContract, 1),
  goal: { ratio: 10, met: results.opa !== undefined && results.opa.perContractMs.mean / perContract >= 10 },
};
writeFileSync(join(root, "bench", "results", "policy-eval.json"), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
