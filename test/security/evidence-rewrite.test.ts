/**
 * Issue 9, "Evidence and audit can be rewritten": every way we could think of to rewrite a
 * contract's evidence history, attacked through the real CLI against a real anvil node. Each test
 * builds the same history first (a receipt signed by the runner, then the recipient's ack, each
 * anchored in its own batch, everything committed to git) and then attacks it.
 *
 * The two attacks of the issue are replayed exactly first; the rest are variations of the class:
 * anything that drops, reorders, replaces or moves anchored history, signs it with another key,
 * or lets an unnamed key write into it must make `datomspod audit verify` exit 1.
 */

import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { Wallet, encryptKeystoreJsonSync, getAddress, keccak256, type Signer } from "ethers";
import { anchorEvidence } from "../../generator/anchor/anchor.js";
import { devWallet } from "../../generator/anchor/anvil.js";
import { ANCHOR_DEPLOYED_BYTECODE } from "../../generator/anchor/artifact.js";
import { ANCHOR_INTERFACE, decodeRevert, readHead, sendAndConfirm, type Chain } from "../../generator/anchor/chain.js";
import { LOCAL_ANCHOR } from "../../generator/contract/templates.js";
import { auditContract } from "../../generator/audit/verify.js";
import { buildBatch, contractIdHash, signBatch, type BatchRecord } from "../../generator/evidence/batch.js";
import { collectEvidence } from "../../generator/evidence/collect.js";
import { BATCH_KINDS } from "../../generator/evidence/items.js";
import { stableJsonText, writeAnchor, writeBatch } from "../../generator/evidence/store.js";
import { cli, jsonOut, type CliResult } from "../helpers/cli.js";
import { TEST_PASSWORD, testKey, testWallet } from "../helpers/keys.js";
import { approveAll, writeAck, writeSignedReceipt } from "../helpers/records.js";
import { ROOT, editJson, readJson, readText, tempDir, writeJson, writeText } from "../helpers/repo.js";
import {
  deployPinnedAnchors,
  devKeyFile,
  freshChain,
  fund,
  pinnedChain,
  startTestChain,
  stopTestChain,
  tempRepoWithClusters,
  type TestChain,
} from "../anchor/chain.js";
import { FAKE_RECEIPT } from "../evidence/fixtures.js";

const ID = "hospital-stats";
const EVIDENCE = `contracts/${ID}/evidence`;
const RECEIPT = `contracts/${ID}/receipts/run-1.json`;
const RECEIPT_SIGNATURE = `contracts/${ID}/receipt-signatures/run-1.json`;
const ACK = `contracts/${ID}/acks/run-1.json`;
const ANCHOR = LOCAL_ANCHOR.address;

interface Row {
  status: string;
  kind: string;
  subject: string;
  detail: string;
}

interface World {
  readonly repo: string;
  readonly test: TestChain;
  readonly chain: Chain;
  /** The contract's anchorer's keystore (anvil development account 0, as evidence.anchorers names). */
  readonly anchorerKey: string;
  /** The roots on chain, oldest first. */
  readonly roots: string[];
}

function git(repo: string, ...args: string[]): string {
  return execFileSync("git", ["-C", repo, ...args], {
    encoding: "utf8",
    env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.org", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.org" },
  });
}

function commitAll(repo: string, message: string): void {
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "--allow-empty", "-m", message);
}

/** `datomspod anchor ID` by the contract's anchorer on the test chain; fails the test unless it anchored. */
async function anchor(world: Pick<World, "repo" | "chain" | "anchorerKey">): Promise<string> {
  const result = await cli(world.repo, "anchor", ID, "--chain", world.chain.url, "--key", world.anchorerKey, "--format", "json");
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return (jsonOut(result).batches as { root: string; action: string }[]).find((b) => b.action === "anchored")!.root;
}

async function audit(world: Pick<World, "repo" | "chain">): Promise<{ code: number; rows: Row[]; text: string }> {
  const json = await cli(world.repo, "audit", "verify", ID, "--chain", world.chain.url, "--format", "json");
  const text = await cli(world.repo, "audit", "verify", ID, "--chain", world.chain.url);
  expect(text.code).toBe(json.code);
  return { code: json.code, rows: (jsonOut(json).contracts[0]?.rows ?? []) as Row[], text: text.stdout };
}

const failing = (rows: readonly Row[]): [string, string, string][] => rows.filter((r) => r.status !== "verified").map((r) => [r.status, r.kind, r.subject]);
const rowOf = (rows: readonly Row[], kind: string, subject: string): Row | undefined => rows.find((r) => r.kind === kind && r.subject === subject);
const batchFile = (root: string): string => `${EVIDENCE}/batches/${root}.json`;

/** `datomspod compile`, as after every change of a contract's state. */
async function compile(repo: string): Promise<void> {
  const result = await cli(repo, "compile");
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
}

/**
 * The history every attack starts from, committed to git: batch 1 holds the agreement, the instance,
 * the run request and the runner-signed receipt; batch 2 the recipient's ack (the instance is then
 * removed: delivered). Built once (the repository and the chain's state file), copied for each test.
 */
interface Template {
  readonly dir: string;
  readonly repo: string;
  readonly stateFile: string;
  readonly roots: string[];
}
let template: Template | undefined;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "datomspod-rewrite-world-"));
  const stateFile = join(dir, "anvil-state.json");
  const repo = join(dir, "repo");
  const test = await startTestChain({ stateFile });
  try {
    await deployPinnedAnchors(test.chain);
    // The example contracts, the cluster profiles and the rendered instances, as tempRepoWithClusters copies them.
    cpSync(join(ROOT, "contracts"), join(repo, "contracts"), { recursive: true });
    cpSync(join(ROOT, "clusters"), join(repo, "clusters"), { recursive: true });
    const w = { repo, chain: test.chain, anchorerKey: devKeyFile(0, dir) };
    git(repo, "init", "-q");
    await writeSignedReceipt(repo, ID, "run-1", FAKE_RECEIPT, "hospital-provider");
    await compile(repo);
    commitAll(repo, "run-1 ran");
    const first = await anchor(w);
    commitAll(repo, "anchored the run");
    await writeAck(repo, ID, "run-1", "health-consumer");
    await compile(repo);
    commitAll(repo, "run-1 delivered");
    const second = await anchor(w);
    commitAll(repo, "anchored the delivery");
    template = { dir, repo, stateFile, roots: [first, second] };
  } finally {
    await stopTestChain(test); // SIGTERM: anvil writes the state file
  }
}, 180_000);

afterAll(() => {
  if (template !== undefined) rmSync(template.dir, { recursive: true, force: true });
});

/** A copy of the template history (repository and chain) for the current test; the audit passes on it. */
async function world(): Promise<World> {
  const { repo: source, stateFile: sourceState, roots } = template!;
  const stateFile = join(tempDir("datomspod-rewrite-chain-"), "anvil-state.json");
  cpSync(sourceState, stateFile);
  const test = await freshChain({ stateFile });
  const repo = tempDir("datomspod-rewrite-repo-");
  cpSync(source, repo, { recursive: true });
  const w = { repo, test, chain: test.chain, anchorerKey: devKeyFile(0), roots: [...roots] };
  const before = await audit(w);
  expect(failing(before.rows)).toEqual([]);
  expect(before.code).toBe(0);
  return w;
}

/** A fresh key with gas, and its keystore (the test password). */
async function newKey(chain: Chain): Promise<{ wallet: Wallet; file: string }> {
  const wallet = new Wallet(Wallet.createRandom().privateKey);
  await fund(chain, wallet.address);
  const file = join(tempDir("datomspod-attacker-"), "attacker.json");
  writeFileSync(file, encryptKeystoreJsonSync({ address: wallet.address, privateKey: wallet.privateKey }, TEST_PASSWORD, { scrypt: { N: 1024 } }));
  return { wallet, file };
}

/**
 * What an attacker's own tool does when the CLI refuses: a batch of the repository's current items
 * placed wherever it likes, signed by its key, sent straight to an anchor contract, and recorded.
 */
async function forgeAnchor(
  repo: string,
  chain: Chain,
  wallet: Signer & { address: string },
  where: { address: string; previousRoot: string; sequence: number },
): Promise<{ batch: BatchRecord; error?: string }> {
  const items = collectEvidence(repo, ID).items;
  const batch = await buildBatch(
    ID,
    items,
    { previousRoot: where.previousRoot, sequence: where.sequence, anchor: { chainId: 31337, address: where.address } },
    wallet,
  );
  const data = ANCHOR_INTERFACE.encodeFunctionData("anchor", [
    `0x${batch.root}`,
    contractIdHash(ID),
    `0x${where.previousRoot}`,
    BATCH_KINDS[batch.kind],
    batch.size,
  ]);
  let sent;
  try {
    sent = await sendAndConfirm(chain, wallet as Wallet, { to: where.address, data }, 1);
  } catch (error) {
    const revert = decodeRevert(error);
    if (revert === undefined) throw error;
    return { batch, error: `${revert.name}(${revert.args.map(String).join(", ")})` };
  }
  writeBatch(repo, batch);
  writeAnchor(repo, ID, {
    version: 1,
    root: batch.root,
    chainId: 31337,
    contract: getAddress(where.address),
    txHash: sent.txHash,
    blockNumber: sent.receipt.blockNumber,
    blockHash: sent.receipt.blockHash,
    anchorer: getAddress(wallet.address),
  });
  return { batch };
}

/** Rewrites a batch record in place (canonical form, so only its content can give it away). */
function rewriteBatch(repo: string, root: string, change: (batch: BatchRecord) => BatchRecord | Promise<BatchRecord>): Promise<void> {
  return Promise.resolve(change(readJson<BatchRecord>(repo, batchFile(root)))).then((batch) => writeText(repo, batchFile(root), stableJsonText(batch)));
}

function expectRefusedWithRestoreFix(result: CliResult, roots: readonly string[]): void {
  expect(result.code).toBe(1);
  for (const root of roots) expect(result.stderr).toContain(`root ${root} (number`);
  expect(result.stderr).toContain(`(fix: restore ${EVIDENCE} from git (git checkout -- ${EVIDENCE})`);
}

describe("the attacks of issue 9, replayed exactly", () => {
  it("edit a receipt, delete the evidence, deploy a fresh Anchor with a new key, `datomspod anchor ID --anchor-address NEW --key NEW`: refused, and audit fails", async () => {
    const w = await world();
    const attacker = await newKey(w.chain);

    editJson(w.repo, RECEIPT, (receipt) => {
      receipt.subject[0].digest.sha256 = "3".repeat(64);
    });
    rmSync(join(w.repo, EVIDENCE), { recursive: true });
    const deployed = await cli(w.repo, "anchor", "deploy", "--chain", w.chain.url, "--key", attacker.file, "--format", "json");
    const fresh = jsonOut<{ address: string }>(deployed).address;
    const anchored = await cli(w.repo, "anchor", ID, "--anchor-address", fresh, "--key", attacker.file, "--chain", w.chain.url);
    const withoutAddress = await cli(w.repo, "anchor", ID, "--key", attacker.file, "--chain", w.chain.url);
    const audited = await audit(w);

    expect(deployed.code).toBe(0);
    expect(anchored.code).toBe(2);
    expect(anchored.stderr).toContain(`--anchor-address: names the anchor contract ${fresh}, but ${ID} pins its evidence to ${ANCHOR}`);
    expect(withoutAddress.code).toBe(2);
    expect(withoutAddress.stderr).toContain(`--key: ${attacker.wallet.address} is not one of the anchorers of ${ID}`);
    expect(readdirSync(join(w.repo, "contracts", ID))).not.toContain("evidence");
    expect(audited.code).toBe(1);
    expect(failing(audited.rows).filter(([, kind]) => kind === "chain")).toEqual([
      ["mismatched", "chain", `${ANCHOR}#1`],
      ["mismatched", "chain", `${ANCHOR}#2`],
    ]);
    expect(rowOf(audited.rows, "chain", `${ANCHOR}#1`)!.detail).toContain("no batch record in the repository accounts for it");
    expect(rowOf(audited.rows, "receipt", RECEIPT)!.status).toBe("missing");
    expect(audited.text).toMatch(/\nFAILED: /);
  });

  it("… and when the attacker's own tool writes the records for its fresh Anchor instead, audit still fails", async () => {
    const w = await world();
    const attacker = await newKey(w.chain);
    editJson(w.repo, RECEIPT, (receipt) => {
      receipt.subject[0].digest.sha256 = "3".repeat(64);
    });
    rmSync(join(w.repo, EVIDENCE), { recursive: true });
    const deployed = jsonOut<{ address: string }>(await cli(w.repo, "anchor", "deploy", "--chain", w.chain.url, "--key", attacker.file, "--format", "json"));

    const forged = await forgeAnchor(w.repo, w.chain, attacker.wallet, { address: deployed.address, previousRoot: "0".repeat(64), sequence: 1 });
    const audited = await audit(w);

    expect(forged.error).toBeUndefined();
    expect(audited.code).toBe(1);
    expect(rowOf(audited.rows, "batch", batchFile(forged.batch.root))).toMatchObject({
      status: "mismatched",
      detail: expect.stringContaining(`names anchor contract ${deployed.address} on chain 31337, but the contract pins ${ANCHOR} on chain 31337`),
    });
    expect(
      failing(audited.rows)
        .filter(([, kind]) => kind === "chain")
        .map(([, , subject]) => subject),
    ).toEqual([`${ANCHOR}#1`, `${ANCHOR}#2`]);
  });

  it("the legitimate anchorer deletes the ack and the evidence folder and re-anchors: refused with the fix; forced through, audit fails", async () => {
    const w = await world();

    rmSync(join(w.repo, ACK));
    rmSync(join(w.repo, EVIDENCE), { recursive: true });
    const anchored = await cli(w.repo, "anchor", ID, "--chain", w.chain.url, "--key", w.anchorerKey);
    const wroteEvidence = existsSync(join(w.repo, EVIDENCE));
    const refusedAudit = await audit(w);
    // The attacker's tool tries to start the history over, then to continue it without the old roots.
    const restart = await forgeAnchor(w.repo, w.chain, devWallet(0), { address: ANCHOR, previousRoot: "0".repeat(64), sequence: 1 });
    const continued = await forgeAnchor(w.repo, w.chain, devWallet(0), { address: ANCHOR, previousRoot: w.roots[1], sequence: 3 });
    const forcedAudit = await audit(w);

    expectRefusedWithRestoreFix(anchored, w.roots);
    expect(anchored.stderr).toMatch(
      new RegExp(`^error: the anchor contract ${ANCHOR} holds 2 roots of ${ID} that the repository does not account for; nothing was anchored for it\\n`),
    );
    expect(wroteEvidence).toBe(false);
    expect(refusedAudit.code).toBe(1);
    expect(restart.error).toBe(`Anchor__NotHead(${contractIdHash(ID)}, 0x${"0".repeat(64)}, 0x${w.roots[1]})`);
    expect(continued.error).toBeUndefined();
    expect(forcedAudit.code).toBe(1);
    expect(failing(forcedAudit.rows).filter(([, kind]) => kind === "chain" || kind === "batch")).toEqual([
      ["mismatched", "chain", `${ANCHOR}#1`],
      ["mismatched", "chain", `${ANCHOR}#2`],
      // Its own place in the repository's chain does not add up either: two batches are missing before it.
      ["mismatched", "batch", batchFile(continued.batch.root)],
    ]);
  });

  it("restoring the evidence folder from git, as the refusal says, brings back the full history: only the deleted ack is missing", async () => {
    const w = await world();
    rmSync(join(w.repo, ACK));
    rmSync(join(w.repo, EVIDENCE), { recursive: true });
    await cli(w.repo, "anchor", ID, "--chain", w.chain.url, "--key", w.anchorerKey);

    git(w.repo, "checkout", "--", EVIDENCE);
    const withoutAck = await audit(w);
    git(w.repo, "checkout", "--", ACK);
    const restored = await audit(w);

    expect(failing(withoutAck.rows)).toEqual([["missing", "ack", ACK]]);
    expect(restored.code).toBe(0);
  });
});

describe("more ways to rewrite history", () => {
  it("delete the whole contract folder: `audit verify` of every contract still audits it, from git history, and fails", async () => {
    const w = await world();

    rmSync(join(w.repo, "contracts", ID), { recursive: true });
    commitAll(w.repo, "the contract never existed");
    const result = await cli(w.repo, "audit", "verify", "--chain", w.chain.url, "--format", "json");

    expect(result.code).toBe(1);
    const audited = jsonOut<{ contracts: { id: string; rows: Row[] }[] }>(result).contracts.find((c) => c.id === ID)!;
    expect(failing(audited.rows)).toEqual([["mismatched", "chain", `contracts/${ID}/contract.json`]]);
    expect(audited.rows[0].detail).toBe(
      `the contract's folder is gone from the working tree, but git history holds it (a contract is never removed): restore it with git checkout <commit> -- contracts/${ID}`,
    );
  });

  it("reorder the batches (records re-signed by the anchorer, in canonical form): audit and anchor both refuse", async () => {
    const w = await world();
    const [first, second] = w.roots;

    await rewriteBatch(w.repo, first, (b) => signBatch({ ...b, previousRoot: second, sequence: 2 }, devWallet(0)));
    await rewriteBatch(w.repo, second, (b) => signBatch({ ...b, previousRoot: "0".repeat(64), sequence: 1 }, devWallet(0)));
    const audited = await audit(w);
    const anchored = await cli(w.repo, "anchor", ID, "--chain", w.chain.url, "--key", w.anchorerKey);

    expect(audited.code).toBe(1);
    expect(rowOf(audited.rows, "batch", batchFile(first))!.detail).toContain(`names the previous root ${second.slice(0, 12)}, the chain ${"0".repeat(12)}`);
    expect(rowOf(audited.rows, "batch", batchFile(second))!.detail).toContain("claims place 1 in the contract's chain, the chain says 2");
    expect(
      failing(audited.rows)
        .filter(([, kind]) => kind === "chain")
        .map(([, , s]) => s),
    ).toEqual([`${ANCHOR}#1`, `${ANCHOR}#2`]);
    expect(anchored.code).toBe(1);
    expect(anchored.stderr).toMatch(/^error: the evidence records of hospital-stats contradict its history on chain; nothing was anchored for it\n/);
  });

  it("drop a middle batch (its records deleted): the chain's root has no batch and the next batch's link is broken", async () => {
    const w = await world();
    writeJson(w.repo, `contracts/${ID}/settlement.json`, { settled: true });
    const third = await anchor(w);
    commitAll(w.repo, "settled");

    rmSync(join(w.repo, batchFile(w.roots[1])));
    rmSync(join(w.repo, EVIDENCE, "anchors", `${w.roots[1]}.json`));
    const audited = await audit(w);
    const anchored = await cli(w.repo, "anchor", ID, "--chain", w.chain.url, "--key", w.anchorerKey);

    expect(audited.code).toBe(1);
    expect(rowOf(audited.rows, "chain", `${ANCHOR}#2`)).toMatchObject({
      status: "mismatched",
      detail: expect.stringContaining("no batch record in the repository accounts for it"),
    });
    expect(rowOf(audited.rows, "batch", batchFile(third))).toMatchObject({
      status: "mismatched",
      detail: expect.stringContaining("claims place 3 in the contract's chain, but the repository holds 1 batch before it"),
    });
    expect(rowOf(audited.rows, "ack", ACK)!.status).toBe("missing");
    expectRefusedWithRestoreFix(anchored, [w.roots[1]]);
  });

  it("replace the newest batch (a changed settlement): anchor refuses, the chain refuses the replacement, an appended one is caught", async () => {
    const w = await world();
    writeJson(w.repo, `contracts/${ID}/settlement.json`, { settled: true, owed: "100" });
    const third = await anchor(w);
    commitAll(w.repo, "settled");

    writeJson(w.repo, `contracts/${ID}/settlement.json`, { settled: true, owed: "1" });
    rmSync(join(w.repo, batchFile(third)));
    rmSync(join(w.repo, EVIDENCE, "anchors", `${third}.json`));
    const anchored = await cli(w.repo, "anchor", ID, "--chain", w.chain.url, "--key", w.anchorerKey);
    const replaced = await forgeAnchor(w.repo, w.chain, devWallet(0), { address: ANCHOR, previousRoot: w.roots[1], sequence: 3 });
    const appended = await forgeAnchor(w.repo, w.chain, devWallet(0), { address: ANCHOR, previousRoot: third, sequence: 4 });
    const audited = await audit(w);

    expectRefusedWithRestoreFix(anchored, [third]);
    expect(replaced.error).toBe(`Anchor__NotHead(${contractIdHash(ID)}, 0x${w.roots[1]}, 0x${third})`);
    expect(appended.error).toBeUndefined();
    expect(audited.code).toBe(1);
    expect(rowOf(audited.rows, "chain", `${ANCHOR}#3`)).toMatchObject({ status: "mismatched", detail: expect.stringContaining("no batch record") });
    expect(rowOf(audited.rows, "chain", `${ANCHOR}#4`)!.status).toBe("verified");
    expect(rowOf(audited.rows, "batch", batchFile(appended.batch.root))).toMatchObject({
      status: "mismatched",
      detail: "claims place 4 in the contract's chain, but the repository holds 2 batches before it",
    });
    expect(rowOf(audited.rows, "settlement", `contracts/${ID}/settlement.json`)!.status).toBe("missing");
  });

  it("re-sign a batch with another key (the statement verifies, but not by who anchored it)", async () => {
    const w = await world();

    await rewriteBatch(w.repo, w.roots[0], async (b) => signBatch(b, await testWallet("health-consumer")));
    const audited = await audit(w);

    expect(audited.code).toBe(1);
    expect(rowOf(audited.rows, "batch", batchFile(w.roots[0]))).toMatchObject({
      status: "mismatched",
      detail: `its statement is signed by ${testKey("health-consumer").address}, but ${LOCAL_ANCHOR.anchorer} anchored the root`,
    });
    expect(rowOf(audited.rows, "chain", `${ANCHOR}#1`)!.detail).toContain("its batch record disagrees with the chain");
  });

  it("garbage roots for the contract id from an anchorer the anchor contract's owner authorised but the contract does not name", async () => {
    const w = await world();
    const intruder = await newKey(w.chain);
    const authorised = await cli(
      w.repo,
      "anchor",
      "authorise",
      intruder.wallet.address,
      "--chain",
      w.chain.url,
      "--key",
      w.anchorerKey,
      "--anchor-address",
      ANCHOR,
    );
    const garbage = `0x${"66".repeat(32)}`;

    await sendAndConfirm(
      w.chain,
      intruder.wallet,
      { to: ANCHOR, data: ANCHOR_INTERFACE.encodeFunctionData("anchor", [garbage, contractIdHash(ID), `0x${w.roots[1]}`, 3, 5]) },
      1,
    );
    const audited = await audit(w);
    writeJson(w.repo, `contracts/${ID}/settlement.json`, { settled: true });
    const anchored = await cli(w.repo, "anchor", ID, "--chain", w.chain.url, "--key", w.anchorerKey);

    expect(authorised.code).toBe(0);
    expect(audited.code).toBe(1);
    expect(rowOf(audited.rows, "chain", `${ANCHOR}#3`)).toMatchObject({
      status: "mismatched",
      detail: expect.stringMatching(
        new RegExp(
          `^root ${"66".repeat(6)} \\(block \\d+, by ${intruder.wallet.address}\\): no batch record in the repository accounts for it; anchored by ${intruder.wallet.address}, which is not one of the contract's anchorers \\(evidence\\.anchorers\\)$`,
        ),
      ),
    });
    expectRefusedWithRestoreFix(anchored, ["66".repeat(32)]);
    expect(anchored.stderr).toContain(`anchored by ${intruder.wallet.address}, not one of evidence.anchorers) has no batch record here`);
  });

  it("change evidence.anchor in the contract to a fresh anchor contract: the signatures break, anchor skips it, audit fails", async () => {
    const w = await world();
    const deployed = jsonOut<{ address: string; blockNumber: number }>(
      await cli(w.repo, "anchor", "deploy", "--chain", w.chain.url, "--key", w.anchorerKey, "--format", "json"),
    );

    editJson(w.repo, `contracts/${ID}/contract.json`, (contract) => {
      contract.evidence.anchor = { address: deployed.address, fromBlock: deployed.blockNumber };
    });
    rmSync(join(w.repo, EVIDENCE), { recursive: true });
    const verified = await cli(w.repo, "contract", "verify", ID);
    const anchored = await cli(w.repo, "anchor", ID, "--chain", w.chain.url, "--key", w.anchorerKey);
    const forged = await forgeAnchor(w.repo, w.chain, devWallet(0), { address: deployed.address, previousRoot: "0".repeat(64), sequence: 1 });
    const audited = await audit(w);

    expect(verified.code).toBe(1);
    expect(anchored.code).toBe(0);
    expect(anchored.stdout).toContain(`skipped  ${ID}: a draft: not signed by every party yet`);
    expect(forged.error).toBeUndefined();
    expect(audited.code).toBe(1);
    // The forged history is consistent in itself; what no one can forge is every party's signature over the new pin.
    expect(failing(audited.rows)).toEqual([["mismatched", "chain", deployed.address]]);
    expect(rowOf(audited.rows, "chain", deployed.address)!.detail).toMatch(
      /^the contract is not signed by every party, so the chain, anchor contract, anchorers and runners it names are not agreed \(/,
    );
  });

  it.each([
    [
      "the runner's signature of another receipt",
      async (repo: string): Promise<void> => {
        await writeSignedReceipt(repo, ID, "run-1", { ...FAKE_RECEIPT, predicate: { exitCode: 1 } }, "hospital-provider");
        writeJson(repo, RECEIPT, FAKE_RECEIPT); // a receipt the pod did not report, under the signature of the one it did
      },
      /^does not vouch for the receipt of run run-1: \$\.message\.receiptHash /,
    ],
    [
      "a runner signature whose bytes were altered",
      async (repo: string): Promise<void> => {
        await writeSignedReceipt(repo, ID, "run-1", FAKE_RECEIPT, "hospital-provider");
        editJson(repo, RECEIPT_SIGNATURE, (record) => {
          record.signature = `${record.signature.slice(0, 20)}${record.signature[20] === "a" ? "b" : "a"}${record.signature.slice(21)}`;
        });
      },
      /^does not vouch for the receipt of run run-1: \$\.signature /,
    ],
    [
      "a signature by the consumer, who is not a runner",
      (repo: string) => writeSignedReceipt(repo, ID, "run-1", FAKE_RECEIPT, "health-consumer"),
      /\$\.signer 0x678E53b55b5ff8564162cDFa0cB0B9160a0E3287 is not one of the contract's runners \(evidence\.runners\)/,
    ],
  ] as const)("a receipt with %s, anchored as it is: audit fails on its signature", async (_what, change, detail) => {
    const test = await pinnedChain();
    const repo = tempRepoWithClusters();
    await change(repo);
    await anchorEvidence({ repo, chain: test.chain, wallet: devWallet(0), ids: [ID], confirmations: 1 });

    const audited = await audit({ repo, chain: test.chain });

    expect(audited.code).toBe(1);
    expect(failing(audited.rows)).toEqual([["mismatched", "receipt-signature", RECEIPT_SIGNATURE]]);
    expect(rowOf(audited.rows, "receipt-signature", RECEIPT_SIGNATURE)!.detail).toMatch(detail);
  });

  it("a receipt whose runner signature is missing (never written, or deleted after anchoring)", async () => {
    const test = await pinnedChain();
    const repo = tempRepoWithClusters();
    writeJson(repo, RECEIPT, FAKE_RECEIPT);
    await anchorEvidence({ repo, chain: test.chain, wallet: devWallet(0), ids: [ID], confirmations: 1 });
    const never = await audit({ repo, chain: test.chain });
    const w = await world();
    rmSync(join(w.repo, RECEIPT_SIGNATURE));
    const deleted = await audit(w);

    expect(never.code).toBe(1);
    expect(failing(never.rows)).toEqual([["missing", "receipt-signature", RECEIPT_SIGNATURE]]);
    expect(rowOf(never.rows, "receipt-signature", RECEIPT_SIGNATURE)!.detail).toBe(
      "does not vouch for the receipt of run run-1: the receipt of run run-1 is signed by no runner, so it does not count",
    );
    expect(failing(deleted.rows)).toEqual([["missing", "receipt-signature", RECEIPT_SIGNATURE]]);
  });

  it("an anchor record edited to name another anchor contract (kept canonical)", async () => {
    const w = await world();
    const file = `${EVIDENCE}/anchors/${w.roots[0]}.json`;

    writeText(w.repo, file, stableJsonText({ ...readJson<Record<string, unknown>>(w.repo, file), contract: "0x8464135c8F25Da09e49BC8782676a84730C318bC" }));
    const audited = await audit(w);

    expect(audited.code).toBe(1);
    expect(rowOf(audited.rows, "batch", batchFile(w.roots[0]))!.detail).toBe(
      `its anchor record names 0x8464135c8F25Da09e49BC8782676a84730C318bC on chain 31337, but the contract pins ${ANCHOR} on chain 31337`,
    );
  });

  it("a batch record that was never anchored, slipped into the history", async () => {
    const w = await world();
    writeJson(w.repo, `contracts/${ID}/settlement.json`, { settled: true });
    const items = collectEvidence(w.repo, ID).items.filter((i) => i.kind === "settlement");

    writeBatch(w.repo, await buildBatch(ID, items, { previousRoot: w.roots[1], sequence: 3, anchor: { chainId: 31337, address: ANCHOR } }, devWallet(0)));
    const audited = await audit(w);

    expect(audited.code).toBe(1);
    expect(failing(audited.rows)).toEqual([
      ["missing", "batch", expect.stringMatching(/^contracts\/hospital-stats\/evidence\/batches\/[0-9a-f]{64}\.json$/)],
      ["missing", "settlement", `contracts/${ID}/settlement.json`],
    ]);
  });

  it("an anchor contract whose code is not a datomspod Anchor (it could emit any events) is not trusted", async () => {
    const w = await world();
    const patched = `${ANCHOR_DEPLOYED_BYTECODE.slice(0, -4)}${ANCHOR_DEPLOYED_BYTECODE.endsWith("33") ? "34" : "33"}${ANCHOR_DEPLOYED_BYTECODE.slice(-2)}`;

    await w.chain.provider.send("anvil_setCode", [ANCHOR, patched]);
    const audited = await audit(w);

    expect(audited.code).toBe(1);
    expect(rowOf(audited.rows, "chain", ANCHOR)).toMatchObject({
      status: "mismatched",
      detail: `the code at ${ANCHOR} (keccak256 ${keccak256(patched)}) is not a datomspod Anchor contract, so its events prove nothing`,
    });
    expect(audited.rows.filter((r) => r.kind !== "chain").every((r) => r.status !== "verified")).toBe(true);
  });

  it("a node that hides an Anchored event (a lying or lossy RPC) is caught by the contract's count and the sequence numbers", async () => {
    const w = await world();
    const hidden = await hidingProxy(w.test.node.url, (log) => log.topics[0] === ANCHORED_TOPIC && log.topics[1] === `0x${w.roots[1]}`);
    const hiddenFirst = await hidingProxy(w.test.node.url, (log) => log.topics[0] === ANCHORED_TOPIC && log.topics[1] === `0x${w.roots[0]}`);

    const last = await audit({ repo: w.repo, chain: { ...w.chain, url: hidden } });
    const first = await audit({ repo: w.repo, chain: { ...w.chain, url: hiddenFirst } });

    expect(last.code).toBe(1);
    expect(rowOf(last.rows, "chain", ANCHOR)!.detail).toBe("the anchor contract counts 2 roots for the contract, but 1 were read from block 0 on");
    expect(rowOf(last.rows, "batch", batchFile(w.roots[1]))!.status).not.toBe("verified");
    expect(first.code).toBe(1);
    expect(rowOf(first.rows, "chain", ANCHOR)!.detail).toContain(
      `the first root read from block 0 on (${w.roots[1]}) is number 2 of the contract: roots before it are not read`,
    );
  });

  it("the anchorer's authorisation is replayed from the anchor contract's events: a root by an account never authorised is caught", async () => {
    const w = await world();
    const authorised = ANCHOR_INTERFACE.getEvent("AnchorerAuthorised")!.topicHash;
    // A node that leaves out the constructor's authorisation of the anchorer: as if it had never been authorised.
    const proxy = await hidingProxy(w.test.node.url, (log) => log.topics[0] === authorised);

    const audited = await audit({ repo: w.repo, chain: { ...w.chain, url: proxy } });

    expect(audited.code).toBe(1);
    expect(rowOf(audited.rows, "chain", ANCHOR)!.detail).toBe(
      w.roots.map((root) => `root ${root} was anchored by ${LOCAL_ANCHOR.anchorer}, which was not an authorised anchorer then`).join("; "),
    );
  });

  it("a reorg drops the newest root: audit shows it lost, anchor sends it again in place, audit passes", async () => {
    const test = await pinnedChain();
    const repo = tempRepoWithClusters();
    const w = { repo, chain: test.chain, anchorerKey: devKeyFile(0) };
    await writeSignedReceipt(repo, ID, "run-1", FAKE_RECEIPT, "hospital-provider");
    await compile(repo);
    const first = await anchor(w);
    const snapshot = (await test.chain.provider.send("evm_snapshot", [])) as string;
    await writeAck(repo, ID, "run-1", "health-consumer");
    const second = await anchor(w);

    await test.chain.provider.send("evm_revert", [snapshot]);
    await test.chain.provider.send("anvil_mine", ["0x3"]);
    const lost = await audit(w);
    const resent = await cli(repo, "anchor", ID, "--chain", test.chain.url, "--key", w.anchorerKey, "--format", "json");
    const after = await audit(w);

    expect(lost.code).toBe(1);
    expect(failing(lost.rows)).toContainEqual(["missing", "batch", batchFile(second)]);
    expect(rowOf(lost.rows, "chain", `${ANCHOR}#1`)!.status).toBe("verified");
    expect(jsonOut(resent).batches.map((b: { root: string; action: string; sequence: number }) => [b.root, b.action, b.sequence])).toEqual([
      [first, "up-to-date", 1],
      [second, "re-sent", 2],
    ]);
    expect(after.code).toBe(0);
  });

  it("a reorg in which someone else's root takes the dropped root's place: caught, and anchor refuses to build on it", async () => {
    const test = await pinnedChain();
    const repo = tempRepoWithClusters();
    const w = { repo, chain: test.chain, anchorerKey: devKeyFile(0) };
    await writeSignedReceipt(repo, ID, "run-1", FAKE_RECEIPT, "hospital-provider");
    await compile(repo);
    const first = await anchor(w);
    const snapshot = (await test.chain.provider.send("evm_snapshot", [])) as string;
    await writeAck(repo, ID, "run-1", "health-consumer");
    const second = await anchor(w);

    await test.chain.provider.send("evm_revert", [snapshot]);
    const garbage = `0x${"77".repeat(32)}`;
    await sendAndConfirm(
      test.chain,
      devWallet(0),
      { to: ANCHOR, data: ANCHOR_INTERFACE.encodeFunctionData("anchor", [garbage, contractIdHash(ID), `0x${first}`, 3, 1]) },
      1,
    );
    const audited = await audit(w);
    const anchored = await cli(repo, "anchor", ID, "--chain", test.chain.url, "--key", w.anchorerKey);

    expect(audited.code).toBe(1);
    expect(rowOf(audited.rows, "batch", batchFile(second))).toMatchObject({
      status: "mismatched",
      detail: expect.stringContaining(`its place 2 in the contract's chain is held on chain by root ${"77".repeat(6)}`),
    });
    expect(rowOf(audited.rows, "chain", `${ANCHOR}#2`)!.detail).toContain("no batch record in the repository accounts for it");
    expectRefusedWithRestoreFix(anchored, ["77".repeat(32)]);
    expect(await readHead(test.chain, ANCHOR, contractIdHash(ID))).toEqual({ head: garbage, count: 2 });
  });

  it("renewed subjects: a changed profile and the approvals given again verify from git history; rewriting git history to drop the old values is caught", async () => {
    const w = await world();
    const profile = "clusters/local/cluster.yaml";
    const approvals = readdirSync(join(w.repo, "contracts", ID, "approvals")).map((name) => `contracts/${ID}/approvals/${name}`);
    writeText(w.repo, profile, readText(w.repo, profile).replace("sealedOutputSize: 256Mi", "sealedOutputSize: 512Mi"));
    await approveAll(w.repo, ID); // the profile changed, so the data owner and the witness approve again
    await compile(w.repo);
    commitAll(w.repo, "a bigger sealed-output volume, approved again");
    const anchored = await cli(w.repo, "anchor", ID, "--chain", w.chain.url, "--key", w.anchorerKey, "--format", "json");
    commitAll(w.repo, "anchored the new profile");

    const withHistory = await audit(w);
    git(w.repo, "checkout", "-q", "--orphan", "rewritten");
    git(w.repo, "commit", "-q", "-m", "history starts now");
    git(
      w.repo,
      "branch",
      "-D",
      git(w.repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
        .split("\n")
        .find((b) => b !== "rewritten" && b !== "")!,
    );
    git(w.repo, "reflog", "expire", "--expire=now", "--all");
    git(w.repo, "gc", "-q", "--prune=now");
    const rewritten = await audit(w);

    expect(anchored.code).toBe(0);
    expect(jsonOut(anchored).batches.at(-1).sequence).toBe(3);
    expect(withHistory.code).toBe(0);
    for (const [kind, subject] of [
      ["cluster-profile", profile],
      ["instance-template", `clusters/local/${ID}#template`],
      ...approvals.map((file) => ["approval", file]),
    ])
      expect(rowOf(withHistory.rows, kind, subject)!.detail).toMatch(/; 1 earlier value anchored too, each accounted for by git history$/);
    expect(rewritten.code).toBe(1);
    expect(failing(rewritten.rows)).toEqual([
      ...approvals.map((file) => ["missing", "approval", file]),
      ["missing", "cluster-profile", profile],
      ["missing", "instance-template", `clusters/local/${ID}#template`],
      ["missing", "rendered-manifest", `clusters/local/${ID}/`],
    ]);
    expect(rowOf(rewritten.rows, "cluster-profile", profile)!.detail).toMatch(
      /^an anchored value sha256 [0-9a-f]{12}… \(batch [0-9a-f]{12}, block \d+\) is in no commit of git history; current value in batch/,
    );
    expect(rowOf(rewritten.rows, "instance-template", `clusters/local/${ID}#template`)!.detail).toMatch(
      /^an anchored value sha256 [0-9a-f]{12}… \(batch [0-9a-f]{12}, block \d+\) is signed by no committed approval of a data owner; current value/,
    );
  });

  it("audit reads the history in bounded eth_getLogs ranges and still finds every root", async () => {
    const w = await world();
    await w.chain.provider.send("anvil_mine", ["0x20"]);
    writeJson(w.repo, `contracts/${ID}/settlement.json`, { settled: true });
    await anchor(w);

    const paged = await auditContract(w.repo, ID, w.chain, { logPageBlocks: 3 });

    expect(paged.ok).toBe(true);
    expect(paged.history!.roots.map((r) => r.sequence)).toEqual([1, 2, 3]);
    expect(paged.history!.logRequests).toBe(2 * Math.ceil((paged.history!.toBlock + 1) / 3));
  });
});

const ANCHORED_TOPIC = ANCHOR_INTERFACE.getEvent("Anchored")!.topicHash;

/** A JSON-RPC proxy in front of `url` that drops the logs `hide` matches from eth_getLogs answers. */
async function hidingProxy(url: string, hide: (log: { topics: string[] }) => boolean): Promise<string> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      void fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body })
        .then((answer) => answer.json() as Promise<{ result?: unknown }>)
        .then((answer) => {
          const call = JSON.parse(body) as { method?: string };
          if (call.method === "eth_getLogs" && Array.isArray(answer.result))
            answer.result = (answer.result as { topics: string[] }[]).filter((log) => !hide(log));
          response.writeHead(200, { "content-type": "application/json" });
          response.end(JSON.stringify(answer));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
}
