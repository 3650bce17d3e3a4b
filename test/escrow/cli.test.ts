/**
 * `datomspod escrow` and `settle` through the real CLI on the local chain (anvil, its state in the
 * repository's .datomspod/chain/): deposit, status, the settlement signed by every party, release,
 * pull payments, the lifecycle reaching settled, the evidence anchored and `audit verify` checking
 * the payment transactions against the chain; and what each command refuses.
 */

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Contract } from "ethers";
import { describe, expect, it } from "vitest";
import { startAnvil } from "../../generator/anchor/anvil.js";
import { connectChain, sendAndConfirm } from "../../generator/anchor/chain.js";
import { LOCAL_CHAIN_DIR, LOCAL_STATE_FILE } from "../../generator/anchor/session.js";
import { ESCROW, ESCROW_INTERFACE, LOCAL_TOKEN, LOCAL_TOKEN_INTERFACE } from "../../generator/escrow/artifact.js";
import { ensureCode } from "../../generator/escrow/escrow.js";
import { fund, startTestChain, stopTestChain } from "../anchor/chain.js";
import { cli, jsonOut } from "../helpers/cli.js";
import { testKey, testWallet } from "../helpers/keys.js";
import { contractJson, editJson, readJson, writeJson } from "../helpers/repo.js";
import { ID, PARTY_KEYS, ranRun, settleRepo } from "../settle/fixtures.js";

const slow = { timeout: 300_000 };
const UNIT = 1_000_000n;
const key = (name: string): string => testKey(name).file;

function paymentFiles(repo: string): string[] {
  return readdirSync(join(repo, "contracts", ID, "payments")).sort();
}

async function signEvery(repo: string): Promise<void> {
  for (const name of PARTY_KEYS) expect((await cli(repo, "settle", ID, "--key", key(name))).code).toBe(0);
}

/** Runs `fn` against the repository's local chain (anvil on its state file), then saves the state. */
async function onLocalChain(repo: string, fn: (chain: Awaited<ReturnType<typeof connectChain>>) => Promise<void>): Promise<void> {
  const node = await startAnvil({ stateFile: join(repo, LOCAL_CHAIN_DIR, LOCAL_STATE_FILE) });
  const chain = await connectChain(node.url, { mineForConfirmations: true });
  try {
    await fn(chain);
  } finally {
    chain.close();
    await node.stop();
  }
}

describe("datomspod escrow on the local chain", () => {
  it("deposit → settle → every party signs → release → withdraw: settled, anchored, and audit verify checks the payments on chain", slow, async () => {
    const repo = await settleRepo({ escrow: true });
    await ranRun(repo, "run-1");

    const deposited = await cli(repo, "escrow", "deposit", ID, "--key", key("health-consumer"), "--format", "json");
    const opened = jsonOut(await cli(repo, "escrow", "status", ID, "--format", "json"));
    await cli(repo, "settle", ID);
    await signEvery(repo);
    const signedState = jsonOut(await cli(repo, "contract", "status", ID, "--format", "json"));
    const released = await cli(repo, "escrow", "release", ID);
    const settledState = (await cli(repo, "contract", "status", ID)).stdout;
    const withdrawn = [];
    for (const name of PARTY_KEYS) withdrawn.push(jsonOut(await cli(repo, "escrow", "withdraw", ID, "--key", key(name), "--format", "json")).amount);
    const closed = jsonOut(await cli(repo, "escrow", "status", ID, "--format", "json"));
    const anchored = await cli(repo, "anchor");
    const audit = await cli(repo, "audit", "verify", ID, "--format", "json");

    expect(deposited.code, deposited.stderr).toBe(0);
    expect(jsonOut(deposited).record).toMatchObject({ kind: "deposit", amount: (5000n * UNIT).toString(), escrow: ESCROW.address, token: LOCAL_TOKEN.address });
    expect(opened).toMatchObject({ status: "open", amount: (5000n * UNIT).toString(), termsMatch: true, expired: false });
    expect(signedState.state).toBe("delivered");
    expect(signedState.issues).toContainEqual(
      expect.objectContaining({ message: "the settlement is signed by every party but not paid: no release by the escrow is recorded" }),
    );
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toContain("released: 2300 DLD to the payees, 2700 DLD back to the consumer");
    expect(settledState).toBe(`${ID}: settled\n`);
    expect(withdrawn).toEqual([(2000n * UNIT).toString(), (2700n * UNIT).toString(), (300n * UNIT).toString()]);
    expect(closed).toMatchObject({ status: "released", amount: "0" });
    expect(paymentFiles(repo)).toEqual([expect.stringMatching(/^deposit-0x[0-9a-f]{64}\.json$/), expect.stringMatching(/^release-0x[0-9a-f]{64}\.json$/)]);
    expect(anchored.code, anchored.stderr).toBe(0);
    expect(audit.code, audit.stdout).toBe(0);
    const rows = jsonOut<{ contracts: { rows: { status: string; kind: string; subject: string; detail: string }[] }[] }>(audit).contracts[0].rows;
    const kinds = (kind: string) => rows.filter((row) => row.kind === kind);
    expect(kinds("settlement").map((r) => r.status)).toEqual(["verified"]);
    expect(kinds("settlement-signature").map((r) => r.status)).toEqual(["verified", "verified", "verified"]);
    expect(kinds("payment").map((r) => [r.status, r.subject.endsWith("#transaction")])).toEqual([
      ["verified", false],
      ["verified", false],
      ["verified", true],
      ["verified", true],
    ]);
    expect(kinds("payment").find((r) => r.subject.startsWith(`contracts/${ID}/payments/release-`) && r.subject.endsWith("#transaction"))!.detail).toMatch(
      /^release of settlement [0-9a-f]{12}…: 2300000000 to the payees, 2700000000 back to the consumer; tx 0x[0-9a-f]{64}, block \d+, \d+ confirmations?$/,
    );

    // A payment record edited afterwards: the evidence item and the transaction row both say so.
    const release = paymentFiles(repo).find((name) => name.startsWith("release-"))!;
    editJson(repo, `contracts/${ID}/payments/${release}`, (r: any) => (r.amount = "1"));
    const tampered = jsonOut<any>(await cli(repo, "audit", "verify", ID, "--format", "json"));
    expect(tampered.ok).toBe(false);
    expect(
      tampered.contracts[0].rows
        .filter((r: { status: string }) => r.status !== "verified")
        .map((r: { kind: string; detail: string }) => [r.kind, r.detail.split(":")[0]]),
    ).toEqual([
      ["payment", expect.stringMatching(/^sha256 is [0-9a-f]{12}…, anchored was [0-9a-f]{12}… \(batch [0-9a-f]{12}, block \d+\)$/)],
      ["payment", "the escrow's Released says 2300000000, the record 1"],
    ]);
  });

  it(
    "a release record no transaction backs: a record for another deposit does not count; a well-formed forgery counts offline, and audit verify finds it",
    slow,
    async () => {
      const repo = await settleRepo({ escrow: true });
      await ranRun(repo, "run-1");
      await cli(repo, "escrow", "deposit", ID, "--key", key("health-consumer"));
      await cli(repo, "settle", ID);
      await signEvery(repo);
      const deposit = readJson<any>(repo, `contracts/${ID}/payments/${paymentFiles(repo)[0]}`);
      const hash = jsonOut(await cli(repo, "settle", ID, "--format", "json")).sha256 as string;
      const forged = { ...deposit, kind: "release", txHash: `0x${"77".repeat(32)}`, amount: "2300000000", settlementHash: hash, refunded: "2700000000" };

      writeJson(repo, `contracts/${ID}/payments/release-${forged.txHash}.json`, { ...forged, escrowId: `0x${"11".repeat(32)}` });
      const otherDeposit = jsonOut(await cli(repo, "contract", "status", ID, "--format", "json"));
      writeJson(repo, `contracts/${ID}/payments/release-${forged.txHash}.json`, forged);
      const offline = (await cli(repo, "contract", "status", ID)).stdout;
      const audit = jsonOut<any>(await cli(repo, "audit", "verify", ID, "--format", "json"));

      expect(otherDeposit.state).toBe("delivered");
      expect(otherDeposit.issues).toContainEqual(expect.objectContaining({ path: "$.escrowId", message: "is not the deposit of this contract's consumer" }));
      expect(offline).toBe(`${ID}: settled\n`);
      expect(audit.ok).toBe(false);
      expect(
        audit.contracts[0].rows.find((r: { subject: string }) => r.subject === `contracts/${ID}/payments/release-${forged.txHash}.json#transaction`),
      ).toMatchObject({
        status: "missing",
        detail: `transaction ${forged.txHash} is not on chain 31337 (a reorg or a reset chain)`,
      });
    },
  );

  it("refuses a release before every party signed, and sends nothing", slow, async () => {
    const repo = await settleRepo({ escrow: true });
    await ranRun(repo, "run-1");
    await cli(repo, "escrow", "deposit", ID, "--key", key("health-consumer"));
    await cli(repo, "settle", ID, "--key", key("hospital-provider"));

    const result = await cli(repo, "escrow", "release", ID, "--format", "json");

    expect(result.code).toBe(1);
    expect(jsonOut(result).issues.map((i: { message: string }) => i.message)).toEqual([
      "no settlement signature by consumer Public Health Institute",
      "no settlement signature by witness Data Exchange Notary",
    ]);
    expect(paymentFiles(repo).map((name) => name.split("-")[0])).toEqual(["deposit"]);
  });

  it("only the consumer deposits, and never over the cap", slow, async () => {
    const repo = await settleRepo({ escrow: true });

    const byProvider = await cli(repo, "escrow", "deposit", ID, "--key", key("hospital-provider"));
    const part = await cli(repo, "escrow", "deposit", ID, "--key", key("health-consumer"), "--amount", "4000.5");
    const over = await cli(repo, "escrow", "deposit", ID, "--key", key("health-consumer"), "--amount", "1000");
    const rest = await cli(repo, "escrow", "deposit", ID, "--key", key("health-consumer"), "--format", "json");
    const full = await cli(repo, "escrow", "deposit", ID, "--key", key("health-consumer"));
    const fraction = await cli(repo, "escrow", "deposit", ID, "--key", key("health-consumer"), "--amount", "0.0000001");

    expect(byProvider.code).toBe(2);
    expect(byProvider.stderr).toContain(`${testKey("hospital-provider").address} is not the consumer of ${ID}`);
    expect(part.code).toBe(0);
    expect(over.code).toBe(1);
    expect(over.stderr).toContain(`Escrow__AboveCap(${5000n * UNIT}, ${4000500000n}, ${1000n * UNIT})`);
    expect(jsonOut(rest).record).toMatchObject({ kind: "top-up", amount: "999500000" });
    expect(full.code).toBe(2);
    expect(full.stderr).toContain("nothing to deposit: 5000000000 of the cap 5000000000 is deposited");
    expect(fraction.code).toBe(2);
    expect(fraction.stderr).toContain('"0.0000001" is not a positive amount in whole units of 10^-6 DLD');
  });

  it("refuses a token whose decimals are not the contract's (a price off by 10^4)", slow, async () => {
    const repo = await settleRepo({ escrow: true, edit: (c) => (c.business.currency.decimals = 2) });

    const result = await cli(repo, "escrow", "deposit", ID, "--key", key("health-consumer"), "--format", "json");

    expect(result.code).toBe(1);
    expect(jsonOut(result).issues).toEqual([
      {
        file: contractJson(ID),
        path: "$.business.currency.decimals",
        message: "is not the token's decimals() 6",
        fix: "fix the contract; every party signs it again",
      },
    ]);
  });

  it("refuses an escrow address that is not the compiled escrow's", slow, async () => {
    const repo = await settleRepo({ escrow: true, edit: (c) => (c.business.escrow.address = "0x000000000000000000000000000000000000dEaD") });

    const result = await cli(repo, "escrow", "status", ID, "--format", "json");

    expect(result.code).toBe(1);
    expect(jsonOut(result).issues[0]).toMatchObject({ path: "$.business.escrow.address", fix: `name ${ESCROW.address}; every party signs the contract again` });
  });

  it("a deposit made on chain with other terms (the witness left out) is flagged by status and refused by release", slow, async () => {
    const repo = await settleRepo({ escrow: true });
    await ranRun(repo, "run-1");
    await cli(repo, "escrow", "deploy");
    const consumer = await testWallet("health-consumer");
    const contract = readJson<any>(repo, contractJson(ID));
    const hash = jsonOut(await cli(repo, "contract", "hash", ID, "--format", "json")).sha256 as string;
    await onLocalChain(repo, async (chain) => {
      await chain.provider.send("anvil_setBalance", [consumer.address, "0x56bc75e2d63100000"]);
      const send = (to: string, data: string): Promise<unknown> => sendAndConfirm(chain, consumer, { to, data }, 1);
      await send(LOCAL_TOKEN.address, LOCAL_TOKEN_INTERFACE.encodeFunctionData("mint", [consumer.address, 10n * UNIT]));
      await send(LOCAL_TOKEN.address, LOCAL_TOKEN_INTERFACE.encodeFunctionData("approve", [ESCROW.address, 10n * UNIT]));
      const terms = {
        contractHash: `0x${hash}`,
        contractId: ID,
        token: LOCAL_TOKEN.address,
        cap: 5000n * UNIT,
        expiry: Math.floor(Date.parse(contract.business.escrow.expiry) / 1000),
        parties: [contract.parties[0].address, consumer.address],
      };
      await send(ESCROW.address, ESCROW_INTERFACE.encodeFunctionData("deposit", [terms, 10n * UNIT]));
    });
    await cli(repo, "settle", ID);
    await signEvery(repo);

    const status = await cli(repo, "escrow", "status", ID);
    const released = await cli(repo, "escrow", "release", ID);
    const topUp = await cli(repo, "escrow", "deposit", ID, "--key", key("health-consumer"));

    expect(status.code).toBe(1);
    expect(status.stdout).toContain(`TERMS DIFFER: parties ${contract.parties[0].address}, ${consumer.address}, the contract's are`);
    expect(released.code).toBe(1);
    expect(released.stderr).toContain("has other terms than the contract");
    expect(topUp.code).toBe(1);
  });

  it(
    "on a chain given by URL: deploy, deposit, and after the expiry anyone refunds the deposit to the consumer (before it, refund is refused)",
    slow,
    async () => {
      const repo = await settleRepo({ escrow: true });
      const test = await startTestChain();
      try {
        const { chain } = test;
        const url = chain.url;
        const [consumer, stranger] = [testKey("health-consumer"), testKey("bank-provider")];
        for (const account of [consumer, stranger]) await fund(chain, account.address);
        const minter = await testWallet("bank-provider");
        await ensureCode(chain, LOCAL_TOKEN, minter, { file: "test", path: "$", message: "token" });
        await sendAndConfirm(
          chain,
          minter,
          { to: LOCAL_TOKEN.address, data: LOCAL_TOKEN_INTERFACE.encodeFunctionData("mint", [consumer.address, 100n * UNIT]) },
          1,
        );

        const noKey = await cli(repo, "escrow", "deploy", "--chain", url);
        const deployed = await cli(repo, "escrow", "deploy", "--chain", url, "--key", stranger.file, "--format", "json");
        const deposited = await cli(repo, "escrow", "deposit", ID, "--chain", url, "--key", consumer.file, "--amount", "100");
        const early = await cli(repo, "escrow", "refund", ID, "--chain", url, "--key", stranger.file);
        await chain.provider.send("evm_setNextBlockTimestamp", [Math.floor(Date.parse("2029-01-02T00:00:00Z") / 1000)]);
        await chain.provider.send("evm_mine", []);
        const late = await cli(repo, "escrow", "refund", ID, "--chain", url, "--key", stranger.file, "--format", "json");
        const status = jsonOut(await cli(repo, "escrow", "status", ID, "--chain", url, "--format", "json"));

        expect(noKey.code).toBe(2);
        expect(noKey.stderr).toContain("--key is required: it pays for the deployment");
        expect(jsonOut(deployed)).toEqual({ chainId: 31337, escrow: ESCROW.address });
        expect(deposited.code, deposited.stderr).toBe(0);
        expect(early.code).toBe(1);
        expect(early.stderr).toContain("expires at 2029-01-01T00:00:00.000Z; until then only a settlement every party signed releases it");
        expect(late.code, late.stderr).toBe(0);
        expect(jsonOut(late).record).toMatchObject({ kind: "refund", amount: (100n * UNIT).toString(), from: stranger.address });
        expect(status).toMatchObject({ status: "refunded", expired: true, amount: "0" });
        expect(await new Contract(LOCAL_TOKEN.address, LOCAL_TOKEN_INTERFACE, chain.provider).getFunction("balanceOf").staticCall(consumer.address)).toBe(
          100n * UNIT,
        );
      } finally {
        await stopTestChain(test);
      }
    },
  );
});
