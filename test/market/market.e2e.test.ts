/**
 * Slow (real containers, `datomspod run`): the algorithm market end to end. An author publishes a
 * package, the data owner and the witness approve it once with limits, a contract names it by
 * digest with no approval and no code of its own, and a real run on this machine inherits the
 * approval and delivers. Then the owner revokes: the next requested run starts nothing.
 */

import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { podmanMissing, skipMessage } from "../run/podman.js";
import { ALGORITHMS, CONSUMER, PATIENTS_DID, PROVIDER, WITNESS, dp, fetchedJson, prepareRun, readReceipt, runPrepared } from "../run/run-helpers.js";

const missing = await podmanMissing();
skipMessage(missing);

const slow = { timeout: 420_000 };
const REF = "counts@1.0.0";

async function ok(repo: string, ...argv: string[]): Promise<void> {
  const result = await dp(repo, ...argv);
  if (result.code !== 0) throw new Error(`datomspod ${argv.join(" ")} exited ${result.code}:\n${result.stdout}${result.stderr}`);
}

describe.skipIf(missing !== undefined)("the algorithm market on a real run", () => {
  it("publish → approve once with limits → a contract uses the package → the run inherits the approval → a revocation stops the next run", slow, async (t) => {
    const prepared = await prepareRun(t, { algorithm: "ocean-params.py", parameters: { groupBy: "region", minGroupSize: 2 }, compile: false });
    const { repo, id, contract } = prepared;
    const limits = join(repo, "limits.json");
    writeFileSync(
      limits,
      JSON.stringify({
        datasets: [PATIENTS_DID],
        scenarios: [contract.opsc.scenario],
        clusters: ["local"],
        parameters: { minGroupSize: { minimum: 2 }, groupBy: { enum: ["region", "sex"] } },
        validity: contract.business.validity,
      }),
    );
    await ok(repo, "algorithm", "new", REF, "--code", join(ALGORITHMS, "ocean-params.py"), "--environment", "python", "--author", CONSUMER.address);
    await ok(repo, "algorithm", "publish", REF, "--key", CONSUMER.file);
    for (const key of [PROVIDER, WITNESS]) await ok(repo, "algorithm", "approve", REF, "--key", key.file, "--limits", limits);
    await ok(repo, "algorithm", "use", REF, id);
    for (const folder of ["approvals", "algorithm", "signatures", "runs"]) rmSync(join(repo, "contracts", id, folder), { recursive: true, force: true });
    for (const key of [PROVIDER, CONSUMER, WITNESS]) await ok(repo, "contract", "sign", id, "--key", key.file);
    await ok(repo, "request", id, "run-1", "--key", CONSUMER.file);
    await ok(repo, "compile");

    const run = await runPrepared(prepared);
    const result = await fetchedJson(run);
    const revoked = await dp(repo, "algorithm", "revoke", REF, "--key", PROVIDER.file, "--reason", "withdrawn");
    await ok(repo, "request", id, "run-2", "--key", CONSUMER.file);
    const next = await dp(repo, "run", id, "run-2", "--key", PROVIDER.file);

    expect(existsSync(join(repo, "contracts", id, "approvals"))).toBe(false);
    expect(run.result.code, run.result.stdout + run.result.stderr).toBe(0);
    expect(run.receipt!.predicate.status.phase).toBe("succeeded");
    expect(run.receipt!.predicate.inputs.checked.map((c) => c.file)).toEqual(["ocean-params.py", "patients.csv"]);
    expect(result).toEqual({ params: { groupBy: "region", minGroupSize: 2 }, counts: { north: 2 }, declared: expect.any(Array) });
    expect(revoked.code).toBe(0);
    expect(next.code).not.toBe(0);
    expect(next.stderr).toContain(`was revoked by provider ${PROVIDER.address}`);
    expect(readReceipt(repo, id, "run-2")).toBeUndefined();
  });
});
