/**
 * Argo CD wiring of a cluster: an AppProject that admits only the kinds an instance renders and only
 * datomspod namespaces, and an ApplicationSet whose git files generator makes one Application per
 * instance folder (its namespace.yaml), synced automatically with prune, so removing a folder
 * deletes the instance. The Namespace's annotations (rendered by compile) give the dashboard its
 * `spec.info` (contract state, OPS-C verdict); links go to the contract, its pull requests and its
 * anchors. Job health needs no custom check: Argo CD's built-in batch/Job health reports a running
 * Job Progressing, a complete one Healthy and a failed one Degraded.
 */

import type { ClusterProfile } from "./profile.js";
import type { K8sObject } from "./instance.js";

export const NAMESPACED_KINDS = ["ConfigMap", "Job", "LimitRange", "NetworkPolicy", "PersistentVolumeClaim", "ResourceQuota"] as const;
export const CLUSTER_KINDS = ["Namespace", "PersistentVolume"] as const;
/** Folders of clusters/<cluster>/ that are not instances: the Argo CD wiring, the admission policies and the operator (no contract may take these ids). */
export const RESERVED_FOLDERS = ["admission", "argocd", "operator"] as const;

/** Namespace annotations the dashboard shows (generator/compile/plan.ts renders them). */
export const DASHBOARD_ANNOTATIONS = { state: "datomspod.io/state", opsc: "datomspod.io/opsc-verdict" } as const;

/** The repository's web address: the git URL without `.git`. */
export function webBase(repoURL: string): string {
  return repoURL.replace(/\.git$/, "");
}

export function renderArgoCd(profile: ClusterProfile): K8sObject[] {
  const project = `datomspod-${profile.name}`;
  const { namespace, repoURL, targetRevision, destinationServer } = profile.argocd;
  const labels = { "app.kubernetes.io/managed-by": "datomspod", "app.kubernetes.io/part-of": "datomspod" };
  const web = webBase(repoURL);
  const annotation = (key: string): string => `{{ index .metadata.annotations "${key}" }}`;
  return [
    {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "AppProject",
      metadata: { name: project, namespace, labels },
      spec: {
        description: `datomspod instances of cluster ${profile.name}: one namespace per data usage contract`,
        sourceRepos: [repoURL],
        destinations: [{ server: destinationServer, namespace: "dp-*" }],
        clusterResourceWhitelist: CLUSTER_KINDS.map((kind) => ({ group: "", kind })),
        namespaceResourceWhitelist: NAMESPACED_KINDS.map((kind) => ({
          group: kind === "Job" ? "batch" : kind === "NetworkPolicy" ? "networking.k8s.io" : "",
          kind,
        })),
        orphanedResources: { warn: true },
      },
    },
    {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "ApplicationSet",
      metadata: { name: project, namespace, labels },
      spec: {
        goTemplate: true,
        goTemplateOptions: ["missingkey=error"],
        generators: [
          {
            git: {
              repoURL,
              revision: targetRevision,
              files: [
                { path: `clusters/${profile.name}/*/namespace.yaml` },
                ...RESERVED_FOLDERS.map((folder) => ({ path: `clusters/${profile.name}/${folder}/namespace.yaml`, exclude: true })),
              ],
            },
          },
        ],
        // Deleting the ApplicationSet (a broken or removed argocd/ folder) would prune every instance:
        // it is the Application's finalizer, not this policy, that prunes a removed folder.
        syncPolicy: { preserveResourcesOnDeletion: false },
        template: {
          metadata: {
            name: "dp-{{.path.basename}}",
            labels: { ...labels, "datomspod.io/contract": "{{.path.basename}}" },
            annotations: {
              "link.argocd.argoproj.io/contract": `${web}/tree/${targetRevision}/contracts/{{.path.basename}}`,
              "link.argocd.argoproj.io/pull-requests": `${web}/pulls?q=is%3Apr+{{.path.basename}}`,
              "link.argocd.argoproj.io/anchors": `${web}/tree/${targetRevision}/contracts/{{.path.basename}}/evidence/anchors`,
              // An instance is its folder and nothing else: a commit that does not touch the folder (another
              // contract's, the operator's receipts, evidence) reuses its manifests instead of regenerating them,
              // so one commit costs the repo server one folder, not every instance (docs/cluster.md, at scale).
              "argocd.argoproj.io/manifest-generate-paths": ".",
            },
            finalizers: ["resources-finalizer.argocd.argoproj.io"],
          },
          spec: {
            project,
            info: [
              { name: "contract", value: "{{.path.basename}}" },
              { name: "contract state", value: annotation(DASHBOARD_ANNOTATIONS.state) },
              { name: "OPS-C verdict", value: annotation(DASHBOARD_ANNOTATIONS.opsc) },
            ],
            source: { repoURL, targetRevision, path: "{{.path.path}}" },
            destination: { server: destinationServer, namespace: "dp-{{.path.basename}}" },
            syncPolicy: {
              automated: { prune: true, selfHeal: true, allowEmpty: false },
              syncOptions: ["CreateNamespace=false", "PrunePropagationPolicy=foreground", "PruneLast=true", "FailOnSharedResource=true"],
              retry: { limit: 5, backoff: { duration: "10s", factor: 2, maxDuration: "3m" } },
            },
          },
        },
      },
    },
  ];
}
