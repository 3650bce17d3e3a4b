/**
 * What the cluster refuses on its own: the admission policies compile renders for the lab profile
 * (clusters/lab/admission/), applied to the lab's real API server, refuse each hand-edited object
 * an instance folder could carry past review (a PersistentVolume of /etc, an image by tag or from
 * another repository, a Job without a deadline, a dp- namespace losing Pod Security restricted,
 * an inline hostPath, hostNetwork, …) with a message naming the field and the fix, and still admit
 * the hospital-stats instance exactly as compile renders it for the lab profile. The doctor reports
 * the policies missing before they are applied, as rendered after, and a weakened one as refused.
 *
 * The lab is shared: the policies and bindings carry this run's id in their names, and the bindings
 * judge only objects labelled with it (every object here carries the label), so other tests' objects
 * are never judged by them. Everything made here is removed afterwards.
 */

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { checkAdmission } from "../../generator/cluster/admission.js";
import { Kube, KubeError, readKubeconfig, resourcePath, type KubeObject } from "../../generator/cluster/kube.js";
import { isolationRecordName, renderAdmission } from "../../generator/compile/admission.js";
import { isolationGrant } from "../../generator/cluster/doctor.js";
import { probePod } from "../../generator/cluster/canary.js";
import { loadProfiles } from "../../generator/compile/profile.js";
import { needs, providedLab } from "./lab/context.js";
import { labContract, removeLabData } from "./lab/datomspod.js";
import type { LocalImage } from "./lab/images.js";
import { runId } from "./lab/workloads.js";

const run = runId();
const id = `hospital-stats-adm-${run}`;
const NS = `dp-${id}`;
const MARK = "datomspod.io/admission-test";
const scope = { suffix: run, objectSelector: { [MARK]: run } };
const recordName = isolationRecordName(scope);
let client: Kube | undefined;
const installed: KubeObject[] = [];

afterAll(async () => {
  if (providedLab().info !== undefined && client !== undefined) {
    await client.delete(`/api/v1/namespaces/${NS}`);
    await client.delete(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${recordName}`);
    await client.delete(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${recordName}`);
    for (const object of [...installed].reverse()) await client.delete(resourcePath(object.apiVersion!, object.kind!, undefined, object.metadata.name));
    client.close();
  }
  removeLabData(id);
});

/** An image that is never pulled: admission is all this test exercises. */
function fakeImage(repository: string, n: string): LocalImage {
  const digest = `sha256:${n.repeat(64)}`;
  return { tag: `${repository}:0.1.0`, repository, digest, pinned: `${repository}@${digest}` };
}

function marked<T extends KubeObject>(object: T): T {
  const copy = structuredClone(object);
  copy.metadata.labels = { ...(copy.metadata.labels ?? {}), [MARK]: run };
  return copy;
}

async function dryRunCreate(kube: Kube, object: KubeObject): Promise<void> {
  await kube.call("POST", `${resourcePath(object.apiVersion!, object.kind!, object.metadata.namespace)}?dryRun=All&fieldManager=datomspod-lab-test`, object);
}

async function refusal(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (error instanceof KubeError) return error.message;
    throw error;
  }
  return "admitted";
}

describe("the admission policies of the lab profile on the lab's API server", () => {
  it("refuse every hand-edited object with the field and the fix, and admit the instance as rendered", async (ctx) => {
    const info = needs(ctx);
    client = new Kube(readKubeconfig(info.adminKubeconfig));
    const kube = client;
    const images = { pod: fakeImage("localhost/datomspod/pod", "a"), python: fakeImage("localhost/datomspod/python", "b") };
    const prepared = await labContract(id, images);
    const profile = loadProfiles(prepared.repo).get("lab")!;
    const expected = renderAdmission(profile, scope);
    const objects = readdirSync(prepared.folder)
      .sort()
      .map((file) => marked(parse(readFileSync(join(prepared.folder, file), "utf8")) as KubeObject));
    const namespace = objects.find((o) => o.kind === "Namespace")!;
    const job = objects.find((o) => o.kind === "Job")! as KubeObject & { spec: any };
    const pv = objects.find((o) => o.kind === "PersistentVolume")! as KubeObject & { spec: any };
    const podOf = (j: { metadata: KubeObject["metadata"]; spec: any }): KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: j.metadata.name, namespace: NS, labels: { ...j.spec.template.metadata.labels, [MARK]: run } },
      spec: j.spec.template.spec,
    });

    // before: the doctor finds them missing
    const before = await checkAdmission(kube, "lab", expected);
    expect(before.filter((f) => f.object.endsWith(run)).map((f) => f.status)).toEqual(expected.map(() => "missing"));

    for (const object of expected) {
      await kube.create(object);
      installed.push(object);
    }
    const after = await checkAdmission(kube, "lab", expected);
    expect(
      after.filter((f) => f.object.endsWith(run)).map((f) => [f.object, f.status]),
      JSON.stringify(after),
    ).toEqual(expected.map((o) => [`${o.kind}/${o.metadata.name}`, "ok"]));
    // a policy binding takes a moment to reach the admission chain
    await new Promise((resolve) => setTimeout(resolve, 3000));

    // the instance as rendered: admitted (the Namespace for real, everything else by dry run; the Job's pod as a Pod too)
    await kube.create(namespace);
    for (const object of objects.filter((o) => o.kind !== "Namespace")) {
      const answer = await kube.apply(object, "datomspod-lab-test", true);
      expect(answer.warnings, `${object.kind}/${object.metadata.name}`).toEqual([]);
    }
    // the isolation gate: no proof → no instance pod; the probe runs regardless, only in its own shape
    await kube.delete(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${recordName}`);
    const probe = marked(probePod(NS, "probe", images.pod.pinned, ["serve", "8080"]));
    const notProbe = structuredClone(probe) as any;
    notProbe.spec.containers[0].command = ["node", "-e", "require('fs').readdirSync('/')"];
    const hookedProbe = structuredClone(probe) as any;
    hookedProbe.spec.containers[0].lifecycle = { postStart: { exec: { command: ["node", "-e", "1"] } } };
    const gate = {
      withoutRecord: await refusal(() => dryRunCreate(kube, podOf(job))),
      probeWithoutRecord: await refusal(() => dryRunCreate(kube, probe)),
      otherCodeAsProbe: await refusal(() => dryRunCreate(kube, notProbe)),
      hookedProbe: await refusal(() => dryRunCreate(kube, hookedProbe)),
    };
    // the API server reads the record through an informer: a moment passes before it sees a change
    const settled = async (wanted: (answer: string) => boolean): Promise<string> => {
      let answer = "";
      for (let i = 0; i < 120 && !wanted((answer = await refusal(() => dryRunCreate(kube, podOf(job))))); i++)
        await new Promise((resolve) => setTimeout(resolve, 500));
      return answer;
    };
    console.info(JSON.stringify(gate, null, 1));
    expect(gate.withoutRecord).toContain("runs only once the cluster proved it enforces NetworkPolicy, and there is no proof");
    expect(gate.probeWithoutRecord).toBe("admitted");
    expect(gate.otherCodeAsProbe).toContain("must run cluster doctor's probe script");
    expect(gate.hookedProbe).toContain("without environment, mounts, lifecycle hooks or probes");
    // the doctor's grant, as --record makes it after a canary that was refused everywhere
    for (const grant of isolationGrant(recordName, "lab", "2026-12-03T00:00:00.000Z", "{}")) await kube.apply(grant, "datomspod-lab-test");

    expect(await settled((answer) => answer === "admitted")).toBe("admitted");

    const edited = (edit: (spec: any) => void): KubeObject => {
      const copy = structuredClone(job);
      edit(copy.spec);
      return copy;
    };
    const computing = (spec: any): any => spec.template.spec.initContainers.find((c: any) => c.name === "computing");
    const cases: [string, () => Promise<unknown>, string][] = [
      [
        "a PersistentVolume of /etc",
        () =>
          kube.apply(
            { ...pv, metadata: { ...pv.metadata, name: `${pv.metadata.name}-etc` }, spec: { ...pv.spec, hostPath: { path: "/etc", type: "Directory" } } },
            "t",
            true,
          ),
        "spec.hostPath.path must be a folder under /var/lib/datomspod/data/",
      ],
      [
        "a writable input volume",
        () => kube.apply({ ...pv, spec: { ...pv.spec, accessModes: ["ReadWriteOnce"] } }, "t", true),
        "spec.accessModes of an input volume must be [ReadOnlyMany]",
      ],
      [
        "an image by tag",
        () =>
          kube.apply(
            edited((spec) => (computing(spec).image = "localhost/datomspod/python:3.12")),
            "t",
            true,
          ),
        "must be pinned by digest (repository@sha256:<64 hex>): render the instance with datomspod compile, which pins every image (computing=localhost/datomspod/python:3.12)",
      ],
      [
        "an image from another repository",
        () =>
          kube.apply(
            edited((spec) => (computing(spec).image = `docker.io/library/python@sha256:${"c".repeat(64)}`)),
            "t",
            true,
          ),
        `or come from localhost/datomspod/ (images.allowedAlgorithmRepositories of the cluster profile): use an allowed image (computing=docker.io/library/python@sha256:${"c".repeat(64)})`,
      ],
      [
        "another pod image for a role",
        () =>
          kube.apply(
            edited((spec) => (spec.template.spec.containers[0].image = `localhost/datomspod/pod@sha256:${"d".repeat(64)}`)),
            "t",
            true,
          ),
        "must be the pinned pod image localhost/datomspod/pod@sha256:",
      ],
      [
        "an algorithm image for a role",
        () =>
          kube.apply(
            edited((spec) => (spec.template.spec.containers[0].image = images.python.pinned)),
            "t",
            true,
          ),
        "containers[].image of the role containers (datomspace-in, datomspace-out, oracle) must be the pinned pod image",
      ],
      [
        "a Job without a deadline",
        () =>
          kube.apply(
            edited((spec) => delete spec.activeDeadlineSeconds),
            "t",
            true,
          ),
        "spec.activeDeadlineSeconds must be set and at most 605400 seconds",
      ],
      [
        "an inline hostPath",
        () =>
          kube.apply(
            edited((spec) => spec.template.spec.volumes.push({ name: "host", hostPath: { path: "/" } })),
            "t",
            true,
          ),
        "spec.template.spec.volumes[].hostPath is not allowed",
      ],
      [
        "hostNetwork",
        () =>
          kube.apply(
            edited((spec) => (spec.template.spec.hostNetwork = true)),
            "t",
            true,
          ),
        "spec.template.spec.hostNetwork must be false",
      ],
      [
        "a service account token",
        () =>
          kube.apply(
            edited((spec) => (spec.template.spec.automountServiceAccountToken = true)),
            "t",
            true,
          ),
        "spec.template.spec.automountServiceAccountToken must be false",
      ],
      [
        "a writable root filesystem",
        () =>
          kube.apply(
            edited((spec) => (computing(spec).securityContext = { ...computing(spec).securityContext, readOnlyRootFilesystem: false })),
            "t",
            true,
          ),
        "readOnlyRootFilesystem must be true: containers write only to their emptyDir volumes (computing)",
      ],
      [
        "a bare pod without a deadline",
        () => dryRunCreate(kube, podOf(edited((spec) => delete spec.template.spec.activeDeadlineSeconds) as any)),
        "spec.activeDeadlineSeconds must be set",
      ],
      [
        "a NetworkPolicy that allows egress",
        () =>
          kube.apply(
            marked({
              apiVersion: "networking.k8s.io/v1",
              kind: "NetworkPolicy",
              metadata: { name: "allow-all", namespace: NS },
              spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{}] },
            }),
            "t",
            true,
          ),
        "spec.ingress and spec.egress of a NetworkPolicy in a dp- namespace must be empty",
      ],
      [
        "the namespace losing Pod Security restricted",
        () =>
          kube.call(
            "PATCH",
            `/api/v1/namespaces/${NS}?dryRun=All`,
            { metadata: { labels: { "pod-security.kubernetes.io/enforce": null } } },
            "application/merge-patch+json",
          ),
        `metadata.labels[pod-security.kubernetes.io/enforce] of a dp- namespace must be restricted and cannot be removed`,
      ],
      [
        "the namespace at a lower Pod Security level",
        () =>
          kube.call(
            "PATCH",
            `/api/v1/namespaces/${NS}?dryRun=All`,
            { metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } } },
            "application/merge-patch+json",
          ),
        `(namespace ${NS})`,
      ],
    ];
    const outcomes = [];
    for (const [what, action] of cases) outcomes.push([what, await refusal(action)]);
    console.info(outcomes.map(([what, got]) => `${what}: ${got}`).join("\n"));
    for (const [i, [what, , message]] of cases.entries()) {
      const [, got] = outcomes[i];
      expect(got, what).toContain("ValidatingAdmissionPolicy");
      expect(got, what).toContain(message);
    }

    // the proof withdrawn (the doctor's canary got through): the next pod is refused again, at once
    await kube.delete(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${recordName}`);
    expect(await settled((answer) => answer !== "admitted")).toContain("there is no proof");

    // a weakened policy (a rule dropped on the cluster) is reported as refused by the doctor
    const jobs = expected.find((o) => o.kind === "ValidatingAdmissionPolicy" && o.metadata.name === `datomspod-lab-jobs-${run}`)!;
    const live = await kube.get<any>(resourcePath(jobs.apiVersion, jobs.kind, undefined, jobs.metadata.name));
    live.spec.validations = live.spec.validations.slice(1);
    await kube.call("PUT", resourcePath(jobs.apiVersion, jobs.kind, undefined, jobs.metadata.name), live);
    const weakened = (await checkAdmission(kube, "lab", expected)).find((f) => f.object === `ValidatingAdmissionPolicy/${jobs.metadata.name}`)!;
    expect(weakened.status).toBe("refused");
    expect(weakened.message).toContain("differs from the rendered one in spec.validations");
    expect(weakened.fix).toContain("clusters/lab/admission/");
  });
});
