/**
 * What the runner does so that the pod learns nothing of the host (fast: no containers; the e2e
 * file runs a hostile algorithm): it refuses a pod that would share the host's namespaces, name
 * hosts, or mount over the files it owns; it gives every container neutral /etc/hosts,
 * /etc/hostname and /run/.containerenv; every volume it plays lies under the run's own root, the
 * inputs' folders resolved to their real paths and staged there; and before the pod starts it
 * checks the mount table for a mount that would show a host path.
 */

import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { InputError } from "../../generator/errors.js";
import { NEUTRAL_FILES, podmanPod, resolveHostPaths, revealingMounts, scratchLayout } from "../../generator/run/pod.js";
import { tempDir } from "../helpers/repo.js";

type Json = Record<string, any>;

/** The test pod (test/run/fixtures/pod.yaml) with its input at `input`. */
function fixture(input = "/x/input_file"): Json[] {
  const text = readFileSync(join(import.meta.dirname, "..", "run", "fixtures", "pod.yaml"), "utf8").replace(/@([A-Z0-9_]+)@/g, (_, key: string) =>
    key === "POD_NAME"
      ? "hospital-stats-run-1-0123abcd"
      : key === "DEADLINE"
        ? "60"
        : key === "MEMORY"
          ? "256Mi"
          : key === "INPUT_FILE"
            ? input
            : `/x/${key.toLowerCase()}`,
  );
  return parseAllDocuments(text).map((doc) => doc.toJS() as Json);
}

function podSpec(objects: Json[]): Json {
  return objects.find((o) => o.kind === "Pod")!.spec as Json;
}

function issuesOf(objects: Json[]): string[] {
  try {
    podmanPod(objects, "clusters/local/x/job.yaml");
  } catch (error) {
    if (error instanceof InputError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  return [];
}

describe("the runner refuses a pod that would let the host in", () => {
  it("sharing the host's network, PID or IPC namespace, or naming hosts: all at once", () => {
    const objects = fixture();
    Object.assign(podSpec(objects), { hostNetwork: true, hostPID: true, hostIPC: true, hostAliases: [{ ip: "10.0.0.5", hostnames: ["db.internal"] }] });

    expect(issuesOf(objects)).toEqual([
      "$[4].spec.hostNetwork: shares the host's Network namespace with the pod",
      "$[4].spec.hostPID: shares the host's PID namespace with the pod",
      "$[4].spec.hostIPC: shares the host's IPC namespace with the pod",
      "$[4].spec.hostAliases: would name hosts in the pod's /etc/hosts, which the runner writes itself (localhost and the pod only)",
    ]);
  });

  it("sharing one PID namespace between the roles, which would let the algorithm's processes outlive its turn", () => {
    const objects = fixture();
    Object.assign(podSpec(objects), { shareProcessNamespace: true });

    expect(issuesOf(objects)).toEqual(["$[4].spec.shareProcessNamespace: lets one container's processes outlive it, into the next role's turn"]);
  });

  it.each([["OnFailure"], ["Always"], [undefined]])(
    "a restart policy %s, under which podman would run a role again after the runner read its end",
    (policy) => {
      const objects = fixture();
      const spec = podSpec(objects);
      if (policy === undefined) delete spec.restartPolicy;
      else spec.restartPolicy = policy;

      expect(issuesOf(objects)).toEqual([`$[4].spec.restartPolicy: is ${JSON.stringify(policy ?? null)}: a role would run again after it ended`]);
    },
  );

  it.each(["/etc/hosts", "/etc/hostname/", "/run/.containerenv"])("mounting over %s, which the runner owns", (mountPath) => {
    const objects = fixture();
    podSpec(objects).containers[0].volumeMounts.push({ name: "run", mountPath, readOnly: true });

    expect(issuesOf(objects)).toEqual([expect.stringMatching(/^\$\[4\]\.spec\.containers\[0\]\.volumeMounts\[\d+\]\.mountPath: ".*" is the runner's/)]);
  });

  it("naming a volume like the runner's own", () => {
    const objects = fixture();
    podSpec(objects).volumes.push({ name: "datomspod-etc-hosts", emptyDir: { sizeLimit: "1Mi" } });

    expect(issuesOf(objects)).toEqual([expect.stringContaining('"datomspod-etc-hosts" begins like the volumes the runner adds')]);
  });
});

describe("what the runner plays", () => {
  it("mounts neutral files in every container and plays no volume outside the run's root", () => {
    const pod = podmanPod(fixture(), "job.yaml");

    const layout = scratchLayout(pod, "/scratch", new Map([["input-0-0", { real: "/home/alice/hospital data/patients.csv", kind: "file" as const }]]));

    const played = parseAllDocuments(layout.yaml)[0].toJS() as Json;
    expect(layout.yaml).not.toContain("/home/alice");
    expect((played.spec.volumes as Json[]).map((v) => v.hostPath.path).filter((p: string) => !p.startsWith(`${layout.root}/`))).toEqual([]);
    for (const container of played.spec.containers as Json[]) {
      for (const { volume, mountPath } of NEUTRAL_FILES) expect(container.volumeMounts).toContainEqual({ name: volume, mountPath, readOnly: true });
    }
    expect(layout.staged.map((s) => s.source)).toEqual(["/home/alice/hospital data"]);
    expect(layout.files.find((f) => f.path.endsWith("/etc/hostname"))!.data.toString()).toBe("hospital-stats-run-1-0123abcd\n");
  });

  it("names the pod in its hosts file by the hostname the pod asks for, if any", () => {
    const objects = fixture();
    podSpec(objects).hostname = "computing";

    const layout = scratchLayout(podmanPod(objects, "job.yaml"), "/scratch", new Map([["input-0-0", { real: "/d/p.csv", kind: "file" as const }]]));

    expect(layout.files.find((f) => f.path.endsWith("/etc/hosts"))!.data.toString()).toContain("127.0.0.1\tcomputing\n");
  });

  it("resolves an input through symbolic links to its real folder, and refuses one that is missing or not a file, naming the volume", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "real folder"));
    writeFileSync(join(dir, "real folder", "patients.csv"), "a\n");
    symlinkSync(join(dir, "real folder"), join(dir, "link"));
    execFileSync("mkfifo", [join(dir, "fifo")]);

    const resolved = resolveHostPaths(podmanPod(fixture(join(dir, "link", "patients.csv")), "job.yaml"));
    const refused = (input: string): string[] => {
      try {
        resolveHostPaths(podmanPod(fixture(input), "clusters/local/x/job.yaml"));
      } catch (error) {
        if (error instanceof InputError) return error.issues.map((i) => `${i.file} ${i.path}: ${i.message} (fix: ${i.fix})`);
        throw error;
      }
      return [];
    };

    expect(resolved).toEqual(new Map([["input-0-0", { real: join(dir, "real folder", "patients.csv"), kind: "file" }]]));
    expect(refused(join(dir, "nowhere.csv"))).toEqual([
      `clusters/local/x/job.yaml $[4].spec.volumes[0].hostPath.path: ${join(dir, "nowhere.csv")} cannot be read on this machine (ENOENT) (fix: the data owner puts it where the contract's location says: datomspod data place ID --from DIR (checked against the contract); or correct the location and sign the contract again)`,
    ]);
    expect(refused(join(dir, "fifo"))).toEqual([
      `clusters/local/x/job.yaml $[4].spec.volumes[0].hostPath.path: ${join(dir, "fifo")} is neither a file nor a folder (fix: point the input at a regular file)`,
    ]);
  });

  it("finds a mount that would show a host path, also one whose path holds escaped spaces", () => {
    const root = "/tmp/s/run";
    const table = [
      `40 27 0:40 / ${root} rw - tmpfs tmpfs rw,size=1052k`,
      `41 27 254:0 /home/alice/hospital\\040data ${root}/stage/0 ro - ext4 /dev/vda rw`,
      `42 27 0:41 / ${root}/inputs/0 ro - overlay overlay ro,lowerdir=stage/0:empty`,
      `43 27 254:0 /home/alice/hospital\\040data ${root}/inputs/1 ro - ext4 /dev/vda rw`,
      `44 27 0:42 / ${root}/inputs/2 ro - overlay overlay ro,lowerdir=/home/alice/hospital\\040data:empty`,
    ].join("\n");

    expect(revealingMounts(table, root)).toEqual([
      `${root}/inputs/1 (ext4, root /home/alice/hospital data, options rw)`,
      `${root}/inputs/2 (overlay, root /, options ro,lowerdir=/home/alice/hospital data:empty)`,
    ]);
  });
});
