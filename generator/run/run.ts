/**
 * `datomspod run ID RUN`: the ad hoc mode. Runs the very pod the generator rendered into
 * clusters/<local cluster>/<id>/ on this machine with podman, then publishes the sealed
 * (encrypted) outputs to the content-addressed store and commits the receipt, completed with the
 * rendered instance it ran and the evidence that the pod and every scratch volume were removed.
 * Nothing runs unless the contract is active, the run was requested by the consumer, the committed
 * manifests are exactly what the contract compiles to, and the pinned images are on this machine.
 */

import { mkdtempSync, rmSync } from "node:fs";
import type { Wallet } from "ethers";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError, ServiceError } from "../errors.js";
import { loadContract, type LoadedContract } from "../contract/load.js";
import { loadProfiles, type ClusterProfile } from "../compile/profile.js";
import { parseQuantity } from "../compile/quantity.js";
import { writeRunReceipt } from "../delivery/receipts.js";
import { admitRun, assertRunner } from "../gate/admit.js";
import { filesDigest } from "../evidence/digest.js";
import type { PublishedBlob } from "../publish/sealed.js";
import { publisherFor } from "../publish/select.js";
import { assertRunId } from "../repo/layout.js";
import { inspectImage, type Engine, type ImageFacts } from "./exec.js";
import { playPod, podmanPod, type ContainerResult, type PodRun } from "./pod.js";
import { openPodmanService, podmanCli, type PodmanService } from "./podman.js";
import { collectSealed } from "./collect.js";
import { buildReceipt, completeReceipt, type Receipt, type ReceiptFacts } from "../pod/roles/receipt.js";
import { publicPodUsage, toSecond } from "../seal/public.js";

/** The most processes the whole pod may have: enough for real work, too few for a fork bomb to hurt the machine. */
export const POD_PIDS_LIMIT = 512;

export interface RunOptions {
  readonly repo: string;
  readonly id: string;
  readonly runId: string;
  /** The real clock: a run is judged at the time it starts, never at a time of the caller's choosing. */
  readonly now: Date;
  /**
   * The runner's key: one of the contract's evidence.runners, which signs the receipt. It may still
   * be being decrypted (scrypt, off the main thread) while the gate runs: it is awaited, and its
   * address checked, before any image is inspected or anything is written.
   */
  readonly runner: Wallet | Promise<Wallet>;
  readonly engine?: Engine;
  /** The IPFS API to publish to, instead of the profile's or the local store. */
  readonly ipfsApi?: string;
}

export interface RunResult {
  readonly receipt: Receipt;
  readonly receiptFile: string;
  readonly published: readonly PublishedBlob[];
  readonly pod: PodRun | undefined;
}

type Json = Record<string, unknown>;

function localProfile(repo: string, loaded: LoadedContract): ClusterProfile {
  const profile = loadProfiles(repo).get(loaded.contract.cluster);
  if (profile === undefined)
    throw InputError.of({
      file: loaded.file,
      path: "$.cluster",
      message: `no cluster profile clusters/${loaded.contract.cluster}/cluster.yaml`,
      fix: "add the profile",
    });
  if (profile.mode !== "local") {
    throw InputError.of({
      file: loaded.file,
      path: "$.cluster",
      message: `cluster ${profile.name} is ${profile.mode}: Argo CD runs its pods`,
      fix: "datomspod run runs contracts of a cluster whose profile has mode: local",
    });
  }
  return profile;
}

/** The rendered objects of one run, as podman plays them: its Job, the ConfigMaps, and the sealed claim as a scratch volume. */
function runObjects(objects: readonly Json[], committedJob: Json, sealedBytes: string): Json[] {
  const job = structuredClone(committedJob);
  const podSpec = ((job["spec"] as Json)["template"] as Json)["spec"] as Json;
  // The sealed outputs leave the pod through the runner (publish, then receipt), so locally the claim is a scratch volume.
  podSpec["volumes"] = (podSpec["volumes"] as Json[]).map((volume) =>
    volume["persistentVolumeClaim"] !== undefined ? { name: volume["name"], emptyDir: { sizeLimit: sealedBytes } } : volume,
  );
  return [job, ...objects.filter((o) => o["kind"] === "ConfigMap")];
}

/**
 * How long an image question asked while the gate runs may take: a gate that refuses does not wait
 * longer for it (the process ends once its children have), and one not answered in time is asked
 * again, without a limit, once the gate passed.
 */
export const EARLY_ASK_MS = 10_000;

/** What the engine says of each image, all asked at once (one podman process each, side by side); a failure is thrown where the answer is awaited. */
export function askImages(engine: Engine, images: readonly string[], timeoutMs?: number): Map<string, Promise<ImageFacts | undefined>> {
  return new Map(
    images.map((image) => {
      const answer = inspectImage(engine, image, timeoutMs);
      answer.catch(() => undefined);
      return [image, answer];
    }),
  );
}

/**
 * Every pinned image must be on this machine under its digest. An image that is simply not here is
 * the operator's to build (an error, nothing recorded); an algorithm image whose tag now names
 * another digest is refused and recorded in a receipt: it is not the image the parties approved.
 *
 * `asked`: the answers asked for while the gate ran; an image the pod names that was not asked, or
 * whose early answer did not come (timed out, podman failed), is asked here.
 */
export async function checkImages(
  engine: Engine,
  objects: readonly Json[],
  algorithmImage: string,
  algorithmTag: string,
  asked: ReadonlyMap<string, Promise<ImageFacts | undefined>>,
): Promise<string | undefined> {
  const job = objects.find((o) => o["kind"] === "Job")!;
  const spec = ((job["spec"] as Json)["template"] as Json)["spec"] as Json;
  const containers = [...(spec["initContainers"] as Json[]), ...(spec["containers"] as Json[])];
  const images = [...new Set(containers.map((c) => String(c["image"])))];
  const found = await Promise.all(images.map((image) => asked.get(image)?.catch(() => inspectImage(engine, image)) ?? inspectImage(engine, image)));
  for (const [i, image] of images.entries()) {
    if (found[i] !== undefined) continue;
    const [repository = "", digest = ""] = image.split("@");
    const current = image === algorithmImage ? await inspectImage(engine, `${repository}:${algorithmTag}`) : undefined;
    if (image === algorithmImage && current !== undefined) {
      return `the algorithm image ${repository}:${algorithmTag} now names ${current.digest}, not the pinned ${digest} the parties approved, and the pinned image is not on this machine`;
    }
    throw new ServiceError(`the pinned image ${image} is not on this machine`, [
      {
        file: image,
        path: "$",
        message: "is not on this machine",
        fix: "build it with `datomspod images build` (and pin what it prints in the contract or cluster profile)",
      },
    ]);
  }
  return undefined;
}

/**
 * The digest of the instance folder the gate admitted (evidence.manifestDigest): of the files it
 * compared the folder with, which the folder then held exactly, not read again (the folder could
 * change after the comparison; the run plays what was admitted).
 */
function admittedDigest(files: Readonly<Record<string, string>>): string {
  return filesDigest(new Map(Object.entries(files).map(([name, text]) => [name, Buffer.from(text, "utf8")])));
}

/** Exit codes with which the supervisor has written its final status: done, or the algorithm could not be started. */
const SUPERVISOR_FINISHED = [0, 125, 126, 127];

/**
 * The receipt when the pod's oracle did not write one. The supervisor's status file lies in a
 * volume the algorithm can write (they run as the same user), so it is evidence only when the
 * supervisor finished, i.e. rewrote it at the end: when podman saw the computing container end
 * otherwise (the status could not be written, e.g. the algorithm filled or took the volume; the
 * supervisor died), the file is ignored and the receipt says only that the run failed.
 */
export function receiptFromLeftovers(facts: ReceiptFacts, containers: readonly ContainerResult[], _maxDurationSeconds: number): Receipt {
  const computing = containers.find((c) => c.container === "computing");
  // Evidence only when the supervisor ended as it ends after writing it, or the algorithm never ran
  // (then it wrote nothing); a container still running, gone, or ended otherwise leaves the file the algorithm's.
  const finished = computing !== undefined && computing.status === "exited" && SUPERVISOR_FINISHED.includes(computing.exitCode);
  if (computing === undefined || computing.status === "created" || finished) return buildReceipt(facts);
  // How long it ran and how the supervisor ended are the algorithm's doing (it can fill the status
  // volume): the receipt says only that the run failed, and shows no usage.
  const reason = "the supervisor did not write its final status; the status volume is writable by the algorithm, so what it holds is not evidence";
  return buildReceipt({ ...facts, computingDistrusted: reason });
}

export async function runLocally(options: RunOptions): Promise<RunResult> {
  const { repo, id, runId } = options;
  assertRunId(runId);
  const probe = loadContract(repo, id);
  const profile = localProfile(repo, probe);
  // podman's service (podman.ts) starts while the gate runs: it answers requests only, and none but
  // its pings is sent before the gate passed; it is stopped however the run ends.
  const service = openPodmanService();
  try {
    return await runAdmitted(options, probe, profile, service);
  } finally {
    await (await service)?.close();
  }
}

async function runAdmitted(
  options: RunOptions,
  probe: LoadedContract,
  profile: ClusterProfile,
  service: Promise<PodmanService | undefined>,
): Promise<RunResult> {
  const { repo, id, runId, now } = options;
  // Handled here, thrown where it is awaited: a gate that refuses first reports its own error.
  const runnerKey = Promise.resolve(options.runner);
  runnerKey.catch(() => undefined);
  const engine = options.engine ?? "podman";
  // The images the pod will name (the profile's pod image, the contract's algorithm image) are looked
  // up while the gate runs: a read-only question to the engine; nothing is created before the gate passes.
  const algorithm = probe.contract.inputs.algorithm.container;
  const asked = askImages(engine, [`${profile.images.pod.image}@${profile.images.pod.digest}`, `${algorithm.image}@${algorithm.digest}`], EARLY_ASK_MS);
  // What the cluster's operator checks too (gate/admit.ts): the gate at the real clock, the request, the
  // committed folder; then the runner, once its key (decrypting meanwhile) is there.
  const { loaded, instance, job, jobFile, outcome } = admitRun({ repo, id, runId, now, profile, runner: undefined, keyFile: "--key" });
  const wallet = await runnerKey;
  assertRunner(loaded, wallet.address, "--key");
  const objects = runObjects(instance.objects, job, String(parseQuantity(profile.sealedOutputSize ?? "1Gi")));
  const instanceEvidence = { cluster: profile.name, folder: instance.shown, manifestDigest: admittedDigest(outcome.files), job: jobFile };

  const container = loaded.contract.inputs.algorithm.container;
  const refused = await checkImages(engine, objects, `${container.image}@${container.digest}`, container.tag, asked);
  if (refused !== undefined) {
    const base = buildReceipt({
      contract: loaded.contract,
      contractHash: loaded.hash,
      runId,
      verdict: undefined,
      gate: false,
      computing: undefined,
      manifest: undefined,
    });
    const receipt = completeReceipt(
      { ...base, predicate: { ...base.predicate, status: { ...base.predicate.status, phase: "rejected", reason: `${refused}; nothing ran` } } },
      { instance: instanceEvidence, deletion: { pod: null, reason: "no pod was created" } },
    );
    return { receipt, receiptFile: await writeRunReceipt(repo, loaded, runId, receipt, wallet), published: [], pod: undefined };
  }

  const publisher = publisherFor(repo, loaded.contract, options.ipfsApi);
  const pod = podmanPod(objects, instance.shown);
  const scratchDir = mkdtempSync(join(tmpdir(), `datomspod-run-${id}-${runId}-`));
  let receipt: Receipt | undefined;
  let leftFacts: ReceiptFacts | undefined;
  let published: PublishedBlob[] = [];
  let podRun: PodRun;
  try {
    podRun = await playPod(pod, {
      podman: (await service) ?? podmanCli,
      scratchDir,
      pidsLimit: POD_PIDS_LIMIT,
      timeoutMs: ((pod.activeDeadlineSeconds ?? loaded.contract.inputs.compute.maxDurationSeconds + 600) + 30) * 1000,
      collect: async (volumes) => {
        // playPod names the pod's volumes <pod>-<volume>.
        const sealed = volumes[`${pod.name}-sealed`];
        const status = volumes[`${pod.name}-status`];
        const verified = volumes[`${pod.name}-verified`];
        if (sealed === undefined || status === undefined) throw new ServiceError("the pod's sealed and status volumes were not collected");
        ({ receipt, leftFacts, published } = await collectSealed(repo, id, runId, { sealed, status, verified }, publisher));
      },
    });
  } finally {
    rmSync(scratchDir, { recursive: true, force: true });
  }
  if (receipt === undefined && leftFacts !== undefined)
    receipt = receiptFromLeftovers(leftFacts, podRun.containers, loaded.contract.inputs.compute.maxDurationSeconds);
  if (receipt === undefined) throw new ServiceError(`the pod of run ${runId} ended without anything to collect`);
  const deletion = {
    pod: pod.name,
    removed: podRun.leftovers.length === 0,
    leftovers: podRun.leftovers,
    // To the second: a finer time would tell more about how long the algorithm chose to run.
    checkedAt: toSecond(new Date().toISOString()),
    check: `${engine} pod exists ${pod.name}; ${engine} volume ls`,
    timedOut: podRun.timedOut,
    pidsLimit: "value" in podRun.pidsLimit ? podRun.pidsLimit.value : null,
  };
  // The whole pod's accounting is the runner's to add: the pod's cgroup is only readable outside it.
  const metered = {
    ...receipt,
    predicate: { ...receipt.predicate, usage: { ...receipt.predicate.usage, pod: podRun.usage === null ? null : publicPodUsage(podRun.usage) } },
  };
  const complete = completeReceipt(metered, { instance: instanceEvidence, deletion });
  const receiptFile = await writeRunReceipt(repo, loaded, runId, complete, wallet);
  if (podRun.leftovers.length > 0) {
    throw new ServiceError(`run ${runId} finished but ${podRun.leftovers.join(", ")} could not be removed; the receipt records it`);
  }
  return { receipt: complete, receiptFile, published, pod: podRun };
}
