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
 * - init containers are kept after they ran (annotation `io.podman.annotations.init.container.type:
 *   always`), so their exit codes and logs can be read.
 *
 * `playPod` is the edge: tmpfs volumes of the emptyDirs' size held mounted across the init
 * containers, `kube play --start=false --network none`, the pids limit on the pod's cgroup (kube
 * play sets none), `pod start`, wait, collect, `kube down`, and a check that nothing is left.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { InputError, ServiceError, formatIssue, type Issue } from "../errors.js";
import { parseQuantity } from "../compile/quantity.js";
import {
  containerLogs,
  createTmpfsVolume,
  inspectContainers,
  kubeDown,
  kubePlay,
  podCgroupPath,
  podExists,
  podRemove,
  podStart,
  podStop,
  volumeMount,
  volumeNames,
  volumeRemove,
  volumeUnmount,
  waitContainer,
  type ContainerFacts,
} from "./exec.js";

export const INIT_CONTAINER_TYPE_ANNOTATION = "io.podman.annotations.init.container.type";
export const VOLUME_LABEL = "io.datomspod.pod";

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

interface Volume {
  name: string;
  emptyDir?: { sizeLimit?: string; medium?: string };
  configMap?: { name: string; [key: string]: unknown };
  hostPath?: { path: string; type?: string };
  [key: string]: unknown;
}

export interface PodmanPod {
  /** The documents to give `podman kube play`: the ConfigMaps, then the Pod. */
  readonly documents: readonly Json[];
  readonly name: string;
  readonly initContainers: readonly string[];
  readonly containers: readonly string[];
  /** The emptyDirs, as the podman volumes that back them (already renamed), with their size. */
  readonly emptyDirs: readonly { readonly volume: string; readonly bytes: number }[];
  /** The podman volumes kube play makes of the ConfigMaps (named like the renamed ConfigMaps). */
  readonly configMapVolumes: readonly string[];
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

  const renamed = new Map<string, string>();
  const emptyDirs: { volume: string; bytes: number }[] = [];
  const configMapNames = new Map<string, string>();
  volumes.forEach((volume, i) => {
    const path = `${at}.spec.volumes[${i}]`;
    const podmanName = `${name}-${volume.name}`;
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

  const checkContainer = (container: Container, path: string): void => {
    (container.volumeMounts ?? []).forEach((mount, j) => {
      const where = `${path}.volumeMounts[${j}]`;
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
  if (issues.length > 0) {
    throw InputError.many(`${file}: the pod cannot run under podman kube play as rendered (${issues.length} issue${issues.length === 1 ? "" : "s"})`, issues);
  }

  pod.metadata = { ...metadata, annotations: { ...((metadata.annotations ?? {}) as Json), [INIT_CONTAINER_TYPE_ANNOTATION]: "always" } };
  delete (pod.metadata as Json).namespace;
  const activeDeadlineSeconds = typeof spec.activeDeadlineSeconds === "number" ? spec.activeDeadlineSeconds : undefined;
  configMaps.sort((a, b) => (String((a.metadata as Json).name) < String((b.metadata as Json).name) ? -1 : 1));
  return {
    documents: [...configMaps, pod],
    name,
    initContainers: initContainers.map((c) => c.name),
    containers: containers.map((c) => c.name),
    emptyDirs,
    configMapVolumes: configMaps.map((cm) => String((cm.metadata as Json).name)),
    activeDeadlineSeconds,
  };
}

/** The YAML podman reads: the documents in order, LF, no line folding. */
export function podmanYaml(pod: PodmanPod): string {
  return pod.documents.map((doc) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
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

export interface PodRun {
  readonly name: string;
  /** Every container in pod order; an init container after a failed one has status "created". */
  readonly containers: readonly ContainerResult[];
  /** The pod ran past its deadline (activeDeadlineSeconds or the caller's) and was stopped. */
  readonly timedOut: boolean;
  /** The pids limit written on the pod's cgroup, or why none could be. */
  readonly pidsLimit: { readonly file: string; readonly value: number } | { readonly error: string };
  readonly timings: { readonly playMs: number; readonly startMs: number; readonly waitMs: number; readonly downMs: number };
  /** Pods and volumes still present after the cleanup (empty when it worked). */
  readonly leftovers: readonly string[];
}

export interface PlayOptions {
  /** Where the YAML for podman is written (the run's scratch folder). */
  readonly scratchDir: string;
  /** The most processes the whole pod may have. */
  readonly pidsLimit: number;
  /** Milliseconds after which a pod still running is stopped, when the pod sets no deadline. */
  readonly timeoutMs: number;
  /** Called after the pod stopped and before anything is removed, with the host paths of the emptyDir volumes. */
  readonly collect?: (volumes: Readonly<Record<string, string>>) => Promise<void> | void;
  readonly now?: () => number;
  /** Where the cgroup file systems are mounted. */
  readonly cgroupRoot?: string;
}

/** The pids.max file of a pod's cgroup (cgroup v1 `pids` hierarchy or the v2 unified one). */
export function pidsMaxFiles(cgroupRoot: string, cgroupPath: string): string[] {
  return [join(cgroupRoot, "pids", cgroupPath, "pids.max"), join(cgroupRoot, cgroupPath, "pids.max")];
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

/** The pod and volumes of `pod` that exist now (two podman calls). */
async function present(pod: PodmanPod, volumes: readonly string[]): Promise<string[]> {
  const existing = new Set(await volumeNames());
  return [...((await podExists(pod.name)) ? [`pod ${pod.name}`] : []), ...volumes.filter((v) => existing.has(v)).map((v) => `volume ${v}`)];
}

/**
 * Runs the pod to its end and removes it. Refuses to start when a pod or volume of the same name
 * exists (a previous run was not cleaned up: its volumes would be reused with their content).
 */
export async function playPod(pod: PodmanPod, options: PlayOptions): Promise<PodRun> {
  const now = options.now ?? Date.now;
  const volumes = [...pod.emptyDirs.map((e) => e.volume), ...pod.configMapVolumes];
  const stale = await present(pod, volumes);
  if (stale.length > 0) {
    const issue: Issue = {
      file: `podman pod ${pod.name}`,
      path: "$",
      message: `${stale.join(", ")} already exist${stale.length === 1 ? "s" : ""}: a previous run was not cleaned up`,
      fix: `podman pod rm -f ${pod.name}; podman volume rm -f ${volumes.join(" ")}`,
    };
    throw new ServiceError(formatIssue(issue), [issue]);
  }
  mkdirSync(options.scratchDir, { recursive: true });
  const yamlFile = join(options.scratchDir, `${pod.name}.podman.yaml`);
  writeFileSync(yamlFile, podmanYaml(pod));

  const mounted: Record<string, string> = {};
  let timedOut = false;
  let pidsLimit: PodRun["pidsLimit"] | undefined;
  const t0 = now();
  const timings = { playMs: 0, startMs: 0, waitMs: 0, downMs: 0 };
  const results: ContainerResult[] = [];
  try {
    await Promise.all(
      pod.emptyDirs.map(async ({ volume, bytes }) => {
        await createTmpfsVolume(volume, bytes, { [VOLUME_LABEL]: pod.name });
        mounted[volume] = await volumeMount(volume);
      }),
    );
    await kubePlay(yamlFile);
    timings.playMs = now() - t0;
    pidsLimit = setPidsLimit(pidsMaxFiles(options.cgroupRoot ?? "/sys/fs/cgroup", await podCgroupPath(pod.name)), options.pidsLimit);
    const t1 = now();
    const deadline = t0 + (pod.activeDeadlineSeconds !== undefined ? pod.activeDeadlineSeconds * 1000 : options.timeoutMs);
    const timeUp = async (error: unknown): Promise<void> => {
      if (!(error instanceof ServiceError) || !/did not finish within/.test(error.message)) throw error;
      timedOut = true;
      await podStop(pod.name, 2);
    };
    // Init containers run inside `pod start`, one after the other; it fails when one of them does.
    await podStart(pod.name, Math.max(1, deadline - now())).catch(timeUp);
    timings.startMs = now() - t1;
    const t2 = now();
    const names = [...pod.initContainers, ...pod.containers].map((c) => containerName(pod.name, c));
    const started = new Set(
      (await inspectContainers(pod.containers.map((c) => containerName(pod.name, c)))).filter((c) => c.status !== "created").map((c) => c.name),
    );
    try {
      for (const container of pod.containers) {
        const name = containerName(pod.name, container);
        if (!timedOut && started.has(name)) await waitContainer(name, Math.max(1, deadline - now()));
      }
    } catch (error) {
      await timeUp(error);
    }
    timings.waitMs = now() - t2;
    const facts = new Map((await inspectContainers(names)).map((c) => [c.name, c]));
    const roles = [...pod.initContainers.map((c) => ["init", c] as const), ...pod.containers.map((c) => ["main", c] as const)];
    results.push(
      ...(await Promise.all(
        roles.map(async ([role, container]): Promise<ContainerResult> => {
          const name = containerName(pod.name, container);
          const fact = facts.get(name) ?? { name, status: "removed", exitCode: -1, oomKilled: false, startedAt: "", finishedAt: "" };
          return {
            ...fact,
            role,
            container,
            logs: fact.status === "removed" || fact.status === "created" ? { stdout: "", stderr: "" } : await containerLogs(name),
          };
        }),
      )),
    );
    if (options.collect !== undefined) await options.collect(mounted);
  } finally {
    const t3 = now();
    if (!(await kubeDown(yamlFile))) await podRemove(pod.name);
    await Promise.all(Object.keys(mounted).map((volume) => volumeUnmount(volume)));
    await volumeRemove(volumes);
    timings.downMs = now() - t3;
  }
  const leftovers = await present(pod, volumes);
  return { name: pod.name, containers: results, timedOut, pidsLimit: pidsLimit ?? { error: "not set" }, timings, leftovers };
}
