/**
 * The operator signs only what `datomspod run` would sign. Each case starts from the example
 * contract as it really compiles (the gate's own output written to clusters/), and a live Job that
 * is the committed one as Kubernetes 1.36 holds it (the fields its API server added in a
 * server-side dry run of the rendered Job), then changes one thing an attacker could change: in git
 * (an approval, the profile's pod image, the algorithm code, the instance folder) or in the cluster
 * (the Job's image or args, its uid, the deny-all policy, Pod Security labels, a second Job or pod
 * on the sealed claim, the sealed folder itself, a recreated namespace). Every change is refused
 * with the reason; the unchanged case is admitted, so the checks can fail.
 */

import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Wallet } from "ethers";
import type { JobObject, KubeObject } from "../../generator/cluster/kube.js";
import { planContract } from "../../generator/compile/plan.js";
import { loadProfiles } from "../../generator/compile/profile.js";
import { DatomspodError, VerdictError } from "../../generator/errors.js";
import { namespaceGone } from "../../generator/operator/deletion.js";
import { JOB_DEFAULTS, type LiveInstance } from "../../generator/operator/drift.js";
import { finishedJob, type FinishedJob } from "../../generator/operator/jobs.js";
import { checkJob, checkSealedFolder, receiptDispatch } from "../../generator/operator/receipt.js";
import { loadContract } from "../../generator/contract/load.js";
import { writeRunReceipt } from "../../generator/delivery/receipts.js";
import { buildReceipt } from "../../generator/pod/roles/receipt.js";
import { testWallet } from "../helpers/keys.js";
import { readText, tempDir, tempRepo, writeText } from "../helpers/repo.js";

const ID = "hospital-stats";
const NAMESPACE = `dp-${ID}`;
const NOW = new Date("2026-12-03T08:11:00Z");
const JOB_UID = "0dbca228-d3d4-4926-ab53-6665889bb62d";
type Json = Record<string, any>;

/** A repository holding the example contract and exactly what it compiles to now. */
function compiledRepo(edit?: (repo: string) => void): { repo: string; folder: string; objects: Json[] } {
  const repo = tempRepo([ID]);
  edit?.(repo);
  const outcome = planContract(repo, ID, NOW, loadProfiles(repo));
  expect(outcome.refused).toBeUndefined();
  const folder = join(repo, "clusters", "local", ID);
  mkdirSync(folder, { recursive: true });
  for (const [name, text] of Object.entries(outcome.files)) writeFileSync(join(folder, name), text);
  return { repo, folder, objects: outcome.plan.objects as unknown as Json[] };
}

/** The committed Job as the API server holds it after admitting it (Kubernetes 1.36.3's own additions), finished. */
function liveJob(committed: Json): Json {
  const job = structuredClone(committed);
  const name = job.metadata.name as string;
  job.metadata = {
    ...job.metadata,
    uid: JOB_UID,
    creationTimestamp: "2026-12-03T08:00:00Z",
    generation: 1,
    labels: { ...job.metadata.labels, "argocd.argoproj.io/instance": ID },
  };
  job.spec = { ...job.spec, ...JOB_DEFAULTS.spec, selector: { matchLabels: { "batch.kubernetes.io/controller-uid": JOB_UID } } };
  const template = job.spec.template;
  template.metadata.labels = {
    ...template.metadata.labels,
    "batch.kubernetes.io/controller-uid": JOB_UID,
    "batch.kubernetes.io/job-name": name,
    "controller-uid": JOB_UID,
    "job-name": name,
  };
  template.spec = { ...template.spec, ...JOB_DEFAULTS.podSpec };
  for (const list of ["initContainers", "containers"]) template.spec[list] = template.spec[list].map((c: Json) => ({ ...c, ...JOB_DEFAULTS.container }));
  template.spec.volumes = template.spec.volumes.map((v: Json) => (v.configMap === undefined ? v : { ...v, configMap: { ...v.configMap, defaultMode: 420 } }));
  job.status = { conditions: [{ type: "Complete", status: "True" }], completionTime: "2026-12-03T08:00:05Z" };
  return job;
}

interface Scene {
  readonly repo: string;
  readonly folder: string;
  readonly job: FinishedJob;
  /** The live objects, loosely typed so that a case can change anything an attacker could. */
  readonly live: { job: Json; namespace: Json; networkPolicies: Json[]; jobs: Json[]; pods: Json[]; claim: Json };
  readonly setup: { repo: string; cluster: string; runner: Wallet; now: () => Date };
}

async function scene(edit?: (repo: string) => void): Promise<Scene> {
  const { repo, folder, objects } = compiledRepo(edit);
  const committedJob = objects.find((o) => o.kind === "Job")!;
  const job = liveJob(committedJob);
  const namespace = structuredClone(objects.find((o) => o.kind === "Namespace")!);
  namespace.metadata.uid = "9f0c1e2d-0000-4000-8000-00000000000a";
  namespace.metadata.labels["kubernetes.io/metadata.name"] = NAMESPACE;
  const policies = objects
    .filter((o) => o.kind === "NetworkPolicy")
    .map((o) => ({ ...structuredClone(o), metadata: { ...o.metadata, creationTimestamp: "2026-12-03T07:59:58Z" } }));
  const pod = {
    metadata: {
      name: `${job.metadata.name}-x7k2p`,
      namespace: NAMESPACE,
      ownerReferences: [{ kind: "Job", name: job.metadata.name, uid: JOB_UID, controller: true }],
    },
    spec: { volumes: job.spec.template.spec.volumes },
  };
  const committedClaim = objects.find((o) => o.kind === "PersistentVolumeClaim" && o.metadata.name === "sealed-run-1")!;
  const claim = {
    ...structuredClone(committedClaim),
    metadata: { ...committedClaim.metadata, uid: "5c1d0000-0000-4000-8000-00000000000c", creationTimestamp: "2026-12-03T07:59:59Z" },
    spec: { ...committedClaim.spec, volumeMode: "Filesystem", volumeName: "pv-sealed-7" },
    status: { phase: "Bound" },
  };
  const finished = finishedJob(job as JobObject)!;
  expect(finished).toBeDefined();
  return {
    repo,
    folder,
    job: finished,
    live: { job, namespace, networkPolicies: policies, jobs: [job], pods: [pod], claim },
    setup: { repo, cluster: "local", runner: await testWallet("hospital-provider"), now: () => NOW },
  };
}

/** The refusal's message and every issue's text, for matching. */
function refusal(s: Scene): string {
  try {
    checkJob(s.setup, s.job, s.live as unknown as LiveInstance);
  } catch (error) {
    if (!(error instanceof DatomspodError)) throw error;
    expect(error.message).toContain("no receipt recorded");
    return [error.message, ...error.issues.map((issue) => `${issue.file} ${issue.path} ${issue.message} ${issue.fix ?? ""}`)].join("\n");
  }
  throw new Error("checkJob admitted the Job");
}

describe("the operator admits a finished Job", () => {
  it("that is the committed Job of a requested run, ran as committed (API server defaults aside)", async () => {
    const s = await scene();
    const admitted = checkJob(s.setup, s.job, s.live as unknown as LiveInstance);
    expect(admitted.jobFile).toBe(`job-${s.job.name}.yaml`);
    expect(admitted.instance.shown).toBe(`clusters/local/${ID}`);
  });
});

describe("the operator refuses, as `datomspod run` would, when git no longer approves the run", () => {
  it("an approval was withdrawn (a data owner's approval file removed)", async () => {
    const s = await scene();
    const approvals = join(s.repo, "contracts", ID, "approvals");
    rmSync(join(approvals, "0x60Fd6BAf0A6224c14E1570DAb1984EEE87A77Bd2.json"));
    const text = refusal(s);
    expect(text).toMatch(/contract hospital-stats is signed; only an active contract runs/);
    expect(text).toMatch(/approvals\/0x60Fd6BAf0A6224c14E1570DAb1984EEE87A77Bd2\.json \$ no approval by witness/);
  });

  it("the pod image the profile pins is not the one the owners approved", async () => {
    const s = await scene();
    const profile = readText(s.repo, "clusters/local/cluster.yaml");
    writeText(s.repo, "clusters/local/cluster.yaml", profile.replace(/digest: sha256:[0-9a-f]{64}/, `digest: sha256:${"1".repeat(64)}`));
    expect(refusal(s)).toMatch(/approvals\/0x[0-9a-fA-F]{40}\.json \$\.message\.\w+ approves another/);
  });

  it("the algorithm code in git is not the code that was approved", async () => {
    const s = await scene();
    writeText(s.repo, `contracts/${ID}/algorithm/aggregate.py`, `${readText(s.repo, `contracts/${ID}/algorithm/aggregate.py`)}\nimport socket\n`);
    expect(refusal(s)).toMatch(/\$\.inputs\.algorithm\.code\.sha256 does not match contracts\/hospital-stats\/algorithm\/aggregate\.py/);
  });

  it("the key is not one of the contract's runners", async () => {
    const s = await scene();
    const text = refusal({ ...s, setup: { ...s.setup, runner: Wallet.createRandom() as unknown as Wallet } });
    expect(text).toMatch(/is not a runner of hospital-stats/);
  });

  it("the run has a receipt already or no request", async () => {
    const s = await scene();
    rmSync(join(s.repo, "contracts", ID, "runs", "run-1.json"));
    expect(refusal(s)).toMatch(/run-1/);
  });

  it("the committed folder was edited by hand (an argument added to the Job)", async () => {
    const s = await scene();
    const file = join(s.folder, `job-${s.job.name}.yaml`);
    writeFileSync(file, readText(s.folder, `job-${s.job.name}.yaml`).replace("- --run\n", "- --debug\n            - --run\n"));
    expect(refusal(s)).toMatch(/is not what contract hospital-stats compiles to \(job-/);
  });

  it.each([
    ["an extra manifest Argo CD would apply (a .json file)", (folder: string) => writeFileSync(join(folder, "extra.json"), "{}\n")],
    ["a symbolic link", (folder: string) => symlinkSync("/etc/hostname", join(folder, "link.yaml"))],
    ["a sub-folder", (folder: string) => mkdirSync(join(folder, "more"))],
  ])("the committed folder holds %s", async (_case, add) => {
    const s = await scene();
    add(s.folder);
    expect(refusal(s)).toMatch(/clusters\/local\/hospital-stats/);
  });

  it("the contract version the Job ran is not the committed one", async () => {
    const s = await scene();
    expect(refusal({ ...s, job: { ...s.job, contractHash: "0".repeat(64) } })).toMatch(/ran contract version 0{64}/);
  });
});

describe("the operator refuses when the cluster did not run what git holds", () => {
  const cases: [string, (s: Scene) => void, RegExp][] = [
    [
      "the Job ran another image under the committed name",
      (s) => (s.live.job.spec.template.spec.containers[0].image = "evil.example/pod@sha256:" + "2".repeat(64)),
      /\$\.spec\.template\.spec\.containers\[0\]\.image/,
    ],
    [
      "the Job ran the algorithm with other args",
      (s) => s.live.job.spec.template.spec.initContainers[0].args.push("--skip-checks"),
      /initContainers\[0\]\.args/,
    ],
    [
      "the Job had an extra container",
      (s) => s.live.job.spec.template.spec.containers.push({ name: "sidecar", image: "busybox" }),
      /containers \(1 entries committed, 2 in the cluster\)/,
    ],
    ["the Job's pod shared the host network", (s) => (s.live.job.spec.template.spec.hostNetwork = true), /\$\.spec\.template\.spec\.hostNetwork/],
    [
      "the Job's sealed volume is another claim",
      (s) => (s.live.job.spec.template.spec.volumes.find((v: Json) => v.name === "sealed").persistentVolumeClaim.claimName = "other"),
      /volumes\[\d+\]\.persistentVolumeClaim\.claimName/,
    ],
    [
      "the Job lost its contract-hash annotation",
      (s) => delete s.live.job.metadata.annotations["datomspod.io/contract-hash"],
      /metadata\.annotations\.datomspod\.io\/contract-hash/,
    ],
    [
      "the Job was deleted and recreated under the same name (another uid)",
      (s) => (s.live.job.metadata.uid = "11111111-2222-4333-8444-555555555555"),
      /was replaced/,
    ],
    ["the Job is gone", (s) => (s.live.job = undefined as unknown as Json), /no longer in the cluster/],
    ["the deny-all NetworkPolicy is missing", (s) => (s.live.networkPolicies = []), /NetworkPolicy deny-all is not in the namespace/],
    ["the NetworkPolicy allows egress", (s) => (s.live.networkPolicies[0].spec.egress = [{}]), /NetworkPolicy deny-all: \$\.spec\.egress/],
    ["the NetworkPolicy came after the Job", (s) => (s.live.networkPolicies[0].metadata.creationTimestamp = "2026-12-03T08:00:03Z"), /was created after Job/],
    [
      "the namespace lost Pod Security restricted",
      (s) => delete s.live.namespace.metadata.labels["pod-security.kubernetes.io/enforce"],
      /pod-security\.kubernetes\.io\/enforce/,
    ],
    ["the namespace is gone", (s) => (s.live.namespace = undefined as unknown as Json), /namespace dp-hospital-stats is not in the cluster/],
    ["the sealed claim is gone", (s) => (s.live.claim = undefined as unknown as Json), /claim sealed-run-1 is not in the namespace/],
    [
      "the sealed claim was replaced after the Job (bound to another volume)",
      (s) => (s.live.claim.metadata.creationTimestamp = "2026-12-03T08:00:06Z"),
      /claim sealed-run-1 was created after Job/,
    ],
    [
      "the sealed claim is shared (ReadWriteMany)",
      (s) => (s.live.claim.spec.accessModes = ["ReadWriteMany"]),
      /claim sealed-run-1: \$\.spec\.accessModes\[0\]/,
    ],
    [
      "a second Job with another name ran for the same run",
      (s) =>
        s.live.jobs.push({
          ...structuredClone(s.live.job),
          metadata: { ...s.live.job.metadata, name: "hospital-stats-run-1-other", uid: "22222222-0000-4000-8000-000000000000" },
        }),
      /Job hospital-stats-run-1-other is a second Job for the same run/,
    ],
    [
      "another Job mounted the sealed claim",
      (s) => {
        const other = structuredClone(s.live.job);
        other.metadata = { name: "helper", uid: "33333333-0000-4000-8000-000000000000", labels: {} };
        s.live.jobs.push(other);
      },
      /Job helper also mounts the sealed claim sealed-run-1/,
    ],
    [
      "a bare pod mounted the sealed claim",
      (s) =>
        s.live.pods.push({
          metadata: { name: "writer", namespace: NAMESPACE },
          spec: { volumes: [{ name: "x", persistentVolumeClaim: { claimName: "sealed-run-1" } }] },
        }),
      /pod writer is not the Job's and mounts the sealed claim sealed-run-1/,
    ],
  ];
  it.each(cases)("%s", async (_case, change, reason) => {
    const s = await scene();
    change(s);
    const text = refusal(s);
    expect(text).toMatch(/the cluster did not run what git holds|was replaced|no longer in the cluster/);
    expect(text).toMatch(reason);
  });
});

describe("the sealed folder and the deletion record", () => {
  it("a sealed receipt of another run (a volume holding an earlier run's folder) is never signed or dispatched as this run's", async () => {
    const repo = tempRepo([ID]);
    const loaded = loadContract(repo, ID);
    const runner = await testWallet("hospital-provider");
    const facts = { contract: loaded.contract, contractHash: loaded.hash, verdict: undefined, gate: false, computing: undefined, manifest: undefined };
    const other = buildReceipt({ ...facts, runId: "run-9" });
    await expect(writeRunReceipt(repo, loaded, "run-1", other, runner)).rejects.toThrow(/is the receipt of hospital-stats run-9, not of hospital-stats run-1/);
    await expect(receiptDispatch(loaded, "run-1", other, runner)).rejects.toThrow(/run-9/);
    const olderVersion = buildReceipt({ ...facts, contractHash: "0".repeat(64), runId: "run-1" });
    await expect(writeRunReceipt(repo, loaded, "run-1", olderVersion, runner)).rejects.toThrow(/another version of the contract/);
    expect(existsSync(join(repo, "contracts", ID, "receipts", "run-1.json"))).toBe(false);
    // the receipt of this very run is written
    await expect(writeRunReceipt(repo, loaded, "run-1", buildReceipt({ ...facts, runId: "run-1" }), runner)).resolves.toMatch(/run-1\.json$/);
  });

  const job = { namespace: NAMESPACE, name: "hospital-stats-run-1-x" } as FinishedJob;

  it("a sealed folder with only the roles' files passes; extra files, links and folders are refused", () => {
    const clean = tempDir();
    mkdirSync(join(clean, "blobs"));
    writeFileSync(join(clean, "receipt.json"), "{}");
    expect(() => checkSealedFolder(job, clean)).not.toThrow();

    for (const [what, add] of [
      ["extra.txt", (dir: string) => writeFileSync(join(dir, "extra.txt"), "x")],
      ["blobs/evil", (dir: string) => writeFileSync(join(dir, "blobs", "evil"), "x")],
      ["blobs/0", (dir: string) => symlinkSync("/etc/passwd", join(dir, "blobs", "0"))],
      ["manifest.json", (dir: string) => symlinkSync("/etc/passwd", join(dir, "manifest.json"))],
      ["nested", (dir: string) => mkdirSync(join(dir, "nested"))],
    ] as const) {
      const dir = tempDir();
      mkdirSync(join(dir, "blobs"));
      add(dir);
      expect(() => checkSealedFolder(job, dir), what).toThrow(VerdictError);
      expect(() => checkSealedFolder(job, dir), what).toThrow(new RegExp(`sealed folder holds ${what.replace(".", "\\.")}`));
    }
  });

  it("a blob the manifest does not list is refused", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "blobs"));
    writeFileSync(join(dir, "blobs", "0"), "x");
    writeFileSync(join(dir, "blobs", "1"), "x");
    writeFileSync(
      join(dir, "manifest.json"),
      JSON.stringify({
        version: 2,
        contractId: ID,
        contractHash: "0".repeat(64),
        runId: "run-1",
        files: [{ name: "outputs/0", kind: "output", key: "data", blob: "blobs/0", size: 1, ciphertextSha256: "0".repeat(64), cid: `b${"a".repeat(30)}` }],
        sealedFor: [],
        wrappedKeys: {},
        ownerKeys: {},
        policy: { ok: true, rules: [] },
      }),
    );
    expect(() => checkSealedFolder(job, dir)).toThrow(/sealed folder holds blobs\/1 \(not in the manifest\)/);
    rmSync(join(dir, "blobs", "1"));
    expect(() => checkSealedFolder(job, dir)).not.toThrow();
  });

  it("a namespace recreated under the instance's name is not recorded as gone; the same namespace still there is not gone", () => {
    const uid = "0b8f4c7e-1111-4222-8333-444455556666";
    expect(namespaceGone(undefined, NAMESPACE, uid)).toBe("gone");
    const same: KubeObject = { metadata: { name: NAMESPACE, uid } };
    expect(namespaceGone(same, NAMESPACE, uid)).toBe("present");
    const recreated: KubeObject = { metadata: { name: NAMESPACE, uid: "99999999-0000-4000-8000-000000000000" } };
    expect(() => namespaceGone(recreated, NAMESPACE, uid)).toThrow(/exists again/);
  });
});
