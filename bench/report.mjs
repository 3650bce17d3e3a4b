// Benchmark: `datomspod report --html` over COUNT signed, approved contracts with one pending run
// each (git history of one commit per contract, no chain), run twice to show the output is
// byte-identical. Results: bench/results/report.json.
// Run after `npm run build`: node bench/report.mjs [COUNT]
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Wallet, decryptKeystoreJson } from "ethers";
import { signRecord } from "../dist/generator/signatures/records.js";
import { contractHash } from "../dist/generator/contract/load.js";
import { agreementMessage, approvalMessage } from "../dist/generator/signatures/verify.js";
import { prepareContract } from "../dist/generator/compile/prepare.js";
import { runMessage } from "../dist/generator/lifecycle/facts.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const count = Number(process.argv[2] ?? 200);
const cliPath = join(root, "dist/generator/cli/main.js");
const AT = "2026-11-24T00:00:00Z";

async function wallet(name) {
  const account = await decryptKeystoreJson(readFileSync(join(root, "test/keys", `${name}.json`), "utf8"), "datomspod-test-only");
  return new Wallet(account.privateKey);
}
const [provider, consumer, witness] = await Promise.all(["hospital-provider", "health-consumer", "notary-witness"].map(wallet));

const repo = mkdtempSync(join(tmpdir(), "datomspod-bench-report-"));
cpSync(join(root, "clusters"), join(repo, "clusters"), { recursive: true });
rmSync(join(repo, "clusters/local/hospital-stats"), { recursive: true, force: true });
rmSync(join(repo, "clusters/self-built-example/bank-credit-model"), { recursive: true, force: true });
const template = JSON.parse(readFileSync(join(root, "contracts/hospital-stats/contract.json"), "utf8"));
const code = readFileSync(join(root, "contracts/hospital-stats/algorithm/aggregate.py"));
const write = (path, value) => {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
};
const git = (...args) => execFileSync("git", ["-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@datomspod.invalid", ...args]);
git("init", "-q");

for (let i = 0; i < count; i++) {
  const id = `bench-${String(i).padStart(4, "0")}`;
  const dir = join(repo, "contracts", id);
  const contract = { ...template, id };
  write(join(dir, "contract.json"), contract);
  mkdirSync(join(dir, "algorithm"), { recursive: true });
  writeFileSync(join(dir, "algorithm/aggregate.py"), code);
  const hash = contractHash(contract);
  const loaded = { id, hash, contract, dir, file: `contracts/${id}/contract.json` };
  for (const w of [provider, consumer, witness]) write(join(dir, "signatures", `${w.address}.json`), await signRecord(w, "agreement", id, contract.chainId, agreementMessage(contract, hash)));
  const subject = prepareContract(repo, loaded).prepared.subject;
  for (const w of [provider, witness]) write(join(dir, "approvals", `${w.address}.json`), await signRecord(w, "approval", id, contract.chainId, approvalMessage(subject)));
  write(join(dir, "runs", "run-1.json"), await signRecord(consumer, "run", id, contract.chainId, runMessage(loaded, "run-1", {}), { parameters: {} }));
  git("add", ".");
  git("commit", "-qm", `Propose ${id} (#${i + 1})`);
}

function digestOf(dir) {
  const hash = createHash("sha256");
  for (const name of readdirSync(dir, { recursive: true }).sort()) {
    try {
      hash.update(name).update(readFileSync(join(dir, name)));
    } catch {
      // a folder
    }
  }
  return hash.digest("hex");
}

function timedReport(site) {
  const start = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, cliPath, "report", "--repo", repo, "--html", site, "--chain", "none", "--at", AT], { encoding: "utf8" });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(`report failed: ${result.stderr}`);
  const peakKb = Number(result.stderr.trim().split("\n").pop());
  return { seconds: Math.round(seconds * 1000) / 1000, peakRssMB: Math.round(peakKb / 1024) };
}

const site = join(repo, "..", `${repo.split("/").pop()}-site`);
const first = timedReport(site);
const firstDigest = digestOf(site);
const second = timedReport(site);
const result = {
  contracts: count,
  files: readdirSync(site, { recursive: true }).length,
  first,
  second,
  identical: digestOf(site) === firstDigest,
  perContractMs: Math.round((first.seconds * 1000) / count),
};
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/report.json"), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
if (process.env.KEEP !== "1") rmSync(repo, { recursive: true, force: true });
else console.log(repo);
rmSync(site, { recursive: true, force: true });
