/**
 * A Job in a `dp-` namespace with Pod Security `restricted` runs to completion on the lab's real
 * kubelet and containerd, from an image built here with podman and named by its digest.
 */

import { afterAll, describe, expect, it } from "vitest";
import { needs, kube, providedLab } from "./lab/context.js";
import { waitFor } from "./lab/exec.js";
import { conditionStatus } from "./lab/kube.js";
import { deleteNamespaces, pod, podLines, refusal, restrictedNamespace, restrictedPodSpec, runId } from "./lab/workloads.js";

const id = runId();
const NS = `dp-lab-job-${id}`;

afterAll(async () => {
  const info = providedLab().info;
  if (info !== undefined) await deleteNamespaces(kube(info), [NS]);
});

describe("a Job on the real kubelet", () => {
  it("runs a Pod-Security-restricted pod in a dp- namespace to completion, from a local podman image pinned by digest", async (ctx) => {
    const info = needs(ctx, "node");
    const api = kube(info);
    const image = info.images!.busybox;
    expect(image.pinned).toMatch(/^localhost\/datomspod-lab\/busybox@sha256:[0-9a-f]{64}$/);
    await api.apply(restrictedNamespace(NS));
    await api.apply({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "probe", namespace: NS },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: 120,
        template: {
          metadata: { labels: { app: "probe" } },
          spec: restrictedPodSpec(image.pinned, 'echo "job-ran uid=$(id -u) gid=$(id -g)"; test ! -w /bin'),
        },
      },
    });
    const job = await waitFor(`Job ${NS}/probe Complete`, 120_000, async () => {
      const found = await api.get(`/apis/batch/v1/namespaces/${NS}/jobs/probe`);
      if (conditionStatus(found, "Failed") === "True") throw new Error(`Job failed: ${JSON.stringify(found.status)}`);
      return conditionStatus(found, "Complete") === "True" ? found : undefined;
    });
    expect(job.status.succeeded).toBe(1);

    const [ran] = await api.list(`/api/v1/namespaces/${NS}/pods`, { labelSelector: "app=probe" });
    expect(ran.spec.nodeName).toBe(info.nodeName);
    expect(ran.status.phase).toBe("Succeeded");
    // the kubelet ran exactly the image podman built: same manifest digest
    expect(ran.status.containerStatuses[0].imageID).toContain(image.digest);
    expect(ran.status.containerStatuses[0].state.terminated.exitCode).toBe(0);
    expect(podLines(info, NS, ran.metadata.name)).toContain("job-ran uid=65534 gid=65534");
  });

  it("refuses, in that namespace, a pod that Pod Security restricted forbids", async (ctx) => {
    const info = needs(ctx, "node");
    const api = kube(info);
    await api.apply(restrictedNamespace(NS));
    const spec = restrictedPodSpec(info.images!.busybox.pinned, "true");
    // root, privilege escalation allowed: both forbidden by `restricted`
    spec.securityContext = { runAsNonRoot: false, runAsUser: 0, seccompProfile: { type: "RuntimeDefault" } };
    spec.containers[0].securityContext = { allowPrivilegeEscalation: true };
    const refused = await refusal(api, `/api/v1/namespaces/${NS}/pods`, pod(NS, "root", spec));
    expect(refused?.status).toBe(403);
    expect(refused?.message).toContain('violates PodSecurity "restricted:latest"');
  });
});
