/**
 * The GitOps flow of the lab, shared by test/cluster/argocd.test.ts and bench/cluster-lab.mjs: a
 * repository on the loopback git server with one folder per instance under clusters/lab/, an
 * ApplicationSet with a git directory generator over clusters/lab/* (automated sync with prune,
 * allowEmpty false, the resources finalizer), and refreshes by annotation instead of waiting for
 * Argo CD's polling.
 */

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "./exec.js";
import type { GitServer, LabRepo } from "./git-server.js";
import { conditionStatus, type Kube, type KubeObject } from "./kube.js";
import { ARGOCD_NAMESPACE } from "./lab.js";
import { restrictedNamespace, restrictedPodSpec } from "./workloads.js";

export const REFRESH_APPSET = "argocd.argoproj.io/application-set-refresh";
export const REFRESH_APP = "argocd.argoproj.io/refresh";
export const INSTANCES_PATH = "clusters/lab";

/** The namespace an instance folder's manifests make. */
export function instanceNamespace(folder: string): string {
  return `dp-lab-argo-${folder}`;
}

/** The Application the ApplicationSet makes for a folder. */
export function applicationName(folder: string): string {
  return `lab-${folder}`;
}

/** An instance folder's manifests: its namespace (Pod Security restricted) and one Job whose pod stays up. */
export function instanceManifests(folder: string, image: string): KubeObject[] {
  const namespace = instanceNamespace(folder);
  return [
    restrictedNamespace(namespace, { "datomspod.io/instance": folder }),
    {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "run-1", namespace },
      spec: {
        backoffLimit: 0,
        template: { metadata: { labels: { app: "run-1" } }, spec: restrictedPodSpec(image, `echo "instance ${folder} runs"; exec sleep 3600`) },
      },
    },
  ];
}

/** Writes (or, with `image` undefined, removes) an instance folder in the work tree. */
export function writeInstance(repo: LabRepo, folder: string, image: string | undefined): void {
  const dir = join(repo.work, INSTANCES_PATH, folder);
  if (image === undefined) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "instance.yaml"),
    instanceManifests(folder, image)
      .map((object) => `---\n${JSON.stringify(object, null, 2)}\n`)
      .join(""),
  );
}

export function applicationSet(name: string, repoUrl: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "ApplicationSet",
    metadata: { name, namespace: ARGOCD_NAMESPACE, labels },
    spec: {
      goTemplate: true,
      goTemplateOptions: ["missingkey=error"],
      // long: the lab refreshes by annotation, never by waiting for a poll
      generators: [{ git: { repoURL: repoUrl, revision: "main", directories: [{ path: `${INSTANCES_PATH}/*` }], requeueAfterSeconds: 3600 } }],
      template: {
        metadata: { name: "lab-{{.path.basename}}", labels, finalizers: ["resources-finalizer.argocd.argoproj.io"] },
        spec: {
          project: "default",
          source: { repoURL: repoUrl, targetRevision: "main", path: "{{.path.path}}" },
          destination: { server: "https://kubernetes.default.svc", namespace: "dp-lab-argo-{{.path.basename}}" },
          syncPolicy: { automated: { prune: true, selfHeal: true, allowEmpty: false } },
        },
      },
    },
  };
}

/** Asks the ApplicationSet controller to generate now, bypassing the repo server's revision cache. */
export async function refreshApplicationSet(kube: Kube, name: string): Promise<void> {
  await kube.patch(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applicationsets/${name}`, {
    metadata: { annotations: { [REFRESH_APPSET]: "true" } },
  });
}

/** Asks the application controller for a hard refresh (manifests generated again) of an Application. */
export async function hardRefreshApplication(kube: Kube, name: string): Promise<void> {
  await kube.patch(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applications/${name}`, { metadata: { annotations: { [REFRESH_APP]: "hard" } } });
}

export function findApplication(kube: Kube, name: string): Promise<any> {
  return kube.find(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applications/${name}`);
}

export function findApplicationSet(kube: Kube, name: string): Promise<any> {
  return kube.find(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applicationsets/${name}`);
}

/** Waits until the instance's Job has a Running pod; resolves with the pod. */
export async function waitInstanceRunning(kube: Kube, folder: string, timeoutMs: number): Promise<any> {
  const namespace = instanceNamespace(folder);
  return waitFor(`instance ${folder}: a Running pod of Job run-1 in ${namespace}`, timeoutMs, async () => {
    const pods = await kube.list(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: "app=run-1" });
    return pods.find((p) => p.status?.phase === "Running");
  });
}

/** Waits until the Application reports Synced and Healthy. */
export async function waitApplicationSynced(kube: Kube, folder: string, timeoutMs: number): Promise<any> {
  return waitFor(`Application ${applicationName(folder)} Synced and Healthy`, timeoutMs, async () => {
    const app = await findApplication(kube, applicationName(folder));
    return app?.status?.sync?.status === "Synced" && app.status.health?.status === "Healthy" ? app : undefined;
  });
}

/** Waits until the ApplicationSet reports a generator error; resolves with its message. */
export async function waitApplicationSetError(kube: Kube, name: string, timeoutMs: number): Promise<string> {
  return waitFor(`ApplicationSet ${name} to report ErrorOccurred`, timeoutMs, async () => {
    const appset = await findApplicationSet(kube, name);
    const condition = appset?.status?.conditions?.find((c: { type: string }) => c.type === "ErrorOccurred");
    return condition?.status === "True" ? String(condition.message) : undefined;
  });
}

/** Waits until the ApplicationSet reports no error (after a refresh that worked). */
export async function waitApplicationSetHealthy(kube: Kube, name: string, timeoutMs: number): Promise<void> {
  await waitFor(`ApplicationSet ${name} without ErrorOccurred`, timeoutMs, async () => {
    const appset = await findApplicationSet(kube, name);
    return appset !== undefined && conditionStatus(appset, "ErrorOccurred") === "False" ? true : undefined;
  });
}

/** Waits until an Application reports a ComparisonError (its manifests could not be had); resolves with the message. */
export async function waitComparisonError(kube: Kube, folder: string, timeoutMs: number): Promise<string> {
  return waitFor(`Application ${applicationName(folder)} to report ComparisonError`, timeoutMs, async () => {
    const app = await findApplication(kube, applicationName(folder));
    const condition = app?.status?.conditions?.find((c: { type: string }) => c.type === "ComparisonError");
    return condition === undefined ? undefined : String(condition.message);
  });
}

/** Deletes the ApplicationSet (its Applications and, by their finalizer, what they made follow). */
export async function deleteApplicationSet(kube: Kube, name: string): Promise<void> {
  await kube.delete(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applicationsets/${name}`, "Foreground");
}

export interface Flow {
  readonly server: GitServer;
  readonly repo: LabRepo;
}
