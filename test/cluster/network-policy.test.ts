/**
 * NetworkPolicy is enforced on the lab's node, both ways: a canary pod in a `dp-` namespace reaches
 * a server pod in another namespace of the run and a listener this test opens on the node's bridge
 * address, and a prober pod reaches the canary, while no policy applies; with the deny-all policy
 * `{podSelector: {}, policyTypes: [Ingress, Egress]}` in the canary's namespace none of the three
 * gets through; with the policy deleted all three do again.
 *
 * Enforcement is kube-router's NetworkPolicy controller (iptables + ipset). Without it the same
 * policy is only a request: the second test then shows that traffic still flows.
 */

import { createServer, type Server } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { kube, needs, notRunning, providedLab } from "./lab/context.js";
import { waitFor } from "./lab/exec.js";
import type { LabInfo } from "./lab/lab.js";
import { deleteNamespaces, pod, podLines, restrictedNamespace, restrictedPodSpec, runId, waitPodRunning } from "./lab/workloads.js";

const id = runId();
const CANARY_NS = `dp-lab-np-${id}`;
const SERVER_NS = `lab-np-server-${id}`;
const PORT = 8080;
let nodeServer: Server | undefined;

afterAll(async () => {
  nodeServer?.close();
  nodeServer?.closeAllConnections();
  const info = providedLab().info;
  if (info !== undefined) await deleteNamespaces(kube(info), [CANARY_NS, SERVER_NS]);
});

/** A shell loop that tries each target every second and prints `<name>=OPEN|CLOSED …`. */
function proberScript(targets: Record<string, string>): string {
  const tries = Object.entries(targets)
    .map(([name, url]) => `${name}=CLOSED; timeout 2 wget -q -O /dev/null ${url} && ${name}=OPEN`)
    .join("; ");
  const line = Object.keys(targets)
    .map((name) => `${name}=$${name}`)
    .join(" ");
  // busybox `wget -T` crashes (Debian 1.35): `timeout` bounds each try instead.
  return `i=0; while true; do i=$((i+1)); ${tries}; echo "probe $i ${line}"; sleep 1; done`;
}

interface Probe {
  readonly n: number;
  readonly results: Record<string, "OPEN" | "CLOSED">;
}

function probes(info: LabInfo, namespace: string, name: string): Probe[] {
  return podLines(info, namespace, name)
    .filter((line) => line.startsWith("probe "))
    .map((line) => {
      const [, n, ...pairs] = line.split(" ");
      return { n: Number(n), results: Object.fromEntries(pairs.map((pair) => pair.split("="))) as Probe["results"] };
    });
}

/** Waits until the last `times` probes of the pod after probe `after` all show `expected`; resolves with the first such probe's number. */
async function waitProbes(
  info: LabInfo,
  namespace: string,
  name: string,
  expected: Record<string, string>,
  after: number,
  timeoutMs: number,
  times = 3,
): Promise<number> {
  return waitFor(`${namespace}/${name} to probe ${JSON.stringify(expected)} ${times} times in a row`, timeoutMs, () => {
    const recent = probes(info, namespace, name).filter((p) => p.n > after);
    let run = 0;
    for (const probe of recent) {
      const match = Object.entries(expected).every(([target, result]) => probe.results[target] === result);
      run = match ? run + 1 : 0;
      if (run >= times) return probe.n - times + 1;
    }
    return undefined;
  });
}

function lastProbe(info: LabInfo, namespace: string, name: string): number {
  return probes(info, namespace, name).at(-1)?.n ?? 0;
}

const DENY_ALL = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "deny-all", namespace: CANARY_NS },
  spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
};

/** Starts the server pod, the node listener, the canary and the prober; waits until all reach each other. */
async function startPods(info: LabInfo): Promise<void> {
  const api = kube(info);
  const image = info.images!.busybox.pinned;
  await api.apply(restrictedNamespace(SERVER_NS));
  await api.apply(restrictedNamespace(CANARY_NS));
  await api.apply(pod(SERVER_NS, "server", restrictedPodSpec(image, `exec httpd -f -p ${PORT} -h /www`)));
  nodeServer = createServer((_req, res) => res.end("node\n"));
  const nodePort = await new Promise<number>((resolve, reject) => {
    nodeServer!.once("error", reject);
    // the node's address on the lab's bridge: reachable from the lab's pods only
    nodeServer!.listen(0, info.nodeIp, () => resolve((nodeServer!.address() as { port: number }).port));
  });
  const server = await waitPodRunning(api, SERVER_NS, "server");
  await api.apply(
    pod(
      CANARY_NS,
      "canary",
      restrictedPodSpec(
        image,
        `httpd -p ${PORT} -h /www; ${proberScript({ pod: `http://${server.status.podIP}:${PORT}/`, node: `http://${info.nodeIp}:${nodePort}/` })}`,
      ),
    ),
  );
  const canary = await waitPodRunning(api, CANARY_NS, "canary");
  await api.apply(pod(SERVER_NS, "prober", restrictedPodSpec(image, proberScript({ canary: `http://${canary.status.podIP}:${PORT}/` }))));
  await waitPodRunning(api, SERVER_NS, "prober");
  // without a policy, everything gets through
  await waitProbes(info, CANARY_NS, "canary", { pod: "OPEN", node: "OPEN" }, 0, 60_000);
  await waitProbes(info, SERVER_NS, "prober", { canary: "OPEN" }, 0, 60_000);
}

describe("NetworkPolicy on the lab's node", () => {
  it("is enforced by kube-router: deny-all in the dp- namespace stops egress to a pod and to the node and ingress from a pod, and lifting it restores all three", async (ctx) => {
    const info = needs(ctx, "node", "network-policy");
    const api = kube(info);
    await startPods(info);

    const applied = Date.now();
    const canaryBefore = lastProbe(info, CANARY_NS, "canary");
    const proberBefore = lastProbe(info, SERVER_NS, "prober");
    await api.apply(DENY_ALL);
    await waitProbes(info, CANARY_NS, "canary", { pod: "CLOSED", node: "CLOSED" }, canaryBefore + 1, 60_000);
    await waitProbes(info, SERVER_NS, "prober", { canary: "CLOSED" }, proberBefore + 1, 60_000);
    const enforcedMs = Date.now() - applied;
    // and it stays so: the last probes all show no way through
    const denied = probes(info, CANARY_NS, "canary").slice(-3);
    expect(denied.map((p) => p.results)).toEqual(Array(3).fill({ pod: "CLOSED", node: "CLOSED" }));

    const lifted = Date.now();
    const canaryDenied = lastProbe(info, CANARY_NS, "canary");
    const proberDenied = lastProbe(info, SERVER_NS, "prober");
    await api.delete(`/apis/networking.k8s.io/v1/namespaces/${CANARY_NS}/networkpolicies/deny-all`);
    await waitProbes(info, CANARY_NS, "canary", { pod: "OPEN", node: "OPEN" }, canaryDenied + 1, 60_000);
    await waitProbes(info, SERVER_NS, "prober", { canary: "OPEN" }, proberDenied + 1, 60_000);
    console.info(`network policy: deny-all enforced ${enforcedMs} ms after it was applied, lifted ${Date.now() - lifted} ms after it was deleted`);
  });

  it("without an enforcer, the same deny-all policy does not stop traffic (only when kube-router is not running)", async (ctx) => {
    const lab = providedLab();
    if (notRunning(lab, "network-policy") === undefined) ctx.skip("kube-router enforces NetworkPolicy here (see the test above)");
    const info = needs(ctx, "node");
    console.warn(`NetworkPolicy is NOT enforced in this lab: ${notRunning(lab, "network-policy")}`);
    const api = kube(info);
    await startPods(info);
    const before = lastProbe(info, CANARY_NS, "canary");
    await api.apply(DENY_ALL);
    // well past the time kube-router needs (a few seconds): traffic still flows
    await waitProbes(info, CANARY_NS, "canary", { pod: "OPEN", node: "OPEN" }, before + 10, 60_000, 5);
    await waitProbes(info, SERVER_NS, "prober", { canary: "OPEN" }, lastProbe(info, SERVER_NS, "prober") + 5, 60_000, 5);
  });
});
