import { describe, expect, it } from "vitest";
import { finishedJob, namespaceContract, volumePath } from "../../generator/operator/jobs.js";
import type { JobObject } from "../../generator/cluster/kube.js";

function job(overrides: { labels?: Record<string, string>; namespace?: string; conditions?: { type: string; status: string }[] } = {}): JobObject {
  return {
    metadata: {
      name: "hospital-stats-run-1-356a2b00",
      namespace: overrides.namespace ?? "dp-hospital-stats",
      uid: "3b7e1c2a-0000-4000-8000-000000000001",
      labels: overrides.labels ?? { "app.kubernetes.io/managed-by": "datomspod", "datomspod.io/contract": "hospital-stats", "datomspod.io/run": "run-1" },
      annotations: { "datomspod.io/contract-hash": "b5a9" },
    },
    spec: { template: { spec: { volumes: [{ name: "outputs" }, { name: "sealed", persistentVolumeClaim: { claimName: "sealed-run-1" } }] } } },
    status: { conditions: overrides.conditions ?? [{ type: "Complete", status: "True" }], completionTime: "2026-12-03T08:00:05Z" },
  };
}

describe("finishedJob", () => {
  it("reads a complete datomspod Job: contract, run, version, outcome, finish time and the sealed claim", () => {
    expect(finishedJob(job())).toEqual({
      namespace: "dp-hospital-stats",
      name: "hospital-stats-run-1-356a2b00",
      uid: "3b7e1c2a-0000-4000-8000-000000000001",
      contract: "hospital-stats",
      run: "run-1",
      contractHash: "b5a9",
      outcome: "Complete",
      finishedAt: "2026-12-03T08:00:05Z",
      sealedClaim: "sealed-run-1",
    });
  });

  it("reads a failed Job as Failed (it gets a receipt too: the receipt says how the run ended)", () => {
    expect(finishedJob(job({ conditions: [{ type: "Failed", status: "True" }] }))?.outcome).toBe("Failed");
  });

  it.each([
    ["still running", job({ conditions: [] })],
    ["a condition that is not True", job({ conditions: [{ type: "Complete", status: "False" }] })],
    ["only suspended", job({ conditions: [{ type: "Suspended", status: "True" }] })],
    ["without the run label", job({ labels: { "datomspod.io/contract": "hospital-stats" } })],
    ["in another contract's namespace", job({ namespace: "dp-bank-credit-model" })],
    ["outside a dp- namespace", job({ namespace: "default" })],
    ["with a contract label that is not an id", job({ labels: { "datomspod.io/contract": "../x", "datomspod.io/run": "run-1" }, namespace: "dp-../x" })],
    ["with a run label that is not a run id", job({ labels: { "datomspod.io/contract": "hospital-stats", "datomspod.io/run": "Run_1" } })],
  ])("ignores a Job %s", (_case, object) => {
    expect(finishedJob(object)).toBeUndefined();
  });
});

describe("namespaceContract and volumePath", () => {
  it("takes only a namespace named dp-<its contract label>", () => {
    expect(namespaceContract({ metadata: { name: "dp-hospital-stats", labels: { "datomspod.io/contract": "hospital-stats" } } })).toBe("hospital-stats");
    expect(namespaceContract({ metadata: { name: "kube-system", labels: { "datomspod.io/contract": "hospital-stats" } } })).toBeUndefined();
    expect(namespaceContract({ metadata: { name: "dp-hospital-stats" } })).toBeUndefined();
  });

  it("finds a hostPath or local volume's folder, nothing else", () => {
    expect(volumePath({ metadata: { name: "a" }, spec: { hostPath: { path: "/srv/a" } } })).toBe("/srv/a");
    expect(volumePath({ metadata: { name: "b" }, spec: { local: { path: "/srv/b" } } })).toBe("/srv/b");
    expect(volumePath({ metadata: { name: "c" }, spec: {} })).toBeUndefined();
  });
});
