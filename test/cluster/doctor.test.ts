/**
 * `datomspod cluster doctor` against the lab's real API server:
 *
 *   - the lab profile: what is missing is named with its fix (a StorageClass, its PersistentVolumes,
 *     a RuntimeClass), and once the lab has them, the doctor passes, its canary isolated by the
 *     enforced deny-all policy (kube-router) from a pod and from a listener on the node, and the
 *     one refusal left is the admission policies the shared lab does not run (admission.test.ts);
 *   - the refusing case: the same canary without the policy (what a CNI that ignores NetworkPolicy
 *     amounts to) reaches the pod and the listener, and the verdict refuses;
 *   - the other profiles (local, self-built-example), their committed instances dry-run by
 *     server-side apply: each need is reported, nothing ignored.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { judgeIsolation, probeIsolation } from "../../generator/cluster/canary.js";
import { isolationFinding, recordIsolation, runDoctor, type Finding } from "../../generator/cluster/doctor.js";
import { Kube, readKubeconfig } from "../../generator/cluster/kube.js";
import { loadProfiles } from "../../generator/compile/profile.js";
import { renderAdmission } from "../../generator/compile/admission.js";
import { runCli } from "../helpers/cli.js";
import { ROOT, tempRepo } from "../helpers/repo.js";
import { kube as labKube, needs, providedLab } from "./lab/context.js";
import { LAB_VOLUME_ROOT, SEALED_CLASS, ensureSealedClass, labDatomspodImages, pinnedLabProfile, sealedVolume } from "./lab/datomspod.js";
import { runId } from "./lab/workloads.js";
import { rmSync } from "node:fs";

const id = runId();
const PV = `${SEALED_CLASS}-doctor-${id}`;
let client: Kube | undefined;
const RECORD = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/datomspod-isolation";
let madeClass = false;

afterAll(async () => {
  if (providedLab().info !== undefined && client !== undefined) {
    await client.delete(`/api/v1/persistentvolumes/${PV}`);
    await client.delete(RECORD);
    await client.delete("/apis/rbac.authorization.k8s.io/v1/clusterroles/datomspod-isolation");
    if (madeClass) await client.delete(`/apis/storage.k8s.io/v1/storageclasses/${SEALED_CLASS}`);
    client.close();
  }
  rmSync(join(LAB_VOLUME_ROOT, `doctor-${id}`), { recursive: true, force: true });
});

function of(findings: readonly Finding[], check: Finding["check"]): [string, string][] {
  return findings.filter((f) => f.check === check).map((f) => [f.object, f.status]);
}

describe("datomspod cluster doctor in the lab", () => {
  it("names what the lab lacks for a profile, then only the admission policies the shared lab does not run once the rest is there, with the canary isolated by the enforced deny-all policy", async (ctx) => {
    const info = needs(ctx, "node", "network-policy");
    client = new Kube(readKubeconfig(info.adminKubeconfig));
    const images = await labDatomspodImages(info);
    const repo = tempRepo([]);
    // no proof of isolation yet (only this file grants the lab's real one)
    await client.delete(RECORD);

    // a variant of the lab profile asking for what the lab does not have
    const missingClass = `dp-doctor-none-${id}`;
    const missingRuntime = `dp-doctor-gvisor-${id}`;
    writeFileSync(
      join(repo, "clusters", "lab", "cluster.yaml"),
      pinnedLabProfile(images.pod, (text) =>
        text
          .replace(`storageClassName: ${SEALED_CLASS}`, `storageClassName: ${missingClass}`)
          .replace("  runc: null\n", `  runc: null\n  gvisor: ${missingRuntime}\n`),
      ),
    );
    const lacking = await runDoctor(client, { repo, profile: loadProfiles(repo).get("lab")! });
    expect(lacking.ok).toBe(false);
    const missing = lacking.findings.filter((f) => f.status === "missing");
    const admission = renderAdmission(loadProfiles(repo).get("lab")!).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(missing.map((f) => f.object)).toEqual([
      `RuntimeClass/${missingRuntime}`,
      `StorageClass/${missingClass}`,
      ...admission,
      "NetworkPolicy enforcement",
      "ClusterRoleBinding/datomspod-isolation",
    ]);
    expect(missing.at(-1)!.fix).toContain("datomspod cluster doctor --cluster lab --record");
    expect(missing.every((f) => (f.fix ?? "").length > 0)).toBe(true);
    expect(missing[1].fix).toContain(`create StorageClass ${missingClass}`);

    // the lab profile as shipped: its StorageClass, but no PersistentVolume for a run's sealed outputs yet
    writeFileSync(join(repo, "clusters", "lab", "cluster.yaml"), pinnedLabProfile(images.pod));
    madeClass = await ensureSealedClass(labKube(info));
    const lab = loadProfiles(repo).get("lab")!;
    const before = await runDoctor(client, { repo, profile: lab });
    const available = (await client.list<any>("/api/v1/persistentvolumes")).filter(
      (pv) => pv.spec.storageClassName === SEALED_CLASS && pv.status.phase === "Available" && pv.spec.claimRef === undefined,
    );
    if (available.length === 0) {
      expect(of(before.findings, "storage-class")).toEqual([
        [`StorageClass/${SEALED_CLASS}`, "ok"],
        [`PersistentVolume (class ${SEALED_CLASS}, ≥ 64Mi)`, "missing"],
      ]);
    }
    await client.create(sealedVolume(PV, join(LAB_VOLUME_ROOT, `doctor-${id}`)));

    // through the real CLI: text, then JSON; the canary probes a pod and a listener on the node's bridge address
    const argv = ["cluster", "doctor", "--cluster", "lab", "--kubeconfig", info.adminKubeconfig, "--listen", info.nodeIp, "--settle", "3", "--record"];
    // the shared lab does not run the lab profile's admission policies (test/cluster/admission.test.ts
    // installs them under names of its own): the doctor refuses for that alone, and says so
    const text = await runCli(argv, { repo });
    expect(text.code, `${text.stdout}${text.stderr}`).toBe(1);
    expect(text.stdout).toContain(`REFUSED: ${admission.length} findings above`);
    expect(text.stdout).toMatch(/ok {6}NetworkPolicy\/deny-all in dp-doctor-[0-9a-f]{6}: enforced/);
    const json = await runCli([...argv, "--format", "json"], { repo });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(false);
    expect(report.findings.filter((f: Finding) => f.status === "missing" || f.status === "refused").map((f: Finding) => [f.check, f.object, f.status])).toEqual(
      admission.map((object) => ["admission", object, "missing"]),
    );
    expect(of(report.findings, "storage-class")).toEqual([
      [`StorageClass/${SEALED_CLASS}`, "ok"],
      [`PersistentVolume (class ${SEALED_CLASS})`, "ok"],
    ]);
    // --record granted the proof the isolation admission policy asks the authorizer for, with the evidence
    expect(of(report.findings, "isolation-record")).toEqual([["ClusterRoleBinding/datomspod-isolation", "ok"]]);
    const grant = await client.get<any>(RECORD);
    expect(grant.subjects).toEqual([{ kind: "ServiceAccount", name: "datomspod-isolation", namespace: "datomspod-system" }]);
    expect(grant.metadata.annotations["datomspod.io/cluster"]).toBe("lab");
    expect(JSON.parse(grant.metadata.annotations["datomspod.io/evidence"])).toMatchObject({ reasons: [], policy: true, canaryIp: report.isolation.canaryIp });
    expect(report.isolation.policy).toBe(true);
    expect(Object.keys(report.isolation.targets)).toEqual(["pod", "listener"]);
    // the control got through to both, the canary to neither, and the listener never saw the canary
    for (const target of ["pod", "listener"]) {
      expect(report.isolation.control[target]).toContain("OPEN");
      expect(report.isolation.canary[target].every((r: string) => r.startsWith("CLOSED"))).toBe(true);
    }
    expect(report.isolation.listenerSaw).toContain(report.isolation.controlIp);
    expect(report.isolation.listenerSaw).not.toContain(report.isolation.canaryIp);
    // the namespaces of the canary are gone again (or going)
    const left = await client.find<any>(`/api/v1/namespaces/${report.isolation.namespace}`);
    expect(left === undefined || left.status.phase === "Terminating").toBe(true);
  });

  it("refuses when the canary gets through: the same probe without the policy reaches the pod and the listener", async (ctx) => {
    const info = needs(ctx, "node");
    client ??= new Kube(readKubeconfig(info.adminKubeconfig));
    const images = await labDatomspodImages(info);

    const evidence = await probeIsolation(client, { image: images.pod.pinned, listen: info.nodeIp, policy: false, settleSeconds: 2, tries: 3 });

    expect(evidence.canary?.["pod"]).toContain("OPEN");
    expect(evidence.canary?.["listener"]).toContain("OPEN");
    expect(evidence.listenerSaw).toContain(evidence.canaryIp);
    const verdict = judgeIsolation(evidence);
    expect(verdict.isolated).toBe(false);
    expect(verdict.reasons).toEqual([
      expect.stringMatching(/^the canary reached pod \(http:\/\/10\.213\.0\.\d+:8080\/\) in [1-3] of 3 tries: egress is not denied$/),
      expect.stringMatching(/^the canary reached listener \(http:\/\/10\.213\.0\.1:\d+\/\) in [1-3] of 3 tries: egress is not denied$/),
      `the doctor's listener was reached from the canary (${evidence.canaryIp ?? ""}): egress is not denied`,
    ]);
    const finding = isolationFinding(evidence);
    expect(finding.status).toBe("refused");
    expect(finding.fix).toContain("enforces NetworkPolicy");
    // recorded, the verdict withdraws the proof: no new instance pod is admitted
    const recorded = await recordIsolation(client, "lab", evidence, new Date("2026-12-03T12:00:00Z"));
    expect(recorded).toMatchObject({ status: "refused", message: expect.stringContaining("not proven at 2026-12-03T12:00:00.000Z: the proof is withdrawn") });
    expect(await client.find(RECORD)).toBeUndefined();
  });

  it("dry-runs the other profiles' committed instances by server-side apply and reports every need", async (ctx) => {
    const info = needs(ctx, "node", "argocd");
    client ??= new Kube(readKubeconfig(info.adminKubeconfig));
    const profiles = loadProfiles(ROOT);

    const local = await runDoctor(client, { repo: ROOT, profile: profiles.get("local")! });
    const self = await runDoctor(client, { repo: ROOT, profile: profiles.get("self-built-example")! });

    // local: the one refusal is the pod with hostPath inputs, which Pod Security restricted forbids (its Job only gets a warning)
    const localRefused = local.findings.filter((f) => f.status === "refused");
    expect(localRefused.map((f) => f.object)).toEqual([expect.stringMatching(/^Pod\/hospital-stats-run-1-[0-9a-f]{8}$/)]);
    expect(localRefused[0].message).toContain('violates PodSecurity "restricted');
    expect(localRefused[0].message).toContain("hostPath");
    expect(local.findings.filter((f) => f.status === "warn" && f.check === "manifest").map((f) => f.object)).toEqual([expect.stringMatching(/^Job\//)]);
    expect(of(local.findings, "storage-class")).toEqual([["StorageClass (default)", "missing"]]);
    // everything else of the instance and its Argo CD wiring is admitted
    const localManifests = local.findings.filter((f) => f.check === "manifest");
    expect(
      localManifests
        .filter((f) => f.status === "ok")
        .map((f) => f.object.split("/")[0])
        .sort(),
    ).toEqual(
      [
        "AppProject",
        "ApplicationSet",
        "ConfigMap",
        "ConfigMap",
        "ConfigMap",
        "ConfigMap",
        "LimitRange",
        "Namespace",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "ResourceQuota",
      ].sort(),
    );

    // self-built-example: its RuntimeClasses, StorageClass, the provider's PersistentVolume and the GPUs are missing here
    const selfMissing = self.findings.filter((f) => f.status === "missing").map((f) => f.object);
    expect(selfMissing).toEqual(
      expect.arrayContaining([
        "RuntimeClass/gvisor",
        "RuntimeClass/kata-qemu",
        "StorageClass/encrypted-ssd",
        "resource nvidia.com/gpu",
        "NetworkPolicy enforcement",
      ]),
    );
    expect(self.findings.filter((f) => f.check === "persistent-volume").map((f) => f.status)).toEqual(["missing"]);
    // and its pod is refused at admission for the RuntimeClass it names
    const selfRefused = self.findings.filter((f) => f.status === "refused");
    expect(selfRefused.map((f) => f.object)).toEqual([expect.stringMatching(/^Pod\/bank-credit-model-run-1-[0-9a-f]{8}$/)]);
    expect(selfRefused[0].message).toContain('RuntimeClass "gvisor" not found');
    expect(self.ok).toBe(false);
    for (const finding of [...local.findings, ...self.findings].filter((f) => f.status === "missing" || f.status === "refused"))
      expect(finding.fix ?? "").not.toBe("");
    for (const [name, report] of [
      ["local", local],
      ["self-built-example", self],
    ] as const) {
      const notOk = report.findings.filter((f) => f.status !== "ok").map((f) => `${f.status} ${f.object}`);
      console.info(`${name}: ${notOk.join("; ")}`);
    }
  });
});
