/**
 * Argo CD on the lab, reading a git server on loopback: an ApplicationSet with a git directory
 * generator over clusters/lab/* makes one Application per folder and syncs it (namespace and Job,
 * whose pod runs on the real kubelet when the node is up); a commit that removes a folder prunes
 * that namespace; a git server that is down or answers "not found" deletes nothing. Refreshes are
 * asked for by annotation, never waited for by polling. Times are printed (commit → pod Running,
 * removal → namespace gone); bench/cluster-lab.mjs records them.
 */

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kube, needs, notRunning, providedLab } from "./lab/context.js";
import { sleep, waitFor } from "./lab/exec.js";
import { createRepo, startGitServer, type GitServer, type LabRepo } from "./lab/git-server.js";
import {
  applicationName,
  applicationSet,
  deleteApplicationSet,
  findApplication,
  hardRefreshApplication,
  hardRefreshUntilComparisonError,
  instanceNamespace,
  refreshApplicationSet,
  refreshUntilApplicationSetError,
  waitApplicationSetHealthy,
  waitApplicationSynced,
  waitInstanceRunning,
  writeInstance,
} from "./lab/gitops.js";
import { waitNamespaceGone } from "./lab/workloads.js";
import { runId } from "./lab/workloads.js";

const id = runId();
const APPSET = `lab-${id}`;
const A = `${id}-a`;
const B = `${id}-b`;
let server: GitServer | undefined;
let repo: LabRepo | undefined;

beforeAll(async () => {
  const info = providedLab().info;
  if (info === undefined || notRunning(providedLab(), "argocd") !== undefined) return;
  server = await startGitServer({ root: join(info.dir, "state", "git", id) });
  repo = await createRepo("git", server.root, "instances", join(info.dir, "state", "git", `${id}-work`));
});

afterAll(async () => {
  const info = providedLab().info;
  if (info !== undefined && server !== undefined) {
    const api = kube(info);
    await server.start();
    server.setMode("serve");
    await deleteApplicationSet(api, APPSET);
    for (const folder of [A, B]) {
      await waitFor(`Application ${applicationName(folder)} gone`, 60_000, async () =>
        (await findApplication(api, applicationName(folder))) === undefined ? true : undefined,
      ).catch(() => undefined);
      await api.delete(`/api/v1/namespaces/${instanceNamespace(folder)}`);
    }
  }
  await server?.stop();
});

/** The busybox image when the node runs (pods really start), else any pinned name (objects only). */
function image(info: ReturnType<typeof needs>): string {
  return info.images?.busybox.pinned ?? "localhost/datomspod-lab/busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000";
}

describe("Argo CD on the lab, reading a git server on loopback", () => {
  it("an ApplicationSet over clusters/lab/* makes one Application per folder and syncs it: namespace and Job appear, the Job's pod runs", async (ctx) => {
    const info = needs(ctx, "argocd");
    const api = kube(info);
    writeInstance(repo!, A, image(info));
    writeInstance(repo!, B, image(info));
    const committed = Date.now();
    await repo!.commit("two instances");
    await api.apply(applicationSet(APPSET, server!.repoUrl("instances"), { "datomspod.io/lab-run": id }));
    await refreshApplicationSet(api, APPSET);

    for (const folder of [A, B]) {
      const app = await waitApplicationSynced(api, folder, 120_000);
      expect(app.spec.source.path).toBe(`clusters/lab/${folder}`);
      expect(app.metadata.finalizers).toContain("resources-finalizer.argocd.argoproj.io");
      expect(await api.find(`/api/v1/namespaces/${instanceNamespace(folder)}`)).toBeDefined();
      expect(await api.find(`/apis/batch/v1/namespaces/${instanceNamespace(folder)}/jobs/run-1`)).toBeDefined();
    }
    const syncedMs = Date.now() - committed;
    if (notRunning(providedLab(), "node") === undefined) {
      for (const folder of [A, B]) await waitInstanceRunning(api, folder, 120_000);
      console.info(`argocd: commit -> both Applications synced ${syncedMs} ms, -> both pods Running ${Date.now() - committed} ms`);
    } else {
      console.warn(`argocd: pods not started (the lab's node is not running: ${notRunning(providedLab(), "node")}); commit -> synced ${syncedMs} ms`);
    }
    // exactly the folders: nothing else was generated from this repository
    const apps = await api.list(`/apis/argoproj.io/v1alpha1/namespaces/argocd/applications`, { labelSelector: `datomspod.io/lab-run=${id}` });
    expect(apps.map((a) => a.metadata.name).sort()).toEqual([applicationName(A), applicationName(B)]);
  });

  it("a git server that is down, or answers 404, deletes nothing; Argo CD says so and recovers when it is back", async (ctx) => {
    const info = needs(ctx, "argocd");
    const api = kube(info);
    if ((await findApplication(api, applicationName(A))) === undefined) ctx.skip("needs the Applications of the test above");
    const namespaceUid = (await api.get(`/api/v1/namespaces/${instanceNamespace(A)}`)).metadata.uid;
    const jobUid = (await api.get(`/apis/batch/v1/namespaces/${instanceNamespace(A)}/jobs/run-1`)).metadata.uid;

    for (const failure of ["down", "not-found"] as const) {
      try {
        if (failure === "down") await server!.stop();
        else server!.setMode("not-found");
        const appsetError = await refreshUntilApplicationSetError(api, APPSET, 60_000);
        const appError = await hardRefreshUntilComparisonError(api, A, 60_000);
        console.info(`argocd: git ${failure}: ApplicationSet says "${appsetError}"; Application says "${appError}"`);
        expect(appsetError).toContain("unable to resolve git revision");
        expect(appError).toContain("failed to list refs");
        expect(`${appsetError} ${appError}`).toContain(failure === "down" ? "connection refused" : "repository not found");
        // the controllers go on retrying meanwhile; give a wrong deletion time to show
        await sleep(3000);
        // nothing was deleted, nor is being deleted: the Applications, the namespace, the Job (same objects)
        for (const folder of [A, B]) {
          const app = await findApplication(api, applicationName(folder));
          expect(app).toBeDefined();
          expect(app.metadata.deletionTimestamp).toBeUndefined();
        }
        const namespace = await api.get(`/api/v1/namespaces/${instanceNamespace(A)}`);
        expect(namespace.metadata.uid).toBe(namespaceUid);
        expect(namespace.metadata.deletionTimestamp).toBeUndefined();
        expect((await api.get(`/apis/batch/v1/namespaces/${instanceNamespace(A)}/jobs/run-1`)).metadata.uid).toBe(jobUid);
      } finally {
        await server!.start();
        server!.setMode("serve");
      }
      await refreshApplicationSet(api, APPSET);
      await hardRefreshApplication(api, applicationName(A));
      await waitApplicationSetHealthy(api, APPSET, 60_000);
      await waitFor(`Application ${applicationName(A)} Synced again, without ComparisonError`, 60_000, async () => {
        const app = await findApplication(api, applicationName(A));
        const error = app?.status?.conditions?.some((c: { type: string }) => c.type === "ComparisonError");
        return app?.status?.sync?.status === "Synced" && error !== true ? true : undefined;
      });
    }
    expect((await api.get(`/api/v1/namespaces/${instanceNamespace(A)}`)).metadata.uid).toBe(namespaceUid);
  });

  it("a commit that removes a folder deletes its Application and prunes its namespace; the other instance stays", async (ctx) => {
    const info = needs(ctx, "argocd");
    const api = kube(info);
    if ((await findApplication(api, applicationName(B))) === undefined) ctx.skip("needs the Applications of the first test");
    const keptUid = (await api.get(`/api/v1/namespaces/${instanceNamespace(A)}`)).metadata.uid;
    writeInstance(repo!, B, undefined);
    const removed = Date.now();
    await repo!.commit(`remove instance ${B}`);
    await refreshApplicationSet(api, APPSET);
    await waitFor(`Application ${applicationName(B)} deleted`, 120_000, async () =>
      (await findApplication(api, applicationName(B))) === undefined ? true : undefined,
    );
    await waitNamespaceGone(api, instanceNamespace(B), 180_000);
    console.info(`argocd: folder removal -> namespace gone ${Date.now() - removed} ms`);
    expect((await api.get(`/api/v1/namespaces/${instanceNamespace(A)}`)).metadata.uid).toBe(keptUid);
    expect(await findApplication(api, applicationName(A))).toBeDefined();
  });
});
