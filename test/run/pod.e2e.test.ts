/**
 * Slow (real containers): podman 4.3 `kube play` runs the pod shape of docs/architecture.md
 * (fixtures/pod.yaml) and keeps what it promises: Ocean's layout, read-only inputs, no network,
 * the memory limit, the pids limit, the deadline, a failing datomspace-in stopping the run, and
 * nothing left behind.
 */

import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DID, container, ensureImages, podmanMissing, runFixture, skipMessage } from "./podman.js";

const missing = await podmanMissing();
skipMessage(missing);

/** A slow test: real containers. */
function slow(name: string, fn: () => Promise<void>): void {
  it(name, { timeout: 240_000 }, fn);
}

describe.skipIf(missing !== undefined)("podman kube play of the datomspod pod", () => {
  beforeAll(async () => {
    await ensureImages();
  }, 600_000);

  describe.each(["service", "cli"] as const)("asked through podman's %s", (podman) => {
    slow("runs an Ocean Compute-to-Data algorithm unchanged and reports its status", async () => {
      const algorithm = `
import json, os
dids = json.loads(os.environ["DIDS"])
did = dids[0]
rows = {
    "service": open(f"/data/inputs/{did}/compute/patients.csv").read(),
    "legacy": open(f"/data/inputs/{did}/0").read(),
    "flat": open("data/inputs/patients.csv").read(),
}
ddo = json.load(open(f"/data/ddos/{did}"))
params = json.load(open("/data/inputs/algoCustomData.json"))
algo_ddo = json.load(open(f"/data/ddos/{os.environ['TRANSFORMATION_DID']}"))
with open("/data/outputs/result.json", "w") as out:
    json.dump({"same": len(set(rows.values())) == 1, "rows": rows["flat"].count("\\n") - 1, "ddo": ddo["id"], "files": ddo["service"][0]["attributes"]["main"]["files"][0]["index"],
               "params": params, "algo": algo_ddo["metadata"]["type"], "cwd": os.getcwd(), "uid": os.getuid(), "algo_path": os.environ["ALGO"]}, out, sort_keys=True)
print("aggregated", rows["flat"].count("\\n") - 1, "rows")
`;

      const result = await runFixture({ name: "ocean", algorithm, podman });

      expect(result.run.containers.map((c) => [c.container, c.status, c.exitCode])).toEqual([
        ["datomspace-in", "exited", 0],
        ["computing", "exited", 0],
        ["datomspace-out", "exited", 0],
        ["oracle", "exited", 0],
      ]);
      expect(JSON.parse(result.outputs["result.json"])).toEqual({
        algo: "algorithm",
        algo_path: "/data/transformations/algorithm",
        cwd: "/",
        ddo: DID,
        files: 0,
        params: { groupBy: "region", minGroupSize: 10 },
        rows: 3,
        same: true,
        uid: 65532,
      });
      expect(result.log).toBe("aggregated 3 rows\n");
      expect(result.status).toMatchObject({
        state: "exited",
        exitCode: 0,
        signal: null,
        oomKilled: false,
        deadlineExceeded: false,
        logBytes: 18,
        logTruncated: false,
      });
      expect(result.status!.cpuSeconds).toBeGreaterThan(0);
      expect(result.status!.maxRssBytes).toBeGreaterThan(1024 * 1024);
      const oracle = JSON.parse(container(result.run, "oracle").logs.stdout) as { out: unknown };
      expect(oracle.out).toEqual({ state: "exited", outputs: [{ file: "result.json", bytes: Buffer.byteLength(result.outputs["result.json"]) }] });
      expect(container(result.run, "datomspace-in").logs.stdout).toMatch(/^datomspace-in: patients.csv verified, sha256 [0-9a-f]{64}\n$/);
      expect(result.run.pidsLimit).toMatchObject({ value: 512 });
      expect(result.run.timedOut).toBe(false);
      expect(result.run.leftovers).toEqual([]);
    });
  });

  slow("gives every emptyDir a tmpfs of its sizeLimit owned by the pod's user, and leaves no mount behind", async () => {
    const algorithm = `
import errno, json, os
mounts = {}
for line in open("/proc/self/mountinfo"):
    fields = line.split(" ")
    rest = fields[fields.index("-") + 1:]
    mounts[fields[4]] = (rest[0], sorted(o for o in rest[2].strip().split(",") if o.split("=")[0] in ("size", "nr_inodes", "mode", "uid", "gid")))
result = {}
for path in ["/data/outputs", "/data/logs", "/tmp", "/datomspod/status"]:
    st = os.stat(path)
    result[path] = {"fs": mounts[path][0], "options": mounts[path][1], "owner": [st.st_uid, st.st_gid], "mode": oct(st.st_mode & 0o7777)}
written = 0
try:
    with open("/tmp/fill", "wb", buffering=0) as f:
        while True:
            f.write(b"x" * 1048576)
            written += 1
except OSError as e:
    result["fill"] = {"error": errno.errorcode[e.errno], "atMostMiB": written <= 16}
os.remove("/tmp/fill")
json.dump(result, open("/data/outputs/scratch.json", "w"), sort_keys=True)
`;

    const result = await runFixture({ name: "scratch", algorithm });

    const tmpfs = (size: string, inodes: number): Record<string, unknown> => ({
      fs: "tmpfs",
      options: ["gid=65532", "mode=700", `nr_inodes=${inodes}`, `size=${size}`, "uid=65532"],
      owner: [65532, 65532],
      mode: "0o700",
    });
    expect(JSON.parse(result.outputs["scratch.json"])).toEqual({
      "/data/outputs": tmpfs("16384k", 4096),
      "/data/logs": tmpfs("4096k", 1024),
      "/tmp": tmpfs("16384k", 4096),
      "/datomspod/status": tmpfs("1024k", 1024),
      fill: { error: "ENOSPC", atMostMiB: true },
    });
    expect(result.run.leftovers).toEqual([]);
    expect(result.run.check).toMatch(
      new RegExp(`^podman pod exists ${result.podName}; no mount under /\\S+/${result.podName} \\(/proc/self/mountinfo\\); /\\S+ removed$`),
    );
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(result.podName);
  });

  slow("keeps the inputs read-only even when the host file is world-writable", async () => {
    const algorithm = `
import errno, json, os
did = json.loads(os.environ["DIDS"])[0]
results = {}
for path in [f"/data/inputs/{did}/compute/patients.csv", f"/data/inputs/{did}/0", "/data/inputs/patients.csv", "/datomspod/inputs/0/patients.csv"]:
    try:
        with open(path, "a") as f:
            f.write("tampered\\n")
        results[path] = "written"
    except OSError as e:
        results[path] = errno.errorcode[e.errno]
for path in ["/data/inputs/new.csv", "/data/ddos/x", "/data/transformations/algorithm", "/etc/passwd", "/usr/bin/python3"]:
    try:
        with open(path, "w") as f:
            f.write("x")
        results[path] = "written"
    except OSError as e:
        results[path] = errno.errorcode[e.errno]
json.dump(results, open("/data/outputs/writes.json", "w"), sort_keys=True)
`;

    const result = await runFixture({ name: "readonly", algorithm, inputMode: 0o666 });

    expect(JSON.parse(result.outputs["writes.json"])).toEqual({
      [`/data/inputs/${DID}/0`]: "EROFS",
      [`/data/inputs/${DID}/compute/patients.csv`]: "EROFS",
      "/data/ddos/x": "EROFS",
      "/data/inputs/new.csv": "EROFS",
      "/data/inputs/patients.csv": "EROFS",
      "/data/transformations/algorithm": "EROFS",
      "/datomspod/inputs/0/patients.csv": "EROFS",
      "/etc/passwd": "EROFS",
      "/usr/bin/python3": "EROFS",
    });
    expect(result.inputAfter).toBe(result.inputBefore);
    expect(result.run.leftovers).toEqual([]);
  });

  describe.each(["service", "cli"] as const)("network, asked through podman's %s", (podman) => {
    let server: Server;
    let port = 0;
    let connections = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        connections++;
        socket.end("hello from the host\n");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    slow("has none: loopback only, no route, the host's 127.0.0.1 and DNS unreachable", async () => {
      const algorithm = `
import errno, json, os, socket
result = {"interfaces": sorted(os.listdir("/sys/class/net"))}
with open("/proc/net/route") as f:
    result["ipv4_routes"] = len(f.read().strip().splitlines()) - 1
def attempt(fn):
    try:
        fn()
        return "connected"
    except socket.gaierror as e:
        return "gaierror"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
def tcp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, port))
    finally:
        s.close()
result["tcp_host_loopback"] = attempt(lambda: tcp("127.0.0.1", ${"${PORT}"}))
result["dns"] = attempt(lambda: socket.getaddrinfo("registry.npmjs.org", 443))
# Only when there is no route at all (checked above) does a packet to a documentation address
# (TEST-NET-1, RFC 5737) fail in the kernel before it is sent.
if result["ipv4_routes"] == 0 and result["interfaces"] == ["lo"]:
    result["tcp_public"] = attempt(lambda: tcp("192.0.2.1", 9))
    def udp():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.sendto(b"x", ("192.0.2.1", 53))
        finally:
            s.close()
    result["udp_public"] = attempt(udp)
json.dump(result, open("/data/outputs/network.json", "w"), sort_keys=True)
`.replace("${PORT}", String(port));

      const result = await runFixture({ name: `network-${podman}`, algorithm, podman });

      expect(JSON.parse(result.outputs["network.json"])).toEqual({
        interfaces: ["lo"],
        ipv4_routes: 0,
        tcp_host_loopback: "ECONNREFUSED",
        dns: "gaierror",
        tcp_public: "ENETUNREACH",
        udp_public: "ENETUNREACH",
      });
      expect(connections).toBe(0);
    });
  });

  slow("OOM-kills a memory hog at the contract's limit, and the supervisor reports it while the pod goes on", async () => {
    const algorithm = `
chunks = []
print("allocating", flush=True)
while True:
    chunks.append(bytearray(16 * 1024 * 1024))
`;

    const result = await runFixture({ name: "oom", algorithm, memory: "64Mi" });

    expect(result.status).toMatchObject({ state: "signaled", signal: "SIGKILL", exitCode: 137, oomKilled: true, deadlineExceeded: false });
    expect(result.status!.oomEvidence).toBe("cgroup");
    // The hog would take all of the machine's memory; the peak stays near the limit (RSS also
    // counts file pages charged to other cgroups, such as the interpreter's own).
    expect(result.status!.maxRssBytes).toBeLessThan(96 * 1024 * 1024);
    expect(result.log).toBe("allocating\n");
    expect(container(result.run, "computing").exitCode).toBe(0);
    expect(container(result.run, "datomspace-out").exitCode).toBe(0);
    expect(container(result.run, "oracle").exitCode).toBe(0);
    expect(result.run.leftovers).toEqual([]);
  });

  slow("contains a fork bomb with the pod's pids limit; the deadline ends it", async () => {
    const algorithm = `
import os, time
forks = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
        forks += 1
except OSError as e:
    print("fork refused after", forks, "forks:", e.strerror, flush=True)
time.sleep(120)
`;

    const result = await runFixture({ name: "forkbomb", algorithm, pidsLimit: 64, deadlineSeconds: 5 });

    expect(container(result.run, "computing").logs.stderr).toBe("");
    expect(result.log).toMatch(/^fork refused after [0-9]+ forks: Resource temporarily unavailable\n$/);
    const forks = Number(/after ([0-9]+)/.exec(result.log)![1]);
    expect(forks).toBeLessThan(64);
    expect(result.status).toMatchObject({ state: "signaled", signal: "SIGTERM", deadlineExceeded: true, oomKilled: false });
    expect(container(result.run, "oracle").exitCode).toBe(0);
    expect(result.run.leftovers).toEqual([]);
  });

  slow("stops an algorithm at its deadline, with SIGKILL when it ignores SIGTERM", async () => {
    const algorithm = `
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM", flush=True)
time.sleep(300)
`;
    const started = Date.now();

    const result = await runFixture({ name: "deadline", algorithm, deadlineSeconds: 2 });

    expect(result.status).toMatchObject({ state: "signaled", signal: "SIGKILL", exitCode: 137, deadlineExceeded: true, oomKilled: false, oomEvidence: null });
    expect(result.status!.durationMs).toBeGreaterThanOrEqual(4000);
    expect(result.status!.durationMs).toBeLessThan(8000);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result.log).toBe("ignoring SIGTERM\n");
    expect(container(result.run, "oracle").exitCode).toBe(0);
  });

  slow("stops the whole pod at the runner's time limit; the supervisor records that it was interrupted", async () => {
    const algorithm = `
import time
print("working", flush=True)
time.sleep(300)
`;

    const result = await runFixture({ name: "podlimit", algorithm, deadlineSeconds: 600, timeoutMs: 8000 });

    expect(result.run.timedOut).toBe(true);
    expect(result.status).toMatchObject({ state: "signaled", signal: "SIGTERM", interruptedBy: "SIGTERM", deadlineExceeded: false, oomKilled: false });
    expect(result.log).toBe("working\n");
    expect(container(result.run, "computing").status).toBe("exited");
    expect(container(result.run, "oracle").status).toBe("created");
    expect(result.run.leftovers).toEqual([]);
  });

  slow("never starts the algorithm when datomspace-in finds an input changed", async () => {
    const algorithm = `open("/data/outputs/ran", "w").write("the algorithm ran")\n`;

    const result = await runFixture({ name: "tampered", algorithm, expectedSha256: "0".repeat(64) });

    expect(result.run.containers.map((c) => [c.container, c.status])).toEqual([
      ["datomspace-in", "exited"],
      ["computing", "created"],
      ["datomspace-out", "created"],
      ["oracle", "created"],
    ]);
    expect(container(result.run, "datomspace-in").exitCode).toBe(1);
    expect(container(result.run, "datomspace-in").logs.stderr).toContain(`/datomspod/inputs/0/patients.csv has sha256 `);
    expect(result.status).toBeUndefined();
    expect(result.outputs).toEqual({});
    expect(result.run.leftovers).toEqual([]);
  });
});
