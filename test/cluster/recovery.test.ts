/**
 * A crashed lab is cleaned up by the next `down`, and `up` works again: every lab process is
 * killed with SIGKILL while a pod runs (so containerd's shim, the pod's processes, its mounts,
 * network namespace, veth and cgroups, and kube-router's chains are all left behind); `down` must
 * find and remove all of it from the lab folder and the lab's names alone.
 *
 * Runs last (vitest.cluster.config.ts orders the files): it restarts the suite's lab.
 */

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { needs, providedLab } from "./lab/context.js";
import { daemonRecords, isRunning } from "./lab/daemons.js";
import { run, waitFor } from "./lab/exec.js";
import { CGROUP_ROOT, labFirewall, labProcesses, labSandboxes } from "./lab/host.js";
import { conditionStatus } from "./lab/kube.js";
import { labDown, labKube, labUp, type LabInfo } from "./lab/lab.js";
import { labTools } from "./lab/tools.js";
import { pod, restrictedNamespace, restrictedPodSpec, runId, waitPodRunning } from "./lab/workloads.js";

async function leftovers(info: LabInfo, sandboxes: readonly string[]): Promise<Record<string, unknown>> {
  const tools = labTools();
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((target) => target !== undefined && target.startsWith(`${info.dir}/`));
  const cgroups = readdirSync("/sys/fs/cgroup").filter((h) => existsSync(`/sys/fs/cgroup/${h}${CGROUP_ROOT}`));
  const bridge = (await run("ip", ["link", "show", "dev", info.bridge], { allowFailure: true })).code === 0;
  const firewall = await labFirewall(tools.iptablesSave, tools.ipset);
  const processes = labProcesses(info.dir, ["containerd-shim-runc-v2", "containerd", "kubelet", "kube-apiserver", "etcd", "kube-router", "redis-server"]).map(
    (p) => p.command,
  );
  const results = existsSync("/var/lib/cni/results") ? readdirSync("/var/lib/cni/results") : [];
  const cniResults = results.filter((entry) => entry.startsWith("dplab-") || sandboxes.some((id) => entry.includes(id)));
  return { mounts, cgroups, bridge, chains: firewall.chains, ipsets: firewall.ipsets, processes, cniResults };
}

describe("crash recovery", () => {
  it("after every lab process is SIGKILLed with a pod running, down leaves nothing behind and up works again", async (ctx) => {
    if (providedLab().shared === true) {
      const note = "NOT RUN: the lab is shared (DATOMSPOD_LAB_REUSE=1); this test SIGKILLs it";
      console.warn(`${ctx.task.name}: ${note}`);
      ctx.skip(note);
    }
    const info = needs(ctx, "node");
    const id = runId();
    const ns = `dp-lab-crash-${id}`;
    const api = labKube(info);
    await api.apply(restrictedNamespace(ns));
    await api.apply(pod(ns, "sleeper", restrictedPodSpec(info.images!.busybox.pinned, "exec sleep 3600")));
    await waitPodRunning(api, ns, "sleeper");
    if (info.running.includes("network-policy"))
      await api.apply({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "deny-all", namespace: ns },
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      });
    api.close();
    const sandboxes = labSandboxes(info.dir);
    const before = await leftovers(info, sandboxes);
    expect(before.mounts).not.toEqual([]);
    expect(before.processes).not.toEqual([]);
    expect(before.cniResults).not.toEqual([]);

    // the crash: every recorded process at once, no chance to clean up
    for (const record of daemonRecords(info.dir)) if (isRunning(record)) process.kill(record.pid, "SIGKILL");
    await waitFor("the lab's processes gone", 10_000, () => (daemonRecords(info.dir).some((r) => isRunning(r)) ? undefined : true));

    const report = await labDown({ dir: info.dir });
    expect(report.strays.length).toBeGreaterThan(0);
    expect(await leftovers(info, sandboxes)).toEqual({ mounts: [], cgroups: [], bridge: false, chains: [], ipsets: [], processes: [], cniResults: [] });

    const again = await labUp({ dir: info.dir, pieces: info.running });
    expect(again.running).toEqual(info.running);
    const api2 = labKube(again);
    try {
      await api2.apply(restrictedNamespace(ns));
      await api2.apply({
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "again", namespace: ns },
        spec: { backoffLimit: 0, template: { spec: restrictedPodSpec(again.images!.busybox.pinned, "echo again") } },
      });
      await waitFor("Job again Complete", 120_000, async () =>
        conditionStatus(await api2.find(`/apis/batch/v1/namespaces/${ns}/jobs/again`), "Complete") === "True" ? true : undefined,
      );
    } finally {
      api2.close();
    }
  });
});
