import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet, decryptKeystoreJson } from "ethers";
import { describe, expect, it } from "vitest";
import { contractHash } from "../../generator/contract/load.js";
import { PARALLEL_THRESHOLD } from "../../generator/compile/parallel.js";
import { planCompile } from "../../generator/compile/plan.js";
import { prepareContract } from "../../generator/compile/prepare.js";
import { runMessage } from "../../generator/lifecycle/facts.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { signRecord } from "../../generator/signatures/records.js";
import { agreementMessage, approvalMessage } from "../../generator/signatures/verify.js";
import { AT, KEYS, tempRepo, tree } from "./repo.js";

async function wallet(name: string): Promise<Wallet> {
  const account = await decryptKeystoreJson(readFileSync(join(KEYS, `${name}.json`), "utf8"), "datomspod-test-only");
  return new Wallet(account.privateKey);
}

function write(path: string, value: unknown): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

describe("compiling many contracts in worker threads", () => {
  it("renders exactly what one thread renders, and the cache reproduces it", async () => {
    const repo = tempRepo();
    const [provider, consumer, witness] = await Promise.all(["hospital-provider", "health-consumer", "notary-witness"].map(wallet));
    const template = JSON.parse(readFileSync(join(repo, "contracts/hospital-stats/contract.json"), "utf8"));
    for (let i = 0; i < PARALLEL_THRESHOLD + 6; i++) {
      const id = `many-${i}`;
      const dir = join(repo, "contracts", id);
      const contract = { ...template, id };
      const hash = contractHash(contract);
      write(join(dir, "contract.json"), contract);
      cpSync(join(repo, "contracts/hospital-stats/algorithm"), join(dir, "algorithm"), { recursive: true });
      for (const w of [provider, consumer, witness])
        write(join(dir, "signatures", `${w.address}.json`), await signRecord(w, "agreement", id, contract.chainId, agreementMessage(contract, hash)));
      const loaded = { id, hash, contract, dir, file: `contracts/${id}/contract.json` };
      const subject = prepareContract(repo, loaded).prepared!.subject;
      for (const w of [provider, witness])
        write(join(dir, "approvals", `${w.address}.json`), await signRecord(w, "approval", id, contract.chainId, approvalMessage(subject)));
      write(
        join(dir, "runs", "run-1.json"),
        await signRecord(consumer, "run", id, contract.chainId, runMessage(loaded, "run-1", { groupBy: "sex" }), { parameters: { groupBy: "sex" } }),
      );
    }
    const expected = planCompile(repo, new Date(AT));
    // Written by the bundled executable (its worker is a bundle entry too), checked by the modules'.
    const bundled = join(PACKAGE_ROOT, "dist/bundle/datomspod.js");
    const modules = join(PACKAGE_ROOT, "dist/generator/cli/main.js");

    const first = execFileSync(process.execPath, [bundled, "compile", "--repo", repo], { encoding: "utf8" });
    const written = tree(join(repo, "clusters"));
    const second = execFileSync(process.execPath, [modules, "compile", "--repo", repo], { encoding: "utf8" });

    expect(first).toContain(`rendered many-${PARALLEL_THRESHOLD + 5}`);
    for (const [path, content] of expected.files) expect(written[path.replace(/^clusters\//, "")], path).toBe(content);
    expect(Object.keys(written).filter((p) => p.endsWith(".yaml") && !p.endsWith("cluster.yaml"))).toHaveLength(expected.files.size);
    expect(second).toContain("clusters/ is up to date");
    expect(tree(join(repo, "clusters"))).toEqual(written);
  }, 120_000);
});
