/**
 * kwok: fake nodes (for the scale runs of a later phase) become Ready, and pods scheduled to them
 * become Running, while the real node stays the kubelet's.
 */

import { afterAll, describe, expect, it } from "vitest";
import { kube, needs, providedLab } from "./lab/context.js";
import { waitFor } from "./lab/exec.js";
import { conditionStatus } from "./lab/kube.js";
import { KWOK_NODE_ANNOTATION } from "./lab/lab.js";
import { deleteNamespaces, restrictedNamespace, restrictedPodSpec, runId } from "./lab/workloads.js";

const id = runId();
const NODES = 5;
const PODS = 20;
const NS = `dp-lab-kwok-${id}`;
const nodeNames = Array.from({ length: NODES }, (_, i) => `kwok-${id}-${i}`);

afterAll(async () => {
  const info = providedLab().info;
  if (info === undefined) return;
  const api = kube(info);
  await deleteNamespaces(api, [NS]);
  for (const name of nodeNames) await api.delete(`/api/v1/nodes/${name}`);
});

describe("kwok", () => {
  it(`makes ${NODES} fake nodes Ready and runs ${PODS} pods on them`, async (ctx) => {
    const info = needs(ctx, "kwok");
    const api = kube(info);
    const started = Date.now();
    for (const name of nodeNames) {
      await api.apply({
        apiVersion: "v1",
        kind: "Node",
        metadata: { name, annotations: { [KWOK_NODE_ANNOTATION]: "fake" }, labels: { type: "kwok", "kubernetes.io/hostname": name } },
        // only pods that say so land on fake nodes
        spec: { taints: [{ key: KWOK_NODE_ANNOTATION, value: "fake", effect: "NoSchedule" }] },
      });
    }
    await waitFor(`${NODES} kwok nodes Ready`, 60_000, async () => {
      const nodes = await api.list("/api/v1/nodes", { labelSelector: "type=kwok" });
      const ready = nodes.filter((n) => nodeNames.includes(n.metadata.name) && conditionStatus(n, "Ready") === "True");
      return ready.length === NODES ? true : undefined;
    });
    await api.apply(restrictedNamespace(NS));
    const spec = restrictedPodSpec("localhost/datomspod-lab/not-pulled@sha256:" + "0".repeat(64), "true", { restartPolicy: "Always" });
    await api.apply({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "fake", namespace: NS },
      spec: {
        replicas: PODS,
        selector: { matchLabels: { app: "fake" } },
        template: {
          metadata: { labels: { app: "fake" } },
          spec: {
            ...spec,
            nodeSelector: { type: "kwok" },
            tolerations: [{ key: KWOK_NODE_ANNOTATION, operator: "Exists", effect: "NoSchedule" }],
          },
        },
      },
    });
    const pods = await waitFor(`${PODS} pods Running on kwok nodes`, 120_000, async () => {
      const listed = await api.list(`/api/v1/namespaces/${NS}/pods`, { labelSelector: "app=fake" });
      const running = listed.filter((p) => p.status?.phase === "Running");
      return running.length === PODS ? running : undefined;
    });
    console.info(`kwok: ${NODES} nodes Ready and ${PODS} pods Running ${Date.now() - started} ms after the nodes were created`);
    expect(new Set(pods.map((p: any) => p.spec.nodeName)).size).toBeGreaterThan(1);
    for (const p of pods) {
      expect(nodeNames).toContain(p.spec.nodeName);
      expect(p.status.podIP).toMatch(/^10\.214\./);
    }
    // the real node is not kwok's: it has no kwok annotation and keeps the kubelet's version
    const real = await api.find(`/api/v1/nodes/${info.nodeName}`);
    if (real !== undefined) {
      expect(real.metadata.annotations?.[KWOK_NODE_ANNOTATION]).toBeUndefined();
      expect(real.status.nodeInfo.kubeletVersion).toBe(info.versions.kubernetes);
    }
  });
});
