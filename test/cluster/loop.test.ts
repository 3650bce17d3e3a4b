/**
 * The whole loop on the lab, through the real CLI and the real operator process: a commit that
 * adds an active contract makes Argo CD create its namespace, claim and Job; the Job's pod runs; the
 * operator (watching) commits the signed receipt; the consumer acknowledges; the next compile drops
 * the folder; Argo CD prunes; the namespace is gone; the operator commits the signed deletion record.
 * Refreshes by annotation, never by polling. Times go to bench/results/cluster-loop.json.
 *
 * NOT YET WIRED: the datomspod lab profile (clusters/lab/, branch issue-11-cluster) that runs the
 * rendered instance itself (role image and algorithm image imported by digest, inputs from a PV).
 * Until it is merged, Argo CD syncs a stand-in of the instance — the rendered Job's name, labels and
 * contract-version annotation, its sealed claim bound to a pre-provisioned hostPath volume — whose
 * busybox pod runs none of the roles; so the operator's receipt says, truthfully, `rejected`
 * (datomspace-in left no verdict). The contract, its signatures, approvals, run request, compile,
 * receipt, acknowledgement and deletion record are the real ones.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadContract } from "../../generator/contract/load.js";
import { deletionMessage } from "../../generator/operator/deletion.js";
import { verifyReceiptSignature } from "../../generator/lifecycle/facts.js";
import { verifyRecord } from "../../generator/signatures/records.js";
import { cli, jsonOut } from "../helpers/cli.js";
import { testKey, TEST_PASSWORD } from "../helpers/keys.js";
import { signAll, approveAll } from "../helpers/records.js";
import { copyProfiles, ROOT } from "../helpers/repo.js";
import { kube, needs, notRunning, providedLab } from "./lab/context.js";
import { run, waitFor } from "./lab/exec.js";
import { createRepo, startGitServer, type GitServer, type LabRepo } from "./lab/git-server.js";
import { findApplication, refreshApplicationSet } from "./lab/gitops.js";
import { ARGOCD_NAMESPACE } from "./lab/lab.js";
import { restrictedPodSpec, runId, waitNamespaceGone } from "./lab/workloads.js";

const id = runId();
const CONTRACT = `hs-${id}`;
const NAMESPACE = `dp-${CONTRACT}`;
const APPSET = `oploop-${id}`;
const PV = `dp-oploop-${id}`;
const STANDIN = "lab-standin";
let server: GitServer | undefined;
let repo: LabRepo | undefined;
let operatorClone = "";
let sealedRoot = "";
let operator: ChildProcess | undefined;
let operatorOutput = "";
const timings: Record<string, number> = {};

/** The datomspod repository of the test: the example contract under a name of its own, signed, approved, one run requested, compiled. */
async function makeRepository(work: string): Promise<{ jobName: string; contractHash: string }> {
  mkdirSync(join(work, "contracts"), { recursive: true });
  cpSync(join(ROOT, "contracts", "contract.schema.json"), join(work, "contracts", "contract.schema.json"));
  const dir = join(work, "contracts", CONTRACT);
  cpSync(join(ROOT, "contracts", "hospital-stats"), dir, { recursive: true });
  for (const folder of ["signatures", "approvals", "runs"]) rmSync(join(dir, folder), { recursive: true, force: true });
  const contract = JSON.parse(readFileSync(join(dir, "contract.json"), "utf8")) as { id: string };
  writeFileSync(join(dir, "contract.json"), `${JSON.stringify({ ...contract, id: CONTRACT }, null, 2)}\n`);
  copyProfiles(work);
  writeFileSync(join(work, ".gitignore"), "/.datomspod/\n");
  await signAll(work, CONTRACT);
  await approveAll(work, CONTRACT);
  expect((await cli(work, "request", CONTRACT, "run-1", "--key", testKey("health-consumer").file)).code).toBe(0);
  expect((await cli(work, "compile")).code).toBe(0);
  const jobFile = readdirSync(join(work, "clusters", "local", CONTRACT)).find((name) => name.startsWith("job-"))!;
  return { jobName: jobFile.slice("job-".length, -".yaml".length), contractHash: loadContract(work, CONTRACT).hash };
}

/** The stand-in Argo CD syncs for the instance (see the file's comment). */
function standIn(work: string, jobName: string, contractHash: string, image: string): void {
  const labels = { "app.kubernetes.io/managed-by": "datomspod", "app.kubernetes.io/part-of": "datomspod", "datomspod.io/contract": CONTRACT };
  const runLabels = { ...labels, "datomspod.io/run": "run-1" };
  const spec = restrictedPodSpec(image, 'echo "stand-in of the instance: no roles run" > /sealed/stand-in.txt');
  spec["containers"][0].volumeMounts = [{ name: "sealed", mountPath: "/sealed" }];
  spec["volumes"] = [{ name: "sealed", persistentVolumeClaim: { claimName: "sealed-run-1" } }];
  const objects = [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: NAMESPACE,
        labels: {
          ...labels,
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/warn": "restricted",
          "datomspod.io/lab-test": "true",
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "sealed-run-1", namespace: NAMESPACE, labels: runLabels },
      spec: { accessModes: ["ReadWriteOnce"], storageClassName: "", volumeName: PV, resources: { requests: { storage: "16Mi" } } },
    },
    {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: jobName, namespace: NAMESPACE, labels: runLabels, annotations: { "datomspod.io/contract-hash": contractHash } },
      spec: { backoffLimit: 0, template: { metadata: { labels: runLabels }, spec } },
    },
  ];
  mkdirSync(join(work, STANDIN, CONTRACT), { recursive: true });
  writeFileSync(join(work, STANDIN, CONTRACT, "instance.yaml"), objects.map((o) => `---\n${JSON.stringify(o, null, 2)}\n`).join(""));
}

function appset(repoUrl: string): Record<string, unknown> {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "ApplicationSet",
    metadata: { name: APPSET, namespace: ARGOCD_NAMESPACE, labels: { "datomspod.io/lab-run": id } },
    spec: {
      goTemplate: true,
      goTemplateOptions: ["missingkey=error"],
      generators: [{ git: { repoURL: repoUrl, revision: "main", directories: [{ path: `${STANDIN}/*` }], requeueAfterSeconds: 3600 } }],
      template: {
        metadata: { name: "oploop-{{.path.basename}}", labels: { "datomspod.io/lab-run": id }, finalizers: ["resources-finalizer.argocd.argoproj.io"] },
        spec: {
          project: "default",
          source: { repoURL: repoUrl, targetRevision: "main", path: "{{.path.path}}" },
          destination: { server: "https://kubernetes.default.svc", namespace: "dp-{{.path.basename}}" },
          syncPolicy: { automated: { prune: true, selfHeal: true, allowEmpty: false } },
        },
      },
    },
  };
}

/**
 * The rendered ApplicationSet of the contract's cluster, pointed at the loopback repository, without
 * automated sync (it only generates: the stand-in is what runs): its Application for the contract
 * shows the contract's state and OPS-C verdict and links to the contract, pull requests and anchors.
 */
async function checkDashboard(api: ReturnType<typeof kube>): Promise<void> {
  const rendered = parse(readFileSync(join(repo!.work, "clusters", "local", "argocd", "applicationset.yaml"), "utf8"));
  const name = `dash-${id}`;
  rendered.metadata = { name, namespace: ARGOCD_NAMESPACE, labels: { "datomspod.io/lab-run": id } };
  const git = rendered.spec.generators[0].git;
  git.repoURL = server!.repoUrl("loop");
  git.requeueAfterSeconds = 3600;
  const template = rendered.spec.template;
  template.metadata.name = "dash-{{.path.basename}}";
  delete template.metadata.finalizers;
  template.spec.project = "default";
  template.spec.source.repoURL = server!.repoUrl("loop");
  delete template.spec.syncPolicy;
  try {
    await api.request(
      "PATCH",
      `/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applicationsets/${name}?fieldManager=datomspod-lab&force=true`,
      rendered,
      "application/apply-patch+yaml",
    );
    await refreshApplicationSet(api, name);
    const app = await waitFor(`Application dash-${CONTRACT} generated by the rendered ApplicationSet`, 120_000, () => findApplication(api, `dash-${CONTRACT}`));
    const info = Object.fromEntries((app.spec.info as { name: string; value: string }[]).map((entry) => [entry.name, entry.value]));
    expect(info["contract"]).toBe(CONTRACT);
    expect(info["contract state"]).toBe("active");
    expect(info["OPS-C verdict"]).toMatch(/^pass: openness \d+, privacy \d+, security \d+ \(scenario /);
    expect(app.metadata.annotations["link.argocd.argoproj.io/contract"]).toBe(`https://github.com/datomspod/datomspod/tree/main/contracts/${CONTRACT}`);
    expect(app.spec.source.path).toBe(`clusters/local/${CONTRACT}`);
  } finally {
    await api.delete(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applicationsets/${name}`, "Foreground");
  }
}

/** The file as the remote's newest commit has it (pulled into the test's work tree), or undefined. */
async function remoteFile(path: string): Promise<string | undefined> {
  await run("git", ["-C", repo!.work, "pull", "--quiet", "--rebase", "origin", "main"]);
  const full = join(repo!.work, path);
  return existsSync(full) ? readFileSync(full, "utf8") : undefined;
}

beforeAll(async () => {
  const info = providedLab().info;
  if (info === undefined || notRunning(providedLab(), "argocd") !== undefined || notRunning(providedLab(), "node") !== undefined) return;
  const base = join(info.dir, "state", "oploop", id);
  server = await startGitServer({ root: join(base, "git") });
  repo = await createRepo("git", server.root, "loop", join(base, "work"));
  operatorClone = join(base, "operator-clone");
  sealedRoot = join(base, "sealed");
  mkdirSync(join(sealedRoot, "run-1"), { recursive: true });
  chmodSync(join(sealedRoot, "run-1"), 0o777);
});

afterAll(async () => {
  operator?.kill("SIGTERM");
  const info = providedLab().info;
  if (info !== undefined && server !== undefined) {
    const api = kube(info);
    await api.delete(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applicationsets/${APPSET}`, "Foreground");
    await waitFor(`Application oploop-${CONTRACT} gone`, 60_000, async () =>
      (await findApplication(api, `oploop-${CONTRACT}`)) === undefined ? true : undefined,
    ).catch(() => undefined);
    await api.delete(`/api/v1/namespaces/${NAMESPACE}`);
    await api.delete(`/api/v1/persistentvolumes/${PV}`);
  }
  await server?.stop();
  if (operatorOutput !== "") console.info(`operator said:\n${operatorOutput}`);
});

describe("the whole loop: commit → Argo CD → pod → operator receipt → ack → compile drops the folder → prune → deletion evidence", () => {
  it("runs through the real CLI and the operator, each step recorded in git and signed", async (ctx) => {
    const info = needs(ctx, "argocd", "node");
    const api = kube(info);
    const image = info.images!.busybox.pinned;

    // 1. The repository: an active contract with a requested run, compiled; the operator's clone; the pre-provisioned volume.
    const { jobName, contractHash } = await makeRepository(repo!.work);
    standIn(repo!.work, jobName, contractHash, image);
    await api.request("POST", "/api/v1/persistentvolumes", {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: PV, labels: { "datomspod.io/lab-run": id } },
      spec: {
        capacity: { storage: "16Mi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: "",
        claimRef: { namespace: NAMESPACE, name: "sealed-run-1" },
        hostPath: { path: join(sealedRoot, "run-1"), type: "Directory" },
      },
    });
    await repo!.commit(`contract ${CONTRACT}: signed, approved, run-1 requested, compiled`);
    await run("git", ["clone", "--quiet", repo!.bare, operatorClone]);
    operator = spawn(
      process.execPath,
      [
        join(ROOT, "dist", "generator", "cli", "main.js"),
        "--repo",
        operatorClone,
        "--format",
        "json",
        "operator",
        "--cluster",
        "local",
        "--key",
        testKey("hospital-provider").file,
        "--sealed-root",
        sealedRoot,
        "--kubeconfig",
        info.adminKubeconfig,
      ],
      { env: { ...process.env, DATOMSPOD_KEY_PASSWORD: TEST_PASSWORD }, stdio: ["ignore", "pipe", "pipe"] },
    );
    operator.stdout!.on("data", (chunk: Buffer) => (operatorOutput += chunk.toString("utf8")));
    operator.stderr!.on("data", (chunk: Buffer) => (operatorOutput += chunk.toString("utf8")));

    // 2. Argo CD creates the namespace, the claim and the Job; the pod runs.
    const committed = Date.now();
    await api.request(
      "PATCH",
      `/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applicationsets/${APPSET}?fieldManager=datomspod-lab&force=true`,
      appset(server!.repoUrl("loop")),
      "application/apply-patch+yaml",
    );
    await refreshApplicationSet(api, APPSET);
    await waitFor(`a pod of Job ${jobName} started`, 180_000, async () => {
      const pods = await api.list(`/api/v1/namespaces/${NAMESPACE}/pods`, { labelSelector: "datomspod.io/run=run-1" });
      return pods.find((p) => ["Running", "Succeeded"].includes(p.status?.phase)) ? true : undefined;
    });
    timings["commitToPodRunningMs"] = Date.now() - committed;
    const namespaceUid = (await api.get(`/api/v1/namespaces/${NAMESPACE}`)).metadata.uid as string;
    await checkDashboard(api);
    await waitFor(`Job ${jobName} finished`, 120_000, async () => {
      const job = await api.get(`/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${jobName}`);
      return job.status?.conditions?.some((c: { type: string; status: string }) => ["Complete", "Failed"].includes(c.type) && c.status === "True")
        ? true
        : undefined;
    });
    const finished = Date.now();

    // 3. The operator brings the receipt home: committed, signed by the contract's runner, naming the namespace and Job.
    const receiptText = await waitFor(
      `the operator's receipt of ${CONTRACT} run-1 in git`,
      120_000,
      () => remoteFile(`contracts/${CONTRACT}/receipts/run-1.json`),
      1000,
    );
    timings["jobFinishedToReceiptCommittedMs"] = Date.now() - finished;
    const receipt = JSON.parse(receiptText) as { predicate: { status: { phase: string }; instance: Record<string, unknown> } };
    const loaded = loadContract(repo!.work, CONTRACT);
    expect(verifyReceiptSignature(repo!.work, loaded, "run-1", receipt)).toEqual([]);
    expect(receipt.predicate.instance).toMatchObject({ cluster: "local", namespace: NAMESPACE, namespaceUid, job: `job-${jobName}.yaml` });
    // the stand-in ran no roles: the receipt says so, it never claims a success
    expect(receipt.predicate.status.phase).toBe("rejected");

    // 4. The consumer acknowledges; the next compile drops the folder (and the stand-in goes with it); Argo CD prunes.
    expect((await cli(repo!.work, "ack", CONTRACT, "run-1", "--key", testKey("health-consumer").file)).code).toBe(0);
    const compiled = await cli(repo!.work, "--format", "json", "compile");
    expect(compiled.code).toBe(0);
    expect(jsonOut<{ removed: string[] }>(compiled).removed.some((path) => path.startsWith(`clusters/local/${CONTRACT}/`))).toBe(true);
    rmSync(join(repo!.work, STANDIN, CONTRACT), { recursive: true });
    await repo!.commit(`${CONTRACT} delivered: instance removed`);
    const removed = Date.now();
    await refreshApplicationSet(api, APPSET);
    await waitNamespaceGone(api, NAMESPACE, 180_000);
    timings["folderRemovalToNamespaceGoneMs"] = Date.now() - removed;
    const gone = Date.now();

    // 5. The deletion is evidence: signed by the runner, naming the namespace's uid and the API server's times; the contract is deleted.
    const deletionText = await waitFor(
      `the operator's deletion record of ${CONTRACT} in git`,
      120_000,
      () => remoteFile(`contracts/${CONTRACT}/deletion.json`),
      1000,
    );
    timings["namespaceGoneToDeletionCommittedMs"] = Date.now() - gone;
    const record = JSON.parse(deletionText) as { signer: string; message: Record<string, string> };
    expect(record.message).toMatchObject({ namespace: NAMESPACE, namespaceUid, cluster: "local" });
    const observed = {
      contract: CONTRACT,
      namespace: NAMESPACE,
      uid: namespaceUid,
      deletionRequestedAt: record.message["deletionRequestedAt"],
      goneAt: record.message["goneAt"],
    };
    expect(
      verifyRecord(
        record,
        { kind: "deletion", contractId: CONTRACT, chainId: loaded.contract.chainId, message: deletionMessage(CONTRACT, loaded.hash, "local", observed) },
        "deletion.json",
      ),
    ).toEqual([]);
    expect(Date.parse(observed.goneAt)).toBeGreaterThanOrEqual(Date.parse(observed.deletionRequestedAt) - 1000);
    const status = await cli(repo!.work, "--format", "json", "contract", "status", CONTRACT);
    expect(JSON.stringify(jsonOut(status))).toContain('"deleted"');

    // 6. A restart of the operator records nothing twice.
    const stopped = new Promise((resolve) => operator!.once("exit", resolve));
    operator.kill("SIGTERM");
    await stopped;
    operator = undefined;
    const commits = (await run("git", ["-C", repo!.work, "rev-list", "--count", "HEAD"])).stdout.trim();
    const again = await cli(
      operatorClone,
      "operator",
      "--once",
      "--cluster",
      "local",
      "--key",
      testKey("hospital-provider").file,
      "--sealed-root",
      sealedRoot,
      "--kubeconfig",
      info.adminKubeconfig,
    );
    expect(again.code).toBe(0);
    expect(await remoteFile(`contracts/${CONTRACT}/deletion.json`)).toBe(deletionText);
    expect((await run("git", ["-C", repo!.work, "rev-list", "--count", "HEAD"])).stdout.trim()).toBe(commits);

    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(
      join(ROOT, "bench", "results", "cluster-loop.json"),
      `${JSON.stringify({ measuredAt: new Date().toISOString(), refresh: "annotation (argocd.argoproj.io/application-set-refresh)", instance: "stand-in (see test/cluster/loop.test.ts)", ...timings }, null, 2)}\n`,
    );
    console.info(`loop: ${JSON.stringify(timings)}`);
  });
});
