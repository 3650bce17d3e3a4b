/**
 * Repositories for the settlement tests: the example hospital-stats (three parties: the hospital
 * earns a data fee per run, the notary a witness fee per contract), optionally paid in the local
 * chain's token through the escrow, with runs requested by the consumer, receipts as a runner
 * writes them (the document and the runner's signature), and acknowledgements.
 */

import { rmSync } from "node:fs";
import { join } from "node:path";
import { ESCROW, LOCAL_CURRENCY } from "../../generator/escrow/artifact.js";
import { loadContract } from "../../generator/contract/load.js";
import { receiptMessage, runMessage } from "../../generator/lifecycle/facts.js";
import { signRecord } from "../../generator/signatures/records.js";
import { testWallet } from "../helpers/keys.js";
import { approveAll, signAll } from "../helpers/records.js";
import { contractJson, editJson, readJson, tempRepo, writeJson } from "../helpers/repo.js";

export const ID = "hospital-stats";

export interface UsageSpec {
  readonly phase?: "succeeded" | "failed" | "rejected" | "policy-violation";
  readonly cpuSeconds?: unknown;
  readonly durationSeconds?: unknown;
  readonly peakMemoryMiB?: unknown;
  readonly gpuSeconds?: unknown;
  readonly endedAt?: string | null;
}

/** A receipt of the shape the oracle writes, with the parts settlement reads. */
export function receipt(runId: string, spec: UsageSpec = {}): object {
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [],
    predicateType: "https://datomspod.io/receipt/v1",
    predicate: {
      contract: { id: ID, hash: "0".repeat(64) },
      run: { id: runId, parametersHash: null },
      status: { phase: spec.phase ?? "succeeded", reason: "test" },
      usage: {
        durationSeconds: "durationSeconds" in spec ? spec.durationSeconds : 8,
        cpuSeconds: "cpuSeconds" in spec ? spec.cpuSeconds : 4,
        peakMemoryMiB: "peakMemoryMiB" in spec ? spec.peakMemoryMiB : 128,
        gpuSeconds: "gpuSeconds" in spec ? spec.gpuSeconds : 0,
        notes: [],
        pod: null,
      },
      startedAt: "2026-12-01T09:59:55.800Z",
      endedAt: spec.endedAt === undefined ? "2026-12-01T10:00:00.000Z" : spec.endedAt,
      outputs: {
        delivery: "local",
        ownerReview: false,
        policy: { ok: true, outputBytes: 10, violations: [] },
        sealedFor: [],
        wrappedKeys: {},
        encryption: null,
      },
      instance: null,
      deletion: { pod: "run-x", removed: true, leftovers: [], checkedAt: "2026-12-01T10:00:03.000Z" },
    },
  };
}

/**
 * hospital-stats with no runs yet; `escrow` pays it in the local token through the escrow
 * (cap 5000 DLD, expiring 2029-01-01), which every party signs again; `edit` changes the business
 * terms first.
 */
export async function settleRepo(options: { escrow?: boolean; edit?: (contract: any) => void } = {}): Promise<string> {
  const repo = tempRepo([ID]);
  rmSync(join(repo, "contracts", ID, "runs"), { recursive: true, force: true });
  if (options.escrow === true || options.edit !== undefined) {
    editJson(repo, contractJson(ID), (c: any) => {
      if (options.escrow === true) {
        c.business.currency = { ...LOCAL_CURRENCY };
        c.business.escrow = { address: ESCROW.address, cap: "5000", expiry: "2029-01-01T00:00:00Z" };
      }
      options.edit?.(c);
    });
    await signAll(repo, ID);
    await approveAll(repo, ID);
  }
  return repo;
}

export async function requestRun(repo: string, runId: string): Promise<void> {
  const loaded = loadContract(repo, ID);
  const parameters = { groupBy: "region" };
  writeJson(
    repo,
    `contracts/${ID}/runs/${runId}.json`,
    await signRecord(await testWallet("health-consumer"), "run", ID, loaded.contract.chainId, runMessage(loaded, runId, parameters), { parameters }),
  );
}

/** The receipt and its runner's signature, as `datomspod run --key` commits them. */
export async function writeReceipt(repo: string, runId: string, document: object, runner = "hospital-provider"): Promise<void> {
  const loaded = loadContract(repo, ID);
  writeJson(repo, `contracts/${ID}/receipts/${runId}.json`, document);
  writeJson(
    repo,
    `contracts/${ID}/receipt-signatures/${runId}.json`,
    await signRecord(await testWallet(runner), "receipt", ID, loaded.contract.chainId, receiptMessage(loaded, runId, document)),
  );
}

export async function acknowledge(repo: string, runId: string): Promise<void> {
  const loaded = loadContract(repo, ID);
  const document = readJson<object>(repo, `contracts/${ID}/receipts/${runId}.json`);
  writeJson(
    repo,
    `contracts/${ID}/acks/${runId}.json`,
    await signRecord(await testWallet("health-consumer"), "ack", ID, loaded.contract.chainId, receiptMessage(loaded, runId, document)),
  );
}

/** A run requested, run (its receipt signed by the hospital's runner) and acknowledged. */
export async function ranRun(repo: string, runId: string, spec: UsageSpec = {}): Promise<void> {
  await requestRun(repo, runId);
  await writeReceipt(repo, runId, receipt(runId, spec));
  await acknowledge(repo, runId);
}

export const PARTY_KEYS = ["hospital-provider", "health-consumer", "notary-witness"] as const;
