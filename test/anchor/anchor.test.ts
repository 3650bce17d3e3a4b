import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ANCHOR_INTERFACE, readAnchor } from "../../generator/anchor/chain.js";
import { collectEvidence } from "../../generator/evidence/collect.js";
import { contractIdHash } from "../../generator/evidence/batch.js";
import { loadContract } from "../../generator/contract/load.js";
import { cli, jsonOut } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { deployTestAnchor, fileChain, tempRepoWithClusters } from "./chain.js";

const getChain = fileChain();

function evidenceFiles(repo: string, id: string): string[] {
  const dir = join(repo, "contracts", id, "evidence");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".json"))
    .sort();
}

function snapshot(repo: string, ids: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    ids.flatMap((id) => evidenceFiles(repo, id).map((f) => [`${id}/${f}`, readFileSync(join(repo, "contracts", id, "evidence", f), "utf8")])),
  );
}

describe("datomspod anchor --chain URL", () => {
  it("anchors each example contract's evidence in one transaction, records it, and audit verifies every item", async () => {
    const { chain } = getChain();
    const { address } = await deployTestAnchor(chain);
    const repo = tempRepoWithClusters();
    const operator = testKey("platform-operator");
    const ids = ["bank-credit-model", "hospital-stats"];

    const anchored = await cli(repo, "anchor", "--chain", chain.url, "--key", operator.file, "--anchor-address", address, "--format", "json");
    const audited = await cli(repo, "audit", "verify", "--chain", chain.url, "--format", "json");

    expect(anchored.stderr).toBe("");
    expect(anchored.code).toBe(0);
    const report = jsonOut(anchored);
    expect(report.transactions).toBe(2);
    expect(report.anchorer).toBe(operator.address);
    expect(report.batches.map((b: { contractId: string; action: string; size: number }) => [b.contractId, b.action, b.size])).toEqual(
      ids.map((id) => [id, "anchored", collectEvidence(repo, id).items.length]),
    );
    for (const batch of report.batches as { contractId: string; root: string; kind: string; size: number; blockNumber: number; txHash: string }[]) {
      expect(evidenceFiles(repo, batch.contractId)).toEqual([join("anchors", `${batch.root}.json`), join("batches", `${batch.root}.json`)]);
      const record = JSON.parse(readFileSync(join(repo, "contracts", batch.contractId, "evidence", "anchors", `${batch.root}.json`), "utf8"));
      expect(record).toEqual({
        anchorer: operator.address,
        blockHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
        blockNumber: batch.blockNumber,
        chainId: 31337,
        contract: address,
        root: batch.root,
        txHash: batch.txHash,
        version: 1,
      });
      const onChain = await readAnchor(chain, address, batch.root);
      expect(onChain).toEqual({
        contractIdHash: contractIdHash(batch.contractId),
        kind: 3,
        batchSize: batch.size,
        blockNumber: batch.blockNumber,
        anchorer: operator.address,
      });
    }
    expect(audited.code).toBe(0);
    const summary = jsonOut(audited);
    const total = ids.reduce((n, id) => n + collectEvidence(repo, id).items.length + 1, 0);
    expect(summary.counts).toEqual({ verified: total, missing: 0, mismatched: 0 });
    const hospital = summary.contracts.find((c: { id: string }) => c.id === "hospital-stats");
    expect(hospital.rows.find((r: { kind: string }) => r.kind === "contract-hash")).toMatchObject({
      status: "verified",
      subject: "contracts/hospital-stats/contract.json",
      digest: loadContract(repo, "hospital-stats").hash,
    });
  });

  it("is idempotent: a second run sends nothing and leaves every record byte-identical", async () => {
    const { chain } = getChain();
    const { address } = await deployTestAnchor(chain);
    const repo = tempRepoWithClusters();
    const key = testKey("platform-operator").file;
    await cli(repo, "anchor", "--chain", chain.url, "--key", key, "--anchor-address", address);
    const before = snapshot(repo, ["bank-credit-model", "hospital-stats"]);
    const nonce = await chain.provider.getTransactionCount(testKey("platform-operator").address);

    const again = await cli(repo, "anchor", "--chain", chain.url, "--key", key, "--anchor-address", address, "--format", "json");

    expect(again.code).toBe(0);
    expect(jsonOut(again).transactions).toBe(0);
    expect(jsonOut(again).batches.map((b: { action: string }) => b.action)).toEqual(["up-to-date", "up-to-date"]);
    expect(snapshot(repo, ["bank-credit-model", "hospital-stats"])).toEqual(before);
    expect(await chain.provider.getTransactionCount(testKey("platform-operator").address)).toBe(nonce);
  });

  it("anchors what is new in a batch of its own, and prints it as a table", async () => {
    const { chain } = getChain();
    const { address } = await deployTestAnchor(chain);
    const repo = tempRepoWithClusters();
    const key = testKey("platform-operator").file;
    await cli(repo, "anchor", "hospital-stats", "--chain", chain.url, "--key", key, "--anchor-address", address);
    const { writeJson } = await import("../helpers/repo.js");
    writeJson(repo, "contracts/hospital-stats/settlement.json", { settled: true });

    const next = await cli(repo, "anchor", "hospital-stats", "--chain", chain.url, "--key", key, "--anchor-address", address);

    expect(next.code).toBe(0);
    const lines = next.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^hospital-stats {2}up-to-date {4}\s*\d+ items {2}run {9}root [0-9a-f]{64} {2}tx 0x[0-9a-f]{64} {2}block \d+$/);
    expect(lines[1]).toMatch(/^hospital-stats {2}anchored {6}\s*1 item {3}settlement {2}root [0-9a-f]{64} {2}tx 0x[0-9a-f]{64} {2}block \d+$/);
    expect(lines[2]).toMatch(new RegExp(`^1 transaction on chain 31337 by ${testKey("platform-operator").address}, gas \\d+ \\(\\d+ per item\\)$`));
    expect(evidenceFiles(repo, "bank-credit-model")).toEqual([]);
  });

  it("emits one Anchored event per root, indexed by root, contract-id hash and anchorer", async () => {
    const { chain } = getChain();
    const { address } = await deployTestAnchor(chain);
    const repo = tempRepoWithClusters();
    const operator = testKey("platform-operator");

    const result = await cli(repo, "anchor", "hospital-stats", "--chain", chain.url, "--key", operator.file, "--anchor-address", address, "--format", "json");

    const [batch] = jsonOut(result).batches as { root: string; blockNumber: number; size: number }[];
    const logs = await chain.provider.getLogs({ address, topics: [ANCHOR_INTERFACE.getEvent("Anchored")!.topicHash], fromBlock: 0 });
    expect(logs).toHaveLength(1);
    const parsed = ANCHOR_INTERFACE.parseLog(logs[0])!;
    expect([parsed.args[0], parsed.args[1], parsed.args[2], Number(parsed.args[3]), Number(parsed.args[4])]).toEqual([
      `0x${batch.root}`,
      contractIdHash("hospital-stats"),
      operator.address,
      3,
      batch.size,
    ]);
  });

  it("skips a draft that not every party has signed yet", async () => {
    const { chain } = getChain();
    const { address } = await deployTestAnchor(chain);
    const repo = tempRepoWithClusters();
    const signatures = join(repo, "contracts", "hospital-stats", "signatures");
    rmSync(join(signatures, "0x678E53b55b5ff8564162cDFa0cB0B9160a0E3287.json")); // the consumer's

    const result = await cli(repo, "anchor", "hospital-stats", "--chain", chain.url, "--key", testKey("platform-operator").file, "--anchor-address", address);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `nothing to anchor\nskipped  hospital-stats: a draft: not signed by every party yet\n0 transactions on chain 31337 by ${testKey("platform-operator").address}\n`,
    );
    expect(evidenceFiles(repo, "hospital-stats")).toEqual([]);
  });
});
