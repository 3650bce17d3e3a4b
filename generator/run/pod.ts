/**
 * Running a rendered pod on one machine with podman 4.3 `kube play`.
 *
 * The pure part turns the Kubernetes objects the generator rendered (a Job, or a Pod, and the
 * ConfigMaps it mounts) into what podman runs, and refuses, with every issue at once, what podman
 * 4.3 would silently get wrong (see docs/local-runner.md):
 * - a `:` in a mountPath (kube play splits mount paths on `:`), a `subPath` (ignored: the whole
 *   volume is mounted), an emptyDir without `sizeLimit` (nothing else bounds it), a writable
 *   hostPath mount;
 * - volume and ConfigMap names are global in podman (an emptyDir is a named volume called like the
 *   pod's volume, and an existing one is reused with its content), so each is renamed
 *   `<pod>-<name>`;
 * - the runner, not podman, runs the init containers one after the other: podman gets every role
 *   as a container, in the pod's order, and starts none of them itself (see playPod).
 *
 * `playPod` is the edge. It gives podman no volume of its own to manage, and the pod no path of the
 * host: everything the pod mounts lies in the run's root, a tmpfs of its own (`scratchLayout`):
 * each emptyDir a tmpfs of its sizeLimit (owned by the pod's user, mode 0700), each ConfigMap
 * volume a read-only folder of its files, each input's host folder bound under the root and seen
 * through a read-only overlay (zero copy), and a neutral /etc/hosts, /etc/hostname and
 * /run/.containerenv in every container, all played as hostPath volumes; so the mount table in the
 * pod names paths inside the root only (checked before the pod starts: `revealingMounts`). Then
 * `kube play --start=false --network none` (while the emptyDirs are mounted), the pids limit on the
 * pod's cgroup (kube play sets none), and Kubernetes' order kept by the runner: each init container
 * alone (`podman start`), the next only once it ended with 0, then the containers together. Each
 * end is read from the file conmon writes the exit code to (exits.ts), at once, instead of after
 * podman's own cleanup of the container, which `pod start` and `podman wait` wait for (100–250 ms a
 * role here); the later roles are created (`podman init`) while the first runs. Then one `podman
 * container inspect`, the logs read from podman's k8s-file logs, collect, `kube down`, unmount,
 * and a check that nothing is left (pod, mounts, folder). Who answers these questions is the
 * caller's choice (`PlayOptions.podman`, podman.ts): a podman process each, or, as `datomspod run`
 * does, a podman service of the run's own, with the same answers and none of a process's start.
 */

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { stringify } from "yaml";
import { InputError, ServiceError, formatIssue, type Issue } from "../errors.js";
import { parseQuantity } from "../compile/quantity.js";
import type { PodUsage } from "../pod/roles/usage.js";
import { bindMount, mountOverlay, mountTmpfs, unmount, type ContainerFacts, type InspectedContainer } from "./exec.js";
import { podmanCli, type Podman } from "./podman.js";
import { conmonExitFile, processArgv, readPid, waitCgroupEmpty, waitExitFile, type ExitTarget } from "./exits.js";

/** The volumes the runner adds to the pod are named with this prefix, which a rendered pod may not use. */
export const RUNNER_VOLUME_PREFIX = "datomspod-";

/**
 * What the runner mounts (read-only) in every container instead of what podman would: podman 4.3
 * kube play writes an /etc/hosts with the host's own entries and `host.containers.internal` (its
 * `--no-hosts` is ignored), and bind-mounts /etc/hostname and /run/.containerenv from its storage on
 * the host, whose path the mount table shows. The runner's files lie in the run's own tmpfs.
 */
export const NEUTRAL_FILES = [
  { volume: `${RUNNER_VOLUME_PREFIX}etc-hosts`, mountPath: "/etc/hosts", file: "etc/hosts" },
  { volume: `${RUNNER_VOLUME_PREFIX}etc-hostname`, mountPath: "/etc/hostname", file: "etc/hostname" },
  { volume: `${RUNNER_VOLUME_PREFIX}containerenv`, mountPath: "/run/.containerenv", file: "etc/containerenv" },
] as const;

/** The pod's /etc/hosts: localhost, and its own name on the loopback (it has no other address). */
export function neutralHosts(hostname: string): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\t${hostname}\n`;
}

type Json = Record<string, unknown>;

interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
  subPathExpr?: string;
}

interface Container {
  name: string;
  volumeMounts?: Mount[];
  [key: string]: unknown;
}

/** Whether the container's program (its absolute `command[0]`) lies in one of the volumes it mounts. */
function programInVolume(container: Container): boolean {
  const command: unknown = container["command"];
  const program: unknown = Array.isArray(command) ? (command as unknown[])[0] : undefined;
  if (typeof program !== "string" || !program.startsWith("/")) return false;
  return (container.volumeMounts ?? []).some((m) => {
    const at = m.mountPath.replace(/\/+$/, "");
    return program === at || program.startsWith(`${at}/`);
  });
}

interface Volume {
  name: string;
  emptyDir?: { sizeLimit?: string; medium?: string };
  configMap?: { name: string; items?: { key: string; path: string; mode?: number }[]; defaultMode?: number; optional?: boolean; [key: string]: unknown };
  hostPath?: { path: string; type?: string };
  [key: string]: unknown;
}

export interface PodmanPod {
  /** The documents to give `podman kube play`: the ConfigMaps, then the Pod. */
  readonly documents: readonly Json[];
  /** The rendered file the pod comes from, and the JSON path of the pod in it (for messages). */
  readonly file: string;
  readonly at: string;
  readonly name: string;
  /** The containers that run one after the other, each only when the one before ended with 0 (Kubernetes' init containers). */
  readonly initContainers: readonly string[];
  /** The containers that run together once every init container succeeded. */
  readonly containers: readonly string[];
  /**
   * The containers whose program a volume brings (the supervisor, which datomspace-in puts into the
   * tools volume): created only when their turn comes, since runc looks the program up when it
   * creates the container. The others are all created before the first starts.
   */
  readonly createdAtTurn: readonly string[];
  /** The emptyDirs (already renamed `<pod>-<name>`), with their size. */
  readonly emptyDirs: readonly { readonly volume: string; readonly bytes: number }[];
  /** The podman volumes kube play makes of the ConfigMaps (named like the renamed ConfigMaps). */
  readonly configMapVolumes: readonly string[];
  /** Who owns the emptyDirs: the pod's runAsUser, and its fsGroup (else runAsGroup, else 0); undefined without emptyDirs. */
  readonly scratchOwner: { readonly uid: number; readonly gid: number } | undefined;
  /** Seconds the pod may run (the Job's activeDeadlineSeconds), when set. */
  readonly activeDeadlineSeconds: number | undefined;
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The Pod a Job would create: its template, named like the Job. */
export function podFromJob(job: Json): Json {
  const metadata = (job.metadata ?? {}) as Json;
  const spec = (job.spec ?? {}) as Json;
  const template = (spec.template ?? {}) as Json;
  const templateMeta = (template.metadata ?? {}) as Json;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: metadata.name,
      ...(metadata.namespace !== undefined ? { namespace: metadata.namespace } : {}),
      ...(templateMeta.labels !== undefined ? { labels: templateMeta.labels } : {}),
      ...(templateMeta.annotations !== undefined ? { annotations: templateMeta.annotations } : {}),
    },
    spec: { ...((template.spec ?? {}) as Json), ...(spec.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: spec.activeDeadlineSeconds } : {}) },
  };
}

/**
 * What podman runs for the rendered objects: exactly one Job or Pod, and the ConfigMaps its
 * volumes name (other kinds, e.g. NetworkPolicy or ResourceQuota, are cluster-side and left out).
 */
export function podmanPod(objects: readonly unknown[], file: string): PodmanPod {
  const issues: Issue[] = [];
  const issue = (path: string, message: string, fix: string): void => {
    issues.push({ file, path, message, fix });
  };
  const workloads = objects.map((o, i) => [o, i] as const).filter(([o]) => isObject(o) && (o.kind === "Job" || o.kind === "Pod"));
  if (workloads.length !== 1) {
    throw InputError.of({
      file,
      path: "$",
      message: `expected exactly one Job or Pod, found ${workloads.length}`,
      fix: "pass the rendered manifests of one run",
    });
  }
  const [workload, index] = workloads[0] as readonly [Json, number];
  const pod = structuredClone(workload.kind === "Job" ? podFromJob(workload) : workload);
  const at = `$[${index}]${workload.kind === "Job" ? ".spec.template" : ""}`;
  const metadata = (pod.metadata ?? {}) as Json;
  const name = metadata.name;
  if (typeof name !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) {
    throw InputError.of({
      file,
      path: `$[${index}].metadata.name`,
      message: `${JSON.stringify(name)} is not a DNS-1123 label`,
      fix: "name the Job like `<contract>-<run>` in lower case",
    });
  }
  const spec = (pod.spec ?? {}) as Json;
  const volumes = (Array.isArray(spec.volumes) ? spec.volumes : []) as Volume[];
  const initContainers = (Array.isArray(spec.initContainers) ? spec.initContainers : []) as Container[];
  const containers = (Array.isArray(spec.containers) ? spec.containers : []) as Container[];
  if (containers.length === 0) issue(`${at}.spec.containers`, "the pod has no containers", "render at least the oracle container");
  // What would let the host into the pod's view: its namespaces, and host names podman would write into /etc/hosts.
  for (const field of ["hostNetwork", "hostPID", "hostIPC"] as const) {
    if (spec[field] === true) issue(`${at}.spec.${field}`, `shares the host's ${field.slice(4)} namespace with the pod`, `remove ${field}`);
  }
  if (spec.restartPolicy !== "Never") {
    // podman restarts a container its pod's policy says to, in its cleanup, after the runner read
    // the exit code: a role would run again beside the next one (kube play makes a missing policy Always).
    issue(`${at}.spec.restartPolicy`, `is ${JSON.stringify(spec.restartPolicy ?? null)}: a role would run again after it ended`, 'set restartPolicy: "Never"');
  }
  if (spec.shareProcessNamespace === true) {
    // The runner starts a role when the one before ended (its PID 1 and, with it, every process of its
    // own PID namespace): a shared namespace would let the algorithm's processes outlive it.
    issue(`${at}.spec.shareProcessNamespace`, "lets one container's processes outlive it, into the next role's turn", "remove shareProcessNamespace");
  }
  if (Array.isArray(spec.hostAliases) && spec.hostAliases.length > 0) {
    issue(
      `${at}.spec.hostAliases`,
      "would name hosts in the pod's /etc/hosts, which the runner writes itself (localhost and the pod only)",
      "remove hostAliases",
    );
  }

  const renamed = new Map<string, string>();
  const emptyDirs: { volume: string; bytes: number }[] = [];
  const configMapNames = new Map<string, string>();
  volumes.forEach((volume, i) => {
    const path = `${at}.spec.volumes[${i}]`;
    const podmanName = `${name}-${volume.name}`;
    if (volume.name.startsWith(RUNNER_VOLUME_PREFIX)) {
      issue(`${path}.name`, `${JSON.stringify(volume.name)} begins like the volumes the runner adds (${RUNNER_VOLUME_PREFIX}…)`, "name the volume otherwise");
    }
    if (volume.emptyDir !== undefined) {
      const limit = volume.emptyDir.sizeLimit;
      if (limit === undefined) {
        issue(`${path}.emptyDir`, "has no sizeLimit: podman backs it with host storage nothing else bounds", "set emptyDir.sizeLimit");
      } else {
        let bytes = Number.NaN;
        try {
          bytes = parseQuantity(limit);
        } catch {
          issue(`${path}.emptyDir.sizeLimit`, `${JSON.stringify(limit)} is not a quantity`, "write it like 64Mi");
        }
        if (Number.isFinite(bytes)) emptyDirs.push({ volume: podmanName, bytes });
      }
      renamed.set(volume.name, podmanName);
      volume.name = podmanName;
      volume.emptyDir = {};
    } else if (volume.configMap !== undefined) {
      const podmanCm = `${name}-${volume.configMap.name}`;
      configMapNames.set(volume.configMap.name, podmanCm);
      volume.configMap.name = podmanCm;
    } else if (volume.hostPath === undefined) {
      issue(path, "podman 4.3 kube play runs emptyDir, configMap and hostPath volumes here", "use one of them");
    }
  });
  const hostPathVolumes = new Set(volumes.filter((v) => v.hostPath !== undefined).map((v) => v.name));
  // The runner mounts each emptyDir as a tmpfs owned by the pod's user, mode 0700 (as podman
  // chowns the volumes it creates to the container's user).
  const podSecurity = isObject(spec.securityContext) ? spec.securityContext : {};
  const id = (value: unknown): number | undefined => (typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined);
  const uid = id(podSecurity.runAsUser);
  if (renamed.size > 0 && uid === undefined) {
    issue(
      `${at}.spec.securityContext.runAsUser`,
      "is not set: the runner makes each emptyDir a tmpfs owned by the pod's user",
      "set spec.securityContext.runAsUser (the pod images run as 65532)",
    );
  }
  const scratchOwner = renamed.size > 0 && uid !== undefined ? { uid, gid: id(podSecurity.fsGroup) ?? id(podSecurity.runAsGroup) ?? 0 } : undefined;

  const checkContainer = (container: Container, path: string): void => {
    const runAs = id((isObject(container.securityContext) ? container.securityContext : {}).runAsUser);
    if (uid !== undefined && runAs !== undefined && runAs !== uid && (container.volumeMounts ?? []).some((m) => renamed.has(m.name))) {
      issue(
        `${path}.securityContext.runAsUser`,
        `is ${runAs}, but the pod's emptyDirs belong to its runAsUser ${uid} (mode 0700)`,
        "run every container that mounts an emptyDir as the pod's runAsUser",
      );
    }
    (container.volumeMounts ?? []).forEach((mount, j) => {
      const where = `${path}.volumeMounts[${j}]`;
      if (NEUTRAL_FILES.some((neutral) => neutral.mountPath === mount.mountPath.replace(/\/+$/, ""))) {
        issue(
          `${where}.mountPath`,
          `${JSON.stringify(mount.mountPath)} is the runner's: it gives every container a neutral file there, without the host's entries or paths`,
          "mount the volume elsewhere",
        );
      }
      if (mount.mountPath.includes(":")) {
        issue(
          `${where}.mountPath`,
          `${JSON.stringify(mount.mountPath)} contains ':', which podman kube play takes for a mount option separator`,
          "mount a directory without ':' in its path and create the Ocean paths (did:op:…) inside it",
        );
      }
      if (mount.subPath !== undefined || mount.subPathExpr !== undefined) {
        issue(
          `${where}.subPath`,
          "podman 4.3 kube play ignores subPath and mounts the whole volume",
          "mount a hostPath of type File, or a whole ConfigMap folder",
        );
      }
      if (hostPathVolumes.has(mount.name) && mount.readOnly !== true) {
        issue(`${where}.readOnly`, `the hostPath volume ${mount.name} is mounted writable`, "set readOnly: true");
      }
      const podmanName = renamed.get(mount.name);
      if (podmanName !== undefined) mount.name = podmanName;
    });
  };
  initContainers.forEach((c, i) => checkContainer(c, `${at}.spec.initContainers[${i}]`));
  containers.forEach((c, i) => checkContainer(c, `${at}.spec.containers[${i}]`));

  const configMaps: Json[] = [];
  for (const object of objects) {
    if (!isObject(object) || object.kind !== "ConfigMap") continue;
    const cmName = ((object.metadata ?? {}) as Json).name;
    const podmanCm = typeof cmName === "string" ? configMapNames.get(cmName) : undefined;
    if (podmanCm === undefined) continue;
    configMaps.push({ ...structuredClone(object), metadata: { name: podmanCm } });
  }
  for (const [original, podmanCm] of configMapNames) {
    if (!configMaps.some((cm) => (cm.metadata as Json).name === podmanCm)) {
      issue(`${at}.spec.volumes`, `the ConfigMap ${original} is not among the rendered objects`, "render it into the same folder");
    }
  }
  volumes.forEach((volume, i) => {
    const cm = volume.configMap === undefined ? undefined : configMaps.find((c) => (c.metadata as Json).name === volume.configMap?.name);
    if (volume.configMap === undefined || cm === undefined) return;
    const keys = new Set([...Object.keys(cm.data ?? {}), ...Object.keys(cm.binaryData ?? {})]);
    (volume.configMap.items ?? []).forEach((item, j) => {
      const where = `${at}.spec.volumes[${i}].configMap.items[${j}]`;
      if (!keys.has(item.key) && volume.configMap?.optional !== true)
        issue(`${where}.key`, `the ConfigMap has no key ${JSON.stringify(item.key)}`, "name a key of its data or binaryData");
      if (typeof item.path !== "string" || item.path === "" || item.path.startsWith("/") || item.path.split("/").includes("..")) {
        issue(`${where}.path`, `${JSON.stringify(item.path)} is not a relative path inside the volume`, "write a relative path without '..'");
      }
    });
  });
  if (issues.length > 0) {
    throw InputError.many(`${file}: the pod cannot run under podman kube play as rendered (${issues.length} issue${issues.length === 1 ? "" : "s"})`, issues);
  }

  // The runner runs the roles one after the other itself (playPod): podman gets them all as
  // containers, in the pod's order, and starts none before the runner says.
  spec.containers = [...initContainers, ...containers];
  delete spec.initContainers;
  pod.metadata = { ...metadata };
  delete (pod.metadata as Json).namespace;
  const activeDeadlineSeconds = typeof spec.activeDeadlineSeconds === "number" ? spec.activeDeadlineSeconds : undefined;
  configMaps.sort((a, b) => (String((a.metadata as Json).name) < String((b.metadata as Json).name) ? -1 : 1));
  return {
    documents: [...configMaps, pod],
    file,
    at,
    name,
    initContainers: initContainers.map((c) => c.name),
    containers: containers.map((c) => c.name),
    createdAtTurn: [...initContainers, ...containers].filter(programInVolume).map((c) => c.name),
    emptyDirs,
    configMapVolumes: configMaps.map((cm) => String((cm.metadata as Json).name)),
    scratchOwner,
    activeDeadlineSeconds,
  };
}

const PODMAN_YAML = { lineWidth: 0, aliasDuplicateObjects: false } as const;

/** The YAML podman reads: the documents in order, LF, no line folding. */
export function podmanYaml(pod: PodmanPod): string {
  return pod.documents.map((doc) => stringify(doc, PODMAN_YAML)).join("---\n");
}

/** The name podman gives a container of a kube-played pod. */
export function containerName(pod: string, container: string): string {
  return `${pod}-${container}`;
}

export interface ContainerResult extends ContainerFacts {
  readonly role: "init" | "main";
  readonly container: string;
  readonly logs: { readonly stdout: string; readonly stderr: string };
}

export interface PodTimings {
  /** Folders, the root's tmpfs, the inputs' overlays, ConfigMap files, and the check that no pod of the name exists. */
  readonly prepareMs: number;
  /** `kube play --start=false` (while the emptyDirs are mounted) and the pids limit. */
  readonly playMs: number;
  /** The init containers, one after the other, each from its `podman start` to its exit code. */
  readonly startMs: number;
  /** The containers, from their `podman start` to the last exit code. */
  readonly waitMs: number;
  /** inspect, logs and the caller's collect (kube down runs meanwhile). */
  readonly collectMs: number;
  /** From `kube down` to the scratch folder removed. */
  readonly downMs: number;
  /** The check that nothing is left. */
  readonly checkMs: number;
  readonly totalMs: number;
}

export interface PodRun {
  readonly name: string;
  /** Every container in pod order; an init container after a failed one has status "created". */
  readonly containers: readonly ContainerResult[];
  /** The pod ran past its deadline (activeDeadlineSeconds or the caller's) and was stopped. */
  readonly timedOut: boolean;
  /** The pids limit written on the pod's cgroup, or why none could be. */
  readonly pidsLimit: { readonly file: string; readonly value: number } | { readonly error: string };
  /** The whole pod's CPU time and peak memory from its cgroup, or null when it could not be found. */
  readonly usage: PodUsage | null;
  readonly timings: PodTimings;
  /** What is still present after the cleanup (`pod …`, `mount …`, `folder …`, `volume …`); empty when it worked. */
  readonly leftovers: readonly string[];
  /** What podman said when it refused to start a turn's containers (for the runner's own output, not the receipt). */
  readonly refused: readonly string[];
  /** How `leftovers` was established, for the receipt. */
  readonly check: string;
}

export interface PlayOptions {
  /** The run's scratch folder: the YAML for podman, the tmpfs mount points and the ConfigMap files go under it. */
  readonly scratchDir: string;
  /** The most processes the whole pod may have. */
  readonly pidsLimit: number;
  /** Milliseconds after which a pod still running is stopped, when the pod sets no deadline. */
  readonly timeoutMs: number;
  /** Called after the pod stopped and before the emptyDirs are unmounted, with their host paths by volume (`<pod>-<name>`). */
  readonly collect?: (volumes: Readonly<Record<string, string>>) => Promise<void> | void;
  readonly now?: () => number;
  /** Where the cgroup file systems are mounted. */
  readonly cgroupRoot?: string;
  /** The kernel's mount table (default /proc/self/mountinfo). */
  readonly mountInfo?: string;
  /** Who answers the questions to podman: its CLI (the default), or a service of the run's own (podman.ts). */
  readonly podman?: Podman;
}

/** Mode of the tmpfs that backs an emptyDir: its owner only (every container runs as the pod's user). */
export const SCRATCH_MODE = 0o700;

/** A hostPath volume's source as this machine resolves it: its real path (symbolic links followed), a file or a folder. */
export interface HostPathSource {
  readonly real: string;
  readonly kind: "file" | "directory";
}

/** One host folder the pod reads, staged under the run's root so that no path of the host shows in the pod. */
export interface StagedFolder {
  /** The real host folder. */
  readonly source: string;
  /** Where it is bound (read-only) under the root: seen by the host only. */
  readonly stage: string;
  /** The read-only overlay of it, whose files the pod mounts: the mount table shows `/<file>` and `lowerdir=stage/<i>:empty`. */
  readonly overlay: string;
  /** The overlay's lower folders, relative to the root. */
  readonly lowers: readonly string[];
}

export interface ScratchLayout {
  /** The YAML podman plays: the Pod alone, its emptyDirs and ConfigMaps as hostPath volumes. */
  readonly yamlFile: string;
  readonly yaml: string;
  /**
   * The run's root: a tmpfs of its own, holding everything the pod mounts (so the mount table in
   * the pod shows paths inside it, never where it lies on the host); removed, and checked, at the end.
   */
  readonly root: string;
  /** The root tmpfs: room for its files, with 1 MiB to spare. */
  readonly rootFs: { readonly bytes: number; readonly inodes: number };
  /** One tmpfs per emptyDir: the size is its sizeLimit, the inodes one per 4 KiB page (at least 1024). */
  readonly tmpfs: readonly { readonly volume: string; readonly dir: string; readonly bytes: number; readonly inodes: number }[];
  /** The host folders of the hostPath volumes (the inputs), each bound and overlaid under the root. */
  readonly staged: readonly StagedFolder[];
  /** The empty folder that is every overlay's second lower folder. */
  readonly empty: string;
  /** The files of the ConfigMap volumes and the neutral /etc files (folders are created for them), mode 0644 unless the volume says otherwise. */
  readonly files: readonly { readonly path: string; readonly data: Buffer; readonly mode: number }[];
  /** The folders of the ConfigMap volumes (also the ones without files). */
  readonly folders: readonly string[];
}

const PAGE = 4096;

/**
 * Where a pod's volumes live on the host when the runner, not podman, provides them (pure): under
 * the run's root, a tmpfs of its own, each emptyDir a tmpfs under `emptydir/<volume>`, each
 * ConfigMap volume a folder of its files under `configmap/<volume>` mounted read-only (as Kubernetes
 * mounts ConfigMaps), each host folder of a hostPath volume (as `sources` resolves it) bound at
 * `stage/<i>` and overlaid read-only at `inputs/<i>`, and the neutral /etc/hosts, /etc/hostname and
 * /run/.containerenv in `etc/`, all played as hostPath volumes. podman then owns no volume of the
 * run (nothing global to name, create, mount or remove), and the mount table in the pod names
 * paths inside the root only. A hostPath volume `sources` does not resolve is refused.
 */
export function scratchLayout(pod: PodmanPod, scratchDir: string, sources: ReadonlyMap<string, HostPathSource>): ScratchLayout {
  const root = join(scratchDir, pod.name);
  const podDoc = structuredClone(pod.documents.at(-1) as Json);
  const spec = podDoc.spec as Json;
  const configMaps = new Map(pod.documents.slice(0, -1).map((cm) => [String((cm.metadata as Json).name), cm]));
  const sizes = new Map(pod.emptyDirs.map((e) => [e.volume, e.bytes]));
  const tmpfs: { volume: string; dir: string; bytes: number; inodes: number }[] = [];
  const files: { path: string; data: Buffer; mode: number }[] = [];
  const folders: string[] = [];
  const staged: StagedFolder[] = [];
  const readOnly = new Set<string>();
  const stage = (folder: string): StagedFolder => {
    const found = staged.find((s) => s.source === folder);
    if (found !== undefined) return found;
    const i = staged.length;
    const made = { source: folder, stage: join(root, "stage", String(i)), overlay: join(root, "inputs", String(i)), lowers: [`stage/${i}`, "empty"] };
    staged.push(made);
    return made;
  };
  spec.volumes = ((spec.volumes ?? []) as Volume[]).map((volume): Volume => {
    const bytes = sizes.get(volume.name);
    if (volume.emptyDir !== undefined && bytes !== undefined) {
      const dir = join(root, "emptydir", volume.name);
      tmpfs.push({ volume: volume.name, dir, bytes, inodes: Math.max(1024, Math.ceil(bytes / PAGE)) });
      return { name: volume.name, hostPath: { path: dir, type: "Directory" } };
    }
    if (volume.configMap !== undefined) {
      const dir = join(root, "configmap", volume.name);
      const cm = configMaps.get(volume.configMap.name) ?? {};
      const data = (cm.data ?? {}) as Record<string, string>;
      const binary = (cm.binaryData ?? {}) as Record<string, string>;
      const content = (key: string): Buffer | undefined =>
        key in data ? Buffer.from(data[key] ?? "", "utf8") : key in binary ? Buffer.from(binary[key] ?? "", "base64") : undefined;
      const mode = volume.configMap.defaultMode ?? 0o644;
      const items = volume.configMap.items ?? [...Object.keys(data), ...Object.keys(binary)].sort().map((key) => ({ key, path: key, mode: undefined }));
      for (const item of items) {
        const bytesOf = content(item.key);
        if (bytesOf !== undefined) files.push({ path: join(dir, item.path), data: bytesOf, mode: item.mode ?? mode });
      }
      folders.push(dir);
      readOnly.add(volume.name);
      return { name: volume.name, hostPath: { path: dir, type: "Directory" } };
    }
    if (volume.hostPath !== undefined) {
      const source = sources.get(volume.name);
      if (source === undefined) throw new Error(`hostPath volume ${volume.name} of pod ${pod.name} was not resolved`);
      readOnly.add(volume.name);
      if (source.kind === "directory") return { name: volume.name, hostPath: { path: stage(source.real).overlay, type: "Directory" } };
      return { name: volume.name, hostPath: { path: join(stage(dirname(source.real)).overlay, basename(source.real)), type: "File" } };
    }
    return volume;
  });
  const hostname = typeof spec.hostname === "string" ? spec.hostname : pod.name;
  const neutral: Record<(typeof NEUTRAL_FILES)[number]["file"], string> = {
    "etc/hosts": neutralHosts(hostname),
    "etc/hostname": `${hostname}\n`,
    "etc/containerenv": "",
  };
  for (const { volume, file } of NEUTRAL_FILES) {
    files.push({ path: join(root, file), data: Buffer.from(neutral[file], "utf8"), mode: 0o644 });
    (spec.volumes as Volume[]).push({ name: volume, hostPath: { path: join(root, file), type: "File" } });
  }
  for (const container of [...((spec.initContainers ?? []) as Container[]), ...((spec.containers ?? []) as Container[])]) {
    for (const mount of container.volumeMounts ?? []) if (readOnly.has(mount.name)) mount.readOnly = true;
    container.volumeMounts = [
      ...(container.volumeMounts ?? []),
      ...NEUTRAL_FILES.map(({ volume, mountPath }) => ({ name: volume, mountPath, readOnly: true })),
    ];
  }
  const fileBytes = files.reduce((sum, f) => sum + Math.ceil(f.data.length / PAGE) * PAGE, 0);
  const entries = files.length + folders.length + tmpfs.length + 2 * staged.length + 16;
  return {
    yamlFile: join(scratchDir, `${pod.name}.podman.yaml`),
    yaml: stringify(podDoc, PODMAN_YAML),
    root,
    rootFs: { bytes: fileBytes + 1024 * 1024, inodes: Math.max(1024, 2 * entries) },
    tmpfs,
    staged,
    empty: join(root, "empty"),
    files,
    folders,
  };
}

/**
 * Resolves the hostPath volumes of the pod on this machine (the edge: realpath and stat), so that
 * the runner can stage their real folders; refuses one that is missing or neither a file nor a
 * folder, naming the volume.
 */
export function resolveHostPaths(pod: PodmanPod): Map<string, HostPathSource> {
  const spec = (pod.documents.at(-1) as Json).spec as Json;
  const resolved = new Map<string, HostPathSource>();
  const issues: Issue[] = [];
  ((spec.volumes ?? []) as Volume[]).forEach((volume, i) => {
    if (volume.hostPath === undefined) return;
    const path = `${pod.at}.spec.volumes[${i}].hostPath.path`;
    try {
      const real = realpathSync(volume.hostPath.path);
      const stats = statSync(real);
      if (stats.isFile() || stats.isDirectory()) resolved.set(volume.name, { real, kind: stats.isFile() ? "file" : "directory" });
      else issues.push({ file: pod.file, path, message: `${volume.hostPath.path} is neither a file nor a folder`, fix: "point the input at a regular file" });
    } catch (error) {
      issues.push({
        file: pod.file,
        path,
        message: `${volume.hostPath.path} cannot be read on this machine (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        fix: "the data owner puts it where the contract's location says: datomspod data place ID --from DIR (checked against the contract); or correct the location and sign the contract again",
      });
    }
  });
  if (issues.length > 0) throw InputError.many(`${pod.file}: ${issues.length} input${issues.length === 1 ? "" : "s"} cannot be staged`, issues);
  return resolved;
}

/**
 * A container's stdout and stderr from podman's k8s-file log (pure): one line per chunk,
 * `<time> <stream> <P|F> <text>`, where F ends a line and P is part of one.
 */
export function parseK8sFileLog(text: string): { stdout: string; stderr: string } {
  const streams = { stdout: [] as string[], stderr: [] as string[] };
  for (const line of text.split("\n")) {
    const match = /^\S+ (stdout|stderr) ([PF])(?: (.*))?$/s.exec(line);
    if (match === null) continue;
    const [, stream, tag, chunk = ""] = match;
    streams[stream as "stdout" | "stderr"].push(tag === "F" ? `${chunk}\n` : chunk);
  }
  return { stdout: streams.stdout.join(""), stderr: streams.stderr.join("") };
}

/** The mount points at or under `dir` in a mountinfo table (pure; octal escapes such as \040 decoded). */
export function mountPointsUnder(mountInfo: string, dir: string): string[] {
  return mountInfo
    .split("\n")
    .map((line) => (line.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))))
    .filter((point) => point === dir || point.startsWith(`${dir}/`));
}

/** One line of a mountinfo table (pure; octal escapes such as \040 decoded). */
export function parseMountInfoLine(line: string): { root: string; mountPoint: string; fsType: string; source: string; superOptions: string } | undefined {
  const fields = line.split(" ");
  const dash = fields.indexOf("-");
  if (fields.length < 10 || dash < 6) return undefined;
  const unescape = (text: string): string => text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
  return {
    root: unescape(fields[3] ?? ""),
    mountPoint: unescape(fields[4] ?? ""),
    fsType: fields[dash + 1] ?? "",
    source: unescape(fields[dash + 2] ?? ""),
    superOptions: unescape(fields[dash + 3] ?? ""),
  };
}

/**
 * The mounts at or under the run's `root` that would show the pod a path of the host (pure): the
 * pod sees, for each of its mounts, the mount's root within its file system and the file system's
 * options. Every mount the runner gives the pod (the root tmpfs, the emptyDirs' tmpfs, the inputs'
 * overlays) must have its own root `/` and no absolute path in its options; the staging binds under
 * `root/stage/`, which name the host folders, are the host's only.
 */
export function revealingMounts(mountInfo: string, root: string): string[] {
  return mountInfo
    .split("\n")
    .map(parseMountInfoLine)
    .filter((m) => m !== undefined)
    .filter((m) => (m.mountPoint === root || m.mountPoint.startsWith(`${root}/`)) && !m.mountPoint.startsWith(`${root}/stage/`))
    .filter((m) => m.root !== "/" || /(^|[,=:])\//.test(m.superOptions))
    .map((m) => `${m.mountPoint} (${m.fsType}, root ${m.root}, options ${m.superOptions})`);
}

/** The pids.max file of a pod's cgroup (cgroup v1 `pids` hierarchy or the v2 unified one). */
export function pidsMaxFiles(cgroupRoot: string, cgroupPath: string): string[] {
  return [join(cgroupRoot, "pids", cgroupPath, "pids.max"), join(cgroupRoot, cgroupPath, "pids.max")];
}

/** Where podman puts a pod's cgroup, by cgroup manager: cgroupfs, then systemd (rootful). */
export function podCgroupCandidates(podId: string): string[] {
  return [`/libpod_parent/${podId}`, `/machine.slice/machine-libpod_pod_${podId}.slice`];
}

function setPidsLimit(files: readonly string[], value: number): PodRun["pidsLimit"] {
  const errors: string[] = [];
  for (const file of files) {
    try {
      writeFileSync(file, `${value}\n`);
      return { file, value };
    } catch (error) {
      errors.push(`${file}: ${(error as Error).message}`);
    }
  }
  return { error: errors.join("; ") };
}

/** The pod's cgroup and its pids.max files: found from its ID without asking podman, else from `podman pod inspect`. */
async function podCgroup(podman: Podman, cgroupRoot: string, pod: string, podId: string | undefined): Promise<{ path: string; pidsFiles: string[] }> {
  for (const candidate of podId === undefined ? [] : podCgroupCandidates(podId)) {
    const files = pidsMaxFiles(cgroupRoot, candidate).filter((file) => existsSync(file));
    if (files.length > 0) return { path: candidate, pidsFiles: files };
  }
  const path = await podman.podCgroupPath(pod);
  return { path, pidsFiles: pidsMaxFiles(cgroupRoot, path) };
}

/** A cgroup counter: the file's one number, or the number of its `key N` line; undefined when unreadable. */
function readCounter(file: string, key?: string): bigint | undefined {
  try {
    const text = readFileSync(file, "utf8");
    const value =
      key === undefined
        ? text.trim()
        : (text
            .split("\n")
            .find((line) => line.startsWith(`${key} `))
            ?.slice(key.length + 1) ?? "");
    return /^\d+$/.test(value) ? BigInt(value) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The whole pod's CPU time and peak memory from its cgroup (every role, every process), read on the
 * host once its containers ended: cgroup v2 `cpu.stat` (µs) and `memory.peak`, or v1
 * `cpuacct.usage` (ns) and `memory.max_usage_in_bytes`. A value is null when not readable here.
 */
export function podCgroupUsage(cgroupRoot: string, cgroupPath: string): PodUsage {
  const v2Micros = readCounter(join(cgroupRoot, cgroupPath, "cpu.stat"), "usage_usec");
  const v1Nanos = ["cpuacct", "cpu,cpuacct"].map((mount) => readCounter(join(cgroupRoot, mount, cgroupPath, "cpuacct.usage"))).find((n) => n !== undefined);
  const ms = v2Micros !== undefined ? v2Micros / 1000n : v1Nanos !== undefined ? v1Nanos / 1_000_000n : undefined;
  const peak = readCounter(join(cgroupRoot, cgroupPath, "memory.peak")) ?? readCounter(join(cgroupRoot, "memory", cgroupPath, "memory.max_usage_in_bytes"));
  return { cpuSeconds: ms === undefined ? null : Number(ms) / 1000, peakMemoryBytes: peak === undefined ? null : Number(peak) };
}

const MAX_LOG_BYTES = 64 * 1024 * 1024;

/** How long the runner waits for podman's processes of an ended pod (conmon, its cleanup) before it takes the pod down anyway. */
const QUIET_MS = 1000;

/** A container's logs: read from its k8s-file log on the host (no process), else through `podman logs`. */
async function logsOf(podman: Podman, container: InspectedContainer): Promise<{ stdout: string; stderr: string }> {
  if (container.status === "created") return { stdout: "", stderr: "" };
  if (container.log.driver === "k8s-file" && container.log.path !== "") {
    try {
      const fd = openSync(container.log.path, "r");
      try {
        const buffer = Buffer.alloc(MAX_LOG_BYTES);
        const read = readSync(fd, buffer, 0, MAX_LOG_BYTES, 0);
        return parseK8sFileLog(buffer.subarray(0, read).toString("utf8"));
      } finally {
        closeSync(fd);
      }
    } catch {
      // Not readable here: ask podman.
    }
  }
  return podman.containerLogs(container.name);
}

function mountTable(file: string): string {
  return readFileSync(file, "utf8");
}

/**
 * The pod's cgroup to wait for before it is taken down (waitCgroupEmpty), or undefined: only when the
 * runner started every container (one it never started sits in the cgroup as runc's init, waiting
 * to be started, until the pod goes) and the pods limit was written (its folder is the cgroup).
 */
export function cgroupToQuiet(pidsLimit: PodRun["pidsLimit"] | undefined, all: readonly string[], started: ReadonlySet<string>): string | undefined {
  if (pidsLimit === undefined || !("file" in pidsLimit)) return undefined;
  return all.every((name) => started.has(name)) ? dirname(pidsLimit.file) : undefined;
}

/** Waits for every promise, then throws the first failure: no mount may still be under way when a failure cleans up. */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((p) => p.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

/**
 * Runs the pod to its end and removes it, with everything it used. Refuses to start when a pod of
 * the same name exists (a previous run was not cleaned up, or the same run runs now).
 */
export async function playPod(pod: PodmanPod, options: PlayOptions): Promise<PodRun> {
  const now = options.now ?? Date.now;
  const mountInfo = options.mountInfo ?? "/proc/self/mountinfo";
  const podman = options.podman ?? podmanCli;
  const layout = scratchLayout(pod, options.scratchDir, resolveHostPaths(pod));
  const mounted: Record<string, string> = {};
  /** Every mount point the runner made (or began to make), in order: unmounted in the reverse order. */
  const mountPoints: string[] = [];
  const imageVolumes = new Set<string>();
  let timedOut = false;
  let played = false;
  let pidsLimit: PodRun["pidsLimit"] | undefined;
  let cgroupPath: string | undefined;
  let usage: PodUsage | null = null;
  const results: ContainerResult[] = [];
  /** podman's refusals to start a turn. */
  const refused: string[] = [];
  const t0 = now();
  const timings = { prepareMs: 0, playMs: 0, startMs: 0, waitMs: 0, collectMs: 0, downMs: 0, checkMs: 0, totalMs: 0 };
  /** podman processes started in the background (creating the later roles, inspecting): settled before the pod is taken down. */
  const background: Promise<unknown>[] = [];
  /** Lets the background questions go (true) once the first turn started, or drops them (false: it did not, or the run failed before); the first call counts. */
  let firstStarted: (go: boolean) => void = () => undefined;
  const mayCreate = new Promise<boolean>((resolve) => (firstStarted = resolve));
  let down: Promise<void> | undefined;
  let downStarted = 0;
  /** Takes the pod down; never fails: what could not be removed, the check that nothing is left reports. */
  const takeDown = (): Promise<void> =>
    (down ??= (async () => {
      downStarted = now();
      const downed = played && (await podman.kubeDown(layout.yamlFile).catch(() => false));
      if (played && !downed) await podman.podRemove(pod.name).catch(() => undefined);
      if (imageVolumes.size > 0) await podman.volumeRemove([...imageVolumes]).catch(() => undefined);
    })());
  try {
    /** The run's root (a tmpfs of its own), podman's YAML, the volumes' folders and the ConfigMaps' files. */
    const prepareFiles = async (): Promise<void> => {
      mkdirSync(layout.root, { recursive: true, mode: 0o700 });
      mountPoints.push(layout.root);
      await mountTmpfs(layout.root, { ...layout.rootFs, uid: 0, gid: 0, mode: 0o700 });
      writeFileSync(layout.yamlFile, layout.yaml);
      mkdirSync(layout.empty, { mode: 0o755 });
      for (const folder of layout.folders) mkdirSync(folder, { recursive: true, mode: 0o755 });
      for (const file of layout.files) {
        mkdirSync(dirname(file.path), { recursive: true, mode: 0o755 });
        writeFileSync(file.path, file.data, { mode: file.mode });
      }
      for (const { dir } of layout.tmpfs) mkdirSync(dir, { recursive: true, mode: 0o700 });
      // The inputs' files must be there when podman reads the YAML (a hostPath of type File).
      await settleAll(
        layout.staged.map(async (folder) => {
          mkdirSync(folder.stage, { recursive: true, mode: 0o700 });
          mkdirSync(folder.overlay, { recursive: true, mode: 0o700 });
          mountPoints.push(folder.stage);
          await bindMount(folder.source, folder.stage);
          mountPoints.push(folder.overlay);
          await mountOverlay(layout.root, folder.lowers, folder.overlay);
        }),
      );
    };
    /** The emptyDirs' tmpfs, then the check that no mount shows a host path. */
    const mountVolumes = async (): Promise<void> => {
      const owner = pod.scratchOwner ?? { uid: 0, gid: 0 };
      await settleAll(
        layout.tmpfs.map(async ({ volume, dir, bytes, inodes }) => {
          mounted[volume] = dir;
          mountPoints.push(dir);
          await mountTmpfs(dir, { bytes, inodes, uid: owner.uid, gid: owner.gid, mode: SCRATCH_MODE });
        }),
      );
      // Fail closed: were the kernel to show a host path in a mount the pod gets, nothing runs.
      const revealing = revealingMounts(mountTable(mountInfo), layout.root);
      if (revealing.length > 0) {
        const issue: Issue = {
          file: `pod ${pod.name}`,
          path: "$.spec.volumes",
          message: `the mount table would show the pod where its volumes lie on this machine (${revealing.join("; ")}); nothing ran`,
          fix: "report it: the runner stages every volume under a tmpfs of its own so that no host path shows",
        };
        throw new ServiceError(formatIssue(issue), [issue]);
      }
    };
    const [exists, prepared] = await Promise.allSettled([podman.podExists(pod.name), prepareFiles()]);
    if (prepared.status === "rejected") throw prepared.reason;
    if (exists.status === "rejected") throw exists.reason;
    if (exists.value) {
      const issue: Issue = {
        file: `podman pod ${pod.name}`,
        path: "$",
        message: "already exists: a previous run was not cleaned up, or the same run is running",
        fix: `see \`podman pod ps\`; remove a stale one with podman pod rm -f ${pod.name}`,
      };
      throw new ServiceError(formatIssue(issue), [issue]);
    }
    const t1 = now();
    timings.prepareMs = t1 - t0;
    played = true; // a failed play leaves the pod behind: take it down whatever happens now
    // podman creates the pod (nothing of it runs) while the volumes are mounted: their folders are
    // there already, and no container is created before the mounts are checked.
    const [playing, mounting] = await Promise.allSettled([podman.kubePlay(layout.yamlFile), mountVolumes()]);
    if (mounting.status === "rejected") throw mounting.reason;
    if (playing.status === "rejected") throw playing.reason;
    const podId = playing.value;
    const cgroup = await podCgroup(podman, options.cgroupRoot ?? "/sys/fs/cgroup", pod.name, podId);
    cgroupPath = cgroup.path;
    pidsLimit = setPidsLimit(cgroup.pidsFiles, options.pidsLimit);
    const deadline = t1 + (pod.activeDeadlineSeconds !== undefined ? pod.activeDeadlineSeconds * 1000 : options.timeoutMs);
    const remaining = (): number => Math.max(1, deadline - now());
    const timeUp = (error: unknown): undefined => {
      if (!(error instanceof ServiceError) || !/did not finish within/.test(error.message)) throw error;
      return undefined;
    };
    const t2 = now();
    timings.playMs = t2 - t1;
    const all = [...pod.initContainers, ...pod.containers].map((c) => containerName(pod.name, c));
    // Each init container alone, then the containers together.
    const turns = [...pod.initContainers.map((c) => [containerName(pod.name, c)]), pod.containers.map((c) => containerName(pod.name, c))];
    // Once the first role's start returned (podman is not asked to create or inspect a container of
    // the pod while it starts the first, and the infra container with it), every later container
    // whose program is in its image is created (runc's share of a start) while the first runs; one
    // that could not be (podman leaves it "created") is created when it starts. A container whose
    // program a volume brings is created at its turn.
    const atTurn = new Set([...(turns[0] ?? []), ...pod.createdAtTurn.map((c) => containerName(pod.name, c))]);
    const creating = mayCreate
      .then((go) =>
        go
          ? podman.initContainers(
              all.filter((name) => !atTurn.has(name)),
              remaining(),
            )
          : undefined,
      )
      .catch(timeUp);
    const inspecting = mayCreate.then((go) => (go ? podman.inspectContainers(all, remaining()) : []));
    // Settled at once, so that neither is left unhandled while the first turn runs.
    creating.catch(() => undefined);
    inspecting.catch(() => undefined);
    background.push(creating, inspecting);

    /** Where conmon will write the container's exit code, read from conmon's own command line; undefined when not known. */
    const exitTarget = async (name: string): Promise<ExitTarget | undefined> => {
      // Not known in time (a wedged podman holds the lock): podman wait, up to the deadline, tells.
      const facts = (await inspecting.catch(() => [])).find((c) => c.name === name);
      const conmonPid = facts === undefined ? undefined : readPid(facts.conmonPidFile);
      const argv = conmonPid === undefined ? undefined : processArgv(conmonPid);
      const file = argv === undefined || facts === undefined ? undefined : conmonExitFile(argv, facts.id);
      return file === undefined ? undefined : { file, conmonPid };
    };
    /** The container's exit code as soon as conmon wrote it; else podman's (`podman wait`); "timeout" past the deadline. */
    const exitOf = async (name: string): Promise<number | "timeout"> => {
      const target = await exitTarget(name);
      if (target !== undefined) {
        const outcome = await waitExitFile(target, deadline, now);
        if ("code" in outcome) return outcome.code;
        if ("timedOut" in outcome) return "timeout";
      }
      const codes = await podman.waitContainers([name], remaining()).catch(timeUp);
      return codes === undefined ? "timeout" : (codes[0] ?? -1);
    };
    /** The containers the runner started: the others never ran, whatever podman made of them when the pod stopped. */
    const startedByRunner = new Set<string>();
    /**
     * Starts the containers together and waits until each ended: true when all ended with 0.
     * Past the deadline, the pod is stopped (SIGTERM, SIGKILL 2 s later).
     */
    const turn = async (names: readonly string[]): Promise<boolean> => {
      const stop = async (deadlinePassed: boolean): Promise<false> => {
        timedOut ||= deadlinePassed;
        await podman.podStop(pod.name, 2);
        return false;
      };
      if (names.some((name) => !atTurn.has(name))) await creating;
      if (now() >= deadline) {
        firstStarted(false);
        return stop(true);
      }
      const started = await podman.startContainers(names, remaining()).catch(timeUp);
      // The later roles are created only when the first started: after a refusal, nothing more is.
      firstStarted(started?.code === 0);
      if (started === undefined) {
        for (const name of names) startedByRunner.add(name);
        return stop(true);
      }
      if (started.code !== 0) {
        refused.push(started.stderr.trim() || `podman start ${names.join(" ")} exited with ${started.code}`);
        // One did not start: the run has failed. What did start is stopped before anything reads
        // the volumes; a container podman does not show is counted as started.
        const states = new Map((await podman.inspectContainers(names, remaining()).catch(() => [])).map((c) => [c.name, c.status]));
        for (const name of names) if (!["created", "initialized", "configured"].includes(states.get(name) ?? "unknown")) startedByRunner.add(name);
        return stop(false);
      }
      for (const name of names) startedByRunner.add(name);
      const codes = await Promise.all(names.map(exitOf));
      if (codes.includes("timeout")) return stop(true);
      return codes.every((code) => code === 0);
    };
    // Kubernetes' order, kept by the runner: each init container alone, the next only after it
    // ended with 0; then the containers, only when every init container did.
    let ok = true;
    for (const names of turns.slice(0, -1)) {
      ok = await turn(names);
      if (!ok) break;
    }
    const t3 = now();
    timings.startMs = t3 - t2;
    if (ok) await turn(turns.at(-1) ?? []);
    firstStarted(false); // no turn started (none to start): nothing waits for it
    await Promise.allSettled([creating, inspecting]);
    const t4 = now();
    timings.waitMs = t4 - t3;
    // The pod's cgroup goes with the pod: read what it counted now that its containers ended.
    if (cgroupPath !== undefined) usage = podCgroupUsage(options.cgroupRoot ?? "/sys/fs/cgroup", cgroupPath);
    const inspected = new Map((await podman.inspectContainers(all)).map((c) => [c.name, c]));
    for (const container of inspected.values()) for (const volume of container.volumes) imageVolumes.add(volume);
    const roles = [...pod.initContainers.map((c) => ["init", c] as const), ...pod.containers.map((c) => ["main", c] as const)];
    results.push(
      ...(await Promise.all(
        roles.map(async ([role, container]): Promise<ContainerResult> => {
          const name = containerName(pod.name, container);
          const found = inspected.get(name);
          const notRun = (status: string, exitCode: number): ContainerResult => ({
            name,
            status,
            exitCode,
            oomKilled: false,
            startedAt: "",
            finishedAt: "",
            role,
            container,
            logs: { stdout: "", stderr: "" },
          });
          if (found === undefined) return notRun("removed", -1);
          // Created in the runtime but never started (podman says "initialized", or "exited" once the
          // pod was stopped) is, for the run, never started.
          if (!startedByRunner.has(name) && found.status !== "running") return notRun("created", 0);
          const { log: _log, volumes: _volumes, id: _id, conmonPidFile: _conmonPidFile, ...facts } = found;
          // "stopped" is podman's word for a container that ended and whose cleanup (conmon's exit
          // command) has not finished yet: its exit code and end are recorded, it ended.
          const status = facts.status === "stopped" ? "exited" : facts.status;
          return { ...facts, status, role, container, logs: await logsOf(podman, found) };
        }),
      )),
    );
    // The volumes are the runner's, not podman's: the pod can go while the caller reads them, once
    // podman's own processes of the pod ended (waitCgroupEmpty; at most QUIET_MS, then it goes anyway).
    const collecting = Promise.resolve().then(() => options.collect?.(mounted));
    const quietDir = cgroupToQuiet(pidsLimit, all, startedByRunner);
    const quiet = quietDir === undefined ? Promise.resolve(true) : waitCgroupEmpty(quietDir, Math.min(deadline, now() + QUIET_MS), now);
    await Promise.all([collecting, quiet.then(takeDown)]);
    timings.collectMs = now() - t4;
  } finally {
    firstStarted(false); // a failure before the first start: nothing is created after it
    // Nothing of podman's may still be creating a container while the pod is taken down.
    await Promise.allSettled(background);
    await takeDown();
    await release(layout, mountPoints, mountInfo);
    timings.downMs = now() - (downStarted || now());
  }
  const t5 = now();
  const leftovers = await leftoversOf(podman, pod.name, layout, [...imageVolumes], mountInfo);
  timings.checkMs = now() - t5;
  timings.totalMs = now() - t0;
  const check = `podman pod exists ${pod.name}; no mount under ${layout.root} (${mountInfo}); ${layout.root} removed${imageVolumes.size > 0 ? "; podman volume ls" : ""}`;
  return { name: pod.name, containers: results, timedOut, pidsLimit: pidsLimit ?? { error: "not set" }, usage, timings, leftovers, check, refused };
}

/**
 * Unmounts what the runner mounted, the last first (a busy mount lazily), and removes the scratch
 * files, unless a mount is still there.
 */
async function release(layout: ScratchLayout, mountPoints: readonly string[], mountInfo: string): Promise<void> {
  if (mountPoints.length > 0 && !(await unmount([...mountPoints].reverse()))) {
    const still = mountPointsUnder(mountTable(mountInfo), layout.root);
    if (still.length > 0) await unmount(still.reverse(), true);
  }
  // Never remove a folder that still has a mount under it: rm would empty the mounted file system and fail.
  if (mountPointsUnder(mountTable(mountInfo), layout.root).length === 0) rmSync(layout.root, { recursive: true, force: true });
  rmSync(layout.yamlFile, { force: true });
}

/** What of the run is still here: the pod (one podman call), mounts and the folder; podman volumes only when the images made some. */
async function leftoversOf(podman: Podman, pod: string, layout: ScratchLayout, volumes: readonly string[], mountInfo: string): Promise<string[]> {
  // Not knowing is not "removed": a pod podman could not answer for is recorded as left.
  const [exists, names] = await Promise.all([
    podman.podExists(pod).catch((error: unknown) => `pod ${pod} (whether it exists is not known: ${(error as Error).message})`),
    volumes.length > 0 ? podman.volumeNames() : Promise.resolve([]),
  ]);
  const existing = new Set(names);
  return [
    ...(exists === true ? [`pod ${pod}`] : typeof exists === "string" ? [exists] : []),
    ...mountPointsUnder(mountTable(mountInfo), layout.root).map((point) => `mount ${point}`),
    ...(existsSync(layout.root) ? [`folder ${layout.root}`] : []),
    ...volumes.filter((v) => existing.has(v)).map((v) => `volume ${v}`),
  ];
}
