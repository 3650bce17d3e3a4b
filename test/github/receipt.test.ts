/**
 * A receipt arriving from a cluster's operator (repository_dispatch datomspod-receipt) is written
 * only when it would count: requested, not there yet, of this contract and run, signed by a runner.
 */

import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { completeReceipt } from "../../generator/pod/roles/receipt.js";
import { readSealedReceipt } from "../../generator/publish/sealed.js";
import { writeRunReceipt } from "../../generator/delivery/receipts.js";
import { loadContract } from "../../generator/contract/load.js";
import { runCli, jsonOut } from "../helpers/cli.js";
import { readJson, tempRepo } from "../helpers/repo.js";
import { testWallet } from "../helpers/keys.js";
import { signRecord } from "../../generator/signatures/records.js";
import { receiptMessage } from "../../generator/lifecycle/facts.js";
import { receiptDispatch } from "../../generator/operator/receipt.js";
import { CONTRACT_ID, RUN_ID, makePod, runPod } from "../pod/roles/pod.js";
import { fixture, merge, setEvent, useRecordedGitHub } from "./recorded.js";

useRecordedGitHub();

const RECEIPT = `contracts/${CONTRACT_ID}/receipts/${RUN_ID}.json`;
const SIGNATURE = `contracts/${CONTRACT_ID}/receipt-signatures/${RUN_ID}.json`;

/** What the operator sends: the receipt of run-1 and its runner's signature, as `datomspod run` writes them. */
async function dispatched(): Promise<{ repo: string; payload: any }> {
  const repo = tempRepo([CONTRACT_ID]);
  const pod = makePod();
  await runPod(pod);
  const receipt = completeReceipt(readSealedReceipt(pod.sealed), {
    instance: { job: `clusters/local/${CONTRACT_ID}/job-run-1.yaml`, sha256: "0".repeat(64) },
    deletion: { podRemoved: true, volumesRemoved: true },
  });
  await writeRunReceipt(repo, loadContract(repo, CONTRACT_ID), RUN_ID, receipt, await testWallet("hospital-provider"));
  const payload = { contract: CONTRACT_ID, run: RUN_ID, receipt: readJson(repo, RECEIPT), signature: readJson(repo, SIGNATURE) };
  const bytes = { receipt: readFileSync(join(repo, RECEIPT), "utf8"), signature: readFileSync(join(repo, SIGNATURE), "utf8") };
  rmSync(join(repo, RECEIPT));
  rmSync(join(repo, SIGNATURE));
  return { repo, payload: { ...payload, bytes } };
}

function dispatch(payload: unknown): void {
  setEvent("repository_dispatch", merge(fixture("events/repository_dispatch.json"), { action: "datomspod-receipt", client_payload: payload }));
}

describe("receive-receipt", () => {
  it("writes the receipt and its signature byte for byte as the runner would, and the lifecycle counts it", async () => {
    const { repo, payload } = await dispatched();
    const { bytes, ...sent } = payload;
    dispatch(sent);

    const result = await runCli(["github", "receive-receipt", "--format", "json"], { repo });

    expect(result.code).toBe(0);
    expect(jsonOut(result).files).toEqual([SIGNATURE, RECEIPT]);
    expect(readFileSync(join(repo, RECEIPT), "utf8")).toBe(bytes.receipt);
    expect(readFileSync(join(repo, SIGNATURE), "utf8")).toBe(bytes.signature);
    const status = await runCli(["contract", "status", CONTRACT_ID, "--format", "json"], { repo });
    expect(jsonOut(status).runs).toEqual([{ id: RUN_ID, requested: true, receipt: true, acknowledged: false }]);
  });

  it("takes the payload the cluster's operator renders (datomspod operator --dispatch-dir) and writes what the operator would have committed", async () => {
    const { repo, payload } = await dispatched();
    const receipt = completeReceipt(payload.receipt, {});
    const rendered = await receiptDispatch(loadContract(repo, CONTRACT_ID), RUN_ID, receipt, await testWallet("hospital-provider"));
    dispatch(rendered);

    const result = await runCli(["github", "receive-receipt", "--format", "json"], { repo });

    expect(result.code).toBe(0);
    expect(readFileSync(join(repo, RECEIPT), "utf8")).toBe(payload.bytes.receipt);
    expect(readFileSync(join(repo, SIGNATURE), "utf8")).toBe(payload.bytes.signature);
  });

  it("writes nothing for a receipt signed by someone who is not a runner (the consumer)", async () => {
    const { repo, payload } = await dispatched();
    const loaded = loadContract(repo, CONTRACT_ID);
    const forged = await signRecord(await testWallet("health-consumer"), "receipt", CONTRACT_ID, 31337, receiptMessage(loaded, RUN_ID, payload.receipt));
    dispatch({ contract: CONTRACT_ID, run: RUN_ID, receipt: payload.receipt, signature: forged });

    const result = await runCli(["github", "receive-receipt", "--format", "json"], { repo });

    expect(result.code).toBe(1);
    expect(jsonOut(result).issues).toContainEqual(
      expect.objectContaining({ path: "$.signer", message: `${forged.signer} is not one of the contract's runners (evidence.runners)` }),
    );
    expect(existsSync(join(repo, RECEIPT)) || existsSync(join(repo, SIGNATURE))).toBe(false);
  });

  it("writes nothing for a receipt changed after it was signed", async () => {
    const { repo, payload } = await dispatched();
    const receipt = structuredClone(payload.receipt);
    receipt.predicate.run.exitCode = 1;
    dispatch({ contract: CONTRACT_ID, run: RUN_ID, receipt, signature: payload.signature });

    const result = await runCli(["github", "receive-receipt", "--format", "json"], { repo });

    expect(result.code).not.toBe(0);
    expect(existsSync(join(repo, RECEIPT))).toBe(false);
  });

  it.each<[string, (p: any) => any, string]>([
    ["a run id that climbs out of the folder", (p) => ({ ...p, run: "../../x" }), "is not a DNS-1123 label"],
    ["the receipt of another run", (p) => ({ ...p, run: "run-9" }), "is the receipt of hospital-stats run-1"],
    ["a field GitHub's sender added", (p) => ({ ...p, note: "hi" }), "is not a field of a receipt dispatch"],
  ])("refuses %s", async (_what, change, message) => {
    const { repo, payload } = await dispatched();
    const { bytes: _bytes, ...sent } = payload;
    dispatch(change(sent));

    const result = await runCli(["github", "receive-receipt", "--format", "json"], { repo });

    expect(result.code).toBe(2);
    expect(JSON.stringify(jsonOut(result).issues)).toContain(message);
    expect(existsSync(join(repo, RECEIPT))).toBe(false);
  });

  it("refuses the receipt of a run whose request is gone", async () => {
    const { repo, payload } = await dispatched();
    const { bytes: _bytes, ...sent } = payload;
    rmSync(join(repo, "contracts", CONTRACT_ID, "runs", `${RUN_ID}.json`));
    dispatch(sent);

    const result = await runCli(["github", "receive-receipt"], { repo });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("run run-1 of hospital-stats has no valid run request");
  });

  it("refuses another event type", async () => {
    const { repo } = await dispatched();
    setEvent("repository_dispatch", fixture("events/repository_dispatch.json"));

    const result = await runCli(["github", "receive-receipt"], { repo });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('$.action: is "on-demand-test" (fix: send the event type datomspod-receipt)');
  });
});
