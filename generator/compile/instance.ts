/**
 * Renders one datomspod instance: contract + cluster profile + pending runs → Kubernetes objects.
 * A pure function: no clock, no environment, no file access; the same inputs give the same objects.
 */

import { InputError, type Issue } from "../errors.js";
import type { Contract, DataAsset } from "../contract/types.generated.js";
import { ALGO_PATH, parseEntrypoint } from "../environment/entrypoint.js";
import type { Environment } from "../environment/environment.js";
import { algorithmDdo, datasetDdo } from "./ddo.js";
import { ANNOTATIONS, LABELS, assertLabel, inputVolumeName, jobName, namespaceName, runConfigMapName, sealedClaimName, shortHash } from "./names.js";
import type { ClusterProfile } from "./profile.js";
import { formatBytes, formatCpu, parseQuantity } from "./quantity.js";

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

export interface PendingRun {
  readonly id: string;
  /** The consumer parameters merged over the contract's defaults (algoCustomData.json). */
  readonly parameters: Record<string, unknown>;
}

export interface InstanceInput {
  readonly contract: Contract;
  /** sha256 hex of the canonical contract. */
  readonly contractHash: string;
  readonly file: string;
  readonly profile: ClusterProfile;
  /** The compute environment the contract names (its interpreters decide what the entrypoint may be). */
  readonly environment: Pick<Environment, "name" | "definition" | "digest">;
  /** The algorithm code as committed (when the contract names a path). */
  readonly code?: Uint8Array;
  readonly runs: readonly PendingRun[];
}

/** Fixed identity of every container: the `nonroot` user of distroless images. */
export const RUN_AS = 65532;
export const POD_TOOLS = "/opt/datomspod/bin/datomspod";
/**
 * What each role container (datomspace-in, datomspace-out, oracle) may use. The CPU limit is one
 * core: a role is a short node process (0.1–0.4 s of CPU for a small run, more to re-hash large
 * inputs) that runs alone in its turn (the init containers run one after the other), and a lower
 * limit does not save CPU, it only stretches the role's start: at 250m each CPU-second of a role
 * took 4 s (docs/local-runner.md, "Speed of a run"). One core still bounds a role to half of a
 * two-core machine. The request stays a quarter of a CPU, what a scheduler reserves for it, so an
 * instance fits a small node as before (limits above requests: the Burstable QoS class).
 */
export const ROLE_LIMITS = { cpu: "1", memory: "256Mi" } as const;
export const ROLE_REQUESTS = { cpu: "250m", memory: "256Mi" } as const;
export const CONFIGMAP_MAX_BYTES = 1024 * 1024 - 64 * 1024;
export const CODE_INLINE_MAX_BYTES = 512 * 1024;
/**
 * On a cluster, seconds after the pod started before datomspace-in opens the gate to the algorithm:
 * a NetworkPolicy enforcer filters a new pod only once it has seen it (kube-router in the lab let a
 * new pod of a deny-all namespace connect out for its first 0.2-0.3 s), so the algorithm never runs
 * before the deny-all policy holds for its pod. The same settle time `cluster doctor`'s canary waits.
 * (The local runner gives the pod no network at all.)
 */
export const NETWORK_SETTLE_SECONDS = 5;
/** Time the roles around the algorithm may take, added to the contract's duration for the Job deadline. */
export const ROLE_DEADLINE_SECONDS = 600;
const ALGO = ALGO_PATH;
/**
 * The algorithm's working directory: a writable scratch emptyDir (files an algorithm writes next to
 * itself stay there: never outputs, never delivered), in which datomspace-in links `data` to
 * /data, so that Ocean's relative `data/inputs/...` paths (Ocean runs `$ALGO` from `/`) resolve.
 */
export const SCRATCH = "/scratch";

function fail(input: InstanceInput, path: string, message: string, fix: string): never {
  throw InputError.of({ file: input.file, path, message, fix });
}

function labels(contract: Contract, extra: Record<string, string> = {}): Record<string, string> {
  return { [LABELS.managedBy]: "datomspod", [LABELS.partOf]: "datomspod", [LABELS.contract]: contract.id, ...extra };
}

const containerSecurity = {
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: RUN_AS,
  runAsGroup: RUN_AS,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
} as const;

/** The entrypoint as argv, `$ALGO` expanded; refused unless the environment's rules allow it (see environment/entrypoint.ts). */
export function entrypointArgv(input: InstanceInput): string[] {
  const parsed = parseEntrypoint(input.contract.inputs.algorithm.container.entrypoint, input.environment);
  if (parsed.argv === undefined) {
    throw InputError.many(
      `${input.file}: the entrypoint is refused`,
      parsed.problems.map((problem) => ({ file: input.file, path: "$.inputs.algorithm.container.entrypoint", message: problem.message, fix: problem.fix })),
    );
  }
  return [...parsed.argv];
}

function imageAllowed(profile: ClusterProfile, image: string): boolean {
  return profile.images.allowedAlgorithmRepositories.some((allowed) => (allowed.endsWith("/") ? image.startsWith(allowed) : image === allowed));
}

/**
 * Whether input `asset` reaches the pod through a claim (pvc, csi, nfs, and hostPath on a profile
 * that serves it as a PersistentVolume), rather than as one hostPath volume per file (local only).
 */
export function mountedByClaim(asset: DataAsset, profile: ClusterProfile): boolean {
  return asset.location.kind !== "hostPath" || profile.mode !== "local";
}

function inputSubPath(asset: DataAsset, fileName: string): string {
  const prefix = asset.location.kind === "pvc" ? (asset.location.subPath ?? "") : "";
  return prefix === "" ? fileName : `${prefix.replace(/\/+$/, "")}/${fileName}`;
}

/** Volumes and storage objects for the inputs: read-only, by location kind. */
function inputStorage(input: InstanceInput, namespace: string): { objects: K8sObject[]; volumes: object[] } {
  const { contract, profile } = input;
  const objects: K8sObject[] = [];
  const volumes: object[] = [];
  contract.inputs.data.forEach((asset, i) => {
    const path = `$.inputs.data[${i}].location`;
    const volumeName = `input-${i}`;
    const bytes = Math.max(
      asset.files.reduce((sum, f) => sum + f.size, 0),
      1024 ** 2,
    );
    const storage = formatBytes(Math.ceil(bytes / 1024 ** 2) * 1024 ** 2);
    const location = asset.location;
    const claim = (pvName: string): K8sObject => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: volumeName, namespace, labels: labels(contract), annotations: { [ANNOTATIONS.did]: asset.did } },
      spec: { accessModes: ["ReadOnlyMany"], storageClassName: "", volumeName: pvName, resources: { requests: { storage } } },
    });
    const volume = (source: object): K8sObject => {
      const pvName = assertLabel(inputVolumeName(contract.id, i, asset.did), "PersistentVolume", input.file, "$.id");
      return {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: pvName, labels: labels(contract), annotations: { [ANNOTATIONS.did]: asset.did } },
        spec: {
          accessModes: ["ReadOnlyMany"],
          capacity: { storage },
          persistentVolumeReclaimPolicy: "Retain",
          storageClassName: "",
          claimRef: { namespace, name: volumeName },
          ...source,
        },
      };
    };
    switch (location.kind) {
      case "hostPath": {
        const dir = location.path.replace(/\/+$/, "");
        if (profile.mode === "local") {
          // One volume per listed file: the algorithm never sees anything else in the provider's folder.
          asset.files.forEach((file, j) => volumes.push({ name: `${volumeName}-${j}`, hostPath: { path: `${dir}/${file.name}`, type: "File" } }));
          return;
        }
        const served = profile.hostPathInputs;
        if (served === undefined) {
          fail(
            input,
            `${path}.kind`,
            `hostPath is only allowed in the local profile, and cluster ${profile.name} is ${profile.mode} without hostPathInputs`,
            "use a pvc, csi or nfs location on a real cluster, or let the cluster profile serve node folders (hostPathInputs)",
          );
        }
        if (dir.split("/").some((part) => part === ".." || part === ".") || !served.allowedPathPrefixes.some((prefix) => `${dir}/`.startsWith(prefix))) {
          fail(
            input,
            `${path}.path`,
            `${location.path} is not under a folder cluster ${profile.name} serves (${served.allowedPathPrefixes.join(", ")})`,
            "keep the data under one of those folders on the node, or add its folder to hostPathInputs.allowedPathPrefixes of the cluster profile",
          );
        }
        // The node's folder as a read-only PersistentVolume bound to this claim only: the pod holds
        // a claim (allowed by Pod Security restricted), and each listed file is mounted by subPath.
        const pv = volume({ hostPath: { path: dir, type: "Directory" } });
        objects.push(pv, claim(pv.metadata.name));
        break;
      }
      case "pvc":
        objects.push(claim(location.volumeName));
        break;
      case "csi": {
        const pv = volume({
          csi: { driver: location.driver, volumeHandle: location.volumeHandle, readOnly: true, volumeAttributes: location.volumeAttributes },
        });
        objects.push(pv, claim(pv.metadata.name));
        break;
      }
      case "nfs": {
        const pv = volume({ nfs: { server: location.server, path: location.path, readOnly: true } });
        objects.push(pv, claim(pv.metadata.name));
        break;
      }
      case "ipfs":
        return fail(
          input,
          `${path}.kind`,
          "ipfs input locations cannot be mounted by this version",
          "pin the data on a volume the provider controls and use a pvc, csi, nfs or (local) hostPath location",
        );
    }
    volumes.push({ name: volumeName, persistentVolumeClaim: { claimName: volumeName, readOnly: true } });
  });
  return { objects, volumes };
}

function configMap(contract: Contract, namespace: string, name: string, data: Record<string, string>, binaryData?: Record<string, string>): K8sObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels: labels(contract) }, immutable: true, data, binaryData };
}

function algorithmConfigMap(input: InstanceInput, namespace: string): K8sObject {
  const code = input.contract.inputs.algorithm.code;
  if ((code.path === undefined && code.packageFile === undefined) || input.code === undefined) {
    return fail(
      input,
      "$.inputs.algorithm.code",
      "code by CID cannot be mounted by this version",
      "commit the code under algorithm/ and name it in code.path, or use an algorithm package (code.packageFile)",
    );
  }
  if (input.code.length > CODE_INLINE_MAX_BYTES) {
    fail(
      input,
      "$.inputs.algorithm.code.size",
      `the code is ${input.code.length} bytes, more than the ${CODE_INLINE_MAX_BYTES} a ConfigMap carries here`,
      "package large code into the algorithm image and keep a small entry script here",
    );
  }
  let text: string | undefined;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(input.code);
  } catch {
    text = undefined;
  }
  return text === undefined
    ? configMap(input.contract, namespace, "algorithm", {}, { algorithm: Buffer.from(input.code).toString("base64") })
    : configMap(input.contract, namespace, "algorithm", { algorithm: text });
}

function ddoConfigMap(contract: Contract, namespace: string): K8sObject {
  const data: Record<string, string> = { "algorithm.json": `${JSON.stringify(algorithmDdo(contract), null, 2)}\n` };
  contract.inputs.data.forEach((asset, i) => {
    data[`dataset-${i}.json`] = `${JSON.stringify(datasetDdo(contract, asset), null, 2)}\n`;
  });
  return configMap(contract, namespace, "ddos", data);
}

function quota(input: InstanceInput, namespace: string): K8sObject[] {
  const { contract, profile } = input;
  const compute = contract.inputs.compute;
  const n = input.runs.length;
  // A pod's effective limit or request is its largest init container's, or the sum of its containers' (the oracle alone).
  const cpu = Math.max(parseQuantity(compute.cpu), parseQuantity(ROLE_LIMITS.cpu));
  const cpuRequest = Math.max(parseQuantity(compute.cpu), parseQuantity(ROLE_REQUESTS.cpu));
  const memory = Math.max(parseQuantity(compute.memory), parseQuantity(ROLE_LIMITS.memory));
  const sealed = parseQuantity(profile.sealedOutputSize ?? "1Gi");
  const claims = contract.inputs.data.filter((a) => mountedByClaim(a, profile)).length + n;
  const hard: Record<string, string> = {
    pods: String(n),
    "limits.cpu": formatCpu(cpu * n),
    "requests.cpu": formatCpu(cpuRequest * n),
    "limits.memory": formatBytes(memory * n),
    "requests.memory": formatBytes(memory * n),
    persistentvolumeclaims: String(claims),
    "requests.storage": formatBytes(sealed * n + 1024 ** 3 * (claims - n)),
    configmaps: String(4 + n),
    secrets: "0",
    services: "0",
  };
  if ((compute.gpu ?? 0) > 0 && profile.gpu !== undefined) hard[`requests.${profile.gpu.resourceName}`] = String((compute.gpu ?? 0) * n);
  return [
    { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "instance", namespace, labels: labels(contract) }, spec: { hard } },
    {
      apiVersion: "v1",
      kind: "LimitRange",
      metadata: { name: "instance", namespace, labels: labels(contract) },
      spec: {
        limits: [
          {
            type: "Container",
            default: { ...ROLE_LIMITS },
            defaultRequest: { ...ROLE_REQUESTS },
            max: { cpu: formatCpu(cpu), memory: formatBytes(memory) },
          },
        ],
      },
    },
  ];
}

function roleContainer(input: InstanceInput, role: "datomspace-in" | "datomspace-out" | "oracle", args: string[], volumeMounts: object[]): object {
  const pod = input.profile.images.pod;
  return {
    name: role,
    image: `${pod.image}@${pod.digest}`,
    imagePullPolicy: "IfNotPresent",
    command: [POD_TOOLS, "role", role],
    args: ["--contract", "/datomspod/contract/contract.json", ...args],
    resources: { limits: { ...ROLE_LIMITS }, requests: { ...ROLE_REQUESTS } },
    securityContext: containerSecurity,
    volumeMounts,
    workingDir: "/",
  };
}

/** Room for datomspace-in's verdict and the row index of the inputs (about 8 bytes a row, twice while merging): the inputs' size, at least 16Mi. */
function verifiedSize(contract: Contract): string {
  const bytes = contract.inputs.data.reduce((sum, asset) => sum + asset.files.reduce((n, file) => n + file.size, 0), 0);
  return formatBytes(Math.max(16 * 1024 ** 2, Math.ceil(bytes / 1024 ** 2) * 1024 ** 2));
}

function runJob(input: InstanceInput, namespace: string, run: PendingRun, inputVolumes: object[]): K8sObject[] {
  const { contract, profile } = input;
  const compute = contract.inputs.compute;
  const algorithm = contract.inputs.algorithm;
  const runtime = compute.runtimeClass ?? "runc";
  const gpu = compute.gpu ?? 0;

  const ro = (name: string, mountPath: string, subPath?: string): object => ({ name, mountPath, subPath, readOnly: true });
  // Every listed input file, read-only, at /datomspod/inputs/<i>/<file name>: a hostPath volume of
  // its own, or the claim with a subPath. (DIDs contain ':', which no mount path may: the Ocean
  // paths under /data/inputs are symbolic links datomspace-in makes to these.)
  const inputFileMounts = contract.inputs.data.flatMap((asset, i) =>
    asset.files.map((file, j) =>
      !mountedByClaim(asset, profile)
        ? ro(`input-${i}-${j}`, `/datomspod/inputs/${i}/${file.name}`)
        : ro(`input-${i}`, `/datomspod/inputs/${i}/${file.name}`, inputSubPath(asset, file.name)),
    ),
  );
  const ddoItems = [{ key: "algorithm.json", path: algorithm.did }, ...contract.inputs.data.map((asset, i) => ({ key: `dataset-${i}.json`, path: asset.did }))];
  const computeLimits: Record<string, string> = { cpu: compute.cpu, memory: compute.memory };
  if (gpu > 0 && profile.gpu !== undefined) computeLimits[profile.gpu.resourceName] = String(gpu);

  const computing = {
    name: "computing",
    image: `${algorithm.container.image}@${algorithm.container.digest}`,
    imagePullPolicy: "IfNotPresent",
    command: ["/datomspod/bin/supervise"],
    args: [
      "--deadline",
      String(compute.maxDurationSeconds),
      "--gate",
      "/datomspod/verified/inputs-verified",
      "--status",
      "/datomspod/status/computing.json",
      "--log",
      "/data/logs/algorithm.log",
      "--workdir",
      SCRATCH,
      "--",
      ...entrypointArgv(input),
    ],
    env: [
      { name: "DIDS", value: JSON.stringify(contract.inputs.data.map((asset) => asset.did)) },
      { name: "TRANSFORMATION_DID", value: algorithm.did },
      { name: "ALGO", value: ALGO },
      { name: "HOME", value: "/tmp" },
    ],
    resources: { limits: computeLimits, requests: computeLimits },
    securityContext: containerSecurity,
    workingDir: SCRATCH,
    volumeMounts: [
      ...inputFileMounts,
      ro("ocean-inputs", "/data/inputs"),
      ro("ddos", "/data/ddos"),
      ro("algorithm", "/data/transformations"),
      { name: "outputs", mountPath: "/data/outputs" },
      { name: "logs", mountPath: "/data/logs" },
      { name: "tmp", mountPath: "/tmp" },
      { name: "scratch", mountPath: SCRATCH },
      ro("tools", "/datomspod/bin"),
      { name: "status", mountPath: "/datomspod/status" },
      ro("verified", "/datomspod/verified"),
    ],
  };

  const contractMount = ro("contract", "/datomspod/contract");
  const statusMount = { name: "status", mountPath: "/datomspod/status" };
  // What datomspace-in established (verdict, gate, row index) lives where only it can write.
  const verifiedArgs = ["--verified", "/datomspod/verified"];
  const verifiedReadOnly = ro("verified", "/datomspod/verified");
  const datomspaceIn = roleContainer(
    input,
    "datomspace-in",
    [
      "--inputs",
      "/datomspod/inputs",
      "--ocean-inputs",
      "/datomspod/ocean",
      "--scratch",
      "/datomspod/scratch",
      "--parameters",
      "/datomspod/run/algoCustomData.json",
      "--algorithm",
      ALGO,
      "--tools",
      "/datomspod/bin",
      "--status",
      "/datomspod/status",
      ...verifiedArgs,
      ...(profile.mode === "local" ? [] : ["--network-settle", String(NETWORK_SETTLE_SECONDS)]),
    ],
    [
      contractMount,
      ...inputFileMounts,
      { name: "ocean-inputs", mountPath: "/datomspod/ocean" },
      { name: "scratch", mountPath: "/datomspod/scratch" },
      ro("run", "/datomspod/run"),
      ro("algorithm", "/data/transformations"),
      { name: "tools", mountPath: "/datomspod/bin" },
      statusMount,
      { name: "verified", mountPath: "/datomspod/verified" },
    ],
  );
  const datomspaceOut = roleContainer(
    input,
    "datomspace-out",
    ["--run", run.id, "--outputs", "/data/outputs", "--logs", "/data/logs", "--status", "/datomspod/status", "--sealed", "/sealed", ...verifiedArgs],
    [contractMount, ro("outputs", "/data/outputs"), ro("logs", "/data/logs"), statusMount, verifiedReadOnly, { name: "sealed", mountPath: "/sealed" }],
  );
  const oracle = roleContainer(
    input,
    "oracle",
    ["--run", run.id, "--status", "/datomspod/status", "--sealed", "/sealed", ...verifiedArgs],
    [contractMount, ro("status", "/datomspod/status"), verifiedReadOnly, { name: "sealed", mountPath: "/sealed" }],
  );

  const runtimeClassName = profile.runtimeClasses[runtime] ?? undefined;
  const deadline = compute.maxDurationSeconds + ROLE_DEADLINE_SECONDS;
  const podSpec = {
    restartPolicy: "Never",
    // The pod's own deadline as well as the Job's: the kubelet stops it, and the cluster's admission policy judges pods too.
    activeDeadlineSeconds: deadline,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: 10,
    runtimeClassName,
    nodeSelector: gpu > 0 ? profile.gpu?.nodeSelector : undefined,
    tolerations: gpu > 0 ? profile.gpu?.tolerations : undefined,
    securityContext: { runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: "RuntimeDefault" } },
    initContainers: [datomspaceIn, computing, datomspaceOut],
    containers: [oracle],
    volumes: [
      ...inputVolumes,
      { name: "contract", configMap: { name: "contract", items: [{ key: "contract.json", path: "contract.json" }] } },
      { name: "ddos", configMap: { name: "ddos", items: ddoItems } },
      { name: "algorithm", configMap: { name: "algorithm", items: [{ key: "algorithm", path: "algorithm" }] } },
      { name: "run", configMap: { name: runConfigMapName(run.id), items: [{ key: "algoCustomData.json", path: "algoCustomData.json" }] } },
      { name: "ocean-inputs", emptyDir: { sizeLimit: "16Mi" } },
      { name: "outputs", emptyDir: { sizeLimit: compute.outputSize ?? "1Gi" } },
      { name: "logs", emptyDir: { sizeLimit: "64Mi" } },
      { name: "tmp", emptyDir: { sizeLimit: compute.outputSize ?? "1Gi" } },
      { name: "scratch", emptyDir: { sizeLimit: compute.outputSize ?? "1Gi" } },
      { name: "tools", emptyDir: { sizeLimit: "64Mi" } },
      { name: "status", emptyDir: { sizeLimit: "1Mi" } },
      { name: "verified", emptyDir: { sizeLimit: verifiedSize(contract) } },
      { name: "sealed", persistentVolumeClaim: { claimName: sealedClaimName(run.id) } },
    ],
  };
  const runLabels = labels(contract, { [LABELS.run]: run.id });
  const jobSpec = {
    backoffLimit: 0,
    completions: 1,
    parallelism: 1,
    activeDeadlineSeconds: deadline,
    template: { metadata: { labels: runLabels }, spec: podSpec },
  };
  const specHash = shortHash(jobSpec);
  return [
    configMap(contract, namespace, runConfigMapName(run.id), { "algoCustomData.json": `${JSON.stringify(run.parameters, null, 2)}\n` }),
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: sealedClaimName(run.id), namespace, labels: runLabels },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: profile.storageClassName,
        resources: { requests: { storage: profile.sealedOutputSize ?? "1Gi" } },
      },
    },
    {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: jobName(contract.id, run.id, specHash),
        namespace,
        labels: runLabels,
        annotations: {
          [ANNOTATIONS.contractHash]: input.contractHash,
          [ANNOTATIONS.environment]: `${input.environment.name}@sha256:${input.environment.digest}`,
          [ANNOTATIONS.specHash]: specHash,
        },
      },
      spec: jobSpec,
    },
  ];
}

/** What the contract asks of the cluster, checked whether or not a run is pending. */
function checkAgainstProfile(input: InstanceInput): void {
  const { contract, profile } = input;
  const compute = contract.inputs.compute;
  const algorithm = contract.inputs.algorithm;
  const runtime = compute.runtimeClass ?? "runc";
  if (!(runtime in profile.runtimeClasses)) {
    fail(
      input,
      "$.inputs.compute.runtimeClass",
      `cluster ${profile.name} offers no ${runtime} runtime`,
      `use one of ${Object.keys(profile.runtimeClasses).join(", ")} or add it to the cluster profile`,
    );
  }
  if (profile.maxDurationSeconds !== undefined && compute.maxDurationSeconds > profile.maxDurationSeconds) {
    fail(
      input,
      "$.inputs.compute.maxDurationSeconds",
      `is ${compute.maxDurationSeconds}, longer than the ${profile.maxDurationSeconds} s cluster ${profile.name} takes (maxDurationSeconds of its profile)`,
      `ask for at most ${profile.maxDurationSeconds} seconds, or choose a cluster that takes longer runs`,
    );
  }
  const gpu = compute.gpu ?? 0;
  if (gpu > 0 && profile.gpu === undefined)
    fail(input, "$.inputs.compute.gpu", `cluster ${profile.name} has no GPUs`, "set gpu to 0 or choose a cluster with a gpu section");
  const environment = input.environment.definition;
  if (algorithm.container.image !== environment.image.repository) {
    fail(
      input,
      "$.inputs.algorithm.container.image",
      `is ${algorithm.container.image}, but the environment ${input.environment.name} builds ${environment.image.repository}`,
      `use the environment's image (${environment.image.repository}), or name the environment the image belongs to`,
    );
  }
  if (environment.image.digest !== undefined && algorithm.container.digest !== environment.image.digest) {
    fail(
      input,
      "$.inputs.algorithm.container.digest",
      `is ${algorithm.container.digest}, but the environment ${input.environment.name} pins ${environment.image.digest}`,
      "pin the environment's digest (`datomspod env list` shows it)",
    );
  }
  if (gpu > 0 && environment.gpu !== true)
    fail(
      input,
      "$.inputs.compute.gpu",
      `asks for GPUs, but the environment ${input.environment.name} has no GPU support`,
      "use a GPU environment or set gpu to 0",
    );
  if (!imageAllowed(profile, algorithm.container.image)) {
    fail(
      input,
      "$.inputs.algorithm.container.image",
      `${algorithm.container.image} is not an allowed algorithm repository of cluster ${profile.name}`,
      `use one of ${profile.images.allowedAlgorithmRepositories.join(", ")}`,
    );
  }

  entrypointArgv(input);
}

export function renderInstance(input: InstanceInput): K8sObject[] {
  checkAgainstProfile(input);
  const { contract } = input;
  const namespace = assertLabel(namespaceName(contract.id), "Namespace", input.file, "$.id");
  const storage = inputStorage(input, namespace);
  const contractText = `${JSON.stringify(contract, null, 2)}\n`;
  const objects: K8sObject[] = [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: namespace,
        labels: {
          ...labels(contract),
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "v1.30",
          "pod-security.kubernetes.io/audit": "restricted",
          "pod-security.kubernetes.io/warn": "restricted",
        },
        annotations: { [ANNOTATIONS.contractHash]: input.contractHash },
      },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "deny-all", namespace, labels: labels(contract) },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
    ...quota(input, namespace),
    configMap(contract, namespace, "contract", { "contract.json": contractText }),
    ddoConfigMap(contract, namespace),
    algorithmConfigMap(input, namespace),
    ...storage.objects,
    ...input.runs.flatMap((run) => runJob(input, namespace, run, storage.volumes)),
  ];
  const issues: Issue[] = [];
  for (const object of objects) {
    if (object.kind === "ConfigMap") {
      const size = Buffer.byteLength(JSON.stringify(object), "utf8");
      if (size > CONFIGMAP_MAX_BYTES)
        issues.push({
          file: input.file,
          path: "$",
          message: `ConfigMap ${object.metadata.name} would be ${size} bytes, over the ${CONFIGMAP_MAX_BYTES} limit`,
          fix: "make the contract or the code smaller",
        });
    }
  }
  if (issues.length > 0) throw InputError.many(`${input.file}: the instance would not fit`, issues);
  return objects;
}
