/**
 * Argo CD wiring of a cluster: an AppProject that admits only the kinds an instance renders and only
 * datomspod namespaces, and an ApplicationSet whose git directory generator makes one Application per
 * instance folder, synced automatically with prune, so removing a folder deletes the instance.
 */

import type { ClusterProfile } from "./profile.js";
import type { K8sObject } from "./instance.js";

export const NAMESPACED_KINDS = ["ConfigMap", "Job", "LimitRange", "NetworkPolicy", "PersistentVolumeClaim", "ResourceQuota"] as const;
export const CLUSTER_KINDS = ["Namespace", "PersistentVolume"] as const;

export function renderArgoCd(profile: ClusterProfile): K8sObject[] {
  const project = `datomspod-${profile.name}`;
  const { namespace, repoURL, targetRevision, destinationServer } = profile.argocd;
  const labels = { "app.kubernetes.io/managed-by": "datomspod", "app.kubernetes.io/part-of": "datomspod" };
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
              directories: [{ path: `clusters/${profile.name}/*` }, { path: `clusters/${profile.name}/argocd`, exclude: true }],
            },
          },
        ],
        syncPolicy: { preserveResourcesOnDeletion: false },
        template: {
          metadata: {
            name: "dp-{{.path.basename}}",
            labels: { ...labels, "datomspod.io/contract": "{{.path.basename}}" },
            finalizers: ["resources-finalizer.argocd.argoproj.io"],
          },
          spec: {
            project,
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
