/**
 * Slow (real containers, `datomspod run`): what runs is exactly what the data owners approved. The
 * role image that applies the output policy and seals is part of the approval (through the cluster
 * profile's digest and the role image's digest): a role image with the policy check turned off,
 * pinned in the unsigned cluster profile, voids every approval, so nothing runs; only the owners'
 * new approval could let it run, which is the point: nobody but them decides.
 */

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { execEngine } from "../../generator/run/exec.js";
import { ROOT } from "../helpers/repo.js";
import { podmanMissing, skipMessage } from "../run/podman.js";
import { CONSUMER, PROVIDER, RUN_ID, WITNESS, dp, fetchRun, podLeftovers, prepareRun, readReceipt, runImages, runPrepared } from "../run/run-helpers.js";

const missing = await podmanMissing();
skipMessage(missing);

const slow = { timeout: 420_000 };

/** The verdict of the output policy datomspace-out applies, as the pod image's bundle holds it. */
const VERDICT = "return { ok: detailed.length === 0,";

/** The chunk of the bundle (dist/bundle/, what the pod image's roles run) that holds the output policy's verdict. */
function policyChunk(): string {
  const dir = join(ROOT, "dist", "bundle");
  const chunks = readdirSync(dir).filter((name) => name.endsWith(".js") && readFileSync(join(dir, name), "utf8").includes(VERDICT));
  if (chunks.length !== 1)
    throw new Error(`dist/bundle holds the output policy's verdict ${JSON.stringify(VERDICT)} in ${chunks.length} chunks: update this test's attack`);
  return chunks[0];
}

/**
 * Builds a role image like the pinned one, with the output policy's verdict forced to "ok": what an
 * operator who wants the raw table out would run. Tagged in the pod image's own repository.
 */
async function buildEvilPodImage(pod: { reference: string; digest: string }): Promise<{ tag: string; digest: string; id: string }> {
  const repository = pod.reference.split(":")[0];
  const dir = mkdtempSync(join(tmpdir(), "datomspod-evil-pod-"));
  try {
    // The pod image packs the built dist/ as it is: its bundled policy is this checkout's.
    const chunk = policyChunk();
    const original = readFileSync(join(ROOT, "dist", "bundle", chunk), "utf8");
    writeFileSync(join(dir, "policy.js"), original.replace(VERDICT, "return { ok: true,"));
    writeFileSync(join(dir, "Containerfile"), `FROM ${repository}@${pod.digest}\nCOPY policy.js /opt/datomspod/app/dist/bundle/${chunk}\n`);
    const tag = `evil-${randomBytes(4).toString("hex")}`;
    await execEngine("podman", ["build", "--network", "none", "--quiet", "--tag", `${repository}:${tag}`, "--file", join(dir, "Containerfile"), dir], {
      timeoutMs: 300_000,
    });
    const [digest = "", id = ""] = (await execEngine("podman", ["image", "inspect", "--format", "{{.Digest}} {{.Id}}", `${repository}:${tag}`])).stdout
      .trim()
      .split(" ");
    return { tag, digest, id };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function pinRoleImage(repo: string, tag: string, digest: string): void {
  const path = join(repo, "clusters", "local", "cluster.yaml");
  const text = readFileSync(path, "utf8").replace(/(\n {4}tag: )"[^"]*"\n {4}digest: sha256:[0-9a-f]{64}/, `$1"${tag}"\n    digest: ${digest}`);
  writeFileSync(path, text);
}

describe.skipIf(missing !== undefined)("what runs is exactly what the owners approved", () => {
  it("a role image with the output policy turned off, pinned in the cluster profile, voids the approvals: nothing runs", slow, async (t) => {
    const built = await runImages();
    const prepared = await prepareRun(t, { algorithm: "hostile-raw-copy.py", policy: { fileTypes: ["csv", "json"] } });
    const evil = await buildEvilPodImage(built.pod);
    t.onTestFinished(async () => {
      await execEngine("podman", ["rmi", "--force", evil.id], { allowFailure: true });
    });
    const job = readFileSync(join(prepared.repo, "clusters", "local", prepared.id, "namespace.yaml"), "utf8").length > 0;

    pinRoleImage(prepared.repo, evil.tag, evil.digest);
    const run = await dp(prepared.repo, "run", prepared.id, RUN_ID, "--key", PROVIDER.file);
    const status = await dp(prepared.repo, "contract", "status", prepared.id);
    const compile = await dp(prepared.repo, "compile");

    expect(job).toBe(true);
    expect(evil.digest).not.toBe(built.pod.digest);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`contract ${prepared.id} is signed; only an active contract runs`);
    expect(run.stderr).toContain("$.message.roleImageDigest: approves another role image");
    expect(status.stdout).toContain("$.message.clusterProfileDigest: approves another version of the cluster profile");
    expect(readReceipt(prepared.repo, prepared.id)).toBeUndefined();
    expect(compile.stdout).toMatch(new RegExp(`skipped {2}${prepared.id} +signed`));

    // The control is what stopped it: once the owners approve this role image, the raw table leaves.
    for (const key of [PROVIDER, WITNESS]) expect((await dp(prepared.repo, "approve", prepared.id, "--key", key.file)).code).toBe(0);
    expect((await dp(prepared.repo, "compile")).code).toBe(0);
    const fooled = await runPrepared(prepared);
    const delivered = await fetchRun(fooled, CONSUMER);
    expect(fooled.result.code, fooled.result.stderr).toBe(0);
    expect(Object.values(delivered.outputs).join("")).toContain("34,F,north,J,3");
    expect(await podLeftovers(fooled.pod ?? "none")).toEqual([]);
  });
});
