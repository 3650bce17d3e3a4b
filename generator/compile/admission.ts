/**
 * What the cluster refuses on its own, rendered per cluster into clusters/<cluster>/admission/:
 * ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1, CEL, failurePolicy Fail) and their
 * bindings that hold every object of a `dp-` namespace (and every PersistentVolume of an instance)
 * to what compile renders for the profile, independently of git: an instance folder edited past
 * review, or a compromised generator, is refused by the API server itself.
 *
 *   namespaces       a `dp-` Namespace keeps Pod Security enforce=restricted (at v1.30 or later);
 *   volumes          an instance's PersistentVolume serves a node folder only under the profile's
 *                    hostPathInputs.allowedPathPrefixes, read-only (ReadOnlyMany; csi/nfs readOnly);
 *                    the sealed-output volumes (the profile's StorageClass) only under SEALED_ROOT;
 *   jobs, pods       every image pinned by digest and from the profile's allowed repositories (the
 *                    roles' image is exactly the pinned pod image), no host network/PID/IPC, only
 *                    configMap, emptyDir and claim volumes (claims read-only but the sealed one), no
 *                    service account token, read-only root filesystems, activeDeadlineSeconds set
 *                    and at most the profile's longest duration plus the roles' time, no ephemeral
 *                    containers;
 *   networkpolicies  a NetworkPolicy in a `dp-` namespace only denies (no ingress or egress rule):
 *                    policies add up, so one that allows would open the deny-all;
 *   isolation        no pod is created in a `dp-` namespace until NetworkPolicy enforcement is
 *                    proven: the proof is an RBAC grant that `cluster doctor --record` makes after
 *                    its canary was refused everywhere (ClusterRoleBinding datomspod-isolation:
 *                    ServiceAccount datomspod-system/datomspod-isolation may `get`
 *                    isolation.datomspod.io/datomspod-isolation) and removes when it was not; the
 *                    policy asks the API server's authorizer (CEL `authorizer.serviceAccount`).
 *                    Not a ConfigMap parameter: the API server's informer for a built-in paramKind
 *                    freezes, for the life of the process, once no binding names that kind for a
 *                    moment (kubernetes/kubernetes#130887, seen here in 1.36), after which a
 *                    withdrawn proof would still read proven. The doctor's own probe pods,
 *                    labelled datomspod.io/isolation-probe, are not judged by it (they must run to
 *                    prove anything), and
 *   probes           hold every pod carrying that label to the probe's shape: the doctor's fixed
 *                    script (canary.ts), no volumes, no environment; it reads nothing it could leak.
 *
 * A policy cannot look up another object, so that an instance has its deny-all NetworkPolicy at
 * all is not refused here: `datomspod cluster doctor` reports a `dp-` namespace running pods
 * without it (docs/cluster.md, "What the cluster refuses on its own").
 *
 * A pure function of the profile. `scope` renames the objects and narrows the bindings to objects
 * carrying a label (the lab test installs them beside other tests without judging their objects).
 */

import { PROBE_LABEL, PROBE_SCRIPT } from "../cluster/canary.js";
import { LABELS } from "./names.js";
import { ROLE_DEADLINE_SECONDS, type K8sObject } from "./instance.js";
import { OPERATOR_NAMESPACE, SEALED_ROOT } from "./operator.js";
import type { ClusterProfile } from "./profile.js";

export const ADMISSION_API = "admissionregistration.k8s.io/v1";
/** The longest maxDurationSeconds a contract may ask for (contracts/contract.schema.json) when the profile sets none. */
export const CONTRACT_MAX_DURATION_SECONDS = 604800;
/** The containers that run the roles (generator/compile/instance.ts): they must run the pinned pod image. */
export const ROLE_CONTAINERS = ["datomspace-in", "datomspace-out", "oracle"] as const;

/**
 * The proof of NetworkPolicy enforcement, as RBAC (written by `cluster doctor --record`): the
 * ServiceAccount ISOLATION_ACCOUNT in OPERATOR_NAMESPACE may `get` the made-up resource
 * ISOLATION_RESOURCE of ISOLATION_GROUP named the proof's name. The account needs not exist: RBAC
 * judges the name. The grant's annotations carry when and what the canary saw.
 */
export const ISOLATION_RECORD = "datomspod-isolation";
export const ISOLATION_ACCOUNT = "datomspod-isolation";
export const ISOLATION_ACCOUNT_NAMESPACE = OPERATOR_NAMESPACE;
export const ISOLATION_GROUP = "datomspod.io";
export const ISOLATION_RESOURCE = "isolation";

/** The name of the proof (ClusterRole, ClusterRoleBinding, resource name) the policies of `scope` ask for. */
export function isolationRecordName(scope?: AdmissionScope): string {
  return scope === undefined ? ISOLATION_RECORD : `${ISOLATION_RECORD}-${scope.suffix}`;
}

/** The CEL question the isolation policy asks the API server's authorizer. */
export function isolationCheck(scope?: AdmissionScope): string {
  return `authorizer.serviceAccount('${ISOLATION_ACCOUNT_NAMESPACE}', '${ISOLATION_ACCOUNT}').group('${ISOLATION_GROUP}').resource('${ISOLATION_RESOURCE}').name('${isolationRecordName(scope)}').check('get').allowed()`;
}

export interface AdmissionScope {
  /** Appended to every object's name. */
  readonly suffix: string;
  /** The bindings judge only objects carrying these labels. */
  readonly objectSelector: Readonly<Record<string, string>>;
}

interface Validation {
  readonly expression: string;
  /** What is wrong and the fix, as a CEL string expression (it may name the offending values). */
  readonly messageExpression: string;
  readonly message: string;
}

/** Whether compile renders admission policies for the profile: every profile whose instances a cluster runs. */
export function admissionRendered(profile: ClusterProfile): boolean {
  return profile.mode !== "local";
}

/** The longest activeDeadlineSeconds a Job or pod of the profile may have. */
export function maxDeadlineSeconds(profile: ClusterProfile): number {
  return (profile.maxDurationSeconds ?? CONTRACT_MAX_DURATION_SECONDS) + ROLE_DEADLINE_SECONDS;
}

/** A CEL string literal of a value the profile schema keeps to plain characters. */
function cel(value: string): string {
  if (!/^[-A-Za-z0-9._:/@ ]*$/.test(value)) throw new Error(`generator/compile/admission.ts: ${JSON.stringify(value)} cannot be a CEL literal here`);
  return `'${value}'`;
}

function celList(values: readonly string[]): string {
  return `[${values.map(cel).join(", ")}]`;
}

function rule(expression: string, message: string, detail?: string): Validation {
  const quoted = message.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
  return { expression, message, messageExpression: detail === undefined ? `'${quoted}'` : `'${quoted} (' + (${detail}) + ')'` };
}

/** A CEL string literal of any text of printable ASCII and newlines (the probe script). */
function celText(value: string): string {
  if (!/^[\x20-\x7e\n]*$/.test(value)) throw new Error("generator/compile/admission.ts: the text cannot be a CEL literal here");
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

function policy(name: string, rules: object[], matchConditions: object[], variables: object[], validations: Validation[]): K8sObject {
  return {
    apiVersion: ADMISSION_API,
    kind: "ValidatingAdmissionPolicy",
    metadata: { name, labels: { [LABELS.managedBy]: "datomspod", [LABELS.partOf]: "datomspod" } },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: { matchPolicy: "Equivalent", namespaceSelector: {}, objectSelector: {}, resourceRules: rules },
      matchConditions,
      // An empty list is not stored: it is left out, so that the doctor reads back what is rendered.
      ...(variables.length === 0 ? {} : { variables }),
      validations: validations.map((v) => ({ expression: v.expression, message: v.message, messageExpression: v.messageExpression })),
    },
  };
}

function binding(policyName: string, scope: AdmissionScope | undefined, isolation = false): K8sObject {
  const matchLabels = scope === undefined ? {} : { matchLabels: { ...scope.objectSelector } };
  return {
    apiVersion: ADMISSION_API,
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: policyName, labels: { [LABELS.managedBy]: "datomspod", [LABELS.partOf]: "datomspod" } },
    spec: {
      policyName,
      validationActions: ["Deny"],
      // Written out with the API server's defaults, so that the doctor compares what it reads back field by field.
      matchResources: {
        matchPolicy: "Equivalent",
        namespaceSelector: {},
        // The probe pods are not held to the proof they are there to give (the probes policy holds them to their shape).
        objectSelector: isolation ? { ...matchLabels, matchExpressions: [{ key: PROBE_LABEL, operator: "DoesNotExist" }] } : matchLabels,
      },
    },
  };
}

const WRITE = ["CREATE", "UPDATE"];
const inDpNamespace = { name: "in-datomspod-namespace", expression: "request.namespace.startsWith('dp-')" };

function namespaces(name: string): K8sObject {
  const label = (key: string): string => `object.metadata.labels['${key}']`;
  const has = (key: string): string => `has(object.metadata.labels) && '${key}' in object.metadata.labels`;
  return policy(
    name,
    [{ apiGroups: [""], apiVersions: ["v1"], operations: WRITE, resources: ["namespaces"], scope: "*" }],
    [{ name: "datomspod-namespace", expression: "object.metadata.name.startsWith('dp-')" }],
    [],
    [
      rule(
        `${has("pod-security.kubernetes.io/enforce")} && ${label("pod-security.kubernetes.io/enforce")} == 'restricted'`,
        "metadata.labels[pod-security.kubernetes.io/enforce] of a dp- namespace must be restricted and cannot be removed: keep the label as datomspod compile renders it",
        "'namespace ' + object.metadata.name",
      ),
      rule(
        `!(${has("pod-security.kubernetes.io/enforce-version")}) || ${label("pod-security.kubernetes.io/enforce-version")} == 'latest' || ${label("pod-security.kubernetes.io/enforce-version")}.matches('^v1\\\\.([3-9][0-9])$')`,
        "metadata.labels[pod-security.kubernetes.io/enforce-version] of a dp- namespace must be v1.30 or later (or latest): keep the label as datomspod compile renders it",
        "'namespace ' + object.metadata.name",
      ),
    ],
  );
}

function volumes(name: string, profile: ClusterProfile): K8sObject {
  const prefixes = profile.hostPathInputs?.allowedPathPrefixes ?? [];
  const sealedClass = profile.storageClassName;
  const nodePath = (source: string): string =>
    `!has(object.spec.${source}) || (!object.spec.${source}.path.split('/').exists(s, s == '..' || s == '.') && (variables.sealed ? object.spec.${source}.path.startsWith('${SEALED_ROOT}/') : ${celList(prefixes)}.exists(p, (object.spec.${source}.path + '/').startsWith(p))))`;
  const where = `'PersistentVolume ' + object.metadata.name`;
  return policy(
    name,
    [{ apiGroups: [""], apiVersions: ["v1"], operations: WRITE, resources: ["persistentvolumes"], scope: "*" }],
    [
      {
        name: "datomspod-volume",
        expression: `(has(object.metadata.labels) && '${LABELS.managedBy}' in object.metadata.labels && object.metadata.labels['${LABELS.managedBy}'] == 'datomspod') || (has(object.spec.claimRef) && has(object.spec.claimRef.namespace) && object.spec.claimRef.namespace.startsWith('dp-'))`,
      },
    ],
    [
      {
        name: "sealed",
        expression:
          sealedClass === undefined
            ? "false"
            : `has(object.spec.storageClassName) && object.spec.storageClassName == ${cel(sealedClass)} && !(has(object.metadata.labels) && '${LABELS.managedBy}' in object.metadata.labels)`,
      },
    ],
    [
      rule(
        nodePath("hostPath"),
        `spec.hostPath.path must be a folder under ${prefixes.length === 0 ? "(none: the profile serves no hostPath inputs)" : prefixes.join(", ")} (inputs) or under ${SEALED_ROOT}/ (sealed outputs, StorageClass ${sealedClass ?? "none"}): serve the data from such a folder, or add its folder to hostPathInputs.allowedPathPrefixes of the cluster profile`,
        `${where} + ': ' + (has(object.spec.hostPath) ? object.spec.hostPath.path : '')`,
      ),
      rule(
        nodePath("local"),
        `spec.local.path must be a folder under ${prefixes.length === 0 ? "(none)" : prefixes.join(", ")} (inputs) or under ${SEALED_ROOT}/ (sealed outputs): serve the data from such a folder`,
        `${where} + ': ' + (has(object.spec.local) ? object.spec.local.path : '')`,
      ),
      rule(
        "variables.sealed || (has(object.spec.accessModes) && object.spec.accessModes.all(m, m == 'ReadOnlyMany'))",
        "spec.accessModes of an input volume must be [ReadOnlyMany]: inputs are read-only",
        where,
      ),
      rule(
        "variables.sealed || ((!has(object.spec.csi) || (has(object.spec.csi.readOnly) && object.spec.csi.readOnly)) && (!has(object.spec.nfs) || (has(object.spec.nfs.readOnly) && object.spec.nfs.readOnly)))",
        "spec.csi.readOnly / spec.nfs.readOnly of an input volume must be true: inputs are read-only",
        where,
      ),
    ],
  );
}

/** The rules of a pod spec, at `field` (spec.template.spec of a Job, spec of a Pod). */
function podRules(profile: ClusterProfile, field: string, deadline: string, deadlineField: string): Validation[] {
  const pod = profile.images.pod;
  const pinned = `${pod.image}@${pod.digest}`;
  const allowed = profile.images.allowedAlgorithmRepositories.map((repo) =>
    repo.endsWith("/") ? `c.image.startsWith(${cel(repo)})` : `c.image.startsWith(${cel(`${repo}@`)})`,
  );
  const imageAllowed = `(c.image.startsWith(${cel(`${pod.image}@`)}) ? c.image == ${cel(pinned)} : (${allowed.join(" || ")}))`;
  const offending = (condition: string): string => `variables.containers.filter(c, !(${condition})).map(c, c.name + '=' + c.image).join(', ')`;
  const max = maxDeadlineSeconds(profile);
  const volumes = "(has(variables.pod.volumes) ? variables.pod.volumes : [])";
  const hostFlag = (flag: string): Validation =>
    rule(`!has(variables.pod.${flag}) || variables.pod.${flag} == false`, `${field}.${flag} must be false: instances share nothing with the node`);
  const digest = "c.image.matches('^[^@]+@sha256:[0-9a-f]{64}$')";
  return [
    rule(
      `variables.containers.all(c, ${digest})`,
      `${field}.containers[].image and initContainers[].image must be pinned by digest (repository@sha256:<64 hex>): render the instance with datomspod compile, which pins every image`,
      offending(digest),
    ),
    rule(
      `variables.containers.all(c, ${imageAllowed})`,
      `${field}.containers[].image and initContainers[].image must be the pinned pod image ${pinned} or come from ${profile.images.allowedAlgorithmRepositories.join(", ")} (images.allowedAlgorithmRepositories of the cluster profile): use an allowed image`,
      offending(imageAllowed),
    ),
    rule(
      `variables.containers.all(c, !(c.name in ${celList(ROLE_CONTAINERS)}) || c.image == ${cel(pinned)})`,
      `${field}.containers[].image of the role containers (${ROLE_CONTAINERS.join(", ")}) must be the pinned pod image ${pinned} (images.pod of the cluster profile): render the instance with datomspod compile`,
      offending(`!(c.name in ${celList(ROLE_CONTAINERS)}) || c.image == ${cel(pinned)}`),
    ),
    hostFlag("hostNetwork"),
    hostFlag("hostPID"),
    hostFlag("hostIPC"),
    rule(
      `${volumes}.all(v, !has(v.hostPath))`,
      `${field}.volumes[].hostPath is not allowed: serve node folders through hostPathInputs of the cluster profile (a read-only PersistentVolume), or use a pvc, csi or nfs location`,
      `${volumes}.filter(v, has(v.hostPath)).map(v, v.name).join(', ')`,
    ),
    rule(
      `${volumes}.all(v, has(v.configMap) || has(v.emptyDir) || has(v.persistentVolumeClaim))`,
      `${field}.volumes[] may only be configMap, emptyDir or persistentVolumeClaim volumes: no secret, projected token or other source reaches an algorithm`,
      `${volumes}.filter(v, !(has(v.configMap) || has(v.emptyDir) || has(v.persistentVolumeClaim))).map(v, v.name).join(', ')`,
    ),
    rule(
      `${volumes}.all(v, !has(v.persistentVolumeClaim) || v.persistentVolumeClaim.claimName.startsWith('sealed-') || (has(v.persistentVolumeClaim.readOnly) && v.persistentVolumeClaim.readOnly))`,
      `${field}.volumes[].persistentVolumeClaim.readOnly must be true for every claim but the run's sealed-<run> claim: inputs are read-only`,
      `${volumes}.filter(v, has(v.persistentVolumeClaim) && !v.persistentVolumeClaim.claimName.startsWith('sealed-') && !(has(v.persistentVolumeClaim.readOnly) && v.persistentVolumeClaim.readOnly)).map(v, v.name).join(', ')`,
    ),
    rule(
      "has(variables.pod.automountServiceAccountToken) && variables.pod.automountServiceAccountToken == false",
      `${field}.automountServiceAccountToken must be false: an algorithm gets no API credentials`,
    ),
    rule(
      "variables.containers.all(c, has(c.securityContext) && has(c.securityContext.readOnlyRootFilesystem) && c.securityContext.readOnlyRootFilesystem)",
      `${field}.containers[].securityContext.readOnlyRootFilesystem must be true: containers write only to their emptyDir volumes`,
      "variables.containers.filter(c, !(has(c.securityContext) && has(c.securityContext.readOnlyRootFilesystem) && c.securityContext.readOnlyRootFilesystem)).map(c, c.name).join(', ')",
    ),
    rule(
      `has(${deadline}) && ${deadline} <= ${max}`,
      `${deadlineField} must be set and at most ${max} seconds (the profile's longest duration plus ${ROLE_DEADLINE_SECONDS} s for the roles): every run ends; render the instance with datomspod compile`,
      `has(${deadline}) ? string(${deadline}) : 'unset'`,
    ),
  ];
}

function workloads(name: string, profile: ClusterProfile, kind: "Job" | "Pod"): K8sObject {
  const job = kind === "Job";
  const podPath = job ? "object.spec.template.spec" : "object.spec";
  const field = job ? "spec.template.spec" : "spec";
  const containers = `variables.pod.containers + (has(variables.pod.initContainers) ? variables.pod.initContainers : [])${job ? "" : " + (has(variables.pod.ephemeralContainers) ? variables.pod.ephemeralContainers : [])"}`;
  const rules = podRules(profile, field, job ? "object.spec.activeDeadlineSeconds" : "object.spec.activeDeadlineSeconds", "spec.activeDeadlineSeconds");
  if (!job) {
    rules.push(
      rule(
        "!has(object.spec.ephemeralContainers) || size(object.spec.ephemeralContainers) == 0",
        "spec.ephemeralContainers is not allowed in a dp- namespace: nobody debugs into a running instance",
      ),
    );
  }
  return policy(
    name,
    [
      job
        ? { apiGroups: ["batch"], apiVersions: ["v1"], operations: WRITE, resources: ["jobs"], scope: "*" }
        : { apiGroups: [""], apiVersions: ["v1"], operations: WRITE, resources: ["pods", "pods/ephemeralcontainers"], scope: "*" },
    ],
    [inDpNamespace],
    [
      { name: "pod", expression: podPath },
      { name: "containers", expression: containers },
    ],
    rules,
  );
}

function networkPolicies(name: string): K8sObject {
  return policy(
    name,
    [{ apiGroups: ["networking.k8s.io"], apiVersions: ["v1"], operations: WRITE, resources: ["networkpolicies"], scope: "*" }],
    [inDpNamespace],
    [],
    [
      rule(
        "(!has(object.spec.ingress) || size(object.spec.ingress) == 0) && (!has(object.spec.egress) || size(object.spec.egress) == 0) && has(object.spec.policyTypes) && 'Ingress' in object.spec.policyTypes && 'Egress' in object.spec.policyTypes",
        "spec.ingress and spec.egress of a NetworkPolicy in a dp- namespace must be empty, with policyTypes [Ingress, Egress]: it may only deny; policies add up, so one that allows would open the instance's deny-all",
        "'NetworkPolicy ' + object.metadata.name",
      ),
    ],
  );
}

function isolation(name: string, profile: ClusterProfile, scope: AdmissionScope | undefined): K8sObject {
  return policy(
    name,
    [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "*" }],
    [inDpNamespace],
    [],
    [
      rule(
        isolationCheck(scope),
        `metadata.namespace: a pod in a dp- namespace runs only once the cluster proved it enforces NetworkPolicy, and there is no proof (ClusterRoleBinding ${isolationRecordName(scope)}): run datomspod cluster doctor --cluster ${profile.name} --record (its canary must be refused everywhere), fix what it reports, and the pods are created on the Job's next try`,
      ),
    ],
  );
}

function probes(name: string): K8sObject {
  const containers =
    "variables.pod.containers + (has(variables.pod.initContainers) ? variables.pod.initContainers : []) + (has(variables.pod.ephemeralContainers) ? variables.pod.ephemeralContainers : [])";
  const shaped = `has(c.command) && size(c.command) >= 3 && c.command[0] == 'node' && c.command[1] == '-e' && c.command[2] == ${celText(PROBE_SCRIPT)} && !has(c.env) && !has(c.envFrom) && (!has(c.volumeMounts) || size(c.volumeMounts) == 0) && !has(c.lifecycle) && !has(c.livenessProbe) && !has(c.readinessProbe) && !has(c.startupProbe)`;
  return policy(
    name,
    [{ apiGroups: [""], apiVersions: ["v1"], operations: WRITE, resources: ["pods", "pods/ephemeralcontainers"], scope: "*" }],
    [inDpNamespace, { name: "isolation-probe", expression: `has(object.metadata.labels) && '${PROBE_LABEL}' in object.metadata.labels` }],
    [
      { name: "pod", expression: "object.spec" },
      { name: "containers", expression: containers },
    ],
    [
      rule(
        "!has(variables.pod.volumes) || size(variables.pod.volumes) == 0",
        `spec.volumes of a pod labelled ${PROBE_LABEL} must be empty: only cluster doctor's probe carries that label, and it reads nothing`,
        "'pod ' + object.metadata.name",
      ),
      rule(
        `variables.containers.all(c, ${shaped})`,
        `spec.containers[] of a pod labelled ${PROBE_LABEL} must run cluster doctor's probe script (node -e <the script>) without environment, mounts, lifecycle hooks or probes: remove the label, and the pod waits for the isolation proof like any other`,
        `variables.containers.filter(c, !(${shaped})).map(c, c.name).join(', ')`,
      ),
    ],
  );
}

/** The policies and their bindings, in a fixed order (policy, then its binding). */
export function renderAdmission(profile: ClusterProfile, scope?: AdmissionScope): K8sObject[] {
  const name = (what: string): string => `datomspod-${profile.name}-${what}${scope === undefined ? "" : `-${scope.suffix}`}`;
  const policies = [
    namespaces(name("namespaces")),
    volumes(name("volumes"), profile),
    workloads(name("jobs"), profile, "Job"),
    workloads(name("pods"), profile, "Pod"),
    networkPolicies(name("networkpolicies")),
    isolation(name("isolation"), profile, scope),
    probes(name("probes")),
  ];
  return policies.flatMap((p) => [p, binding(p.metadata.name, scope, p.metadata.name === name("isolation"))]);
}

/** The Argo CD side: the platform's AppProject (cluster-scoped admission kinds only, nothing namespaced) and the Application that syncs admission/. */
export function renderPlatform(profile: ClusterProfile): K8sObject[] {
  const project = `datomspod-${profile.name}-platform`;
  const { namespace, repoURL, targetRevision, destinationServer } = profile.argocd;
  const labels = { [LABELS.managedBy]: "datomspod", [LABELS.partOf]: "datomspod" };
  return [
    {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "AppProject",
      metadata: { name: project, namespace, labels },
      spec: {
        description: `datomspod platform of cluster ${profile.name}: the admission policies every instance is held to (changed by the platform's owners only)`,
        sourceRepos: [repoURL],
        destinations: [{ server: destinationServer, namespace: "*" }],
        clusterResourceWhitelist: [
          { group: "admissionregistration.k8s.io", kind: "ValidatingAdmissionPolicy" },
          { group: "admissionregistration.k8s.io", kind: "ValidatingAdmissionPolicyBinding" },
        ],
        namespaceResourceBlacklist: [{ group: "*", kind: "*" }],
        orphanedResources: { warn: true },
      },
    },
    {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Application",
      metadata: { name: `datomspod-${profile.name}-admission`, namespace, labels },
      spec: {
        project,
        source: { repoURL, targetRevision, path: `clusters/${profile.name}/admission` },
        destination: { server: destinationServer },
        // selfHeal puts back a policy edited on the cluster; no prune: a folder emptied in git
        // never removes the policies (the doctor reports the difference), fail closed.
        syncPolicy: { automated: { prune: false, selfHeal: true, allowEmpty: false }, syncOptions: ["ServerSideApply=true"] },
      },
    },
  ];
}
