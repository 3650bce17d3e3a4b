/**
 * `datomspod contract status` end to end: the state of the example contracts at several times, and
 * the whole lifecycle of hospital-stats driven by the files a party commits (run request, receipt,
 * acknowledgement, deletion record, revocation), including records that must not count.
 */

import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadContract } from "../../generator/contract/load.js";
import { receiptMessage, runMessage } from "../../generator/lifecycle/facts.js";
import { deletionMessage } from "../../generator/operator/deletion.js";
import { signRecord } from "../../generator/signatures/records.js";
import { cli, expectIssues, jsonOut, runCli, type ExpectedIssue } from "../helpers/cli.js";
import { testKey, testWallet } from "../helpers/keys.js";
import { contractJson, exampleIds, readJson, tempRepo, writeJson, writeText } from "../helpers/repo.js";

const ID = "hospital-stats";

/** The deletion record the cluster's operator writes, signed by `signer`. */
async function deletionRecord(repo: string, signer: string): Promise<unknown> {
  const loaded = loadContract(repo, ID);
  const observed = {
    contract: ID,
    namespace: `dp-${ID}`,
    uid: "6f1e0c2d-0000-4000-8000-00000000000a",
    deletionRequestedAt: "2026-12-02T00:00:00Z",
    goneAt: "2026-12-02T00:00:03Z",
  };
  return signRecord(await testWallet(signer), "deletion", ID, loaded.contract.chainId, deletionMessage(ID, loaded.hash, "local", observed));
}
const shift = (time: string, ms: number): string => new Date(Date.parse(time) + ms).toISOString();

describe.each(exampleIds().map((id) => [id]))("contract status of %s", (id) => {
  it.each<[string, (v: { notBefore: string; notAfter: string }) => string, string]>([
    ["a day before notBefore", (v) => shift(v.notBefore, -86_400_000), "approved"],
    ["a millisecond before notBefore", (v) => shift(v.notBefore, -1), "approved"],
    ["at notBefore", (v) => v.notBefore, "active"],
    ["on 2026-11-24", () => "2026-11-24T00:00:00Z", "active"],
    ["a millisecond before notAfter", (v) => shift(v.notAfter, -1), "active"],
    ["at notAfter", (v) => v.notAfter, "expired"],
    ["a year after notAfter", (v) => shift(v.notAfter, 365 * 86_400_000), "expired"],
  ])("%s → %s", async (_name, at, state) => {
    const repo = tempRepo([id]);
    const time = at(readJson<any>(repo, contractJson(id)).business.validity);

    const result = await cli(repo, "contract", "status", id, "--at", time);

    expect(result).toEqual({ code: 0, stdout: `${id}: ${state}\n`, stderr: "" });
  });

  it("uses the clock when --at is not given", async () => {
    const repo = tempRepo([id]);

    const before = await runCli(["contract", "status", id], { repo, now: "2020-01-01T00:00:00Z" });
    const after = await runCli(["contract", "status", id], { repo, now: "2099-01-01T00:00:00Z" });

    expect([before.stdout, after.stdout]).toEqual([`${id}: approved\n`, `${id}: expired\n`]);
  });
});

/** hospital-stats, signed and approved, without run requests. */
function freshRepo(): string {
  const repo = tempRepo([ID]);
  rmSync(join(repo, "contracts", ID, "runs"), { recursive: true, force: true });
  return repo;
}

async function state(repo: string, at = "2026-11-24T00:00:00Z"): Promise<{ state: string; issues: ExpectedIssue[] }> {
  const result = jsonOut(await cli(repo, "contract", "status", ID, "--format", "json", "--at", at));
  return { state: result.state, issues: result.issues };
}

async function requestRun(repo: string, runId: string, key = "health-consumer", parameters: Record<string, unknown> = { groupBy: "region" }): Promise<void> {
  const loaded = loadContract(repo, ID);
  writeJson(
    repo,
    `contracts/${ID}/runs/${runId}.json`,
    await signRecord(await testWallet(key), "run", ID, loaded.contract.chainId, runMessage(loaded, runId, parameters), { parameters }),
  );
}

/** Commits a receipt the way a runner does: the document and the runner's signature of it. */
async function writeReceipt(repo: string, runId: string, receipt: unknown, runner = "hospital-provider"): Promise<void> {
  const loaded = loadContract(repo, ID);
  writeJson(repo, `contracts/${ID}/receipts/${runId}.json`, receipt);
  writeJson(
    repo,
    `contracts/${ID}/receipt-signatures/${runId}.json`,
    await signRecord(await testWallet(runner), "receipt", ID, loaded.contract.chainId, receiptMessage(loaded, runId, receipt)),
  );
}

async function acknowledge(repo: string, runId: string, key = "health-consumer"): Promise<void> {
  const loaded = loadContract(repo, ID);
  const receipt = readJson(repo, `contracts/${ID}/receipts/${runId}.json`);
  writeJson(
    repo,
    `contracts/${ID}/acks/${runId}.json`,
    await signRecord(await testWallet(key), "ack", ID, loaded.contract.chainId, receiptMessage(loaded, runId, receipt)),
  );
}

async function revoke(repo: string, key: string): Promise<void> {
  const loaded = loadContract(repo, ID);
  const message = { contractId: ID, contractHash: `0x${loaded.hash}`, reason: "the data owner withdrew consent" };
  writeJson(repo, `contracts/${ID}/revocation.json`, await signRecord(await testWallet(key), "revocation", ID, loaded.contract.chainId, message));
}

describe("the lifecycle of hospital-stats, driven by committed files", () => {
  it("goes active → active (requested) → ran → delivered → deleted, and is revoked by a party", async () => {
    const repo = freshRepo();
    const states = [(await state(repo)).state];

    await requestRun(repo, "run-1");
    states.push((await state(repo)).state);
    await writeReceipt(repo, "run-1", { run: "run-1", outputs: [], exitCode: 0 });
    states.push((await state(repo)).state);
    await acknowledge(repo, "run-1");
    states.push((await state(repo)).state);
    writeJson(repo, `contracts/${ID}/deletion.json`, { deleted: "2026-12-02T00:00:00Z" });
    // an unsigned record of a deletion counts for nothing
    states.push((await state(repo)).state);
    // nor does one signed by a party that is not a runner
    writeJson(repo, `contracts/${ID}/deletion.json`, await deletionRecord(repo, "health-consumer"));
    const byConsumer = await state(repo);
    states.push(byConsumer.state);
    writeJson(repo, `contracts/${ID}/deletion.json`, await deletionRecord(repo, "hospital-provider"));
    states.push((await state(repo)).state);
    await revoke(repo, "hospital-provider");
    states.push((await state(repo)).state);

    expect(states).toEqual(["active", "active", "ran", "delivered", "delivered", "delivered", "deleted", "revoked"]);
    expect(byConsumer.issues.map((issue) => `${issue.file} ${issue.path}`)).toContain(`contracts/${ID}/deletion.json $.signer`);
  });

  it("is proposed while a party has not signed and signed while an approval is missing", async () => {
    const repo = freshRepo();
    rmSync(join(repo, `contracts/${ID}/approvals/${testKey("notary-witness").address}.json`));
    const signed = await state(repo);
    rmSync(join(repo, `contracts/${ID}/signatures/${testKey("health-consumer").address}.json`));
    const proposed = await state(repo);

    expect([signed.state, proposed.state]).toEqual(["signed", "proposed"]);
  });

  it("does not count a run request by the provider", async () => {
    const repo = freshRepo();
    await requestRun(repo, "run-1", "hospital-provider");
    await writeReceipt(repo, "run-1", { run: "run-1" });
    await acknowledge(repo, "run-1");

    await expectIssues(repo, ["contract", "status", ID], 0, [
      { file: `contracts/${ID}/runs/run-1.json`, path: "$.signer", message: "run requests are signed by the consumer", fix: "sign with the consumer's key" },
      {
        file: `contracts/${ID}/receipts/run-1.json`,
        path: "$",
        message: "is a receipt for run run-1, which has no valid run request",
        fix: "a run happens only on the consumer's signed request: remove the receipt or restore the request",
      },
      { file: `contracts/${ID}/acks/run-1.json`, path: "$", message: "acknowledges run run-1, which has no receipt", fix: "remove it" },
    ]);
    // A receipt without a valid request does not count, so neither does its acknowledgement.
    expect((await state(repo)).state).toBe("active");
  });

  it("does not count a run request over other parameters than it carries", async () => {
    const repo = freshRepo();
    await requestRun(repo, "run-1");
    const file = `contracts/${ID}/runs/run-1.json`;
    writeJson(repo, file, { ...readJson<object>(repo, file), parameters: { groupBy: "patientId" } });

    const result = await state(repo);

    expect(result.state).toBe("active");
    expect(result.issues).toEqual([
      { file, path: "$.message.parametersHash", message: expect.stringMatching(/^differs from the expected "0x[0-9a-f]{64}"$/), fix: "sign the record again" },
      {
        file,
        path: "$.parameters.groupBy",
        message: '"patientId" must be one of "region", "sex", "diagnosis"',
        fix: "request a value within the approved limits",
      },
    ]);
  });

  it("does not count a receipt that no runner signed, or that a party who is not a runner signed", async () => {
    const repo = freshRepo();
    await requestRun(repo, "run-1");
    await writeReceipt(repo, "run-1", { run: "run-1" }, "health-consumer");
    const byConsumer = await state(repo);
    rmSync(join(repo, `contracts/${ID}/receipt-signatures/run-1.json`));

    const unsigned = await state(repo);

    expect(byConsumer).toEqual({
      state: "active",
      issues: [
        {
          file: `contracts/${ID}/receipt-signatures/run-1.json`,
          path: "$.signer",
          message: `${testKey("health-consumer").address} is not one of the contract's runners (evidence.runners)`,
          fix: "only a runner the parties named signs receipts",
        },
      ],
    });
    expect(unsigned).toEqual({
      state: "active",
      issues: [
        {
          file: `contracts/${ID}/receipt-signatures/run-1.json`,
          path: "$",
          message: "the receipt of run run-1 is signed by no runner, so it does not count",
          fix: "the runner writes it with the receipt (datomspod run --key FILE); restore it from git",
        },
      ],
    });
  });

  it("does not count an acknowledgement by someone who is not a recipient", async () => {
    const repo = freshRepo();
    await requestRun(repo, "run-1");
    await writeReceipt(repo, "run-1", { run: "run-1" });
    await acknowledge(repo, "run-1", "notary-witness");

    const result = await state(repo);

    expect(result).toEqual({
      state: "ran",
      issues: [
        {
          file: `contracts/${ID}/acks/run-1.json`,
          path: "$.signer",
          message: "is not an output recipient",
          fix: "a recipient of the outputs acknowledges delivery",
        },
      ],
    });
  });

  it("does not count an acknowledgement of a run without receipt", async () => {
    const repo = freshRepo();
    await requestRun(repo, "run-1");
    await writeReceipt(repo, "run-1", { run: "run-1" });
    await acknowledge(repo, "run-1");
    rmSync(join(repo, `contracts/${ID}/receipts/run-1.json`));

    const result = await state(repo);

    expect(result).toEqual({
      state: "active",
      issues: [{ file: `contracts/${ID}/acks/run-1.json`, path: "$", message: "acknowledges run run-1, which has no receipt", fix: "remove it" }],
    });
  });

  it("does not count an acknowledgement of another receipt", async () => {
    const repo = freshRepo();
    await requestRun(repo, "run-1");
    await writeReceipt(repo, "run-1", { run: "run-1", outputs: ["a"] });
    await acknowledge(repo, "run-1");
    await writeReceipt(repo, "run-1", { run: "run-1", outputs: ["b"] });

    const result = await state(repo);

    expect(result).toEqual({
      state: "ran",
      issues: [
        { file: `contracts/${ID}/acks/run-1.json`, path: "$.message.receiptHash", message: "refers to another receipt", fix: "sign the current receipt" },
      ],
    });
  });

  it("does not count a revocation by someone who is not a party", async () => {
    const repo = freshRepo();
    await revoke(repo, "bank-provider");

    const result = await state(repo);

    expect(result).toEqual({
      state: "active",
      issues: [{ file: `contracts/${ID}/revocation.json`, path: "$.signer", message: "is not a party", fix: "only a party revokes" }],
    });
  });

  it("reports record files not named after a run id", async () => {
    const repo = freshRepo();
    writeText(repo, `contracts/${ID}/runs/Run_1.json`, "{}\n");
    writeText(repo, `contracts/${ID}/receipts/notes.txt`, "x\n");

    const result = await state(repo);

    expect(result).toEqual({
      state: "active",
      issues: [
        {
          file: `contracts/${ID}/runs/Run_1.json`,
          path: "$",
          message: "is not named <run id>.json",
          fix: "run ids are DNS-1123 labels of at most 20 characters",
        },
        {
          file: `contracts/${ID}/receipts/notes.txt`,
          path: "$",
          message: "is not named <run id>.json",
          fix: "run ids are DNS-1123 labels of at most 20 characters",
        },
      ],
    });
  });

  it("expires with a run still pending, and reports the state in JSON with the facts", async () => {
    const repo = freshRepo();
    await requestRun(repo, "run-1");

    const { notAfter } = readJson<any>(repo, contractJson(ID)).business.validity;

    const result = jsonOut(await cli(repo, "contract", "status", ID, "--format", "json", "--at", notAfter));

    expect(result).toEqual({
      id: ID,
      state: "expired",
      at: new Date(notAfter).toISOString(),
      signed: true,
      approved: true,
      runs: [{ id: "run-1", requested: true, receipt: false, acknowledged: false }],
      issues: [],
    });
  });
});
