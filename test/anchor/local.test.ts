import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { devWallet } from "../../generator/anchor/anvil.js";
import { sendAndConfirm } from "../../generator/anchor/chain.js";
import { LOCAL_ANCHOR } from "../../generator/contract/templates.js";
import { cli, jsonOut } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { tempRepo, writeText } from "../helpers/repo.js";
import { startTestChain, stopTestChain, tempRepoWithClusters } from "./chain.js";

const ID = "hospital-stats";

describe("--chain local (ad hoc mode)", () => {
  it("starts anvil itself, keeps the chain in the workspace, and a later audit sees the same chain", async () => {
    const repo = tempRepoWithClusters();

    const anchored = await cli(repo, "anchor", ID, "--format", "json");
    const audited = await cli(repo, "audit", "verify", ID, "--chain", "local", "--format", "json");
    const again = await cli(repo, "anchor", ID, "--chain", "local", "--format", "json");

    expect(anchored.code).toBe(0);
    expect(jsonOut(anchored)).toMatchObject({ ok: true, chainId: 31337, anchorer: devWallet(0).address, transactions: 1 });
    expect(existsSync(join(repo, ".datomspod", "chain", "anvil-state.json"))).toBe(true);
    const deployment = JSON.parse(readFileSync(join(repo, ".datomspod", "chain", "anchor.json"), "utf8"));
    // The first deployment of a fresh local chain is where local contracts pin their evidence.
    expect(deployment).toEqual({
      chainId: 31337,
      address: LOCAL_ANCHOR.address,
      owner: devWallet(0).address,
      txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      blockNumber: 1,
    });
    expect(LOCAL_ANCHOR.anchorer).toBe(devWallet(0).address);
    expect(audited.code).toBe(0);
    expect(jsonOut(audited).counts.missing + jsonOut(audited).counts.mismatched).toBe(0);
    expect(again.code).toBe(0);
    expect(jsonOut(again).transactions).toBe(0);
  });

  it("lets the owner (development account 0) authorise another key, which still may not anchor a contract that does not name it", async () => {
    const repo = tempRepoWithClusters();
    const operator = testKey("platform-operator");

    const authorised = await cli(repo, "anchor", "authorise", operator.address);
    const after = await cli(repo, "anchor", ID, "--key", operator.file);

    expect(authorised.code).toBe(0);
    expect(authorised.stdout).toBe(`${operator.address} may anchor on ${LOCAL_ANCHOR.address} (tx ${/tx (0x[0-9a-f]{64})/.exec(authorised.stdout)?.[1]})\n`);
    expect(after.code).toBe(2);
    expect(after.stderr).toMatch(new RegExp(`^error: --key: ${operator.address} is not one of the anchorers of ${ID} \\(evidence\\.anchorers in `));
  });

  it("says how to start over when the pinned anchor contract can no longer be deployed on the local chain", async () => {
    const repo = tempRepoWithClusters();
    mkdirSync(join(repo, ".datomspod", "chain"), { recursive: true });
    // A local chain on which development account 0 sent a transaction before any anchor contract.
    const test = await startTestChain({ stateFile: join(repo, ".datomspod", "chain", "anvil-state.json") });
    await sendAndConfirm(test.chain, devWallet(0), { to: devWallet(1).address, data: "0x" }, 1);
    await stopTestChain(test);

    const result = await cli(repo, "anchor", ID);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: .datomspod/chain/anchor.json: the local chain has no anchor contract at ${LOCAL_ANCHOR.address}, where contracts of the local chain pin their evidence (evidence.anchor.address), and it cannot be deployed there any more: development account 0 has sent 1 transaction, so its next contract lands elsewhere (fix: remove .datomspod/chain/ to start a new local chain: its first deployment is the pinned anchor contract)\n`,
    );
  });

  it("audit says how to proceed when this workspace has no local chain", async () => {
    const repo = tempRepo([ID]);

    const result = await cli(repo, "audit", "verify");

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "error: .datomspod/chain/anvil-state.json: there is no local chain in this workspace (fix: anchors made on another machine's local chain cannot be checked here: pass --chain URL of the chain they were anchored on, or run `datomspod anchor --chain local` first)\n",
    );
  });

  it("names the lost local state when the anchor contract has no code any more", async () => {
    const repo = tempRepoWithClusters();
    await cli(repo, "anchor", "deploy");
    rmSync(join(repo, ".datomspod", "chain", "anvil-state.json"));

    const result = await cli(repo, "anchor", ID);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error: \.datomspod\/chain\/anchor\.json \$\.address: there is no contract code at 0x[0-9a-fA-F]{40} on the local chain: its state was lost \(fix: remove \.datomspod\/chain\/ to start a new local chain; /,
    );
  });

  it("refuses to run two commands on the local chain at once, and takes over a lock whose process is gone", async () => {
    const repo = tempRepoWithClusters();
    writeText(repo, ".datomspod/chain/lock", `${process.ppid}\n`);

    const busy = await cli(repo, "anchor", ID);
    writeText(repo, ".datomspod/chain/lock", "999999999\n");
    const stale = await cli(repo, "anchor", ID);

    expect(busy.code).toBe(2);
    expect(busy.stderr).toBe(
      `error: .datomspod/chain/lock: another datomspod command (pid ${process.ppid}) is using the local chain (fix: wait for it to finish, then run this command again)\n`,
    );
    expect(stale.code).toBe(0);
    expect(existsSync(join(repo, ".datomspod", "chain", "lock"))).toBe(false);
  });
});
