/**
 * `datomspod cluster doctor`: what a cluster lacks for a profile, found before anything syncs.
 *
 *   runtime-class      every RuntimeClass the profile names exists;
 *   storage-class      the sealed-output claims can bind: the profile's StorageClass exists (or a
 *                      default one when it names none) and, for a class without a provisioner, an
 *                      Available PersistentVolume of that class is large enough;
 *   persistent-volume  every PersistentVolume an input claim names (and the instance does not
 *                      render itself) exists;
 *   gpu                a node (matching the profile's nodeSelector) has the GPU resource allocatable;
 *   manifest           every rendered object of clusters/<cluster>/ is admitted by this API server
 *                      (server-side apply, dryRun=All; each Job's pod template too, as a Pod, so Pod
 *                      Security and RuntimeClass admission judge it), warnings kept;
 *   network-policy     the canary (canary.ts) proves the deny-all policy is enforced;
 *   isolation-record   the proof the isolation admission policy asks the authorizer for (the RBAC
 *                      grant ClusterRoleBinding datomspod-isolation) is there; with `record`, the
 *                      doctor grants it when its canary proved isolation and removes it when it did
 *                      not, so no instance pod is created on a cluster that leaks.
 *
 * Each finding names the missing or refused object and the fix. The report passes only when no
 * finding is "missing" or "refused": fail closed.
 */

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { parseAllDocuments } from "yaml";
import { InputError } from "../errors.js";
import type { ClusterProfile } from "../compile/profile.js";
import { parseQuantity } from "../compile/quantity.js";
import {
  ISOLATION_ACCOUNT,
  ISOLATION_ACCOUNT_NAMESPACE,
  ISOLATION_GROUP,
  ISOLATION_RECORD,
  ISOLATION_RESOURCE,
  admissionRendered,
  renderAdmission,
} from "../compile/admission.js";
import { LABELS } from "../compile/names.js";
import { checkAdmission } from "./admission.js";
import { judgeIsolation, probeIsolation, type CanaryOptions, type IsolationEvidence } from "./canary.js";
import { KubeError, knownKind, resourcePath, type Kube, type KubeObject } from "./kube.js";

export const CHECKS = [
  "api",
  "runtime-class",
  "storage-class",
  "persistent-volume",
  "gpu",
  "manifest",
  "admission",
  "network-policy",
  "isolation-record",
] as const;
export type Check = (typeof CHECKS)[number];

/** ok: present; warn: works, but look; missing: an object the profile needs is not there; refused: the API server or the canary said no. */
export type Status = "ok" | "warn" | "missing" | "refused";

export interface Finding {
  readonly check: Check;
  /** The object concerned, as kind/name (or a file for manifests). */
  readonly object: string;
  readonly status: Status;
  readonly message: string;
  readonly fix?: string;
}

export interface DoctorReport {
  readonly cluster: string;
  readonly server: string;
  readonly ok: boolean;
  readonly findings: readonly Finding[];
  readonly isolation?: IsolationEvidence;
}

export const FIELD_MANAGER = "datomspod-doctor";

/** The parts of the objects the doctor reads. */
interface Named {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
}
interface StorageClassView extends Named {
  readonly provisioner?: string;
}
interface VolumeView extends Named {
  readonly spec?: {
    readonly storageClassName?: string;
    readonly accessModes?: readonly string[];
    readonly capacity?: { readonly storage?: string };
    readonly claimRef?: { readonly name?: string; readonly namespace?: string };
  };
  readonly status?: { readonly phase?: string };
}
interface NodeView extends Named {
  readonly status?: { readonly allocatable?: Record<string, string> };
}
interface ClaimSpec {
  readonly volumeName?: string;
}
interface JobSpec {
  readonly template?: { readonly metadata?: Record<string, unknown>; readonly spec?: unknown };
}
const NO_PROVISIONER = "kubernetes.io/no-provisioner";

/** A rendered instance of the cluster: its folder and objects in file order. */
export interface RenderedInstance {
  readonly folder: string;
  readonly objects: readonly { file: string; object: KubeObject }[];
}

/** The rendered instances and Argo CD wiring under clusters/<cluster>/ (every folder but the profile). */
export function readRendered(repo: string, cluster: string): RenderedInstance[] {
  const dir = join(repo, "clusters", cluster);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((folder) => ({
      folder: `clusters/${cluster}/${folder}`,
      objects: readdirSync(join(dir, folder))
        .filter((name) => name.endsWith(".yaml"))
        .sort()
        .flatMap((name) => {
          const file = `clusters/${cluster}/${folder}/${name}`;
          const docs = parseAllDocuments(readFileSync(join(dir, folder, name), "utf8"));
          return (Array.isArray(docs) ? docs : [docs]).map((doc) => {
            if (doc.errors.length > 0)
              throw InputError.of({ file, path: "$", message: `invalid YAML: ${doc.errors[0]?.message ?? ""}`, fix: "run datomspod compile" });
            return { file, object: doc.toJS() as KubeObject };
          });
        }),
    }));
}

function missingFix(kind: string, name: string, how: string): string {
  return `create ${kind} ${name} (${how})`;
}

async function runtimeClasses(kube: Kube, profile: ClusterProfile): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const [runtime, name] of Object.entries(profile.runtimeClasses).sort()) {
    if (name === null || name === undefined) {
      findings.push({
        check: "runtime-class",
        object: `runtime ${runtime}`,
        status: "ok",
        message: "runs with the cluster's default runtime (no RuntimeClass)",
      });
      continue;
    }
    const found = await kube.find<{ handler?: string }>(resourcePath("node.k8s.io/v1", "RuntimeClass", undefined, name));
    findings.push(
      found === undefined
        ? {
            check: "runtime-class",
            object: `RuntimeClass/${name}`,
            status: "missing",
            message: `the profile runs ${runtime} contracts with RuntimeClass ${name}, which this cluster does not have: their pods are refused at admission`,
            fix:
              missingFix("RuntimeClass", name, `install ${runtime} on the nodes and a RuntimeClass whose handler names it`) +
              `, or remove ${runtime} from runtimeClasses`,
          }
        : { check: "runtime-class", object: `RuntimeClass/${name}`, status: "ok", message: `handler ${found.handler ?? "?"}` },
    );
  }
  return findings;
}

async function storage(kube: Kube, profile: ClusterProfile): Promise<Finding[]> {
  const size = profile.sealedOutputSize ?? "1Gi";
  const name = profile.storageClassName;
  const classes = await kube.list<StorageClassView>(resourcePath("storage.k8s.io/v1", "StorageClass", undefined));
  const chosen =
    name === undefined
      ? classes.find((sc) => sc.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true")
      : classes.find((sc) => sc.metadata.name === name);
  if (chosen === undefined) {
    return [
      name === undefined
        ? {
            check: "storage-class",
            object: "StorageClass (default)",
            status: "missing",
            message: "the profile names no storageClassName and the cluster has no default StorageClass: every sealed-output claim stays Pending",
            fix: "set storageClassName in the cluster profile, or mark a StorageClass as the default",
          }
        : {
            check: "storage-class",
            object: `StorageClass/${name}`,
            status: "missing",
            message: `the sealed-output claims ask for StorageClass ${name}, which this cluster does not have: they stay Pending and no run starts`,
            fix: missingFix("StorageClass", name, "with a provisioner, or kubernetes.io/no-provisioner and pre-provisioned PersistentVolumes"),
          },
    ];
  }
  const className = chosen.metadata.name;
  const findings: Finding[] = [
    { check: "storage-class", object: `StorageClass/${className}`, status: "ok", message: `provisioner ${chosen.provisioner ?? "?"}` },
  ];
  if (chosen.provisioner === NO_PROVISIONER) {
    const pvs = await kube.list<VolumeView>(resourcePath("v1", "PersistentVolume", undefined));
    const fitting = pvs.filter(
      (pv) =>
        pv.spec?.storageClassName === className &&
        pv.status?.phase === "Available" &&
        pv.spec.claimRef === undefined &&
        (pv.spec.accessModes ?? []).includes("ReadWriteOnce") &&
        parseQuantity(pv.spec.capacity?.storage ?? "0") >= parseQuantity(size),
    );
    findings.push(
      fitting.length === 0
        ? {
            check: "storage-class",
            object: `PersistentVolume (class ${className}, ≥ ${size})`,
            status: "missing",
            message: `StorageClass ${className} provisions nothing, and no Available ReadWriteOnce PersistentVolume of that class (not reserved for another claim) holds ${size}: the next sealed-output claim stays Pending`,
            fix: `pre-provision PersistentVolumes of storageClassName ${className}, ReadWriteOnce, at least ${size}, writable by uid 65532 (one per run)`,
          }
        : { check: "storage-class", object: `PersistentVolume (class ${className})`, status: "ok", message: `${fitting.length} Available for sealed outputs` },
    );
  }
  return findings;
}

async function inputVolumes(kube: Kube, instances: readonly RenderedInstance[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const instance of instances) {
    const rendered = new Set(instance.objects.filter(({ object }) => object.kind === "PersistentVolume").map(({ object }) => object.metadata.name));
    for (const { file, object } of instance.objects) {
      const volumeName = object.kind === "PersistentVolumeClaim" ? (object["spec"] as ClaimSpec | undefined)?.volumeName : undefined;
      if (volumeName === undefined || rendered.has(volumeName)) continue;
      const pv = await kube.find<VolumeView>(resourcePath("v1", "PersistentVolume", undefined, volumeName));
      const claimRef = pv?.spec?.claimRef;
      const boundElsewhere = claimRef !== undefined && (claimRef.name !== object.metadata.name || claimRef.namespace !== object.metadata.namespace);
      findings.push(
        pv === undefined
          ? {
              check: "persistent-volume",
              object: `PersistentVolume/${volumeName}`,
              status: "missing",
              message: `${file} binds claim ${object.metadata.name} to PersistentVolume ${volumeName}, which this cluster does not have: the input cannot be mounted`,
              fix: `the data provider creates PersistentVolume ${volumeName} (ReadOnlyMany, its data) before the instance syncs`,
            }
          : boundElsewhere
            ? {
                check: "persistent-volume",
                object: `PersistentVolume/${volumeName}`,
                status: "refused",
                message: `is reserved for ${claimRef.namespace ?? "?"}/${claimRef.name ?? "?"}, not for ${object.metadata.namespace ?? "?"}/${object.metadata.name}`,
                fix: "give the instance's claim its own PersistentVolume",
              }
            : { check: "persistent-volume", object: `PersistentVolume/${volumeName}`, status: "ok", message: `${pv.status?.phase ?? "?"} for ${file}` },
      );
    }
  }
  return findings;
}

function matches(labels: Record<string, string> | undefined, selector: Readonly<Record<string, string>> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);
}

async function gpu(kube: Kube, profile: ClusterProfile): Promise<Finding[]> {
  if (profile.gpu === undefined) return [];
  const { resourceName, nodeSelector } = profile.gpu;
  const nodes = (await kube.list<NodeView>(resourcePath("v1", "Node", undefined))).filter((node) => matches(node.metadata.labels, nodeSelector));
  const total = nodes.reduce((sum, node) => sum + Number(node.status?.allocatable?.[resourceName] ?? 0), 0);
  const selector = Object.entries(nodeSelector ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  return [
    total > 0
      ? { check: "gpu", object: `resource ${resourceName}`, status: "ok", message: `${total} allocatable on ${nodes.length} node(s)` }
      : {
          check: "gpu",
          object: `resource ${resourceName}`,
          status: "missing",
          message: `no node${selector === "" ? "" : ` labelled ${selector}`} has ${resourceName} allocatable (${nodes.length} node(s) match): GPU contracts stay Pending`,
          fix: `install the device plugin that advertises ${resourceName} on GPU nodes${selector === "" ? "" : ` and label them ${selector}`}`,
        },
  ];
}

/** Why a refusal happened, as a fix the operator can act on. */
function refusalFix(message: string): string {
  if (/PodSecurity/.test(message))
    return "the pod must satisfy Pod Security restricted: no hostPath volume in the pod (serve hostPath data through hostPathInputs, or use pvc/csi/nfs locations)";
  if (/RuntimeClass/i.test(message)) return "create the RuntimeClass the profile names, or change runtimeClasses in the profile";
  if (/the server could not find the requested resource|no matches for kind/i.test(message))
    return "install the CRDs of this kind (Argo CD's for AppProject and ApplicationSet)";
  if (/namespaces? "[^"]+" not found/.test(message)) return "create the namespace (Argo CD's, for the Argo CD wiring)";
  return "fix the cluster profile or the cluster so that this object is admitted";
}

async function dryRun(kube: Kube, file: string, object: KubeObject, what: string, findings: Finding[], create = false): Promise<void> {
  const label = `${object.kind ?? "?"}/${object.metadata.name}`;
  const subject = what === "" ? file : `${file}: ${what}`;
  try {
    const answer = create
      ? await kube.call(
          "POST",
          `${resourcePath(object.apiVersion ?? "", object.kind ?? "", object.metadata.namespace)}?dryRun=All&fieldManager=${FIELD_MANAGER}`,
          object,
        )
      : await kube.apply(object, FIELD_MANAGER, true);
    findings.push(
      answer.warnings.length === 0
        ? { check: "manifest", object: label, status: "ok", message: `${subject} admitted (dry run)` }
        : {
            check: "manifest",
            object: label,
            status: "warn",
            message: `${subject} admitted with warnings: ${answer.warnings.join("; ")}`,
            fix: refusalFix(answer.warnings.join(" ")),
          },
    );
  } catch (error) {
    if (!(error instanceof KubeError)) throw error;
    findings.push({
      check: "manifest",
      object: label,
      status: "refused",
      message: `${subject} refused (${error.status}): ${error.message}`,
      fix: refusalFix(error.message),
    });
  }
}

/**
 * Server-side apply (dryRun=All) of every rendered object. The namespaced objects of an instance are
 * judged in a scratch `dp-doctor-…` namespace made with the instance Namespace's own labels (so Pod
 * Security judges them as it will), removed afterwards; each Job's pod template is also sent as a
 * Pod, since Pod Security only warns about a Job but refuses its pod.
 */
export async function validateOnServer(kube: Kube, instances: readonly RenderedInstance[], scratchPrefix: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  let n = 0;
  for (const instance of instances) {
    const namespaceObject = instance.objects.find(({ object }) => object.kind === "Namespace")?.object;
    let scratch: string | undefined;
    try {
      if (namespaceObject !== undefined) {
        n += 1;
        scratch = `${scratchPrefix}-${n}`;
        await kube.create({
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: scratch, labels: { ...(namespaceObject.metadata["labels"] ?? {}), "datomspod.io/doctor": "scratch" } },
        });
      }
      for (const { file, object } of instance.objects) {
        if (object.apiVersion === undefined || object.kind === undefined || !knownKind(object.apiVersion, object.kind)) {
          findings.push({
            check: "manifest",
            object: `${object.kind ?? "?"}/${object.metadata?.name ?? "?"}`,
            status: "refused",
            message: `${file}: kind ${object.apiVersion ?? "?"} ${object.kind ?? "?"} is not one datomspod renders`,
            fix: "run datomspod compile",
          });
          continue;
        }
        const inScratch = scratch !== undefined && object.metadata.namespace === namespaceObject?.metadata.name;
        const judged: KubeObject = inScratch ? { ...object, metadata: { ...object.metadata, namespace: scratch } } : object;
        await dryRun(kube, file, judged, inScratch ? `in scratch namespace ${scratch}` : "", findings);
        if (object.kind === "Job") {
          const template = (object["spec"] as JobSpec | undefined)?.template;
          const podObject: KubeObject = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { ...(template?.metadata ?? {}), name: object.metadata.name, namespace: judged.metadata.namespace },
            spec: template?.spec,
          };
          await dryRun(kube, file, podObject, "its pod template, as a Pod,", findings, true);
        }
      }
    } finally {
      if (scratch !== undefined) await kube.delete(`/api/v1/namespaces/${scratch}`).catch(() => false);
    }
  }
  return findings;
}

/** The isolation verdict as a finding. */
export function isolationFinding(evidence: IsolationEvidence): Finding {
  const verdict = judgeIsolation(evidence);
  const targets = Object.values(evidence.targets).join(", ");
  if (verdict.isolated) {
    return {
      check: "network-policy",
      object: `NetworkPolicy/deny-all in ${evidence.namespace}`,
      status: "ok",
      message: `enforced: the canary under deny-all reached none of ${targets}; the control pod without it reached all`,
    };
  }
  return {
    check: "network-policy",
    object: `NetworkPolicy/deny-all in ${evidence.namespace}`,
    status: "refused",
    message: `isolation is not proven: ${verdict.reasons.join("; ")}`,
    fix: "run a CNI or policy controller that enforces NetworkPolicy (e.g. Calico, Cilium, kube-router) before any instance syncs here",
  };
}

const RECORD_OBJECT = `ClusterRoleBinding/${ISOLATION_RECORD}`;
const RBAC = "rbac.authorization.k8s.io/v1";
const ANNOTATION = { checkedAt: "datomspod.io/checked-at", cluster: "datomspod.io/cluster", evidence: "datomspod.io/evidence" } as const;

interface GrantView {
  readonly metadata?: { readonly annotations?: Readonly<Record<string, string>> };
}

/** The proof of isolation as RBAC objects: the role that may `get` the proof, and its grant to the isolation account (carrying the evidence). */
export function isolationGrant(name: string, cluster: string, checkedAt: string, evidence: string): KubeObject[] {
  const labels = { [LABELS.managedBy]: "datomspod", [LABELS.partOf]: "datomspod" };
  return [
    {
      apiVersion: RBAC,
      kind: "ClusterRole",
      metadata: { name, labels },
      rules: [{ apiGroups: [ISOLATION_GROUP], resources: [ISOLATION_RESOURCE], resourceNames: [name], verbs: ["get"] }],
    },
    {
      apiVersion: RBAC,
      kind: "ClusterRoleBinding",
      metadata: { name, labels, annotations: { [ANNOTATION.checkedAt]: checkedAt, [ANNOTATION.cluster]: cluster, [ANNOTATION.evidence]: evidence } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ kind: "ServiceAccount", name: ISOLATION_ACCOUNT, namespace: ISOLATION_ACCOUNT_NAMESPACE }],
    },
  ];
}

/** Whether the proof is on the cluster, as a finding (no proof fails: no instance pod is admitted). */
export async function isolationRecordFinding(kube: Kube, cluster: string): Promise<Finding> {
  const grant = await kube.find<GrantView>(`/apis/${RBAC}/clusterrolebindings/${ISOLATION_RECORD}`);
  if (grant === undefined)
    return {
      check: "isolation-record",
      object: RECORD_OBJECT,
      status: "missing",
      message: "no proof of isolation: no instance pod is admitted",
      fix: `run datomspod cluster doctor --cluster ${cluster} --record: it grants the proof when its canary is refused everywhere`,
    };
  return { check: "isolation-record", object: RECORD_OBJECT, status: "ok", message: `proven at ${grant.metadata?.annotations?.[ANNOTATION.checkedAt] ?? "?"}` };
}

/**
 * Records the canary's verdict: grants the proof (server-side apply) when it proved isolation,
 * removes it when it did not, which stops every new instance pod at admission.
 */
export async function recordIsolation(
  kube: Kube,
  cluster: string,
  evidence: IsolationEvidence | undefined,
  now: Date,
  name: string = ISOLATION_RECORD,
): Promise<Finding> {
  const verdict = evidence === undefined ? { isolated: false, reasons: ["no canary ran"] } : judgeIsolation(evidence);
  const checkedAt = now.toISOString();
  const object = `ClusterRoleBinding/${name}`;
  try {
    if (!verdict.isolated) {
      await kube.delete(`/apis/${RBAC}/clusterrolebindings/${name}`);
      return {
        check: "isolation-record",
        object,
        status: "refused",
        message: `not proven at ${checkedAt}: the proof is withdrawn, no new instance pod is admitted`,
        fix: "fix what network-policy reports, then run the doctor with --record again",
      };
    }
    for (const grant of isolationGrant(name, cluster, checkedAt, JSON.stringify({ reasons: verdict.reasons, ...evidence })))
      await kube.apply(grant, FIELD_MANAGER);
  } catch (error) {
    if (!(error instanceof KubeError)) throw error;
    return {
      check: "isolation-record",
      object,
      status: "refused",
      message: `could not be recorded: ${error.message}`,
      fix: "run the doctor with --record as a cluster administrator (it creates a ClusterRole and ClusterRoleBinding)",
    };
  }
  return { check: "isolation-record", object, status: "ok", message: `proven at ${checkedAt}: instance pods are admitted` };
}

export interface DoctorOptions {
  readonly repo: string;
  readonly profile: ClusterProfile;
  /** Write the isolation record from the canary's verdict (otherwise only read it). */
  readonly record?: boolean;
  /** The clock of the record (default: now). */
  readonly now?: Date;
  /** The canary's options; undefined skips the network check (reported as missing: never a pass). */
  readonly canary?: Omit<CanaryOptions, "image"> & { readonly image?: string };
  readonly log?: (line: string) => void;
}

export async function runDoctor(kube: Kube, options: DoctorOptions): Promise<DoctorReport> {
  const { profile } = options;
  const version = await kube.get<{ gitVersion?: string }>("/version");
  const findings: Finding[] = [{ check: "api", object: kube.server, status: "ok", message: `Kubernetes ${version.gitVersion ?? "?"}` }];
  const rendered = readRendered(options.repo, profile.name);
  findings.push(...(await runtimeClasses(kube, profile)));
  findings.push(...(await storage(kube, profile)));
  findings.push(...(await inputVolumes(kube, rendered)));
  findings.push(...(await gpu(kube, profile)));
  findings.push(...(await validateOnServer(kube, rendered, `dp-doctor-${randomBytes(3).toString("hex")}-scratch`)));
  if (admissionRendered(profile)) findings.push(...(await checkAdmission(kube, profile.name, renderAdmission(profile))));
  let isolation: IsolationEvidence | undefined;
  if (options.canary === undefined) {
    findings.push({
      check: "network-policy",
      object: "NetworkPolicy enforcement",
      status: "missing",
      message: "not checked: no canary ran",
      fix: "run the doctor with its canary",
    });
  } else {
    const pod = profile.images.pod;
    isolation = await probeIsolation(kube, {
      ...options.canary,
      image: options.canary.image ?? `${pod.image}@${pod.digest}`,
      ...(options.log ? { log: options.log } : {}),
    });
    findings.push(isolationFinding(isolation));
    if (Object.keys(isolation.targets).length === 1 && isolation.targets["pod"] !== undefined) {
      findings.push({
        check: "network-policy",
        object: "egress outside the pods",
        status: "warn",
        message: "only egress to another pod was probed; no address outside the pods was tried",
        fix: "give --listen ADDRESS (an address of this machine the pods can route to) or --egress-url URL",
      });
    }
  }
  if (options.record === true) findings.push(await recordIsolation(kube, profile.name, isolation, options.now ?? new Date()));
  else if (admissionRendered(profile)) findings.push(await isolationRecordFinding(kube, profile.name));
  const ok = findings.every((finding) => finding.status === "ok" || finding.status === "warn");
  return { cluster: profile.name, server: kube.server, ok, findings, ...(isolation === undefined ? {} : { isolation }) };
}

const MARK: Record<Status, string> = { ok: "ok     ", warn: "WARN   ", missing: "MISSING", refused: "REFUSED" };

/** The report as text: one line per finding (the fix on the next), then the verdict. */
export function formatDoctor(report: DoctorReport): string {
  const lines = [`cluster ${report.cluster} at ${report.server}`];
  for (const check of CHECKS) {
    const of = report.findings.filter((finding) => finding.check === check);
    if (of.length === 0) continue;
    lines.push(`${check}:`);
    for (const finding of of) {
      lines.push(`  ${MARK[finding.status]} ${finding.object}: ${finding.message}`);
      if (finding.fix !== undefined && finding.status !== "ok") lines.push(`          fix: ${finding.fix}`);
    }
  }
  const bad = report.findings.filter((finding) => finding.status === "missing" || finding.status === "refused").length;
  lines.push(
    report.ok
      ? `OK: cluster ${report.cluster} has what its profile needs; instances may sync`
      : `REFUSED: ${bad} finding${bad === 1 ? "" : "s"} above; do not let instances sync to this cluster until they are fixed`,
  );
  return lines.join("\n");
}
