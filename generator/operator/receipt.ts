/**
 * A finished Job's receipt, as `datomspod run` makes it: the sealed claim is read on the node
 * (the operator runs there, out of cluster, as Argo CD does in the lab), every blob is checked and
 * published, and the receipt — the oracle's, or one built from what the roles left — is completed
 * with the rendered instance and the Job, signed with the runner key and committed (or rendered as
 * a repository_dispatch). Nothing is recorded unless `datomspod run` would have run and signed it
 * (gate/admit.ts: the same function), the cluster ran exactly the committed instance (drift.ts),
 * and the sealed folder holds only what the roles write; docs/operator.md lists every refusal.
 */

import { existsSync, lstatSync, readdirSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";
import type { Wallet } from "ethers";
import { DatomspodError, VerdictError } from "../errors.js";
import { loadContract, type LoadedContract } from "../contract/load.js";
import { assertReceiptOf, writeRunReceipt } from "../delivery/receipts.js";
import { directoryDigest } from "../evidence/collect.js";
import { receiptMessage, receiptSignatureFile } from "../lifecycle/facts.js";
import { publisherFor } from "../publish/select.js";
import { display } from "../repo/files.js";
import { recordDir } from "../repo/layout.js";
import { collectSealed } from "../run/collect.js";
import { buildReceipt, completeReceipt, receiptText, type Receipt } from "../pod/roles/receipt.js";
import { signRecord } from "../signatures/records.js";
import { RECEIPT_EVENT_TYPE } from "../github/receipt.js";
import { volumePath, type FinishedJob } from "./jobs.js";
import type { ClaimObject, JobObject, Kube, KubeObject, PodObject, VolumeObject } from "../cluster/kube.js";
import { loadProfiles } from "../compile/profile.js";
import { admitRun, type AdmittedRun } from "../gate/admit.js";
import { readSealedManifest } from "../publish/sealed.js";
import { SEALED_FILES } from "../pod/roles/files.js";
import { instanceDrift, type LiveInstance } from "./drift.js";
import type { DispatchRenderer, GitSink } from "./sink.js";

export interface OperatorSetup {
  /** The operator's clone of the repository. */
  readonly repo: string;
  /** The cluster profile it serves (clusters/<cluster>/). */
  readonly cluster: string;
  readonly runner: Wallet;
  readonly kube: Kube;
  /** Only PersistentVolumes whose node path lies under this folder are read (the sealed claims' storage). */
  readonly sealedRoot: string;
  readonly git: GitSink;
  /** With GitHub: render repository_dispatch events instead of pushing commits. */
  readonly dispatch?: DispatchRenderer;
  readonly ipfsApi?: string;
  readonly now: () => Date;
}

export type Handled =
  | { readonly kind: "recorded"; readonly files: readonly string[]; readonly where: string; readonly receipt: Receipt }
  | { readonly kind: "already"; readonly where: string };

function refuse(job: FinishedJob, message: string, fix: string, file = `job ${job.namespace}/${job.name}`): never {
  throw new VerdictError(`${job.namespace}/${job.name}: ${message}; no receipt recorded`, [{ file, path: "$", message, fix }]);
}

/** Everything the API server holds about a finished Job's namespace that decides whether it ran as committed. */
export async function readLive(kube: Kube, job: FinishedJob): Promise<LiveInstance> {
  const ns = `/api/v1/namespaces/${job.namespace}`;
  const list = async <T>(path: string): Promise<T[]> => (await kube.listFrom<T>(path)).items;
  return {
    job: (await kube.read<JobObject>(`/apis/batch/v1/namespaces/${job.namespace}/jobs/${job.name}`)).body,
    namespace: (await kube.read(ns)).body,
    networkPolicies: await list<KubeObject>(`/apis/networking.k8s.io/v1/namespaces/${job.namespace}/networkpolicies`),
    jobs: await list<JobObject>(`/apis/batch/v1/namespaces/${job.namespace}/jobs`),
    pods: await list<PodObject>(`${ns}/pods`),
    claim: job.sealedClaim === undefined ? undefined : (await kube.read<ClaimObject>(`${ns}/persistentvolumeclaims/${job.sealedClaim}`)).body,
  };
}

/**
 * The checks before anything is read from the sealed claim: `datomspod run`'s own (gate/admit.ts:
 * the runner, the gate at the real clock, the pending request, the committed folder exactly as
 * compiled), then whether the cluster ran that very Job in that very instance (drift.ts).
 */
export function checkJob(setup: Pick<OperatorSetup, "repo" | "cluster" | "runner" | "now">, job: FinishedJob, live: LiveInstance): AdmittedRun {
  const { repo, cluster } = setup;
  const loaded = loadContract(repo, job.contract);
  if (loaded.contract.cluster !== cluster)
    refuse(job, `contract ${job.contract} runs on cluster ${loaded.contract.cluster}, not ${cluster}`, "run the operator of that cluster", loaded.file);
  if (job.contractHash !== loaded.hash)
    refuse(
      job,
      `ran contract version ${job.contractHash ?? "(none)"}, the repository holds ${loaded.hash}`,
      "only the Job of the committed contract version gets a receipt",
    );
  const profile = loadProfiles(repo).get(cluster);
  if (profile === undefined)
    refuse(job, `there is no cluster profile clusters/${cluster}/cluster.yaml`, "run the operator of a cluster the repository has", loaded.file);
  let admitted: AdmittedRun;
  try {
    admitted = admitRun({ repo, id: job.contract, runId: job.run, now: setup.now(), profile, runner: setup.runner.address, keyFile: "--key" });
  } catch (error) {
    if (!(error instanceof DatomspodError)) throw error;
    // What `datomspod run` refuses to run, the operator refuses to sign: the reasons stay as they are.
    throw new VerdictError(`${job.namespace}/${job.name}: ${error.message}; no receipt recorded`, error.issues);
  }
  const committedName = String((admitted.job["metadata"] as Record<string, unknown>)["name"]);
  if (committedName !== job.name)
    refuse(
      job,
      `is not the committed Job of run ${job.run} (${admitted.instance.shown}/${admitted.jobFile})`,
      "only the reviewed, committed Job gets a receipt: compile and commit clusters/",
    );
  const drift = instanceDrift({ objects: admitted.instance.objects, job: admitted.job, sealedClaim: job.sealedClaim }, live, job.uid);
  if (drift.length > 0)
    throw new VerdictError(
      `${job.namespace}/${job.name}: the cluster did not run what git holds; no receipt recorded`,
      drift.map((message) => ({
        file: `${admitted.instance.shown}/${admitted.jobFile}`,
        path: "$",
        message,
        fix: "someone changed the instance in the cluster: leave the Job for inspection, find out who, and request a new run",
      })),
    );
  return admitted;
}

/** A sealed folder holds only what the roles write: the manifest, the receipt and the manifest's blobs/<n>, all regular files. */
export function checkSealedFolder(job: FinishedJob, folder: string): void {
  const fix = "only datomspace-out and the oracle write the sealed claim: something else wrote into it; request a new run";
  const strange: string[] = [];
  let blobs: string[] = [];
  for (const name of readdirSync(folder).sort()) {
    const stat = lstatSync(join(folder, name));
    if (name === SEALED_FILES.blobs && stat.isDirectory()) {
      blobs = readdirSync(join(folder, name)).sort();
      for (const blob of blobs) if (!/^[0-9]{1,4}$/.test(blob) || !lstatSync(join(folder, name, blob)).isFile()) strange.push(`blobs/${blob}`);
    } else if ((name !== SEALED_FILES.manifest && name !== SEALED_FILES.receipt) || !stat.isFile()) strange.push(name);
  }
  if (strange.length === 0 && existsSync(join(folder, SEALED_FILES.manifest))) {
    const listed = new Set(readSealedManifest(folder).files.map((entry) => entry.blob));
    for (const blob of blobs) if (!listed.has(`${SEALED_FILES.blobs}/${blob}`)) strange.push(`blobs/${blob} (not in the manifest)`);
  }
  if (strange.length > 0) refuse(job, `its sealed folder holds ${strange.join(", ")}, which no role writes (or not as a regular file)`, fix, folder);
}

/** The sealed claim's folder on this node, refused unless it is a bound hostPath/local volume under the sealed root. */
async function sealedFolder(setup: OperatorSetup, job: FinishedJob, claim: ClaimObject | undefined): Promise<string> {
  const fix = "the profile's sealed-output claims must bind hostPath or local PersistentVolumes under --sealed-root";
  if (job.sealedClaim === undefined) refuse(job, "mounts no claim as its sealed volume", fix);
  const volumeName = claim?.spec?.volumeName;
  if (claim === undefined || volumeName === undefined || claim.status?.phase !== "Bound") refuse(job, `its claim ${job.sealedClaim} is not bound`, fix);
  const pv = (await setup.kube.read<VolumeObject>(`/api/v1/persistentvolumes/${volumeName}`)).body;
  const path = pv === undefined ? undefined : volumePath(pv);
  if (pv === undefined || path === undefined) refuse(job, `the volume ${volumeName} of claim ${job.sealedClaim} is not a hostPath or local volume`, fix);
  if (pv.spec?.claimRef?.uid !== claim.metadata.uid) refuse(job, `the volume ${volumeName} is bound to another claim`, fix);
  const root = realpathSync(setup.sealedRoot);
  if (!existsSync(path))
    refuse(
      job,
      `the volume's folder ${path} is not on this node`,
      "run the operator on the node that holds the volumes (operator.nodeSelector in the cluster profile)",
    );
  const real = realpathSync(path);
  if (real !== root && !real.startsWith(root + sep)) refuse(job, `the volume's folder ${real} is outside the sealed root ${root}`, fix);
  checkSealedFolder(job, real);
  return real;
}

/** What a cluster's Job left, made into the receipt `datomspod run` would have made. */
async function clusterReceipt(
  setup: OperatorSetup,
  job: FinishedJob,
  loaded: LoadedContract,
  sealed: string,
  folder: string,
  jobFile: string,
  namespace: KubeObject | undefined,
): Promise<Receipt> {
  const publisher = publisherFor(setup.repo, loaded.contract, setup.ipfsApi);
  const collected = await collectSealed(setup.repo, job.contract, job.run, { sealed, status: undefined, verified: undefined }, publisher);
  // Without the oracle's receipt, the status and verified volumes went with the pod: the receipt says the run failed.
  const receipt = collected.receipt ?? buildReceipt(collected.leftFacts!);
  return completeReceipt(receipt, {
    instance: {
      cluster: setup.cluster,
      folder,
      manifestDigest: directoryDigest(join(setup.repo, folder), folder),
      job: jobFile,
      jobUid: job.uid,
      jobOutcome: job.outcome,
      namespace: job.namespace,
      namespaceUid: namespace?.metadata.uid ?? null,
    },
    deletion: {
      pod: null,
      reason: `the Job's pod and its volumes go with namespace ${job.namespace} when Argo CD prunes the instance; the operator records it in contracts/${job.contract}/deletion.json`,
      checkedAt: job.finishedAt ?? null,
    },
  });
}

/** The client payload of the `datomspod-receipt` repository_dispatch: what `datomspod github receive-receipt` takes. */
export async function receiptDispatch(
  loaded: LoadedContract,
  runId: string,
  receipt: Receipt,
  runner: Wallet,
): Promise<{ contract: string; run: string; receipt: unknown; signature: unknown }> {
  assertReceiptOf(receipt, loaded, runId, `receipt-${loaded.id}-${runId}`);
  const document = JSON.parse(receiptText(receipt)) as unknown;
  const signature = await signRecord(runner, "receipt", loaded.id, loaded.contract.chainId, receiptMessage(loaded, runId, document));
  return { contract: loaded.id, run: runId, receipt: document, signature };
}

export async function handleFinishedJob(setup: OperatorSetup, job: FinishedJob): Promise<Handled> {
  const name = `receipt-${job.contract}-${job.run}`;
  if (setup.dispatch?.exists(name) === true) return { kind: "already", where: setup.dispatch.path(name) };
  await setup.git.sync();
  const receiptPath = join(recordDir(setup.repo, job.contract, "receipts"), `${job.run}.json`);
  if (existsSync(receiptPath)) return { kind: "already", where: display(setup.repo, receiptPath) };
  // A Job of a contract this repository does not hold (another repository's, on a shared cluster) is refused before the API server is asked anything.
  loadContract(setup.repo, job.contract);
  const live = await readLive(setup.kube, job);
  const { loaded, instance, jobFile } = checkJob(setup, job, live);
  const sealed = await sealedFolder(setup, job, live.claim);
  const receipt = await clusterReceipt(setup, job, loaded, sealed, instance.shown, jobFile, live.namespace);

  if (setup.dispatch !== undefined) {
    const where = setup.dispatch.render(name, RECEIPT_EVENT_TYPE, await receiptDispatch(loaded, job.run, receipt, setup.runner));
    return { kind: "recorded", files: [where], where, receipt };
  }
  setup.git.willWrite([display(setup.repo, receiptSignatureFile(loaded.dir, job.run)), display(setup.repo, receiptPath)]);
  const written = await writeRunReceipt(setup.repo, loaded, job.run, receipt, setup.runner);
  const files = [display(setup.repo, receiptSignatureFile(loaded.dir, job.run)), display(setup.repo, written)];
  const commit = await setup.git.record(
    files,
    `Receipt of ${job.contract} ${job.run}: ${receipt.predicate.status.phase} (datomspod operator, cluster ${setup.cluster})`,
  );
  return { kind: "recorded", files, where: commit, receipt };
}
