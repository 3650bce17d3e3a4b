/**
 * Slow (real podman, `datomspod run` through the CLI): two contracts whose 40-character ids differ
 * only at the end run a run of the same long id at the same time. Their pods (and so their
 * containers and volumes, named after the pod) say which contract and run they are, cut the same
 * way, and still differ; each algorithm sees its own pod's name as its host name; both finish and
 * both are removed.
 */

import { inflateSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { podmanMissing, skipMessage } from "../run/podman.js";
import { CONSUMER, expectRemoved, fetchRun, prepareRun, runImages, runPrepared, type RunOutcome } from "../run/run-helpers.js";

const missing = await podmanMissing();
skipMessage(missing);

/** The host name the algorithm saw (algorithms/hostile-host-info.py). */
async function hostnameSeen(run: RunOutcome): Promise<string> {
  const fetched = await fetchRun(run, CONSUMER);
  expect(fetched.result.code, fetched.result.stderr).toBe(0);
  const packed = JSON.parse(fetched.outputs["result.json"] ?? "{}") as { z: string };
  return (JSON.parse(inflateSync(Buffer.from(packed.z, "base64")).toString("utf8")) as { gethostname: string }).gethostname;
}

describe.skipIf(missing !== undefined)("pod names under `datomspod run`", () => {
  beforeAll(async () => {
    await runImages();
  }, 900_000);

  it("two contracts that begin alike, one run id, at once: two pods that say whose they are, both run, both removed", { timeout: 600_000 }, async (t) => {
    const run = "request-2026-11-24";
    const [a, b] = await Promise.all(
      ["regional-hospital-admissions-2025-q1-pub", "regional-hospital-admissions-2025-q2-pub"].map((id) =>
        prepareRun(t, { algorithm: "hostile-host-info.py" }, id, run),
      ),
    );

    const [ranA, ranB] = await Promise.all([runPrepared(a), runPrepared(b)]);

    for (const ran of [ranA, ranB]) {
      expect(ran.result.code, ran.result.stdout + ran.result.stderr).toBe(0);
      expect(ran.receipt!.predicate.status.phase).toBe("succeeded");
      expect(ran.pod).toMatch(/^regional-hospital-admissions-request-2026-11-24-[0-9a-f]{8}$/);
      expect(await hostnameSeen(ran)).toBe(ran.pod);
      await expectRemoved(ran);
    }
    expect(ranA.pod).not.toBe(ranB.pod);
  });
});
