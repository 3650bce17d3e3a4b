/**
 * The instance, as a real cluster runs it: the hospital-stats example, compiled for the lab
 * profile (clusters/lab/cluster.yaml), is admitted by the real API server as rendered, and its
 * Job's pod runs to completion on the real kubelet under Pod Security `restricted`: the provider's
 * folder reaches the pod as a read-only PersistentVolume (no hostPath in the pod), the sealed
 * outputs land in a claim bound through the profile's StorageClass, the images are the ones built
 * here, by digest. The sealed outputs open with the consumer's key and hold the aggregates the
 * approved algorithm computes from the provider's data.
 */

import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { Kube, readKubeconfig } from "../../generator/cluster/kube.js";
import { openBlob, sealContext, unwrapKey } from "../../generator/seal/crypto.js";
import { testWallet } from "../helpers/keys.js";
import { kube as labKube, needs, providedLab } from "./lab/context.js";
import {
  LAB_VOLUME_ROOT,
  SEALED_CLASS,
  applyOrder,
  ensureSealedClass,
  expectAggregatesOf,
  labContract,
  labDatomspodImages,
  removeLabData,
  sealedVolume,
} from "./lab/datomspod.js";
import { waitFor } from "./lab/exec.js";
import { conditionStatus } from "./lab/kube.js";
import { runId } from "./lab/workloads.js";

const id = `hospital-stats-${runId()}`;
const NS = `dp-${id}`;
const SEALED_PV = `${SEALED_CLASS}-${id}`;
let client: Kube | undefined;
let madeClass = false;
const inputPvs: string[] = [];

afterAll(async () => {
  const info = providedLab().info;
  if (info !== undefined && client !== undefined) {
    await client.delete(`/api/v1/namespaces/${NS}`);
    await waitFor(`namespace ${NS} gone`, 120_000, async () => ((await client!.find<any>(`/api/v1/namespaces/${NS}`)) === undefined ? true : undefined)).catch(
      () => undefined,
    );
    for (const pv of [SEALED_PV, ...inputPvs]) await client.delete(`/api/v1/persistentvolumes/${pv}`);
    if (madeClass) await client.delete(`/apis/storage.k8s.io/v1/storageclasses/${SEALED_CLASS}`);
    client.close();
  }
  removeLabData(id);
});

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

describe("the hospital-stats instance on the lab cluster", () => {
  it("is admitted as rendered, and its Job's pod runs the approved algorithm on the provider's data to sealed outputs, under Pod Security restricted", async (ctx) => {
    const info = needs(ctx, "node");
    client = new Kube(readKubeconfig(info.adminKubeconfig));
    const images = await labDatomspodImages(info);
    const prepared = await labContract(id, images);

    // what compile rendered for the lab: the input is a PV + claim, nothing in the pod is a hostPath
    const files = readdirSync(prepared.folder).sort();
    const objects = files.map((file) => parse(readFileSync(join(prepared.folder, file), "utf8")));
    const job = objects.find((object) => object.kind === "Job")!;
    expect(files).toEqual(
      expect.arrayContaining([
        "namespace.yaml",
        "networkpolicy-deny-all.yaml",
        "persistentvolumeclaim-input-0.yaml",
        "persistentvolumeclaim-sealed-run-1.yaml",
        `job-${job.metadata.name}.yaml`,
      ]),
    );
    const pv = objects.find((object) => object.kind === "PersistentVolume")!;
    inputPvs.push(pv.metadata.name);
    expect(pv.spec).toMatchObject({
      accessModes: ["ReadOnlyMany"],
      hostPath: { path: prepared.dataDir, type: "Directory" },
      claimRef: { namespace: NS, name: "input-0" },
    });
    expect(JSON.stringify(job.spec.template.spec.volumes)).not.toContain("hostPath");
    expect(job.spec.template.spec.volumes.find((volume: any) => volume.name === "input-0")).toEqual({
      name: "input-0",
      persistentVolumeClaim: { claimName: "input-0", readOnly: true },
    });
    const sealedClaim = objects.find((object) => object.metadata.name === "sealed-run-1")!;
    expect(sealedClaim.spec.storageClassName).toBe(SEALED_CLASS);

    // the cluster side the profile names: its StorageClass and a PersistentVolume for this run's sealed outputs
    madeClass = await ensureSealedClass(labKube(info));
    const sealedDir = join(LAB_VOLUME_ROOT, id, "sealed-run-1");
    await client.create(sealedVolume(SEALED_PV, sealedDir, { namespace: NS, name: "sealed-run-1" }));

    for (const object of applyOrder(objects)) {
      const answer = await client.apply(object, "datomspod-lab-test");
      // admitted as rendered, and without a Pod Security warning
      expect(answer.warnings, `${object.kind}/${object.metadata.name}`).toEqual([]);
    }

    const done = await waitFor(`Job ${NS}/${job.metadata.name} finished`, 300_000, async () => {
      const found = await client!.get<any>(`/apis/batch/v1/namespaces/${NS}/jobs/${job.metadata.name}`);
      return conditionStatus(found, "Complete") === "True" || conditionStatus(found, "Failed") === "True" ? found : undefined;
    });
    const [ran] = await client.list<any>(`/api/v1/namespaces/${NS}/pods`, { labelSelector: `job-name=${job.metadata.name}` });
    expect(conditionStatus(done, "Complete"), JSON.stringify(ran?.status, null, 1)).toBe("True");
    expect(ran.spec.nodeName).toBe(info.nodeName);
    expect(ran.status.phase).toBe("Succeeded");

    // every role ran to exit 0, from the images built here, by digest
    const statuses = [...ran.status.initContainerStatuses, ...ran.status.containerStatuses];
    expect(statuses.map((s: any) => [s.name, s.state.terminated?.exitCode])).toEqual([
      ["datomspace-in", 0],
      ["computing", 0],
      ["datomspace-out", 0],
      ["oracle", 0],
    ]);
    expect(statuses.find((s: any) => s.name === "computing").imageID).toContain(images.python.digest);
    expect(statuses.find((s: any) => s.name === "oracle").imageID).toContain(images.pod.digest);

    // the claims bound: the input to the node's folder, the sealed outputs to the profile's class
    const claims = await client.list<any>(`/api/v1/namespaces/${NS}/persistentvolumeclaims`);
    expect(Object.fromEntries(claims.map((c: any) => [c.metadata.name, [c.status.phase, c.spec.volumeName]]))).toEqual({
      "input-0": ["Bound", pv.metadata.name],
      "sealed-run-1": ["Bound", SEALED_PV],
    });

    // the receipt on the sealed volume: inputs and code verified, the algorithm succeeded, the policy held
    expect(existsSync(join(sealedDir, "receipt.json"))).toBe(true);
    const receipt = JSON.parse(readFileSync(join(sealedDir, "receipt.json"), "utf8"));
    const contract = JSON.parse(readFileSync(join(prepared.repo, "contracts", id, "contract.json"), "utf8"));
    expect(receipt.predicate.contract.id).toBe(id);
    expect(receipt.predicate.inputs.verified).toBe(true);
    expect(receipt.predicate.algorithm.codeSha256).toBe(contract.inputs.algorithm.code.sha256);
    expect(receipt.predicate.status.phase).toBe("succeeded");
    expect(receipt.predicate.outputs.policy).toEqual({ ok: true, rules: [] });

    // the consumer opens the outputs: the per-region aggregates of the provider's patients
    const manifest = JSON.parse(readFileSync(join(sealedDir, "manifest.json"), "utf8"));
    const consumer = await testWallet("health-consumer");
    const wrapped = Object.entries(manifest.wrappedKeys as Record<string, string>).find(
      ([address]) => address.toLowerCase() === consumer.address.toLowerCase(),
    )![1];
    const entry = manifest.files.find((file: any) => file.name === "outputs/0");
    const chunks: Buffer[] = [];
    const header = openBlob(
      readFileSync(join(sealedDir, entry.blob)),
      unwrapKey(wrapped, consumer.privateKey),
      sealContext(manifest.contractHash, "run-1", "outputs/0"),
      (_file, bytes) => chunks.push(Buffer.from(bytes)),
    );
    expect(header.files.map((f: any) => f.name)).toEqual(["aggregates.csv"]);
    const aggregates = Buffer.concat(chunks).toString("utf8");
    expectAggregatesOf(aggregates, prepared.dataDir);

    // the provider's data is as it was: read-only all the way
    expect(sha256(readFileSync(join(prepared.dataDir, "patients.csv")))).toBe(contract.inputs.data[0].files[0].sha256);
  });
});
