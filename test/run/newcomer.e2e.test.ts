/**
 * Slow (real podman): the README's "Try it yourself" on the committed example, as a newcomer runs
 * it right after `.ci/setup` — the images built here have the digests the committed contract and
 * cluster profile pin, `data place` puts the sample data where the signed contract says, `run`
 * plays the committed instance and commits the receipt, the consumer fetches the aggregates.
 */

import { execFileSync } from "node:child_process";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { ROOT, tempDir } from "../helpers/repo.js";
import { ensureImages, podmanMissing, skipMessage } from "./podman.js";

const missing = await podmanMissing();
skipMessage(missing);

const ID = "hospital-stats";

/** A clone of what the repository commits for the example: contracts, clusters, environments, in git. */
function exampleClone(): string {
  const repo = tempDir("datomspod-newcomer-");
  for (const dir of ["contracts", "clusters", "environments"]) cpSync(join(ROOT, dir), join(repo, dir), { recursive: true });
  const git = (...args: string[]): string => execFileSync("git", ["-C", repo, ...args], { encoding: "utf8" });
  git("init", "--quiet");
  git("config", "user.name", "newcomer");
  git("config", "user.email", "newcomer@example.invalid");
  git("add", "--all");
  git("commit", "--quiet", "-m", "the repository as cloned");
  return repo;
}

describe.skipIf(missing !== undefined)("the README's first run, on the committed example", () => {
  it("images build gives the pinned pod digest; data place, run (receipt committed), fetch", { timeout: 900_000 }, async () => {
    const images = await ensureImages();
    const profile = parse(readFileSync(join(ROOT, "clusters", "local", "cluster.yaml"), "utf8")) as { images: { pod: { digest: string } } };
    expect(images.get("pod")!.digest, "the pod image built here is not what clusters/local/cluster.yaml pins: see .ci/checks/pod-image").toBe(
      profile.images.pod.digest,
    );
    const repo = exampleClone();

    const placed = await runCli(["data", "place", ID, "--from", join(ROOT, "generator", "demo", "data", ID)], { repo });
    const ran = await runCli(["run", ID, "run-1", "--key", testKey("hospital-provider").file], { repo, now: new Date().toISOString() });
    const out = join(tempDir(), "delivered");
    const fetched = await runCli(["fetch", ID, "run-1", "--key", testKey("health-consumer").file, "--out", out], { repo });

    expect(placed.code, placed.stderr).toBe(0);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/^run run-1 of hospital-stats: succeeded /);
    expect(ran.stdout).toContain("committed the receipt and its signature: ");
    expect(execFileSync("git", ["-C", repo, "show", "--name-only", "--format=%s", "HEAD"], { encoding: "utf8" }).trim().split("\n")).toEqual([
      "Receipt of run run-1 of hospital-stats (succeeded)",
      "",
      `contracts/${ID}/receipt-signatures/run-1.json`,
      `contracts/${ID}/receipts/run-1.json`,
    ]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(readFileSync(join(out, "outputs", "aggregates.csv"), "utf8")).toMatch(/^region,patients,/);
  });
});
