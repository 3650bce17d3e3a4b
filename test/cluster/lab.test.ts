/**
 * The lab itself: every piece that is built runs, the versions are the pinned ones, and it listens
 * on 127.0.0.1 only.
 */

import { describe, expect, it } from "vitest";
import { kube, needs } from "./lab/context.js";
import { daemonRecords, isRunning } from "./lab/daemons.js";
import { run } from "./lab/exec.js";

/** Listening TCP sockets by pid: `ss -ltnpH` lines `LISTEN 0 4096 127.0.0.1:6443 0.0.0.0:* users:(("kube-apiserver",pid=1,fd=3))`. */
async function listeners(): Promise<{ address: string; pid: number; program: string }[]> {
  const out = (await run("ss", ["-ltnpH"])).stdout;
  return out
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => {
      const fields = line.trim().split(/\s+/);
      const address = fields[3] ?? "";
      return [...line.matchAll(/\("([^"]+)",pid=(\d+),fd=\d+\)/g)].map((m) => ({ address, pid: Number(m[2]), program: m[1] }));
    });
}

describe("the lab", () => {
  it("runs every piece whose programs are built (one that failed to start fails here; the tests that need it are skipped)", (ctx) => {
    const info = needs(ctx);
    const failed = Object.entries(info.skipped).filter(([, reason]) => reason.includes("failed to start"));
    expect(Object.fromEntries(failed)).toEqual({});
  });

  it("runs the pinned Kubernetes version, and its node reports it", async (ctx) => {
    const info = needs(ctx);
    const version = await kube(info).get("/version");
    expect(version.gitVersion).toBe(info.versions.kubernetes);
    if (info.running.includes("node")) {
      const node = await kube(info).get(`/api/v1/nodes/${info.nodeName}`);
      expect(node.status.nodeInfo.kubeletVersion).toBe(info.versions.kubernetes);
      expect(node.status.addresses).toContainEqual({ type: "InternalIP", address: info.nodeIp });
    }
  });

  it("listens on 127.0.0.1 only, except the one port Argo CD's application controller binds to every address (v3.6.1 hard-codes 0.0.0.0)", async (ctx) => {
    const info = needs(ctx);
    const records = daemonRecords(info.dir).filter((record) => isRunning(record));
    const pids = new Map(records.map((record) => [record.pid, record.name]));
    const lab = (await listeners()).filter((l) => pids.has(l.pid));
    expect(lab.length).toBeGreaterThanOrEqual(records.length - 1);
    const elsewhere = lab.filter((l) => !l.address.startsWith("127.0.0.1:")).map((l) => `${pids.get(l.pid)} ${l.address}`);
    const expected = info.running.includes("argocd") ? [`argocd-application-controller *:${info.ports.controllerMetrics}`] : [];
    expect(elsewhere.map((e) => e.replace("0.0.0.0:", "*:"))).toEqual(expected);
  });
});
