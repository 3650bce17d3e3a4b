/**
 * Slow (real containers, `datomspod run`): every command that executes applies the gate `check`
 * applies, at the real clock. A contract that check refuses is neither rendered nor run, even when
 * someone writes its manifests by hand; a run is never judged at a time of the caller's choosing;
 * a contract whose validity ended since it was compiled does not run.
 */

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadContract } from "../../generator/contract/load.js";
import { renderInstance } from "../../generator/compile/instance.js";
import { objectFileName } from "../../generator/compile/plan.js";
import { instanceBase, prepareContract } from "../../generator/compile/prepare.js";
import { toYaml } from "../../generator/compile/yaml.js";
import { podmanMissing, skipMessage } from "../run/podman.js";
import { PROVIDER, RUN_ID, dp, podLeftovers, prepareRun, readReceipt, type PreparedRun } from "../run/run-helpers.js";

const missing = await podmanMissing();
skipMessage(missing);

const slow = { timeout: 300_000 };

/**
 * What an attacker with write access to clusters/ commits: the instance the generator would render,
 * the gate skipped. Returns the Job's name (the pod the runner would create is named after it).
 */
function writeInstanceByHand(prepared: PreparedRun): string {
  const loaded = loadContract(prepared.repo, prepared.id);
  const resolved = prepareContract(prepared.repo, loaded).prepared!;
  const objects = renderInstance({ ...instanceBase(loaded, resolved), runs: [{ id: RUN_ID, parameters: loaded.contract.inputs.algorithm.parameters ?? {} }] });
  const dir = join(prepared.repo, "clusters", "local", prepared.id);
  mkdirSync(dir, { recursive: true });
  for (const object of objects) writeFileSync(join(dir, objectFileName(object)), toYaml(object));
  return objects.find((object) => object.kind === "Job")!.metadata.name;
}

describe.skipIf(missing !== undefined)("every command that executes fails closed", () => {
  it("a contract check refuses (raw records out in a medical scenario) is not compiled, and not run from hand-written manifests", slow, async (t) => {
    const prepared = await prepareRun(t, {
      algorithm: "hostile-raw-copy.py",
      kinds: ["aggregates", "raw-records"],
      policy: { noRawRecords: false, fileTypes: ["csv", "json"] },
      scenario: "medical-research",
      compile: false,
    });

    const check = await dp(prepared.repo, "check", prepared.id, "--format", "json");
    const compile = await dp(prepared.repo, "compile");
    const compiled = existsSync(join(prepared.repo, "clusters", "local", prepared.id));
    const job = writeInstanceByHand(prepared);
    const run = await dp(prepared.repo, "run", prepared.id, RUN_ID, "--key", PROVIDER.file);

    expect(check.code).toBe(1);
    expect(JSON.stringify(JSON.parse(check.stdout).contracts[0].policy.deny)).toContain(`"rule":"raw-records"`);
    expect(compile.code).toBe(1);
    expect(compile.stdout).toContain(`REFUSED  ${prepared.id}`);
    expect(compiled).toBe(false);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("does not pass the gate (what `datomspod check` shows), so nothing runs");
    expect(readReceipt(prepared.repo, prepared.id)).toBeUndefined();
    expect(await podLeftovers(job)).toEqual([]);
  });

  it("run has no --at: a run is judged at the real clock only", slow, async (t) => {
    const prepared = await prepareRun(t, { algorithm: "ocean-env.py" });

    const run = await dp(prepared.repo, "run", prepared.id, RUN_ID, "--key", PROVIDER.file, "--at", "2026-12-01T00:00:00Z");

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--at");
    expect(readReceipt(prepared.repo, prepared.id)).toBeUndefined();
  });

  it("a contract whose validity ended after it was compiled does not run, whatever the manifests say", slow, async (t) => {
    const notAfter = new Date(Math.ceil((Date.now() + 40_000) / 1000) * 1000).toISOString().replace(".000Z", "Z");
    const notBefore = new Date(Date.now() - 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const prepared = await prepareRun(t, { algorithm: "ocean-env.py", validity: { notBefore, notAfter } });
    const compiledWhileValid = existsSync(join(prepared.repo, "clusters", "local", prepared.id, "namespace.yaml"));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(notAfter) - Date.now() + 1_000)));

    const run = await dp(prepared.repo, "run", prepared.id, RUN_ID, "--key", PROVIDER.file);
    const preview = await dp(prepared.repo, "compile", "--at", notBefore);

    expect(compiledWhileValid).toBe(true);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`contract ${prepared.id} is expired; only an active contract runs`);
    expect(readReceipt(prepared.repo, prepared.id)).toBeUndefined();
    // A preview at a time inside the window writes nothing; the committed folder stays as it was.
    expect(preview.code).toBe(0);
    expect(existsSync(join(prepared.repo, "clusters", "local", prepared.id, "namespace.yaml"))).toBe(true);
  });

  it("a run key that is not one of the contract's runners is refused before anything starts", slow, async (t) => {
    const prepared = await prepareRun(t, { algorithm: "ocean-env.py" });

    const run = await dp(prepared.repo, "run", prepared.id, RUN_ID, "--key", join(prepared.repo, "..", "nonexistent.json"));
    const byWitness = await dp(prepared.repo, "run", prepared.id, RUN_ID, "--key", join(PROVIDER.file, "..", "notary-witness.json"));

    expect(run.code).toBe(2);
    expect(byWitness.code).toBe(2);
    expect(byWitness.stderr).toContain("is not a runner of");
    expect(readReceipt(prepared.repo, prepared.id)).toBeUndefined();
  });
});
