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
import type { LabRepo } from "./git-server.js";
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

let refreshes = 0;

/**
 * Asks the ApplicationSet controller to generate now, bypassing the repo server's revision cache.
 *
 * The controller removes the annotation after a generation that worked (by key, whatever its
 * value) and keeps it after one that failed; it only looks for the annotation's presence. So a
 * refresh first waits (at most 5 s) for an earlier one to be taken, unless the last generation
 * failed, and every refresh writes a new value: the same value again would be no change (no
 * watch event; the controller would wait out its error backoff).
 */
export async function refreshApplicationSet(kube: Kube, name: string): Promise<void> {
  await waitFor(`ApplicationSet ${name}: an earlier refresh taken`, 5_000, async () => {
    const appset = await findApplicationSet(kube, name);
    const pending = appset?.metadata?.annotations?.[REFRESH_APPSET] !== undefined;
    return !pending || conditionStatus(appset, "ErrorOccurred") === "True" ? true : undefined;
  }).catch(() => undefined);
  const value = `${Date.now()}-${++refreshes}`;
  await kube.patch(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applicationsets/${name}`, {
    metadata: { annotations: { [REFRESH_APPSET]: value } },
  });
}

/** Asks the application controller for a hard refresh (manifests generated again) of an Application. */
export async function hardRefreshApplication(kube: Kube, name: string): Promise<void> {
  // The controller removes the annotation once it has refreshed; a refresh asked while an earlier
  // one is pending would be taken together with it (possibly before what the caller just changed).
  await waitFor(`Application ${name}: an earlier refresh taken`, 15_000, async () =>
    (await findApplication(kube, name))?.metadata?.annotations?.[REFRESH_APP] === undefined ? true : undefined,
  );
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

/**
 * Waits until the Application reports Synced, its last sync operation succeeded, and its health is
 * Healthy or Progressing (a Job whose pod still runs is Progressing).
 */
export async function waitApplicationSynced(kube: Kube, folder: string, timeoutMs: number): Promise<any> {
  return waitFor(`Application ${applicationName(folder)} Synced (sync operation Succeeded, health Healthy or Progressing)`, timeoutMs, async () => {
    const app = await findApplication(kube, applicationName(folder));
    const synced = app?.status?.sync?.status === "Synced" && app.status.operationState?.phase === "Succeeded";
    return synced && ["Healthy", "Progressing"].includes(app.status.health?.status) ? app : undefined;
  });
}

/**
 * Asks for a refresh and waits until the ApplicationSet reports a generator error; resolves with
 * its message. The refresh is asked again every `refreshEveryMs`: a generation that an event
 * other than a refresh starts (an Application's status changed) may take the directories from
 * the repo server's revision cache and report success meanwhile; a refreshed one always asks git.
 */
export async function refreshUntilApplicationSetError(kube: Kube, name: string, timeoutMs: number, refreshEveryMs = 10_000): Promise<string> {
  let last: any;
  let refreshed = 0;
  try {
    return await waitFor(
      `ApplicationSet ${name} to report ErrorOccurred`,
      timeoutMs,
      async () => {
        if (Date.now() - refreshed > refreshEveryMs) {
          await refreshApplicationSet(kube, name);
          refreshed = Date.now();
        }
        last = await findApplicationSet(kube, name);
        const condition = last?.status?.conditions?.find((c: { type: string }) => c.type === "ErrorOccurred");
        return condition?.status === "True" ? String(condition.message) : undefined;
      },
      100,
    );
  } catch (error) {
    const seen = { annotations: last?.metadata?.annotations, conditions: last?.status?.conditions, resourceVersion: last?.metadata?.resourceVersion };
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(seen)}`, { cause: error });
  }
}

/** Waits until the ApplicationSet reports no error (after a refresh that worked). */
export async function waitApplicationSetHealthy(kube: Kube, name: string, timeoutMs: number): Promise<void> {
  await waitFor(`ApplicationSet ${name} without ErrorOccurred`, timeoutMs, async () => {
    const appset = await findApplicationSet(kube, name);
    return appset !== undefined && conditionStatus(appset, "ErrorOccurred") === "False" ? true : undefined;
  });
}

/** Asks for hard refreshes (every `refreshEveryMs`) until the Application reports a ComparisonError (its manifests could not be had); resolves with the message. */
export async function hardRefreshUntilComparisonError(kube: Kube, folder: string, timeoutMs: number, refreshEveryMs = 10_000): Promise<string> {
  let refreshed = 0;
  return waitFor(
    `Application ${applicationName(folder)} to report ComparisonError`,
    timeoutMs,
    async () => {
      if (Date.now() - refreshed > refreshEveryMs) {
        await hardRefreshApplication(kube, applicationName(folder));
        refreshed = Date.now();
      }
      const app = await findApplication(kube, applicationName(folder));
      const condition = app?.status?.conditions?.find((c: { type: string }) => c.type === "ComparisonError");
      return condition === undefined ? undefined : String(condition.message);
    },
    100,
  );
}

/** Deletes the ApplicationSet (its Applications and, by their finalizer, what they made follow). */
export async function deleteApplicationSet(kube: Kube, name: string): Promise<void> {
  await kube.delete(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applicationsets/${name}`, "Foreground");
}
