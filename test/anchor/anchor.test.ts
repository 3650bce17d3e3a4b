import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ZeroHash } from "ethers";
import { devWallet } from "../../generator/anchor/anvil.js";
import { ANCHOR_INTERFACE, readAnchor, readHead } from "../../generator/anchor/chain.js";
import { collectEvidence } from "../../generator/evidence/collect.js";
import { contractIdHash } from "../../generator/evidence/batch.js";
import { loadContract } from "../../generator/contract/load.js";
import { cli, jsonOut } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { readText, writeJson, writeText } from "../helpers/repo.js";
import { PINNED, deployTestAnchor, devKeyFile, freshChain, fund, pinnedChain, tempRepoWithClusters } from "./chain.js";

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

interface Outcome {
  contractId: string;
  root: string;
  kind: string;
  size: number;
  sequence: number;
  blockNumber: number;
  txHash: string;
  action: string;
}

const IDS = ["bank-credit-model", "hospital-stats"] as const;
/** The key of the anchorer each example contract names. */
const ANCHORER_KEY = { "bank-credit-model": () => testKey("platform-operator").file, "hospital-stats": () => devKeyFile(0) };

describe("datomspod anchor --chain URL", () => {
  it("anchors each example contract on the anchor contract it pins, by the anchorer it names, and audit verifies every item", async () => {
    const { chain } = await pinnedChain();
    const repo = tempRepoWithClusters();
    const operator = testKey("platform-operator");

    const byOperator = await cli(repo, "anchor", "--chain", chain.url, "--key", operator.file, "--format", "json");
    const byDev = await cli(repo, "anchor", "--chain", chain.url, "--key", devKeyFile(0), "--format", "json");
    const audited = await cli(repo, "audit", "verify", "--chain", chain.url, "--format", "json");

    expect([byOperator.stderr, byOperator.code, byDev.stderr, byDev.code]).toEqual(["", 0, "", 0]);
    expect(jsonOut(byOperator).skipped).toEqual([
      { contractId: "hospital-stats", reason: `${operator.address} is not one of its anchorers (evidence.anchorers)` },
    ]);
    expect(jsonOut(byDev).skipped).toEqual([
      { contractId: "bank-credit-model", reason: `${devWallet(0).address} is not one of its anchorers (evidence.anchorers)` },
    ]);
    const outcomes = [...jsonOut<{ batches: Outcome[] }>(byOperator).batches, ...jsonOut<{ batches: Outcome[] }>(byDev).batches];
    expect(outcomes.map((b) => [b.contractId, b.action, b.sequence, b.size])).toEqual(
      IDS.map((id) => [id, "anchored", 1, collectEvidence(repo, id).items.length]),
    );
    for (const batch of outcomes) {
      const pinned = PINNED[batch.contractId as keyof typeof PINNED];
      const anchorer = batch.contractId === "hospital-stats" ? devWallet(0).address : operator.address;
      expect(evidenceFiles(repo, batch.contractId)).toEqual([join("anchors", `${batch.root}.json`), join("batches", `${batch.root}.json`)]);
      const record = JSON.parse(readFileSync(join(repo, "contracts", batch.contractId, "evidence", "anchors", `${batch.root}.json`), "utf8"));
      expect(record).toEqual({
        anchorer,
        blockHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
        blockNumber: batch.blockNumber,
        chainId: 31337,
        contract: pinned.address,
        root: batch.root,
        txHash: batch.txHash,
        version: 1,
      });
      const stored = JSON.parse(readFileSync(join(repo, "contracts", batch.contractId, "evidence", "batches", `${batch.root}.json`), "utf8"));
      expect([stored.version, stored.previousRoot, stored.sequence, stored.anchor]).toEqual([
        2,
        "0".repeat(64),
        1,
        { address: pinned.address, chainId: 31337 },
      ]);
      expect(await readAnchor(chain, pinned.address, batch.root)).toEqual({
        contractIdHash: contractIdHash(batch.contractId),
        previousRoot: ZeroHash,
        kind: 3,
        batchSize: batch.size,
        blockNumber: batch.blockNumber,
        anchorer,
      });
      expect(await readHead(chain, pinned.address, contractIdHash(batch.contractId))).toEqual({ head: `0x${batch.root}`, count: 1 });
    }
    expect(audited.code).toBe(0);
    const summary = jsonOut(audited);
    // Per contract: its items, its batch, the anchor contract's row and its one root.
    const total = IDS.reduce((n, id) => n + collectEvidence(repo, id).items.length + 3, 0);
    expect(summary.counts).toEqual({ verified: total, missing: 0, mismatched: 0 });
    const hospital = summary.contracts.find((c: { id: string }) => c.id === "hospital-stats");
    expect(hospital.rows.find((r: { kind: string }) => r.kind === "contract-hash")).toMatchObject({
      status: "verified",
      subject: "contracts/hospital-stats/contract.json",
      digest: loadContract(repo, "hospital-stats").hash,
    });
  });

  it("is idempotent: a second run sends nothing and leaves every record byte-identical", async () => {
    const { chain } = await pinnedChain();
    const repo = tempRepoWithClusters();
    const key = testKey("platform-operator").file;
    await cli(repo, "anchor", "bank-credit-model", "--chain", chain.url, "--key", key);
    const before = snapshot(repo, IDS);
    const nonce = await chain.provider.getTransactionCount(testKey("platform-operator").address);

    const again = await cli(repo, "anchor", "bank-credit-model", "--chain", chain.url, "--key", key, "--format", "json");

    expect(again.code).toBe(0);
    expect(jsonOut(again).transactions).toBe(0);
    expect(jsonOut(again).batches.map((b: { action: string }) => b.action)).toEqual(["up-to-date"]);
    expect(snapshot(repo, IDS)).toEqual(before);
    expect(await chain.provider.getTransactionCount(testKey("platform-operator").address)).toBe(nonce);
  });

  it("anchors what is new in a batch of its own, chained after the previous one, and prints it as a table", async () => {
    const { chain } = await pinnedChain();
    const repo = tempRepoWithClusters();
    const key = ANCHORER_KEY["hospital-stats"]();
    await cli(repo, "anchor", "hospital-stats", "--chain", chain.url, "--key", key);
    writeJson(repo, "contracts/hospital-stats/settlement.json", { settled: true });

    const next = await cli(repo, "anchor", "hospital-stats", "--chain", chain.url, "--key", key);

    expect(next.code).toBe(0);
    const lines = next.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^hospital-stats {2}up-to-date {4}\s*\d+ items {2}run {9}#1 {4}root [0-9a-f]{64} {2}tx 0x[0-9a-f]{64} {2}block \d+$/);
    expect(lines[1]).toMatch(/^hospital-stats {2}anchored {6}\s*1 item {3}settlement {2}#2 {4}root [0-9a-f]{64} {2}tx 0x[0-9a-f]{64} {2}block \d+$/);
    expect(lines[2]).toMatch(new RegExp(`^1 transaction on chain 31337 by ${devWallet(0).address}, gas \\d+ \\(\\d+ per item\\)$`));
    const [first, second] = [lines[0], lines[1]].map((line) => /root ([0-9a-f]{64})/.exec(line)![1]);
    const secondBatch = JSON.parse(readText(repo, `contracts/hospital-stats/evidence/batches/${second}.json`));
    expect([secondBatch.previousRoot, secondBatch.sequence]).toEqual([first, 2]);
    expect((await readAnchor(chain, PINNED["hospital-stats"].address, second))?.previousRoot).toBe(`0x${first}`);
    expect(evidenceFiles(repo, "bank-credit-model")).toEqual([]);
  });

  it("emits one Anchored event per root, indexed by root, contract-id hash and anchorer, with the previous root and the sequence", async () => {
    const { chain } = await pinnedChain();
    const repo = tempRepoWithClusters();
    const operator = testKey("platform-operator");
    const address = PINNED["bank-credit-model"].address;

    const result = await cli(repo, "anchor", "bank-credit-model", "--chain", chain.url, "--key", operator.file, "--format", "json");

    const [batch] = jsonOut(result).batches as Outcome[];
    const logs = await chain.provider.getLogs({ address, topics: [ANCHOR_INTERFACE.getEvent("Anchored")!.topicHash], fromBlock: 0 });
    expect(logs).toHaveLength(1);
    const parsed = ANCHOR_INTERFACE.parseLog(logs[0])!;
    expect([...parsed.args].map((arg) => (typeof arg === "bigint" ? Number(arg) : arg))).toEqual([
      `0x${batch.root}`,
      contractIdHash("bank-credit-model"),
      operator.address,
      ZeroHash,
      1,
      3,
      batch.size,
    ]);
  });

  it("skips a draft that not every party has signed yet", async () => {
    const { chain } = await pinnedChain();
    const repo = tempRepoWithClusters();
    const signatures = join(repo, "contracts", "hospital-stats", "signatures");
    rmSync(join(signatures, "0x678E53b55b5ff8564162cDFa0cB0B9160a0E3287.json")); // the consumer's

    const result = await cli(repo, "anchor", "hospital-stats", "--chain", chain.url, "--key", devKeyFile(0));

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `nothing to anchor\nskipped  hospital-stats: a draft: not signed by every party yet\n0 transactions on chain 31337 by ${devWallet(0).address}\n`,
    );
    expect(evidenceFiles(repo, "hospital-stats")).toEqual([]);
  });
});

describe("datomspod anchor refuses what the contract does not pin", () => {
  it("refuses --anchor-address naming another anchor contract than the contract's, and sends nothing", async () => {
    const { chain } = await pinnedChain();
    const repo = tempRepoWithClusters();
    const { address: other } = await deployTestAnchor(chain);

    const result = await cli(repo, "anchor", "bank-credit-model", "--chain", chain.url, "--key", testKey("platform-operator").file, "--anchor-address", other);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: command line --anchor-address: names the anchor contract ${other}, but bank-credit-model pins its evidence to ${PINNED["bank-credit-model"].address} (evidence.anchor.address in contracts/bank-credit-model/contract.json, signed by every party) (fix: drop --anchor-address: a contract's evidence goes only to the anchor contract it pins; moving it takes a new contract every party signs)\n`,
    );
    expect(evidenceFiles(repo, "bank-credit-model")).toEqual([]);
  });

  it("accepts --anchor-address when it is the contract's own", async () => {
    const { chain } = await pinnedChain();
    const repo = tempRepoWithClusters();

    const result = await cli(
      repo,
      "anchor",
      "bank-credit-model",
      "--chain",
      chain.url,
      "--key",
      testKey("platform-operator").file,
      "--anchor-address",
      PINNED["bank-credit-model"].address.toLowerCase(),
    );

    expect(result.code).toBe(0);
  });

  it("refuses a key that is not one of the contract's anchorers, even one the anchor contract authorised", async () => {
    const { chain } = await pinnedChain();
    const repo = tempRepoWithClusters();
    const operator = testKey("platform-operator");
    // The local anchor contract's owner authorises the operator: the chain would accept it, the contract does not name it.
    await cli(
      repo,
      "anchor",
      "authorise",
      operator.address,
      "--chain",
      chain.url,
      "--key",
      devKeyFile(0),
      "--anchor-address",
      PINNED["hospital-stats"].address,
    );

    const result = await cli(repo, "anchor", "hospital-stats", "--chain", chain.url, "--key", operator.file);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: --key: ${operator.address} is not one of the anchorers of hospital-stats (evidence.anchorers in contracts/hospital-stats/contract.json: ${devWallet(0).address}) (fix: anchor with the key of an anchorer the contract names; naming another takes a new contract every party signs)\n`,
    );
    expect(evidenceFiles(repo, "hospital-stats")).toEqual([]);
  });

  it("refuses a cluster profile whose chain.anchorAddress differs from the contract's pin", async () => {
    const { chain } = await pinnedChain();
    const repo = tempRepoWithClusters();
    const profile = "clusters/self-built-example/cluster.yaml";
    const other = "0x000000000000000000000000000000000000dEaD";
    writeText(repo, profile, readText(repo, profile).replace("  chainId: 31337\n", `  chainId: 31337\n  anchorAddress: "${other}"\n`));

    const result = await cli(repo, "anchor", "bank-credit-model", "--chain", chain.url, "--key", testKey("platform-operator").file);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: ${profile} $.chain.anchorAddress: names the anchor contract ${other}, but bank-credit-model pins its evidence to ${PINNED["bank-credit-model"].address} (evidence.anchor.address in contracts/bank-credit-model/contract.json) (fix: set chain.anchorAddress to ${PINNED["bank-credit-model"].address} or remove it: the contract's pin, which every party signed, decides)\n`,
    );
  });

  it("names the pinned address that has no code on the chain it was given", async () => {
    const { chain } = await freshChain();
    const repo = tempRepoWithClusters();
    await fund(chain, testKey("platform-operator").address);

    const result = await cli(repo, "anchor", "bank-credit-model", "--chain", chain.url, "--key", testKey("platform-operator").file);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: contracts/bank-credit-model/contract.json $.evidence.anchor.address: there is no contract code at ${PINNED["bank-credit-model"].address} on chain 31337 (${chain.url}) (fix: anchor on the chain where the contract's anchor contract lives (--chain with its RPC URL); the local chain holds only its own anchor contract, ${PINNED["hospital-stats"].address})\n`,
    );
  });
});
