import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { anchorEvidence } from "../../generator/anchor/anchor.js";
import { devWallet } from "../../generator/anchor/anvil.js";
import { ZeroHash } from "ethers";
import { ANCHOR_INTERFACE, connectChain, deployAnchor, sendAndConfirm } from "../../generator/anchor/chain.js";
import { contractIdHash } from "../../generator/evidence/batch.js";
import { LOCAL_ANCHOR } from "../../generator/contract/templates.js";
import { ServiceError, VerdictError } from "../../generator/errors.js";
import { auditContract } from "../../generator/audit/verify.js";
import { cli, jsonOut } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { tempDir } from "../helpers/repo.js";
import {
  PINNED,
  TEST_CHAIN_OPTIONS,
  deployPinnedAnchors,
  devKeyFile,
  fund,
  startTestChain,
  stopTestChain,
  tempRepoWithClusters,
  type TestChain,
} from "./chain.js";

const ID = "hospital-stats";
const address = LOCAL_ANCHOR.address;

async function anchoredLogs(test: TestChain, address: string, root: string): Promise<number> {
  const logs = await test.chain.provider.getLogs({ address, topics: [ANCHOR_INTERFACE.getEvent("Anchored")!.topicHash, `0x${root}`], fromBlock: 0 });
  return logs.length;
}

/** Runs a test with its own anvil, killed afterwards whatever happens. */
async function withChain<T>(options: { stateFile?: string; chainId?: number }, body: (test: TestChain) => Promise<T>): Promise<T> {
  const test = await startTestChain(options);
  try {
    return await body(test);
  } finally {
    await stopTestChain(test);
  }
}

describe("faults", () => {
  it.each([
    ["SIGTERM: the node keeps the mined transaction", "stop", "recorded", 0],
    ["SIGKILL: the node loses it", "kill", "anchored", 1],
  ] as const)("RPC killed between send and confirmation (%s): the rerun completes with exactly one anchor", async (_case, how, action, sent) => {
    const repo = tempRepoWithClusters();
    const stateFile = join(tempDir(), "anvil-state.json");
    const wallet = devWallet(0);
    await withChain({ stateFile }, (test) => deployPinnedAnchors(test.chain));
    let root = "";

    // First run: the node dies once the transaction is broadcast.
    const first = await withChain({ stateFile }, async (test) => {
      return anchorEvidence({
        repo,
        chain: test.chain,
        wallet,
        ids: [ID],
        confirmations: 2,
        hooks: { onBroadcast: async () => (how === "stop" ? test.node.stop() : test.node.kill()) },
      }).catch((error: unknown) => error);
    });
    expect(first).toBeInstanceOf(ServiceError);
    expect((first as ServiceError).message).toMatch(/^the chain RPC http:\/\/127\.0\.0\.1:\d+ failed 3 times \(eth_getTransactionReceipt\): /);
    const batches = join(repo, "contracts", ID, "evidence", "batches");
    expect(existsSync(batches)).toBe(true);
    expect(existsSync(join(repo, "contracts", ID, "evidence", "anchors"))).toBe(false);

    // Rerun on the restarted node (same state, another port).
    await withChain({ stateFile }, async (test) => {
      const report = await anchorEvidence({ repo, chain: test.chain, wallet, ids: [ID], confirmations: 1 });
      root = report.batches[0].root;

      expect(report.batches.map((b) => b.action)).toEqual([action]);
      expect(report.transactions).toBe(sent);
      expect(await anchoredLogs(test, address, root)).toBe(1);
      const audit = await auditContract(repo, ID, test.chain);
      expect(audit.rows.filter((r) => r.status !== "verified")).toEqual([]);
    });
  });

  it("a reorg (evm_snapshot / evm_revert) that drops the anchor is detected by audit and the anchor is sent again", async () => {
    const repo = tempRepoWithClusters();
    const wallet = devWallet(0);
    await withChain({}, async (test) => {
      await deployPinnedAnchors(test.chain);
      const snapshot = (await test.chain.provider.send("evm_snapshot", [])) as string;
      const first = await anchorEvidence({ repo, chain: test.chain, wallet, ids: [ID], confirmations: 1 });
      const root = first.batches[0].root;
      await test.chain.provider.send("evm_revert", [snapshot]);
      await test.chain.provider.send("anvil_mine", ["0x2"]); // the other branch grows past the anchor's height

      const afterReorg = await auditContract(repo, ID, test.chain);
      const resent = await anchorEvidence({ repo, chain: test.chain, wallet, ids: [ID], confirmations: 1 });
      const afterResend = await auditContract(repo, ID, test.chain);

      const batchRow = afterReorg.rows.find((r) => r.kind === "batch")!;
      expect(batchRow.status).toBe("missing");
      expect(batchRow.detail).toMatch(
        /^root not anchored on chain 31337 \(the recorded transaction 0x[0-9a-f]{64} in block \d+ is gone: a reorg or a reset chain\); run `datomspod anchor` to send it again$/,
      );
      expect(
        afterReorg.rows
          .filter((r) => r.kind !== "batch" && r.kind !== "chain")
          .every((r) => r.status === "missing" && r.detail.startsWith(`its batch ${root.slice(0, 12)} is not anchored: root not anchored`)),
      ).toBe(true);
      expect(afterReorg.rows.filter((r) => r.kind === "chain").map((r) => [r.status, r.detail.replace(/block \d+ to \d+/, "…")])).toEqual([
        ["verified", "the anchor contract the parties signed (chain 31337), read from …: 0 roots of the contract"],
      ]);
      expect(resent.batches.map((b) => [b.root, b.action])).toEqual([[root, "re-sent"]]);
      expect(resent.transactions).toBe(1);
      expect(resent.batches[0].blockNumber).toBeGreaterThan(first.batches[0].blockNumber);
      expect(afterResend.ok).toBe(true);
      expect(await anchoredLogs(test, address, root)).toBe(1);
    });
  });

  it("a reorg that moves the anchor to another block is re-recorded without a new transaction", async () => {
    const repo = tempRepoWithClusters();
    const wallet = devWallet(0);
    await withChain({}, async (test) => {
      await deployPinnedAnchors(test.chain);
      const snapshot = (await test.chain.provider.send("evm_snapshot", [])) as string;
      const first = await anchorEvidence({ repo, chain: test.chain, wallet, ids: [ID], confirmations: 1 });
      await test.chain.provider.send("evm_revert", [snapshot]);
      // The same transaction lands one block later on the new branch.
      await test.chain.provider.send("anvil_mine", ["0x1"]);
      const tx = await test.chain.provider.getTransaction(first.batches[0].txHash);
      expect(tx).toBeNull();
      const again = await anchorEvidence({ repo, chain: test.chain, wallet, ids: [ID], confirmations: 1 });
      await test.chain.provider.send("anvil_mine", ["0x1"]);

      const audit = await auditContract(repo, ID, test.chain);
      const stale = await (async () => {
        // Make the record stale by hand: point it at the first (now orphaned) block.
        const { readFileSync, writeFileSync } = await import("node:fs");
        const file = join(repo, "contracts", ID, "evidence", "anchors", `${again.batches[0].root}.json`);
        const text = readFileSync(file, "utf8");
        writeFileSync(file, text.replace(/"blockHash": "0x[0-9a-f]{64}"/, `"blockHash": "${"0x" + "0".repeat(64)}"`));
        const audited = await auditContract(repo, ID, test.chain);
        const rerecorded = await anchorEvidence({ repo, chain: test.chain, wallet, ids: [ID], confirmations: 1 });
        return { audited, rerecorded, restored: readFileSync(file, "utf8") === text };
      })();

      expect(audit.ok).toBe(true);
      expect(stale.audited.rows.find((r) => r.kind === "batch")).toMatchObject({
        status: "mismatched",
        detail: expect.stringMatching(
          /^block \d+ is now 0x[0-9a-f]{64}, not the recorded 0x0{64} \(reorg\); run `datomspod anchor` to record where it is now$/,
        ),
      });
      expect(stale.rerecorded.batches.map((b) => b.action)).toEqual(["recorded"]);
      expect(stale.rerecorded.transactions).toBe(0);
      expect(stale.restored).toBe(true);
    });
  });

  it("refuses a chain whose id is not the contract's, naming both", async () => {
    const repo = tempRepoWithClusters();
    await withChain({ chainId: 999 }, async (test) => {
      const result = await cli(repo, "anchor", ID, "--chain", test.chain.url, "--key", devKeyFile(0));

      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `error: contracts/${ID}/contract.json $.chainId: the contract is bound to chain 31337, but ${test.chain.url} is chain 999 (fix: anchor on the contract's chain: pass --chain with an RPC URL of chain 31337)\n`,
      );
    });
  });

  it("audit refuses to check anchors against a chain with another id", async () => {
    const repo = tempRepoWithClusters();
    await withChain({}, async (test) => {
      await deployPinnedAnchors(test.chain);
      await cli(repo, "anchor", ID, "--chain", test.chain.url, "--key", devKeyFile(0));
    });

    const result = await withChain({ chainId: 999 }, (other) => cli(repo, "audit", "verify", ID, "--chain", other.chain.url));

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error: command line --chain: http:\/\/127\.0\.0\.1:\d+ is chain 999, but hospital-stats is bound to chain 31337 \(fix: pass --chain with an RPC URL of chain 31337\)\n$/,
    );
  });

  it("an anchorer the contract names but the anchor contract does not authorise gets the contract's custom error, and works once the owner authorises it", async () => {
    const repo = tempRepoWithClusters();
    const operator = testKey("platform-operator");
    const owner = devWallet(1);
    await withChain({}, async (test) => {
      // bank-credit-model's pinned anchor contract, but owned by its deployer, who has not authorised the operator.
      const { address: pinned } = await deployAnchor(test.chain, owner, owner.address, 1);
      expect(pinned).toBe(PINNED["bank-credit-model"].address);
      await fund(test.chain, operator.address);

      const refused = await cli(repo, "anchor", "bank-credit-model", "--chain", test.chain.url, "--key", operator.file);
      const notOwner = await cli(repo, "anchor", "authorise", operator.address, "--chain", test.chain.url, "--key", operator.file, "--anchor-address", pinned);
      const authorised = await cli(
        repo,
        "anchor",
        "authorise",
        operator.address,
        "--chain",
        test.chain.url,
        "--key",
        devKeyFile(1),
        "--anchor-address",
        pinned,
      );
      const anchored = await cli(repo, "anchor", "bank-credit-model", "--chain", test.chain.url, "--key", operator.file, "--format", "json");

      expect(refused.code).toBe(2);
      expect(refused.stderr).toBe(
        `error: --key: ${operator.address} is not an authorised anchorer of the anchor contract ${pinned} on chain 31337 (Anchor__Unauthorised) (fix: the contract's owner authorises it with \`datomspod anchor authorise ${operator.address}\`, or pass the key of an authorised anchorer)\n`,
      );
      expect(notOwner.code).toBe(2);
      expect(notOwner.stderr).toBe(
        `error: --key: ${operator.address} is not the owner of the anchor contract ${pinned} (Anchor__NotOwner) (fix: pass the owner's key)\n`,
      );
      expect(authorised.code).toBe(0);
      expect(anchored.code).toBe(0);
      expect(jsonOut(anchored).anchorer).toBe(operator.address);
      // The refused attempt wrote a batch record that was never anchored; the second run sent it.
      expect(jsonOut(anchored).batches.map((b: { action: string; sequence: number }) => [b.action, b.sequence])).toEqual([["anchored", 1]]);
    });
  });

  it("fails with exit 3 when the RPC does not answer at all", async () => {
    const closed = await (async () => {
      const test = await startTestChain();
      const url = test.chain.url;
      await stopTestChain(test);
      return url;
    })();

    const error = await connectChain(closed, TEST_CHAIN_OPTIONS).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).exitCode).toBe(3);
    expect((error as ServiceError).message).toMatch(new RegExp(`^the chain RPC ${closed.replaceAll(".", "\\.")} failed 3 times \\(eth_chainId\\): `));
  });

  it("another anchorer moving the head between reading the history and sending: nothing is recorded, the unsent batch is removed, the fix says what to do", async () => {
    const repo = tempRepoWithClusters();
    await withChain({}, async (test) => {
      await deployPinnedAnchors(test.chain);
      let injected = false;
      // The chain as anchorEvidence sees it: just before it prepares its transaction, someone else anchors.
      const racing: typeof test.chain = {
        ...test.chain,
        async call(what, fn) {
          if (what === "prepare transaction" && !injected) {
            injected = true;
            const data = ANCHOR_INTERFACE.encodeFunctionData("anchor", [`0x${"88".repeat(32)}`, contractIdHash(ID), ZeroHash, 1, 1]);
            await sendAndConfirm(test.chain, devWallet(0), { to: address, data }, 1);
          }
          return test.chain.call(what, fn);
        },
      };

      const error = await anchorEvidence({ repo, chain: racing, wallet: devWallet(0), ids: [ID], confirmations: 1 }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(VerdictError);
      expect((error as VerdictError).message).toBe(`the head of ${ID} moved while anchoring: it is ${"88".repeat(32)}, not ${"0".repeat(64)}`);
      expect((error as VerdictError).issues[0]).toMatchObject({
        file: `contracts/${ID}/evidence`,
        fix: "bring its evidence records into this repository (git pull), then run `datomspod anchor` again",
      });
      expect(readdirSync(join(repo, "contracts", ID, "evidence", "batches"))).toEqual([]);
      expect(existsSync(join(repo, "contracts", ID, "evidence", "anchors"))).toBe(false);
    });
  });

  it("retries a failing RPC call with exponential backoff, and stops at the limit", async () => {
    await withChain({}, async (test) => {
      const waits: number[] = [];
      const chain = await connectChain(test.chain.url, {
        retry: { attempts: 4, initialDelayMs: 100, maxDelayMs: 250 },
        sleep: (ms) => Promise.resolve(void waits.push(ms)),
      });
      let calls = 0;
      const flaky = (): Promise<number> => (++calls < 3 ? Promise.reject(new Error("ECONNRESET")) : test.chain.provider.getBlockNumber());

      const recovered = await chain.call("flaky", flaky);
      const recoveredWaits = [...waits];
      waits.length = 0;
      const gaveUp = await chain.call("down", () => Promise.reject(new Error("ECONNREFUSED"))).catch((e: unknown) => e);
      chain.close();

      expect(recovered).toBe(await test.chain.provider.getBlockNumber());
      expect(recoveredWaits).toEqual([100, 200]);
      expect(waits).toEqual([100, 200, 250]);
      expect(gaveUp).toBeInstanceOf(ServiceError);
      expect((gaveUp as ServiceError).message).toBe(`the chain RPC ${test.chain.url} failed 4 times (down): ECONNREFUSED`);
    });
  });
});
