import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { InputError } from "../../generator/errors.js";
import { INIT_CONTAINER_TYPE_ANNOTATION, pidsMaxFiles, podFromJob, podmanPod, podmanYaml } from "../../generator/run/pod.js";

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
    expect(podDoc.metadata.annotations).toEqual({ [INIT_CONTAINER_TYPE_ANNOTATION]: "always" });
    expect(podDoc.spec.volumes.find((v: Json) => v.name === "hospital-stats-r1-outputs")).toEqual({ name: "hospital-stats-r1-outputs", emptyDir: {} });
    expect(podDoc.spec.initContainers[1].volumeMounts.map((m: { name: string }) => m.name)).toEqual([
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
        metadata: { name: "dp-run-1", labels: { a: "b" }, annotations: { [INIT_CONTAINER_TYPE_ANNOTATION]: "always" } },
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
