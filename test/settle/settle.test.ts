/**
 * `datomspod settle` end to end (no chain: hospital-stats settles off chain, in CNY): the
 * settlement written from the verified receipts, every party's signature, the lifecycle reaching
 * settled, and every way a receipt or a signature could be slipped past it.
 */

import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { getAddress, keccak256, toUtf8Bytes, type TypedDataField } from "ethers";
import { describe, expect, it } from "vitest";
import { collectEvidence } from "../../generator/evidence/collect.js";
import { cli, jsonOut } from "../helpers/cli.js";
import { testKey, testWallet } from "../helpers/keys.js";
import { editJson, readJson, readText, writeJson } from "../helpers/repo.js";
import { ID, PARTY_KEYS, acknowledge, ranRun, receipt, requestRun, settleRepo, writeReceipt } from "./fixtures.js";

const SETTLEMENT = `contracts/${ID}/settlement.json`;
const signatureFile = (key: string): string => `contracts/${ID}/settlement-signatures/${testKey(key).address}.json`;

async function status(repo: string): Promise<{ state: string; issues: { file: string; path: string; message: string }[] }> {
  return jsonOut(await cli(repo, "contract", "status", ID, "--format", "json"));
}

async function signEvery(repo: string): Promise<void> {
  for (const key of PARTY_KEYS) expect((await cli(repo, "settle", ID, "--key", testKey(key).file)).code).toBe(0);
}

describe("datomspod settle", () => {
  it("writes the settlement from the verified receipts; once every party signed it the contract is settled", async () => {
    const repo = await settleRepo();
    await ranRun(repo, "run-1");
    await ranRun(repo, "run-2");

    const written = await cli(repo, "settle", ID);
    const before = await status(repo);
    const signed = [];
    for (const key of PARTY_KEYS) signed.push(jsonOut(await cli(repo, "settle", ID, "--key", testKey(key).file, "--format", "json")).state);
    const after = await status(repo);

    expect(written.code).toBe(0);
    expect(written.stdout).toContain("settlement of hospital-stats: 4300 CNY paid by 0x678E53b55b5ff8564162cDFa0cB0B9160a0E3287");
    expect(written.stdout).toContain(`${SETTLEMENT} written (sha256 `);
    expect(written.stdout).toContain(
      "signatures: 0 of 3; waiting for Riverside General Hospital (missing), Public Health Institute (missing), Data Exchange Notary (missing)",
    );
    expect(before.state).toBe("delivered");
    expect(signed).toEqual(["delivered", "delivered", "settled"]);
    expect(after).toEqual({ ...after, state: "settled" });
    expect(readJson<{ total: string }>(repo, SETTLEMENT).total).toBe("430000");
    expect((await cli(repo, "contract", "status", ID)).stdout).toBe(`${ID}: settled\n`);
  });

  it("is idempotent: settling again leaves the same bytes", async () => {
    const repo = await settleRepo();
    await ranRun(repo, "run-1");
    await cli(repo, "settle", ID);
    const first = readText(repo, SETTLEMENT);

    const again = jsonOut(await cli(repo, "settle", ID, "--format", "json"));

    expect(again.action).toBe("unchanged");
    expect(readText(repo, SETTLEMENT)).toBe(first);
  });

  it("the settlement and every signature are evidence items", async () => {
    const repo = await settleRepo();
    await ranRun(repo, "run-1");
    await signEvery(repo);

    const items = collectEvidence(repo, ID).items.filter((item) => item.kind.startsWith("settlement"));

    expect(items.map((item) => [item.kind, item.subject])).toEqual([
      ["settlement", SETTLEMENT],
      ...PARTY_KEYS.map((k) => ["settlement-signature", signatureFile(k)]).sort((a, b) => (a[1] < b[1] ? -1 : 1)),
    ]);
  });

  describe("refuses, naming what and how to fix it, and writes nothing", () => {
    it("a requested run without a receipt", async () => {
      const repo = await settleRepo();
      await ranRun(repo, "run-1");
      await requestRun(repo, "run-2");

      const result = await cli(repo, "settle", ID, "--format", "json");

      expect(result.code).toBe(1);
      expect(jsonOut(result).issues).toEqual([
        {
          file: `contracts/${ID}/receipts/run-2.json`,
          path: "$",
          message: "run run-2 was requested but has no receipt",
          fix: `run it first (datomspod run ${ID} run-2 --key FILE): a settlement covers every requested run`,
        },
      ]);
      expect(existsSync(join(repo, SETTLEMENT))).toBe(false);
    });

    it("a receipt no runner signed", async () => {
      const repo = await settleRepo();
      await ranRun(repo, "run-1");
      rmSync(join(repo, `contracts/${ID}/receipt-signatures/run-1.json`));

      const result = jsonOut(await cli(repo, "settle", ID, "--format", "json"));

      expect(result.issues.map((i: { file: string; message: string }) => [i.file, i.message])).toEqual([
        [
          `contracts/${ID}/receipts/run-1.json`,
          "the receipt of run run-1 is signed by no runner, so it does not count; a settlement covers only receipts that count, so the contract cannot be settled",
        ],
      ]);
      expect(existsSync(join(repo, SETTLEMENT))).toBe(false);
    });

    it("a receipt signed by a party who is not a runner (the consumer vouching for a cheap run)", async () => {
      const repo = await settleRepo();
      await requestRun(repo, "run-1");
      await writeReceipt(repo, "run-1", receipt("run-1", { cpuSeconds: 0.001 }), "health-consumer");

      const result = jsonOut(await cli(repo, "settle", ID, "--format", "json"));

      expect(result.issues.map((i: { path: string }) => i.path)).toEqual(["$.signer"]);
      expect(result.issues[0].message).toMatch(
        /^0x678E53b55b5ff8564162cDFa0cB0B9160a0E3287 is not one of the contract's runners \(evidence\.runners\); a settlement covers only receipts that count/,
      );
    });

    it("a receipt edited after its runner signed it (usage talked down)", async () => {
      const repo = await settleRepo();
      await ranRun(repo, "run-1");
      editJson(repo, `contracts/${ID}/receipts/run-1.json`, (r: any) => (r.predicate.usage.cpuSeconds = 0.001));

      const result = jsonOut(await cli(repo, "settle", ID, "--format", "json"));

      expect(result.issues.map((i: { file: string; path: string }) => [i.file, i.path])).toEqual([
        [`contracts/${ID}/receipts/run-1.json`, "$.message.receiptHash"],
      ]);
    });

    it("a run outside the validity window", async () => {
      const repo = await settleRepo();
      await requestRun(repo, "run-1");
      await writeReceipt(repo, "run-1", receipt("run-1", { endedAt: "2028-11-01T00:00:00.000Z" }));

      const result = jsonOut(await cli(repo, "settle", ID, "--format", "json"));

      expect(result.issues.map((i: { message: string }) => i.message)).toEqual([
        "run run-1 ran at 2028-11-01T00:00:00.000Z, outside the validity window 2026-11-01T00:00:00Z – 2028-10-31T00:00:00Z",
      ]);
    });

    it("a contract not yet signed by every party", async () => {
      const repo = await settleRepo();
      rmSync(join(repo, `contracts/${ID}/signatures`), { recursive: true });

      const result = await cli(repo, "settle", ID);

      expect(result.code).toBe(1);
      expect(result.stderr).toContain("contract hospital-stats is proposed: nothing ran under it that could be settled");
    });

    it("a key that is not a party's", async () => {
      const repo = await settleRepo();
      await ranRun(repo, "run-1");

      const result = await cli(repo, "settle", ID, "--key", testKey("bank-provider").file);

      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${testKey("bank-provider").address} is not a party of ${ID}`);
    });

    it("a settlement that changed after a party signed it is not overwritten", async () => {
      const repo = await settleRepo();
      await ranRun(repo, "run-1");
      await cli(repo, "settle", ID, "--key", testKey("hospital-provider").file);
      await ranRun(repo, "run-2");

      const result = await cli(repo, "settle", ID, "--format", "json");

      expect(result.code).toBe(1);
      expect(jsonOut(result).issues[0]).toMatchObject({
        file: SETTLEMENT,
        message: `differs from what the receipts price now, and 1 party has signed it (${testKey("hospital-provider").address}.json)`,
      });
      expect(readJson<{ total: string }>(repo, SETTLEMENT).total).toBe("230000");
    });

    it("an unsigned settlement that no longer matches is rewritten", async () => {
      const repo = await settleRepo();
      await ranRun(repo, "run-1");
      await cli(repo, "settle", ID);
      await ranRun(repo, "run-2");

      const result = jsonOut(await cli(repo, "settle", ID, "--format", "json"));

      expect(result.action).toBe("rewritten");
      expect(readJson<{ total: string }>(repo, SETTLEMENT).total).toBe("430000");
    });
  });

  describe("signatures that do not count", () => {
    it("the settlement edited after every party signed it: not settled, and the file is named", async () => {
      const repo = await settleRepo();
      await ranRun(repo, "run-1");
      await signEvery(repo);
      editJson(repo, SETTLEMENT, (s: any) => {
        s.parties[0].amount = "999999";
        s.total = "1029999";
      });

      const result = await status(repo);

      expect(result.state).toBe("delivered");
      expect(result.issues).toContainEqual(
        expect.objectContaining({ file: SETTLEMENT, message: "is not what the verified receipts and the contract's business terms price now" }),
      );
    });

    it("a new receipt after every party signed: the settlement no longer covers every run, so it is not settled", async () => {
      const repo = await settleRepo();
      await ranRun(repo, "run-1");
      await signEvery(repo);
      await ranRun(repo, "run-2");

      expect((await status(repo)).state).not.toBe("settled");
    });

    it.each([
      [
        "signed for another contract id",
        (r: any) => (r.message.contractId = "bank-credit-model"),
        "$.message.contractId",
        "was signed for another contract id (a replayed signature)",
      ],
      [
        "signed for another chain",
        (r: any) => (r.chainId = 1),
        "$.chainId",
        "was signed for chain 1 but the contract is on chain 31337 (a replayed signature)",
      ],
      [
        "over other payouts",
        (r: any) => (r.message.payouts[0].amount = "1"),
        "$.message",
        "signs another settlement than contracts/<id>/settlement.json (other amounts, payees, token or hash)",
      ],
      [
        "with a signature of other bytes",
        (r: any) => (r.signature = `${r.signature.slice(0, 10)}${r.signature[10] === "a" ? "b" : "a"}${r.signature.slice(11)}`),
        "$.signature",
        undefined,
      ],
    ])("a record %s", async (_name, tamper, path, message) => {
      const repo = await settleRepo();
      await ranRun(repo, "run-1");
      await signEvery(repo);
      editJson(repo, signatureFile("notary-witness"), tamper);

      const result = await status(repo);

      expect(result.state).toBe("delivered");
      const issue = result.issues.find((i) => i.file === signatureFile("notary-witness"))!;
      expect(issue.path).toBe(path);
      if (message !== undefined) expect(issue.message).toBe(message);
    });

    it("a non-party's signature does not count, and does not stand in for a party's", async () => {
      const repo = await settleRepo();
      await ranRun(repo, "run-1");
      await signEvery(repo);
      const outsider = testKey("bank-provider");
      const record = readJson<any>(repo, signatureFile("notary-witness"));
      rmSync(join(repo, signatureFile("notary-witness")));
      writeJson(repo, `contracts/${ID}/settlement-signatures/${outsider.address}.json`, { ...record, signer: outsider.address });

      const result = await status(repo);

      expect(result.state).toBe("delivered");
      expect(result.issues.map((i) => i.message)).toEqual(
        expect.arrayContaining([`${outsider.address} is not a party of the contract`, "no settlement signature by witness Data Exchange Notary"]),
      );
    });
  });

  it("a wallet signs the typed data `settle --typed-data` prints (eth_signTypedData_v4), and that signature counts", async () => {
    const repo = await settleRepo();
    await ranRun(repo, "run-1");
    await cli(repo, "settle", ID, "--key", testKey("hospital-provider").file);
    await cli(repo, "settle", ID, "--key", testKey("notary-witness").file);
    const data = jsonOut<{ types: Record<string, TypedDataField[]>; domain: Record<string, unknown>; message: Record<string, unknown> }>(
      await cli(repo, "settle", ID, "--typed-data"),
    );
    const { EIP712Domain: _domain, ...types } = data.types;
    const wallet = await testWallet("health-consumer");

    const signature = await wallet.signTypedData(data.domain, types, data.message);
    writeJson(repo, signatureFile("health-consumer"), {
      kind: "settlement",
      chainId: 31337,
      signer: getAddress(wallet.address),
      message: data.message,
      signature,
    });

    // No escrow: the domain is datomspod's usual one, bound to the contract id.
    expect(data.domain).toEqual({ name: "datomspod", version: "1", chainId: 31337, salt: keccak256(toUtf8Bytes(ID)) });
    expect((await status(repo)).state).toBe("settled");
    expect(readFileSync(join(repo, SETTLEMENT), "utf8")).toContain('"version": 1');
  });

  it("the acknowledgement is what on-delivery billing waits for", async () => {
    const repo = await settleRepo({ edit: (c) => (c.business.billing = "on-delivery") });
    await requestRun(repo, "run-1");
    await writeReceipt(repo, "run-1", receipt("run-1"));

    const waiting = await cli(repo, "settle", ID);
    await acknowledge(repo, "run-1");
    const done = await cli(repo, "settle", ID);

    expect(waiting.code).toBe(1);
    expect(waiting.stderr).toContain("run run-1 succeeded but its delivery is not acknowledged, and the contract bills on delivery");
    expect(done.code).toBe(0);
  });
});
