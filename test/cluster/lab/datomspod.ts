/**
 * datomspod's own images and repositories for the lab: the pod image and the python environment
 * image built with podman (`datomspod images build`, reproducible), imported into the lab's
 * containerd by digest; a repository whose hospital-stats contract (under an id of this run, so
 * another test's instance never collides) names the lab profile, its data in a folder on the node,
 * signed, approved, requested and compiled through the real CLI; the cluster-wide storage the lab
 * profile names (StorageClass datomspod-lab-sealed, PersistentVolumes for the sealed outputs); an
 * instance applied as rendered and run to its end (`runLabInstance`), and what a party's key opens
 * of its sealed outputs (`openSealed`).
 */

import { createHash } from "node:crypto";
import { cpSync, chownSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { expect } from "vitest";
import type { Kube as ClusterKube } from "../../../generator/cluster/kube.js";
import { runImages, type BuiltImage } from "../../run/run-helpers.js";
import { cli } from "../../helpers/cli.js";
import { testKey } from "../../helpers/keys.js";
import { approveAll, signAll } from "../../helpers/records.js";
import { ROOT, tempRepo } from "../../helpers/repo.js";
import { openBlob, sealContext, unwrapKey } from "../../../generator/seal/crypto.js";
import { loadContract } from "../../../generator/contract/load.js";
import { verifyReceiptSignature } from "../../../generator/lifecycle/facts.js";
import { waitFor } from "./exec.js";
import { importImage, type ContainerdAccess, type LocalImage } from "./images.js";
import { KubeError, conditionStatus, type Kube, type KubeObject } from "./kube.js";
import type { LabInfo } from "./lab.js";
import { labTools } from "./tools.js";

export const SEALED_CLASS = "datomspod-lab-sealed";
export const LAB_DATA_ROOT = "/var/lib/datomspod/data";
/** Where the sealed-output PersistentVolumes of the tests live on the node. */
export const LAB_VOLUME_ROOT = "/var/lib/datomspod/lab-volumes";
export const NONROOT = 65532;

function localImage(built: BuiltImage): LocalImage {
  const repository = built.reference.slice(0, built.reference.lastIndexOf(":"));
  return { tag: built.reference, repository, digest: built.digest, pinned: `${repository}@${built.digest}` };
}

let imported: Promise<{ pod: LocalImage; python: LocalImage }> | undefined;

/** The pod and python images, built when missing and imported into the lab's containerd (once per file). */
export function labDatomspodImages(info: LabInfo): Promise<{ pod: LocalImage; python: LocalImage }> {
  imported ??= (async () => {
    const built = await runImages();
    const tools = labTools();
    const access = { ctr: tools.ctr, address: info.containerdSocket ?? "", skopeo: tools.skopeo };
    const images = { pod: localImage(built.pod), python: localImage(built.python) };
    for (const [key, image] of Object.entries(images)) await importBuilt(access, key, image, join(info.dir, "images-import"));
    return images;
  })();
  return imported;
}

/**
 * Imports an image built here, building it again (same inputs, same digest) when podman's tag
 * meanwhile names another engineer's build: worktrees sharing the machine build their own pod
 * image under the same tag, and the import copies by tag.
 */
async function importBuilt(access: ContainerdAccess, key: string, image: LocalImage, workDir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await importImage(access, image, workDir);
      return;
    } catch (error) {
      if (attempt >= 3 || !(error instanceof Error) || !error.message.includes(`is not ${image.digest}`)) throw error;
      const rebuilt = await cli(ROOT, "images", "build", "--only", key, "--format", "json");
      const digest = rebuilt.code === 0 ? (JSON.parse(rebuilt.stdout) as { digest: string }[])[0]?.digest : undefined;
      if (digest !== image.digest)
        throw new Error(`datomspod images build --only ${key} made ${digest ?? rebuilt.stderr}, not ${image.digest}`, { cause: error });
    }
  }
}

/** The lab profile of this checkout with the pod image built here pinned (tag and digest). */
export function pinnedLabProfile(pod: LocalImage, edit: (text: string) => string = (text) => text): string {
  const text = readFileSync(join(ROOT, "clusters", "lab", "cluster.yaml"), "utf8").replace(
    /(\n {4}tag: )"[^"]*"\n {4}digest: sha256:[0-9a-f]{64}/,
    `$1"${pod.tag.split(":").pop() ?? ""}"\n    digest: ${pod.digest}`,
  );
  if (!text.includes(pod.digest)) throw new Error("clusters/lab/cluster.yaml: the pod image's tag and digest were not found to pin");
  return edit(text);
}

export interface LabContract {
  readonly repo: string;
  readonly id: string;
  readonly namespace: string;
  readonly dataDir: string;
  readonly folder: string;
}

/** What a test changes in the hospital-stats example before the parties sign it. */
export interface LabContractOptions {
  /** Another approved algorithm (python): its file name under the contract's algorithm/ and its code. */
  readonly algorithm?: { readonly name: string; readonly code: string | Buffer };
  /** Fields of inputs.compute to change (e.g. a short maxDurationSeconds). */
  readonly compute?: Record<string, unknown>;
  /** An edit of the lab profile's text (after the pod image is pinned), e.g. this run's loopback addresses. */
  readonly profile?: (text: string) => string;
}

/**
 * A repository with the hospital-stats example as contract `id` on the lab cluster, its data in
 * LAB_DATA_ROOT/<id>/ (made here; removed by `removeLabData`), signed by every party, approved,
 * run-1 requested by the consumer, compiled into clusters/lab/<id>/. `options` swap in another
 * algorithm or compute limits before anyone signs, so what runs is still what the parties approved.
 */
export async function labContract(id: string, images: { pod: LocalImage; python: LocalImage }, options: LabContractOptions = {}): Promise<LabContract> {
  const repo = tempRepo(["hospital-stats"]);
  renameSync(join(repo, "contracts", "hospital-stats"), join(repo, "contracts", id));
  for (const folder of ["signatures", "approvals", "runs", "receipts", "acks"]) rmSync(join(repo, "contracts", id, folder), { recursive: true, force: true });
  const dataDir = join(LAB_DATA_ROOT, id);
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  cpSync(join(ROOT, "generator", "demo", "data", "hospital-stats", "patients.csv"), join(dataDir, "patients.csv"));

  const file = join(repo, "contracts", id, "contract.json");
  const contract = JSON.parse(readFileSync(file, "utf8"));
  contract.id = id;
  contract.cluster = "lab";
  contract.inputs.data[0].location = { kind: "hostPath", path: dataDir };
  contract.inputs.algorithm.container.digest = images.python.digest;
  if (options.algorithm !== undefined) {
    const code = Buffer.from(options.algorithm.code);
    writeFileSync(join(repo, "contracts", id, "algorithm", options.algorithm.name), code);
    contract.inputs.algorithm.code = {
      path: `algorithm/${options.algorithm.name}`,
      sha256: createHash("sha256").update(code).digest("hex"),
      size: code.length,
    };
  }
  Object.assign(contract.inputs.compute, options.compute ?? {});
  writeFileSync(file, `${JSON.stringify(contract, null, 2)}\n`);
  for (const name of ["python", "node"]) {
    const env = JSON.parse(readFileSync(join(ROOT, "environments", name, "environment.json"), "utf8"));
    if (name === "python") env.image.digest = images.python.digest;
    mkdirSync(join(repo, "environments", name), { recursive: true });
    writeFileSync(join(repo, "environments", name, "environment.json"), `${JSON.stringify(env, null, 2)}\n`);
  }
  writeFileSync(join(repo, "clusters", "lab", "cluster.yaml"), pinnedLabProfile(images.pod, options.profile));

  await signAll(repo, id);
  await approveAll(repo, id);
  const requested = await cli(repo, "request", id, "run-1", "--key", testKey("health-consumer").file);
  expect(requested.stderr).toBe("");
  const compiled = await cli(repo, "compile");
  expect(compiled.code, compiled.stderr).toBe(0);
  return { repo, id, namespace: `dp-${id}`, dataDir, folder: join(repo, "clusters", "lab", id) };
}

export function removeLabData(id: string): void {
  rmSync(join(LAB_DATA_ROOT, id), { recursive: true, force: true });
  rmSync(join(LAB_VOLUME_ROOT, id), { recursive: true, force: true });
}

/** The lab profile's StorageClass: no provisioner, so claims bind to pre-provisioned PersistentVolumes. */
export function sealedStorageClass(): KubeObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: SEALED_CLASS, labels: { "app.kubernetes.io/part-of": "datomspod" } },
    provisioner: "kubernetes.io/no-provisioner",
    reclaimPolicy: "Retain",
    volumeBindingMode: "WaitForFirstConsumer",
  };
}

/**
 * A sealed-output PersistentVolume: a folder on the node owned by the pod's uid, in the lab's
 * StorageClass, reserved for `claim` when given (so no other test's claim takes it).
 */
export function sealedVolume(name: string, dir: string, claim?: { namespace: string; name: string }): KubeObject {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownSync(dir, NONROOT, NONROOT);
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, labels: { "app.kubernetes.io/part-of": "datomspod", "datomspod.io/lab-test": "true" } },
    spec: {
      accessModes: ["ReadWriteOnce"],
      capacity: { storage: "64Mi" },
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName: SEALED_CLASS,
      hostPath: { path: dir, type: "Directory" },
      ...(claim === undefined ? {} : { claimRef: { namespace: claim.namespace, name: claim.name } }),
    },
  };
}

/** Applies the StorageClass unless it is there; resolves true when this call made it. */
export async function ensureSealedClass(kube: Kube): Promise<boolean> {
  if ((await kube.find(`/apis/storage.k8s.io/v1/storageclasses/${SEALED_CLASS}`)) !== undefined) return false;
  try {
    await kube.request("POST", "/apis/storage.k8s.io/v1/storageclasses", sealedStorageClass());
    return true;
  } catch (error) {
    // another test sharing the lab made it meanwhile: the same object, theirs to remove
    if (error instanceof KubeError && error.status === 409) return false;
    throw error;
  }
}

/**
 * What `wallet` can open of the sealed outputs of a run on the lab (the folder of its sealed
 * volume): subject (`outputs/0`, `logs/0`, `logs/datomspace-out`) → file name → bytes. Subjects
 * sealed with a key not wrapped for the wallet are left out, as `datomspod fetch` leaves them.
 */
export function openSealed(sealedDir: string, wallet: { address: string; privateKey: string }): Record<string, Record<string, Buffer>> {
  const manifest = JSON.parse(readFileSync(join(sealedDir, "manifest.json"), "utf8"));
  const wrappedFor = (keys: Record<string, string> | undefined): string | undefined =>
    Object.entries(keys ?? {}).find(([address]) => address.toLowerCase() === wallet.address.toLowerCase())?.[1];
  const opened: Record<string, Record<string, Buffer>> = {};
  for (const entry of manifest.files as { name: string; key?: string; blob: string }[]) {
    const wrapped = wrappedFor(entry.key === "owners" ? manifest.ownerKeys : manifest.wrappedKeys);
    if (wrapped === undefined) continue;
    const chunks: Buffer[][] = [];
    const header = openBlob(
      readFileSync(join(sealedDir, entry.blob)),
      unwrapKey(wrapped, wallet.privateKey),
      sealContext(manifest.contractHash, manifest.runId, entry.name),
      (file, bytes) => (chunks[file] ??= []).push(Buffer.from(bytes)),
    );
    opened[entry.name] = Object.fromEntries(header.files.map((file: { name: string }, i: number) => [file.name, Buffer.concat(chunks[i] ?? [])]));
  }
  return opened;
}

/** The hospital-stats aggregates the consumer opened: the header, and per-region counts that add up to at most the provider's patients (small groups suppressed). */
export function expectAggregatesOf(aggregates: string, dataDir: string): void {
  expect(aggregates.split("\n")[0]).toBe("region,patients,mean_age,mean_length_of_stay_days");
  const patients = readFileSync(join(dataDir, "patients.csv"), "utf8").trim().split("\n").length - 1;
  const counted = aggregates
    .trim()
    .split("\n")
    .slice(1)
    .reduce((sum, line) => sum + Number(line.split(",")[1]), 0);
  expect(counted).toBeGreaterThan(0);
  expect(counted).toBeLessThanOrEqual(patients);
}

export interface ClusterReceipt {
  predicate: { status: { phase: string }; inputs: { verified: boolean }; instance: Record<string, unknown> };
}

/**
 * A receipt the operator committed for a run of the lab: signed by the contract's runner, a success
 * with its inputs verified, naming the instance (cluster, namespace and its uid, and `instance`'s
 * other fields).
 */
export function expectSucceededClusterReceipt(
  repo: string,
  contract: string,
  run: string,
  receiptText: string,
  instance: Record<string, unknown>,
): ClusterReceipt {
  const receipt = JSON.parse(receiptText) as ClusterReceipt;
  expect(verifyReceiptSignature(repo, loadContract(repo, contract), run, receipt)).toEqual([]);
  expect(receipt.predicate.status.phase).toBe("succeeded");
  expect(receipt.predicate.inputs.verified).toBe(true);
  expect(receipt.predicate.instance).toMatchObject({ cluster: "lab", ...instance });
  return receipt;
}

/** Namespace first, cluster-scoped objects next, then the rest in file order: what Argo CD's sync waves do by kind. */
export function applyOrder(objects: KubeObject[]): KubeObject[] {
  const rank = (object: KubeObject): number => (object.kind === "Namespace" ? 0 : object.kind === "PersistentVolume" ? 1 : object.kind === "Job" ? 3 : 2);
  return [...objects].sort((a, b) => rank(a) - rank(b));
}

/** The objects compile rendered into an instance folder, file by file (sorted by file name). */
export function renderedObjects(folder: string): { files: string[]; objects: KubeObject[] } {
  const files = readdirSync(folder).sort();
  return { files, objects: files.map((file) => parse(readFileSync(join(folder, file), "utf8")) as KubeObject) };
}

export interface LabRun {
  /** The Job as it finished (Complete or Failed). */
  readonly job: any;
  /** Its pod as it ended. */
  readonly pod: any;
  /** The node folder of run-1's sealed PersistentVolume. */
  readonly sealedDir: string;
  /** The names of the PersistentVolumes made for the instance (to delete afterwards). */
  readonly volumes: string[];
}

/**
 * Runs a compiled lab instance as Argo CD would apply it: its sealed-output PersistentVolume
 * (`sealedPv`, on the node under LAB_VOLUME_ROOT/<id>/sealed-run-1, reserved for run-1's claim)
 * made first, then every rendered object applied as rendered (each admitted without a warning),
 * then waits up to `timeoutMs` for the Job to finish.
 */
export async function runLabInstance(kube: ClusterKube, prepared: LabContract, sealedPv: string, timeoutMs = 300_000): Promise<LabRun> {
  const { objects } = renderedObjects(prepared.folder);
  const job = objects.find((object) => object.kind === "Job")!;
  const volumes = [sealedPv, ...objects.filter((object) => object.kind === "PersistentVolume").map((object) => object.metadata.name)];
  const sealedDir = join(LAB_VOLUME_ROOT, prepared.id, "sealed-run-1");
  await kube.create(sealedVolume(sealedPv, sealedDir, { namespace: prepared.namespace, name: "sealed-run-1" }));
  for (const object of applyOrder(objects)) {
    const answer = await kube.apply(object, "datomspod-lab-test");
    expect(answer.warnings, `${object.kind}/${object.metadata.name}`).toEqual([]);
  }
  const path = `/apis/batch/v1/namespaces/${prepared.namespace}/jobs/${job.metadata.name}`;
  const done = await waitFor(`Job ${prepared.namespace}/${job.metadata.name} finished`, timeoutMs, async () => {
    const found = await kube.get<any>(path);
    return conditionStatus(found, "Complete") === "True" || conditionStatus(found, "Failed") === "True" ? found : undefined;
  });
  const [pod] = await kube.list<any>(`/api/v1/namespaces/${prepared.namespace}/pods`, { labelSelector: `job-name=${job.metadata.name}` });
  return { job: done, pod, sealedDir, volumes };
}
