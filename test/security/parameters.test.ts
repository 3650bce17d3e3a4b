/**
 * Parameters and privacy controls (issue 9): the consumer cannot move a privacy control, not even
 * with a run request it signs itself, bypassing `datomspod request`. The approval fixes every
 * parameter but those `consumerParameters` lists, within their bounds; `compile` renders no Job for
 * such a request and `run` refuses it before anything starts.
 */

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadContract } from "../../generator/contract/load.js";
import { runMessage } from "../../generator/lifecycle/facts.js";
import { signRecord } from "../../generator/signatures/records.js";
import { cli } from "../helpers/cli.js";
import { testKey, testWallet } from "../helpers/keys.js";
import { tempRepo, writeJson } from "../helpers/repo.js";

const ID = "hospital-stats";

/** A run request the consumer signs by hand, with whatever parameters it likes. */
async function signedRequest(repo: string, runId: string, parameters: Record<string, unknown>): Promise<void> {
  const loaded = loadContract(repo, ID);
  const record = await signRecord(await testWallet("health-consumer"), "run", ID, loaded.contract.chainId, runMessage(loaded, runId, parameters), {
    parameters,
  });
  writeJson(repo, `contracts/${ID}/runs/${runId}.json`, record);
}

function jobs(repo: string): string[] {
  const dir = join(repo, "clusters", "local", ID);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith("job-")) : [];
}

describe("a consumer moving a privacy control with a request it signs itself", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["minGroupSize lowered to 1", { groupBy: "region", minGroupSize: 1 }, '"minGroupSize" is fixed by the approval'],
    ["differentialPrivacyEpsilon raised", { groupBy: "region", differentialPrivacyEpsilon: 100 }, '"differentialPrivacyEpsilon"'],
    ["a parameter outside its allowed values", { groupBy: "patient_id" }, '"patient_id" must be one of'],
    ["a parameter the approval does not know", { groupBy: "region", exportRows: true }, '"exportRows" is not a parameter the consumer may set'],
  ])("%s: compile renders no Job for it, run refuses it before anything starts", async (_, parameters, message) => {
    const repo = tempRepo([ID]);
    await signedRequest(repo, "run-2", parameters);

    const compiled = await cli(repo, "compile");
    const run = await cli(repo, "run", ID, "run-2", "--key", testKey("hospital-provider").file);

    expect(compiled.stdout + compiled.stderr).toContain(message);
    expect(jobs(repo).some((f) => f.includes("run-2"))).toBe(false);
    expect(run.code).not.toBe(0);
    // Refused by the gate, naming the request, before any image or pod is looked at.
    expect(run.stderr).toMatch(/run-2/);
    expect(run.stderr).not.toMatch(/podman|image/);
    expect(existsSync(join(repo, "contracts", ID, "receipts", "run-2.json"))).toBe(false);
  });
});
