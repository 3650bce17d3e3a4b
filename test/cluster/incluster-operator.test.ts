/**
 * The rendered operator runs in the lab's cluster, on the real kubelet, as Argo CD would sync
 * clusters/lab/operator/: compile renders it for the lab profile (this run's loopback addresses in
 * the profile: the git server, Kubo, the API server; `operator.hostNetwork: true` as committed), the
 * objects are applied by server-side apply as rendered (under names of this run: the lab is shared),
 * the keystore Secret is made from a test keystore as an admin would with `kubectl create secret
 * generic`, and its pod runs the pod image built here (isomorphic-git inside: no git program). An
 * instance's Job runs to the end; the operator in the pod reads the sealed volume on the node,
 * publishes to Kubo and commits the runner-signed receipt to the lab git server over HTTP.
 */

import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Kube as ClusterKube, readKubeconfig } from "../../generator/cluster/kube.js";
import { OPERATOR_KEY_SECRET, OPERATOR_NAME, OPERATOR_NAMESPACE, SEALED_ROOT } from "../../generator/compile/operator.js";
import { cli } from "../helpers/cli.js";
import { testKey, TEST_PASSWORD } from "../helpers/keys.js";
import { NO_IPFS, startKubo, type Kubo } from "../publish/kubo.js";
import { kube, needs, providedLab } from "./lab/context.js";
import {
  SEALED_CLASS,
  applyOrder,
  ensureSealedClass,
  expectAggregatesOf,
  labContract,
  labDatomspodImages,
  removeLabData,
  renderedObjects,
  sealedVolume,
  type LabContract,
  type LabRun,
  expectSucceededClusterReceipt,
} from "./lab/datomspod.js";
import { run, waitFor } from "./lab/exec.js";
import { createRepo, startGitServer, type GitServer, type LabRepo } from "./lab/git-server.js";
import { conditionStatus, type Kube, type KubeObject } from "./lab/kube.js";
import { podLines, runId, waitNamespaceGone } from "./lab/workloads.js";

const id = runId();
const CONTRACT = `incl-${id}`;
const NAMESPACE = `dp-${CONTRACT}`;
/** The rendered datomspod-system and the cluster-wide names, under this run's names (the lab is shared). */
const OPERATOR_NS = `dpop-${id}`;
const CLUSTER_NAME = `${OPERATOR_NAME}-${id}`;
const SEALED_PV = `${SEALED_CLASS}-${CONTRACT}`;
const RUN_LABEL = { "datomspod.io/lab-run": id };
let server: GitServer | undefined;
let repo: LabRepo | undefined;
let kubo: Kubo | undefined;
let base = "";
let madeClass = false;
let madeSealedRoot = false;
const volumes: string[] = [];
const timings: Record<string, number> = {};

const PATHS: Record<string, (namespace: string | undefined, name: string) => string> = {
  Namespace: (_ns, name) => `/api/v1/namespaces/${name}`,
  ServiceAccount: (ns, name) => `/api/v1/namespaces/${ns}/serviceaccounts/${name}`,
  Secret: (ns, name) => `/api/v1/namespaces/${ns}/secrets/${name}`,
  ClusterRole: (_ns, name) => `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`,
  ClusterRoleBinding: (_ns, name) => `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`,
  Deployment: (ns, name) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
};

/**
 * clusters/lab/operator/ as compile rendered it, moved to this run's names, and its pod placed on
 * the lab's real node (`nodeName`: the shared lab may have kwok's fake nodes, which "run" any pod
 * without running it, and a scale bench cordons the real node; the sealed volumes are on the real
 * node); nothing else changed.
 */
function operatorObjects(work: string, nodeName: string): KubeObject[] {
  const dir = join(work, "clusters", "lab", "operator");
  const order = ["namespace.yaml", "serviceaccount.yaml", "clusterrole.yaml", "clusterrolebinding.yaml", "deployment.yaml"];
  expect(readdirSync(dir).sort()).toEqual([...order].sort());
  return order.map((file) => {
    const object = parse(readFileSync(join(dir, file), "utf8"));
    object.metadata.labels = { ...object.metadata.labels, ...RUN_LABEL };
    if (object.kind === "Namespace") object.metadata.name = OPERATOR_NS;
    if (object.metadata.namespace === OPERATOR_NAMESPACE) object.metadata.namespace = OPERATOR_NS;
    if (object.kind === "Deployment") object.spec.template.spec.nodeName = nodeName;
    if (object.kind === "ClusterRole") object.metadata.name = CLUSTER_NAME;
    if (object.kind === "ClusterRoleBinding") {
      object.metadata.name = CLUSTER_NAME;
      object.roleRef.name = CLUSTER_NAME;
      for (const subject of object.subjects) subject.namespace = OPERATOR_NS;
    }
    return object as KubeObject;
  });
}

/** The Secret an admin makes with `kubectl create secret generic datomspod-operator-key --from-file=keystore.json=… --from-file=password=…`. */
function keySecret(): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: OPERATOR_KEY_SECRET, namespace: OPERATOR_NS, labels: RUN_LABEL },
    type: "Opaque",
    data: {
      "keystore.json": readFileSync(testKey("hospital-provider").file).toString("base64"),
      password: Buffer.from(TEST_PASSWORD).toString("base64"),
    },
  };
}

/** The file as the remote's newest commit has it (pulled into the test's work tree), or undefined. */
async function remoteFile(path: string): Promise<string | undefined> {
  await run("git", ["-C", repo!.work, "pull", "--quiet", "--rebase", "origin", "main"]);
  const full = join(repo!.work, path);
  return existsSync(full) ? readFileSync(full, "utf8") : undefined;
}

/** What the operator's container printed, for a failure's message: its first lines and those about this run's contract. */
async function operatorSaid(): Promise<string> {
  const info = providedLab().info;
  if (info === undefined) return "";
  const pods = await kube(info)
    .list(`/api/v1/namespaces/${OPERATOR_NS}/pods`)
    .catch(() => []);
  const lines = pods.flatMap((pod: any) => podLines(info, OPERATOR_NS, pod.metadata.name, "operator"));
  return [...lines.slice(0, 10), "…", ...lines.filter((line) => line.includes(CONTRACT)).slice(-30)].join("\n");
}

/**
 * The instance run as `runLabInstance` runs it (sealed volume under the operator's sealed root, the
 * rendered objects applied as rendered), on the lab's real node even while a scale bench has it
 * cordoned and kwok's fake nodes take every pod: the sealed PersistentVolume (made here, like the
 * admin's volumes) is held to the real node by node affinity, so no fake node can take the Job's pod,
 * and a pod the scheduler leaves Pending for the cordon is bound to the real node as the scheduler
 * would bind it. The Job itself is applied as rendered (the operator compares it with git).
 */
async function runOnRealNode(api: Kube, cluster: ClusterKube, prepared: LabContract, nodeName: string): Promise<LabRun> {
  const { objects } = renderedObjects(prepared.folder);
  const job = objects.find((object) => object.kind === "Job")!;
  const sealedDir = join(SEALED_ROOT, prepared.id, "sealed-run-1");
  // the operator (uid 65532) reads the volume through the node's folders: every folder above it must let it pass
  mkdirSync(join(SEALED_ROOT, prepared.id), { mode: 0o755 });
  const pv = sealedVolume(SEALED_PV, sealedDir, { namespace: prepared.namespace, name: "sealed-run-1" }) as any;
  pv.spec.nodeAffinity = { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [nodeName] }] }] } };
  await api.request("POST", "/api/v1/persistentvolumes", pv);
  const volumes = [SEALED_PV, ...objects.filter((object) => object.kind === "PersistentVolume").map((object) => object.metadata.name)];
  for (const object of applyOrder(objects)) expect((await cluster.apply(object, "datomspod-lab-test")).warnings, object.metadata.name).toEqual([]);
  const path = `/apis/batch/v1/namespaces/${prepared.namespace}/jobs/${job.metadata.name}`;
  const done = await waitFor(`Job ${prepared.namespace}/${job.metadata.name} finished`, 300_000, async () => {
    for (const pod of await api.list(`/api/v1/namespaces/${prepared.namespace}/pods`, { labelSelector: `job-name=${job.metadata.name}` }))
      if (pod.spec.nodeName === undefined && (await api.get(`/api/v1/nodes/${nodeName}`)).spec?.unschedulable === true)
        await api.request("POST", `/api/v1/namespaces/${prepared.namespace}/pods/${pod.metadata.name}/binding`, {
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name: pod.metadata.name, namespace: prepared.namespace },
          target: { apiVersion: "v1", kind: "Node", name: nodeName },
        });
    const found = await api.get(path);
    return conditionStatus(found, "Complete") === "True" || conditionStatus(found, "Failed") === "True" ? found : undefined;
  });
  const [pod] = await api.list(`/api/v1/namespaces/${prepared.namespace}/pods`, { labelSelector: `job-name=${job.metadata.name}` });
  expect(pod.spec.nodeName).toBe(nodeName);
  return { job: done, pod, sealedDir, volumes };
}

beforeAll(async () => {
  const info = providedLab().info;
  if (info === undefined || !info.running.includes("node")) return;
  base = join(info.dir, "state", "incluster", id);
  server = await startGitServer({ root: join(base, "git"), acceptPush: true });
  repo = await createRepo("git", server.root, "incluster", join(base, "work"));
  if (NO_IPFS === undefined) kubo = await startKubo();
}, 120_000);

afterAll(async () => {
  const info = providedLab().info;
  if (info !== undefined && server !== undefined) {
    const api = kube(info);
    await api.delete(`/api/v1/namespaces/${OPERATOR_NS}`);
    await api.delete(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${CLUSTER_NAME}`);
    await api.delete(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${CLUSTER_NAME}`);
    await api.delete(`/api/v1/namespaces/${NAMESPACE}`);
    await waitNamespaceGone(api, NAMESPACE, 120_000).catch(() => undefined);
    for (const pv of volumes) await api.delete(`/api/v1/persistentvolumes/${pv}`);
    const classUsed = (await api.list(`/api/v1/persistentvolumes`)).some((pv) => pv.spec?.storageClassName === SEALED_CLASS);
    if (madeClass && !classUsed) await api.delete(`/apis/storage.k8s.io/v1/storageclasses/${SEALED_CLASS}`);
    await waitNamespaceGone(api, OPERATOR_NS, 60_000).catch(() => undefined);
  }
  removeLabData(CONTRACT);
  rmSync(join(SEALED_ROOT, CONTRACT), { recursive: true, force: true });
  if (madeSealedRoot && existsSync(SEALED_ROOT) && readdirSync(SEALED_ROOT).length === 0) rmdirSync(SEALED_ROOT);
  kubo?.stop();
  await server?.stop();
  if (base !== "") rmSync(base, { recursive: true, force: true });
});

describe("the rendered operator Deployment in the lab's cluster", () => {
  it("runs on the real kubelet from the pod image and commits an instance's signed receipt to the lab git server", async (ctx) => {
    const info = needs(ctx, "node");
    if (kubo === undefined) ctx.skip(`NOT RUN: ${NO_IPFS ?? "Kubo did not start"}`);
    const api = kube(info);
    const cluster = new ClusterKube(readKubeconfig(info.adminKubeconfig));
    const apiPort = new URL(info.server).port;

    // 1. The repository: the example contract for the lab profile, whose copy names this run's git server, Kubo and API
    //    server (all on the node's loopback), signed, approved, run-1 requested, compiled; clusters/lab/operator/ rendered.
    const images = await labDatomspodImages(info);
    const repoUrl = server!.repoUrl("incluster");
    const prepared = await labContract(CONTRACT, images, {
      profile: (text) =>
        `${text
          .replace("repoURL: https://github.com/datomspod/datomspod.git", `repoURL: ${repoUrl}`)
          .replace("endpoint: http://127.0.0.1:5001", `endpoint: ${kubo!.apiUrl}`)}  apiServer: https://127.0.0.1:${apiPort}\n`,
    });
    cpSync(prepared.repo, repo!.work, { recursive: true });
    writeFileSync(join(repo!.work, ".gitignore"), "/.datomspod/\n");
    await repo!.commit(`contract ${CONTRACT}: signed, approved, run-1 requested, compiled for the lab`);
    const objects = operatorObjects(repo!.work, info.nodeName);
    const deployment = objects.find((object) => object.kind === "Deployment") as any;
    const pod = deployment.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.containers[0].image).toBe(images.pod.pinned);
    expect(pod.containers[0].args).toEqual(expect.arrayContaining(["--clone", repoUrl, "--ipfs", kubo!.apiUrl, "--sealed-root", SEALED_ROOT]));
    expect(pod.containers[0].env).toEqual(
      expect.arrayContaining([
        { name: "KUBERNETES_SERVICE_HOST", value: "127.0.0.1" },
        { name: "KUBERNETES_SERVICE_PORT", value: apiPort },
      ]),
    );

    // 2. The operator as Argo CD would sync it: every rendered object by server-side apply, the keystore Secret made as an admin would.
    if (!existsSync(SEALED_ROOT)) {
      mkdirSync(SEALED_ROOT, { recursive: true, mode: 0o755 });
      madeSealedRoot = true;
    }
    madeClass = await ensureSealedClass(api);
    const applied = Date.now();
    for (const object of [...objects.slice(0, 4), keySecret(), objects[4]]) {
      const path = PATHS[object.kind!](object.metadata.namespace, object.metadata.name);
      await api.request("PATCH", `${path}?fieldManager=datomspod-incluster-test&force=true`, object, "application/apply-patch+yaml");
    }
    const running = await waitFor(`the operator's pod in ${OPERATOR_NS} running`, 120_000, async () => {
      const [found] = await api.list(`/api/v1/namespaces/${OPERATOR_NS}/pods`, { labelSelector: `app.kubernetes.io/name=${OPERATOR_NAME}` });
      const state = found?.status?.containerStatuses?.[0]?.state;
      if (state?.terminated !== undefined || (state?.waiting?.reason ?? "").includes("CrashLoop"))
        throw new Error(`the operator's container stopped: ${JSON.stringify(state)}\n${await operatorSaid()}`);
      return state?.running !== undefined ? found : undefined;
    });
    timings["appliedToOperatorRunningMs"] = Date.now() - applied;
    expect([running.spec.hostNetwork, running.spec.nodeName]).toEqual([true, info.nodeName]);
    // the image the kubelet runs, by digest (the CRI may report the imageID a while later: image or imageID names it)
    const status = running.status.containerStatuses[0] as { image: string; imageID: string };
    expect(`${status.image} ${status.imageID}`, JSON.stringify(status)).toContain(images.pod.digest);

    // 3. An instance's Job runs to the end (its objects applied as rendered; its sealed volume under the operator's sealed root).
    const ran = await runOnRealNode(api, cluster, prepared, info.nodeName);
    volumes.push(...ran.volumes);
    const finished = Date.now();
    expect(ran.job.status.conditions.find((c: any) => c.type === "Complete")?.status, JSON.stringify(ran.pod?.status)).toBe("True");
    const namespaceUid = (await api.get(`/api/v1/namespaces/${NAMESPACE}`)).metadata.uid as string;

    // 4. The operator in the pod brings the receipt home: committed to the lab git server, signed by the runner, a success.
    const receiptText = await waitFor(
      `the in-cluster operator's receipt of ${CONTRACT} run-1 in git`,
      240_000,
      () => remoteFile(`contracts/${CONTRACT}/receipts/run-1.json`),
      1000,
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\nthe operator said:\n${await operatorSaid()}`);
    });
    timings["jobFinishedToReceiptCommittedMs"] = Date.now() - finished;
    expectSucceededClusterReceipt(repo!.work, CONTRACT, "run-1", receiptText, { namespace: NAMESPACE, namespaceUid, jobOutcome: "Complete" });
    const log = (await run("git", ["-C", repo!.work, "log", "-1", "--format=%an <%ae>%n%s"])).stdout.trim().split("\n");
    expect(log[0]).toBe("datomspod operator <operator@datomspod.invalid>");
    expect(log[1]).toContain(CONTRACT);
    // the consumer opens the outputs the operator published to Kubo from its pod
    const out = join(base, "consumer", "run-1");
    const fetched = await cli(repo!.work, "fetch", CONTRACT, "run-1", "--key", testKey("health-consumer").file, "--out", out, "--ipfs", kubo!.apiUrl);
    expect(fetched.code, fetched.stderr).toBe(0);
    expectAggregatesOf(readFileSync(join(out, "outputs", "aggregates.csv"), "utf8"), prepared.dataDir);
    cluster.close();

    console.info(`incluster operator: ${JSON.stringify(timings)}`);
  }, 600_000);
});
