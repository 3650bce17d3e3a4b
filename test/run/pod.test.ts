import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { InputError } from "../../generator/errors.js";
import {
  cgroupToQuiet,
  mountPointsUnder,
  parseK8sFileLog,
  pidsMaxFiles,
  podCgroupCandidates,
  podFromJob,
  podmanPod,
  podmanYaml,
  revealingMounts,
  scratchLayout,
} from "../../generator/run/pod.js";

type Json = Record<string, any>;

function fixture(): Json[] {
  const text = readFileSync(join(import.meta.dirname, "fixtures", "pod.yaml"), "utf8").replace(/@([A-Z0-9_]+)@/g, (_, key: string) =>
    key === "POD_NAME" ? "hospital-stats-r1" : key === "DEADLINE" ? "60" : key === "MEMORY" ? "256Mi" : `/x/${key.toLowerCase()}`,
  );
  return parseAllDocuments(text).map((doc) => doc.toJS() as Json);
}

function refusal(objects: Json[]): InputError {
  try {
    podmanPod(objects, "clusters/local/hospital-stats/job.yaml");
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error("podmanPod accepted the objects");
}

describe("podmanPod", () => {
  it("keeps the pod and renames its volumes and ConfigMaps after it, which podman makes global", () => {
    const objects = fixture();

    const pod = podmanPod(objects, "fixture.yaml");

    expect(pod.name).toBe("hospital-stats-r1");
    expect(pod.initContainers).toEqual(["datomspace-in", "computing", "datomspace-out"]);
    expect(pod.containers).toEqual(["oracle"]);
    // The supervisor comes through the tools volume: runc can create the container only once it is there.
    expect(pod.createdAtTurn).toEqual(["computing"]);
    expect(pod.emptyDirs).toEqual([
      { volume: "hospital-stats-r1-layout", bytes: 1024 ** 2 },
      { volume: "hospital-stats-r1-outputs", bytes: 16 * 1024 ** 2 },
      { volume: "hospital-stats-r1-logs", bytes: 4 * 1024 ** 2 },
      { volume: "hospital-stats-r1-tmp", bytes: 16 * 1024 ** 2 },
      { volume: "hospital-stats-r1-tools", bytes: 16 * 1024 ** 2 },
      { volume: "hospital-stats-r1-status", bytes: 1024 ** 2 },
    ]);
    expect(pod.configMapVolumes).toEqual(["hospital-stats-r1-algorithm", "hospital-stats-r1-ddos", "hospital-stats-r1-roles", "hospital-stats-r1-run"]);
    const podDoc = pod.documents.at(-1) as Json;
    expect(pod.documents.map((d) => `${String(d.kind)} ${String((d.metadata as Json).name)}`)).toEqual([
      "ConfigMap hospital-stats-r1-algorithm",
      "ConfigMap hospital-stats-r1-ddos",
      "ConfigMap hospital-stats-r1-roles",
      "ConfigMap hospital-stats-r1-run",
      "Pod hospital-stats-r1",
    ]);
    // The runner starts each role itself, in the pod's order: podman gets them all as containers.
    expect(podDoc.metadata.annotations).toBeUndefined();
    expect(podDoc.spec.initContainers).toBeUndefined();
    expect(podDoc.spec.containers.map((c: Json) => c.name)).toEqual(["datomspace-in", "computing", "datomspace-out", "oracle"]);
    expect(podDoc.spec.volumes.find((v: Json) => v.name === "hospital-stats-r1-outputs")).toEqual({ name: "hospital-stats-r1-outputs", emptyDir: {} });
    expect(podDoc.spec.containers[1].volumeMounts.map((m: { name: string }) => m.name)).toEqual([
      "hospital-stats-r1-layout",
      "input-0-0",
      "ddos",
      "algorithm",
      "hospital-stats-r1-outputs",
      "hospital-stats-r1-logs",
      "hospital-stats-r1-tmp",
      "hospital-stats-r1-tools",
      "hospital-stats-r1-status",
    ]);
    expect(podDoc.spec.volumes.find((v: Json) => v.name === "ddos").configMap.name).toBe("hospital-stats-r1-ddos");
    expect(objects.find((o) => o.kind === "Pod")!.spec.volumes.find((v: Json) => v.name === "outputs")).toEqual({
      name: "outputs",
      emptyDir: { sizeLimit: "16Mi" },
    });
  });

  it("creates at its turn only a container whose program lies in a volume it mounts", () => {
    const objects = fixture();
    const spec = objects.find((o) => o.kind === "Pod")!.spec;
    const [datomspaceIn, computing, datomspaceOut] = spec.initContainers;
    const oracle = spec.containers[0];
    datomspaceIn.command = ["datomspod"]; // a name PATH resolves in the image
    computing.command = [`${computing.volumeMounts.at(-1).mountPath}/`]; // the mount point itself
    datomspaceOut.command = ["/datomspod/statusfile"]; // beside a mount, not in it
    datomspaceOut.volumeMounts.push({ name: "status", mountPath: "/datomspod/status/" });
    delete oracle.command; // the image's entrypoint

    expect(podmanPod(objects, "fixture.yaml").createdAtTurn).toEqual(["computing"]);
  });

  it("turns a Job into the Pod it would create, with its deadline", () => {
    const job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "dp-run-1", namespace: "dp-x" },
      spec: {
        activeDeadlineSeconds: 900,
        template: { metadata: { labels: { a: "b" } }, spec: { restartPolicy: "Never", containers: [{ name: "oracle", image: "i" }] } },
      },
    };

    const pod = podmanPod([job], "job.yaml");

    expect(podFromJob(job)).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "dp-run-1", namespace: "dp-x", labels: { a: "b" } },
      spec: { restartPolicy: "Never", containers: [{ name: "oracle", image: "i" }], activeDeadlineSeconds: 900 },
    });
    expect(pod.activeDeadlineSeconds).toBe(900);
    expect(pod.documents).toEqual([
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "dp-run-1", labels: { a: "b" } },
        spec: { restartPolicy: "Never", containers: [{ name: "oracle", image: "i" }], activeDeadlineSeconds: 900 },
      },
    ]);
  });

  it("refuses, all at once, what podman 4.3 kube play would get wrong", () => {
    const objects = fixture().filter((o) => !(o.kind === "ConfigMap" && o.metadata.name === "run"));
    const pod = objects.find((o) => o.kind === "Pod")!;
    const computing = pod.spec.initContainers[1];
    computing.volumeMounts.push({ name: "input-0-0", mountPath: "/data/inputs/did:op:7f3c/0", readOnly: true });
    computing.volumeMounts.push({ name: "algorithm", mountPath: "/data/transformations/algorithm", subPath: "algorithm", readOnly: true });
    pod.spec.initContainers[0].volumeMounts[1].readOnly = false;
    pod.spec.volumes.find((v: Json) => v.name === "tmp").emptyDir = {};

    const error = refusal(objects);

    expect(error.message).toBe("clusters/local/hospital-stats/job.yaml: the pod cannot run under podman kube play as rendered (5 issues)");
    expect(error.issues.map((i) => [i.path, i.message])).toEqual([
      ["$[3].spec.volumes[8].emptyDir", "has no sizeLimit: podman backs it with host storage nothing else bounds"],
      ["$[3].spec.initContainers[0].volumeMounts[1].readOnly", "the hostPath volume input-0-0 is mounted writable"],
      [
        "$[3].spec.initContainers[1].volumeMounts[9].mountPath",
        "\"/data/inputs/did:op:7f3c/0\" contains ':', which podman kube play takes for a mount option separator",
      ],
      ["$[3].spec.initContainers[1].volumeMounts[10].subPath", "podman 4.3 kube play ignores subPath and mounts the whole volume"],
      ["$[3].spec.volumes", "the ConfigMap run is not among the rendered objects"],
    ]);
    expect(error.issues.every((i) => i.file === "clusters/local/hospital-stats/job.yaml" && (i.fix ?? "") !== "")).toBe(true);
  });

  it.each([
    [[], "expected exactly one Job or Pod, found 0"],
    [[{ kind: "Pod", metadata: { name: "Not_DNS" }, spec: { containers: [{ name: "c" }] } }], '"Not_DNS" is not a DNS-1123 label'],
  ])("refuses objects that are not one runnable pod (%#)", (objects, message) => {
    expect(refusal(objects as Json[]).issues[0].message).toBe(message);
  });
});

describe("podmanYaml", () => {
  it("writes every document without YAML anchors, byte-identically on every call", () => {
    const pod = podmanPod(fixture(), "fixture.yaml");

    const text = podmanYaml(pod);

    expect(text).toBe(podmanYaml(podmanPod(fixture(), "fixture.yaml")));
    expect(text).not.toMatch(/[&*]a[0-9]/);
    expect(text.split("---\n")).toHaveLength(5);
    expect(parseAllDocuments(text).map((d) => d.toJS() as unknown)).toEqual(pod.documents);
  });
});

describe("pidsMaxFiles", () => {
  it("names the pod cgroup's pids.max under cgroup v1 and v2", () => {
    expect(pidsMaxFiles("/sys/fs/cgroup", "/libpod_parent/abc")).toEqual([
      "/sys/fs/cgroup/pids/libpod_parent/abc/pids.max",
      "/sys/fs/cgroup/libpod_parent/abc/pids.max",
    ]);
  });
});

describe("podmanPod: who owns the emptyDirs", () => {
  it("gives them to the pod's runAsUser and fsGroup", () => {
    expect(podmanPod(fixture(), "fixture.yaml").scratchOwner).toEqual({ uid: 65532, gid: 65532 });
  });

  it("refuses a pod with emptyDirs but no runAsUser, a container of another user, and ConfigMap items it cannot write", () => {
    const objects = fixture();
    const pod = objects.find((o) => o.kind === "Pod")!;
    delete pod.spec.securityContext.runAsUser;
    const noUser = refusal(objects);
    const other = fixture();
    other.find((o) => o.kind === "Pod")!.spec.initContainers[2].securityContext = { runAsUser: 1000 };
    other.find((o) => o.kind === "Pod")!.spec.volumes.find((v: Json) => v.name === "run").configMap.items = [
      { key: "missing.json", path: "a.json" },
      { key: "algoCustomData.json", path: "../escape.json" },
    ];

    const mixed = refusal(other);

    expect(noUser.issues.map((i) => [i.path, i.message])).toEqual([
      ["$[4].spec.securityContext.runAsUser", "is not set: the runner makes each emptyDir a tmpfs owned by the pod's user"],
    ]);
    expect(mixed.issues.map((i) => [i.path, i.message])).toEqual([
      ["$[4].spec.initContainers[2].securityContext.runAsUser", "is 1000, but the pod's emptyDirs belong to its runAsUser 65532 (mode 0700)"],
      ["$[4].spec.volumes[4].configMap.items[0].key", 'the ConfigMap has no key "missing.json"'],
      ["$[4].spec.volumes[4].configMap.items[1].path", '"../escape.json" is not a relative path inside the volume'],
    ]);
  });
});

describe("scratchLayout", () => {
  it("plays the Pod alone, its emptyDirs as tmpfs folders and its ConfigMaps as read-only folders of their files", () => {
    const objects = fixture();
    objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "algorithm")!.data = {};
    objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "algorithm")!.binaryData = {
      algorithm: Buffer.from([0xff, 0x00, 0x41]).toString("base64"),
    };
    objects.find((o) => o.kind === "Pod")!.spec.volumes.find((v: Json) => v.name === "ddos").configMap.defaultMode = 0o444;
    const pod = podmanPod(objects, "fixture.yaml");

    const layout = scratchLayout(pod, "/run/s", new Map([["input-0-0", { real: "/srv/hospital/admissions/patients.csv", kind: "file" as const }]]));

    const podDoc = parseAllDocuments(layout.yaml).map((d) => d.toJS() as Json);
    expect(podDoc).toHaveLength(1);
    expect(podDoc[0].kind).toBe("Pod");
    expect(layout.yamlFile).toBe("/run/s/hospital-stats-r1.podman.yaml");
    expect(layout.root).toBe("/run/s/hospital-stats-r1");
    expect(podDoc[0].spec.volumes).toEqual([
      // The input's host folder is staged under the root: the pod never names /srv/hospital.
      { name: "input-0-0", hostPath: { path: "/run/s/hospital-stats-r1/inputs/0/patients.csv", type: "File" } },
      ...["roles", "algorithm", "ddos", "run"].map((name) => ({ name, hostPath: { path: `/run/s/hospital-stats-r1/configmap/${name}`, type: "Directory" } })),
      ...["layout", "outputs", "logs", "tmp", "tools", "status"].map((name) => ({
        name: `hospital-stats-r1-${name}`,
        hostPath: { path: `/run/s/hospital-stats-r1/emptydir/hospital-stats-r1-${name}`, type: "Directory" },
      })),
      { name: "datomspod-etc-hosts", hostPath: { path: "/run/s/hospital-stats-r1/etc/hosts", type: "File" } },
      { name: "datomspod-etc-hostname", hostPath: { path: "/run/s/hospital-stats-r1/etc/hostname", type: "File" } },
      { name: "datomspod-containerenv", hostPath: { path: "/run/s/hospital-stats-r1/etc/containerenv", type: "File" } },
    ]);
    expect(layout.staged).toEqual([
      {
        source: "/srv/hospital/admissions",
        stage: "/run/s/hospital-stats-r1/stage/0",
        overlay: "/run/s/hospital-stats-r1/inputs/0",
        lowers: ["stage/0", "empty"],
      },
    ]);
    expect(layout.empty).toBe("/run/s/hospital-stats-r1/empty");
    expect(layout.tmpfs.map((t) => [t.volume, t.bytes, t.inodes])).toEqual([
      ["hospital-stats-r1-layout", 1024 ** 2, 1024],
      ["hospital-stats-r1-outputs", 16 * 1024 ** 2, 4096],
      ["hospital-stats-r1-logs", 4 * 1024 ** 2, 1024],
      ["hospital-stats-r1-tmp", 16 * 1024 ** 2, 4096],
      ["hospital-stats-r1-tools", 16 * 1024 ** 2, 4096],
      ["hospital-stats-r1-status", 1024 ** 2, 1024],
    ]);
    expect(layout.files.map((f) => [f.path, f.mode.toString(8), f.data.length])).toEqual([
      ["/run/s/hospital-stats-r1/configmap/algorithm/algorithm", "644", 3],
      ["/run/s/hospital-stats-r1/configmap/ddos/did:op:7f3c2a5e9b1d4c6f8a0e2b4d6f8a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a", "444", expect.any(Number)],
      ["/run/s/hospital-stats-r1/configmap/ddos/did:op:2b4d6f8a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7f3c2a5e9b1d4c6f8a0e", "444", expect.any(Number)],
      ["/run/s/hospital-stats-r1/configmap/run/algoCustomData.json", "644", 42],
      ["/run/s/hospital-stats-r1/etc/hosts", "644", expect.any(Number)],
      ["/run/s/hospital-stats-r1/etc/hostname", "644", 18],
      ["/run/s/hospital-stats-r1/etc/containerenv", "644", 0],
    ]);
    expect(layout.files[4].data.toString()).toBe("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\thospital-stats-r1\n");
    expect(layout.rootFs).toEqual({ bytes: 6 * 4096 + 1024 * 1024, inodes: 1024 }); // six files of one page, the empty one none
    expect([...layout.files[0].data]).toEqual([0xff, 0x00, 0x41]);
    expect(layout.files[3].data.toString()).toBe(`{"groupBy": "region", "minGroupSize": 10}\n`);
    expect(layout.folders).toEqual(["roles", "algorithm", "ddos", "run"].map((name) => `/run/s/hospital-stats-r1/configmap/${name}`));
    const mounts: Json[] = podDoc[0].spec.containers.flatMap((c: Json) => c.volumeMounts as Json[]);
    expect(mounts.filter((m) => ["roles", "algorithm", "ddos", "run", "input-0-0"].includes(m.name)).every((m) => m.readOnly === true)).toBe(true);
    expect(mounts.find((m) => m.name === "hospital-stats-r1-outputs")).toEqual({ name: "hospital-stats-r1-outputs", mountPath: "/data/outputs" });
    for (const container of podDoc[0].spec.containers) {
      expect(container.volumeMounts.slice(-3), container.name).toEqual([
        { name: "datomspod-etc-hosts", mountPath: "/etc/hosts", readOnly: true },
        { name: "datomspod-etc-hostname", mountPath: "/etc/hostname", readOnly: true },
        { name: "datomspod-containerenv", mountPath: "/run/.containerenv", readOnly: true },
      ]);
    }
    // Nothing the pod is given names a path outside the run's root.
    expect(podDoc[0].spec.volumes.every((v: Json) => String(v.hostPath.path).startsWith("/run/s/hospital-stats-r1/"))).toBe(true);
  });

  it("stages two files of one folder through one overlay, a folder as the overlay itself, and refuses a volume it was not told about", () => {
    const objects = fixture();
    const podSpec = objects.find((o) => o.kind === "Pod")!.spec;
    podSpec.volumes.push(
      { name: "input-0-1", hostPath: { path: "/x/other", type: "File" } },
      { name: "input-1", hostPath: { path: "/x/dir", type: "Directory" } },
    );
    const pod = podmanPod(objects, "fixture.yaml");
    const sources = new Map([
      ["input-0-0", { real: "/srv/a/patients.csv", kind: "file" as const }],
      ["input-0-1", { real: "/srv/a/wards.csv", kind: "file" as const }],
      ["input-1", { real: "/srv/b", kind: "directory" as const }],
    ]);

    const layout = scratchLayout(pod, "/s", sources);

    const volumes = (parseAllDocuments(layout.yaml)[0].toJS() as Json).spec.volumes as Json[];
    expect(volumes.filter((v) => v.name.startsWith("input-"))).toEqual([
      { name: "input-0-0", hostPath: { path: "/s/hospital-stats-r1/inputs/0/patients.csv", type: "File" } },
      { name: "input-0-1", hostPath: { path: "/s/hospital-stats-r1/inputs/0/wards.csv", type: "File" } },
      { name: "input-1", hostPath: { path: "/s/hospital-stats-r1/inputs/1", type: "Directory" } },
    ]);
    expect(layout.staged.map((s) => [s.source, s.overlay])).toEqual([
      ["/srv/a", "/s/hospital-stats-r1/inputs/0"],
      ["/srv/b", "/s/hospital-stats-r1/inputs/1"],
    ]);
    sources.delete("input-1");
    expect(() => scratchLayout(pod, "/s", sources)).toThrow("hostPath volume input-1 of pod hospital-stats-r1 was not resolved");
  });
});

describe("revealingMounts", () => {
  const root = "/tmp/datomspod-run-x/hospital-stats-run-1-0123abcd";
  const line = (id: number, rootField: string, point: string, type: string, source: string, options: string): string =>
    `${id} 27 0:${id} ${rootField} ${point} rw,relatime - ${type} ${source} ${options}`;

  it("passes the runner's own mounts and finds one that would name a host path", () => {
    const table = [
      line(40, "/", root, "tmpfs", "tmpfs", "rw,size=1052672k,nr_inodes=1024,mode=700"),
      line(41, "/", `${root}/emptydir/x-outputs`, "tmpfs", "tmpfs", "rw,size=65536k,mode=700,uid=65532,gid=65532"),
      line(42, "/srv/hospital/admissions", `${root}/stage/0`, "ext4", "/dev/vda", "rw"),
      line(43, "/", `${root}/inputs/0`, "overlay", "overlay", "ro,lowerdir=stage/0:empty,redirect_dir=on"),
      line(44, "/srv/hospital/other", "/elsewhere", "ext4", "/dev/vda", "rw"),
    ];
    const bad = [
      line(45, "/srv/hospital/admissions", `${root}/inputs/1`, "ext4", "/dev/vda", "rw"),
      line(46, "/", `${root}/inputs/2`, "overlay", "overlay", "ro,lowerdir=/srv/hospital/admissions:/tmp/e"),
      line(47, "/", `${root}/inputs/3`, "overlay", "overlay", "ro,lowerdir=stage/3:/tmp/e"),
    ];

    expect(revealingMounts(table.join("\n"), root)).toEqual([]);
    expect(revealingMounts([...table, ...bad].join("\n"), root)).toEqual([
      `${root}/inputs/1 (ext4, root /srv/hospital/admissions, options rw)`,
      `${root}/inputs/2 (overlay, root /, options ro,lowerdir=/srv/hospital/admissions:/tmp/e)`,
      `${root}/inputs/3 (overlay, root /, options ro,lowerdir=stage/3:/tmp/e)`,
    ]);
  });
});

describe("parseK8sFileLog", () => {
  it("gives each stream's text back, joining partial lines", () => {
    const log = [
      "2026-11-24T09:29:44.671619047+00:00 stdout F a",
      "2026-11-24T09:29:44.671619047+00:00 stdout P b",
      "2026-11-24T09:29:44.671708801+00:00 stderr F e1",
      "2026-11-24T09:29:44.671619047+00:00 stdout F c d",
      "2026-11-24T09:29:44.671708801+00:00 stderr F ",
      "2026-11-24T09:29:44.671739389+00:00 stdout P end",
      "",
    ].join("\n");

    expect(parseK8sFileLog(log)).toEqual({ stdout: "a\nbc d\nend", stderr: "e1\n\n" });
  });
});

describe("mountPointsUnder", () => {
  it("finds the mounts at or under a folder, with escaped spaces", () => {
    const table = [
      "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
      "101 22 0:50 / /tmp/run\\040a/pod/emptydir/v rw,nosuid,nodev - tmpfs tmpfs rw,size=1024k,uid=65532",
      "102 22 0:51 / /tmp/run\\040ab/other rw - tmpfs tmpfs rw",
      "",
    ].join("\n");

    expect(mountPointsUnder(table, "/tmp/run a/pod")).toEqual(["/tmp/run a/pod/emptydir/v"]);
  });
});

describe("podCgroupCandidates", () => {
  it("names the pod's cgroup under the cgroupfs and systemd managers", () => {
    expect(podCgroupCandidates("abc")).toEqual(["/libpod_parent/abc", "/machine.slice/machine-libpod_pod_abc.slice"]);
  });
});

describe("cgroupToQuiet: the pod is taken down after podman's last processes only when none of its containers waits to be started", () => {
  const PIDS = { file: "/sys/fs/cgroup/pids/libpod_parent/5c3b/pids.max", value: 512 };
  const ALL = ["p-datomspace-in", "p-computing", "p-datomspace-out", "p-oracle"];

  it("waits on the pod's cgroup (the pids limit's folder) once the runner started every container", () => {
    expect(cgroupToQuiet(PIDS, ALL, new Set(ALL))).toBe("/sys/fs/cgroup/pids/libpod_parent/5c3b");
  });

  it("does not wait when a role failed before the others' turn: their runc init stays in the cgroup until the pod goes", () => {
    expect(cgroupToQuiet(PIDS, ALL, new Set(ALL.slice(0, 1)))).toBeUndefined();
    expect(cgroupToQuiet(PIDS, ALL, new Set(ALL.slice(0, 3)))).toBeUndefined();
  });

  it("does not wait when the pod's cgroup is not known (the pids limit could not be written, or the pod never played)", () => {
    expect(cgroupToQuiet({ error: "pids.max: EACCES" }, ALL, new Set(ALL))).toBeUndefined();
    expect(cgroupToQuiet(undefined, ALL, new Set(ALL))).toBeUndefined();
  });
});
