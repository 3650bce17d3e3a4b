/**
 * The `datomspod-operator` of a cluster (the seed's Server and Oracle pods), rendered into
 * clusters/<cluster>/operator/ for every profile whose pods Argo CD runs: its namespace, a
 * ServiceAccount, a ClusterRole with only what the operator calls (list/watch Jobs and namespaces,
 * get claims and volumes) and its binding, and a Deployment of one replica. Its keystore and git
 * credentials come from Secrets that are only referenced, never rendered.
 */

import type { ClusterProfile } from "./profile.js";
import type { K8sObject } from "./instance.js";

export const OPERATOR_NAME = "datomspod-operator";
export const OPERATOR_NAMESPACE = "datomspod-system";
/** The Secret (made by the cluster's admin) holding the runner keystore: keys `keystore.json` and `password`. */
export const OPERATOR_KEY_SECRET = "datomspod-operator-key";
/** Where the node keeps the volumes of the sealed-output claims (hostPath/local PersistentVolumes). */
export const SEALED_ROOT = "/var/lib/datomspod/sealed";

/**
 * The operator's JavaScript heap, bounded well below the container's 1Gi limit: without a bound,
 * Node lets the heap grow before collecting, and the clone's native buffers come on top
 * (bench/operator-git.mjs runs the operator's git work under this same bound).
 */
export const OPERATOR_NODE_OPTIONS = "--max-old-space-size=384";

/** What the operator calls, and nothing else (generator/operator/). */
export const OPERATOR_RULES = [
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get"] },
  { apiGroups: [""], resources: ["persistentvolumes"], verbs: ["get"] },
  // Before it signs: whether the deny-all policy stood, and whether anything else mounted the sealed claim (generator/operator/drift.ts).
  { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["list"] },
] as const;

/**
 * The API server named by the profile (`operator.apiServer`), as the variables the kubelet would
 * set for the kubernetes Service (a container's own variables win): for clusters whose Service has
 * no proxy, as the lab's.
 */
function apiServerEnv(profile: ClusterProfile): { name: string; value: string }[] {
  const url = profile.operator?.apiServer;
  if (url === undefined) return [];
  const { hostname, port } = new URL(url);
  return [
    { name: "KUBERNETES_SERVICE_HOST", value: hostname.replace(/^\[(.*)\]$/, "$1") },
    { name: "KUBERNETES_SERVICE_PORT", value: port === "" ? "443" : port },
  ];
}

export function operatorRendered(profile: ClusterProfile): boolean {
  return profile.mode !== "local";
}

export function renderOperator(profile: ClusterProfile): K8sObject[] {
  const labels = { "app.kubernetes.io/managed-by": "datomspod", "app.kubernetes.io/part-of": "datomspod", "app.kubernetes.io/name": OPERATOR_NAME };
  const metadata = { name: OPERATOR_NAME, namespace: OPERATOR_NAMESPACE, labels };
  const image = `${profile.images.pod.image}@${profile.images.pod.digest}`;
  const securityContext = {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    seccompProfile: { type: "RuntimeDefault" },
  };
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: OPERATOR_NAMESPACE,
        // Pod Security baseline forbids the read-only hostPath of the sealed volumes; restricted is warned about, so anything else shows.
        labels: { ...labels, "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "restricted" },
      },
    },
    { apiVersion: "v1", kind: "ServiceAccount", metadata, automountServiceAccountToken: true },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: OPERATOR_NAME, labels },
      rules: OPERATOR_RULES.map((rule) => ({ apiGroups: [...rule.apiGroups], resources: [...rule.resources], verbs: [...rule.verbs] })),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: OPERATOR_NAME, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: OPERATOR_NAME },
      subjects: [{ kind: "ServiceAccount", name: OPERATOR_NAME, namespace: OPERATOR_NAMESPACE }],
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata,
      spec: {
        // One writer: two operators would race for the same records (git would refuse the second push, but why try).
        replicas: 1,
        strategy: { type: "Recreate" },
        selector: { matchLabels: { "app.kubernetes.io/name": OPERATOR_NAME } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: OPERATOR_NAME,
            enableServiceLinks: false,
            // The lab's Kubo and git server listen on the node's loopback (the profile says so; never an instance's pod).
            ...(profile.operator?.hostNetwork === true ? { hostNetwork: true } : {}),
            // The node whose sealed folder holds the sealed-output volumes (the profile says which).
            ...(profile.operator?.nodeSelector === undefined ? {} : { nodeSelector: { ...profile.operator.nodeSelector } }),
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "operator",
                image,
                imagePullPolicy: "IfNotPresent",
                command: ["/opt/datomspod/bin/datomspod"],
                args: [
                  "--repo",
                  "/repo",
                  "operator",
                  "--cluster",
                  profile.name,
                  "--key",
                  "/keys/keystore.json",
                  "--sealed-root",
                  SEALED_ROOT,
                  "--branch",
                  profile.argocd.targetRevision,
                  "--clone",
                  profile.argocd.repoURL,
                  ...(profile.ipfs === undefined ? [] : ["--ipfs", profile.ipfs.endpoint]),
                ],
                env: [
                  { name: "DATOMSPOD_KEY_PASSWORD", valueFrom: { secretKeyRef: { name: OPERATOR_KEY_SECRET, key: "password" } } },
                  { name: "HOME", value: "/tmp" },
                  { name: "NODE_OPTIONS", value: OPERATOR_NODE_OPTIONS },
                  ...apiServerEnv(profile),
                ],
                // Measured with a repository of 1,000 contracts (bench/operator-git.mjs, docs/operator.md).
                resources: { requests: { cpu: "100m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
                securityContext,
                volumeMounts: [
                  // One file by subPath: a Secret volume's files are symbolic links (into ..data/), and a keystore that is a link is refused.
                  { name: "keys", mountPath: "/keys/keystore.json", subPath: "keystore.json", readOnly: true },
                  { name: "repo", mountPath: "/repo" },
                  { name: "sealed", mountPath: SEALED_ROOT, readOnly: true },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
            ],
            volumes: [
              { name: "keys", secret: { secretName: OPERATOR_KEY_SECRET, items: [{ key: "keystore.json", path: "keystore.json" }], defaultMode: 0o400 } },
              { name: "repo", emptyDir: { sizeLimit: "1Gi" } },
              { name: "sealed", hostPath: { path: SEALED_ROOT, type: "Directory" } },
              { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
            ],
          },
        },
      },
    },
  ];
}
