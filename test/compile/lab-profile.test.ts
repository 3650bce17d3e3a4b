/**
 * The lab profile (clusters/lab/cluster.yaml): a hostPath data location becomes a read-only
 * PersistentVolume bound to the instance's claim, so the pod holds no hostPath volume (Pod Security
 * restricted forbids one), and only folders under the profile's allowed prefixes are served; the
 * sealed-output claim names the profile's StorageClass.
 */

import { describe, expect, it } from "vitest";
import { NETWORK_SETTLE_SECONDS, renderInstance, type K8sObject } from "../../generator/compile/instance.js";
import { instanceBase, prepareContract } from "../../generator/compile/prepare.js";
import { loadContract } from "../../generator/contract/load.js";
import { InputError } from "../../generator/errors.js";
import { editJson, readText, tempRepo, writeText } from "../helpers/repo.js";

const ID = "hospital-stats";

function render(edit: (contract: any) => void = () => undefined, profile: (text: string) => string = (text) => text): K8sObject[] {
  const repo = tempRepo([ID]);
  editJson(repo, `contracts/${ID}/contract.json`, (contract) => {
    contract.cluster = "lab";
    contract.inputs.data[0].location = { kind: "hostPath", path: "/var/lib/datomspod/data/hospital-stats" };
    edit(contract);
    return contract;
  });
  writeText(repo, "clusters/lab/cluster.yaml", profile(readText(repo, "clusters/lab/cluster.yaml")));
  const loaded = loadContract(repo, ID);
  const { prepared, issues } = prepareContract(repo, loaded);
  if (issues.length > 0) throw InputError.many("refused", issues);
  return renderInstance({ ...instanceBase(loaded, prepared!), runs: [{ id: "run-1", parameters: {} }] });
}

function refusal(fn: () => unknown): { path: string; message: string; fix?: string }[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return error.issues.map(({ path, message, fix }) => ({ path, message, ...(fix === undefined ? {} : { fix }) }));
    throw error;
  }
  throw new Error("not refused");
}

describe("the lab profile", () => {
  it("serves the provider's node folder as a read-only PersistentVolume bound to the instance's claim; the pod has no hostPath", () => {
    const objects = render();

    const pv = objects.find((o) => o.kind === "PersistentVolume")!;
    const claim = objects.find((o) => o.kind === "PersistentVolumeClaim" && o.metadata.name === "input-0")!;
    const job = objects.find((o) => o.kind === "Job") as any;
    expect(pv.spec).toEqual({
      accessModes: ["ReadOnlyMany"],
      capacity: { storage: "1Mi" },
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName: "",
      claimRef: { namespace: "dp-hospital-stats", name: "input-0" },
      hostPath: { path: "/var/lib/datomspod/data/hospital-stats", type: "Directory" },
    });
    expect(claim.spec).toMatchObject({ accessModes: ["ReadOnlyMany"], storageClassName: "", volumeName: pv.metadata.name });
    const pod = job.spec.template.spec;
    expect(JSON.stringify(pod.volumes)).not.toContain("hostPath");
    expect(pod.volumes).toContainEqual({ name: "input-0", persistentVolumeClaim: { claimName: "input-0", readOnly: true } });
    // the listed file only, read-only, by subPath, in datomspace-in and in the algorithm's container
    for (const container of pod.initContainers.filter((c: any) => c.name === "datomspace-in" || c.name === "computing")) {
      expect(container.volumeMounts).toContainEqual({
        name: "input-0",
        mountPath: "/datomspod/inputs/0/patients.csv",
        subPath: "patients.csv",
        readOnly: true,
      });
    }
    const sealed = objects.find((o) => o.metadata.name === "sealed-run-1")!;
    expect(sealed.spec).toMatchObject({ storageClassName: "datomspod-lab-sealed", resources: { requests: { storage: "64Mi" } } });
    // the quota counts the input's claim
    const quota = objects.find((o) => o.kind === "ResourceQuota") as any;
    expect(quota.spec.hard.persistentvolumeclaims).toBe("2");
  });

  it("holds the algorithm back until the deny-all policy holds for the pod: datomspace-in opens the gate no earlier than the network settle time; not in the local profile, whose pod has no network", () => {
    const args = (objects: K8sObject[]): string[] =>
      (objects.find((o) => o.kind === "Job") as any).spec.template.spec.initContainers.find((c: any) => c.name === "datomspace-in").args;

    const lab = args(render());
    expect(lab.slice(lab.indexOf("--network-settle"), lab.indexOf("--network-settle") + 2)).toEqual(["--network-settle", String(NETWORK_SETTLE_SECONDS)]);
    expect(NETWORK_SETTLE_SECONDS).toBeGreaterThanOrEqual(5);
    expect(
      args(
        render((contract) => {
          contract.cluster = "local";
        }),
      ),
    ).not.toContain("--network-settle");
  });

  it.each([
    ["outside the allowed folders", "/srv/hospital", "$.inputs.data[0].location.path"],
    ["beside them, with a name that begins alike", "/var/lib/datomspod/database", "$.inputs.data[0].location.path"],
  ])("refuses a node folder %s", (_name, path, at) => {
    const issues = refusal(() => render((contract) => (contract.inputs.data[0].location.path = path)));

    expect(issues).toEqual([
      {
        path: at,
        message: `${path} is not under a folder cluster lab serves (/var/lib/datomspod/data/)`,
        fix: "keep the data under one of those folders on the node, or add its folder to hostPathInputs.allowedPathPrefixes of the cluster profile",
      },
    ]);
  });

  it("refuses a node folder climbing out of them (the contract's schema already does)", () => {
    const issues = refusal(() => render((contract) => (contract.inputs.data[0].location.path = "/var/lib/datomspod/data/../../../etc")));

    expect(issues.map((issue) => [issue.path, issue.message.split(" ").slice(0, 6).join(" ")])).toEqual([
      ["$.inputs.data[0].location.path", "does not match the required format"],
    ]);
  });

  it("refuses hostPath data on a cluster profile that does not serve node folders", () => {
    const issues = refusal(() => render(undefined, (text) => text.replace(/hostPathInputs:\n(.*\n){3}/, "")));

    expect(issues).toEqual([
      {
        path: "$.inputs.data[0].location.kind",
        message: "hostPath is only allowed in the local profile, and cluster lab is self-built without hostPathInputs",
        fix: "use a pvc, csi or nfs location on a real cluster, or let the cluster profile serve node folders (hostPathInputs)",
      },
    ]);
  });

  it("gives the pod template the Job's deadline, so the pods the Job controller makes pass the cluster's admission policy", () => {
    const job = render().find((o) => o.kind === "Job") as any;

    expect(job.spec.template.spec.activeDeadlineSeconds).toBe(job.spec.activeDeadlineSeconds);
    expect(job.spec.activeDeadlineSeconds).toBe(300 + 600);
  });

  it("refuses a contract that asks for a longer run than the profile's maxDurationSeconds", () => {
    const issues = refusal(() => render(undefined, (text) => text.replace("sealedOutputSize: 64Mi\n", "sealedOutputSize: 64Mi\nmaxDurationSeconds: 120\n")));

    expect(issues).toEqual([
      {
        path: "$.inputs.compute.maxDurationSeconds",
        message: "is 300, longer than the 120 s cluster lab takes (maxDurationSeconds of its profile)",
        fix: "ask for at most 120 seconds, or choose a cluster that takes longer runs",
      },
    ]);
  });
});
