/**
 * What compile renders so that the cluster refuses on its own (clusters/<cluster>/admission/): the
 * policies fail closed, carry the profile's allowed folders, pinned pod image, repositories and
 * longest deadline into their CEL, are the same bytes every time, and live under the platform's
 * Argo CD project, never the instances'. The API server's verdicts are tested in the lab
 * (test/cluster/admission.test.ts); the doctor's comparison here.
 */

import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { deniesAll, differingFields } from "../../generator/cluster/admission.js";
import { PROBE_LABEL, PROBE_SCRIPT } from "../../generator/cluster/canary.js";
import { admissionRendered, maxDeadlineSeconds, renderAdmission, renderPlatform } from "../../generator/compile/admission.js";
import { renderArgoCd } from "../../generator/compile/argocd.js";
import { ROLE_DEADLINE_SECONDS } from "../../generator/compile/instance.js";
import { loadProfiles, type ClusterProfile } from "../../generator/compile/profile.js";
import { toYaml } from "../../generator/compile/yaml.js";
import { cli } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { approveAll, signAll } from "../helpers/records.js";
import { ROOT, tempRepo } from "../helpers/repo.js";

const profiles = loadProfiles(ROOT);
const lab = profiles.get("lab")!;

type Policy = { metadata: { name: string }; spec: { failurePolicy: string; validations: { expression: string; messageExpression: string }[] } };

function policyText(profile: ClusterProfile, name: string): string {
  return JSON.stringify(renderAdmission(profile).find((o) => o.metadata.name === `datomspod-${profile.name}-${name}`));
}

describe("the admission policies compile renders", () => {
  it("are rendered for every cluster that runs instances, not for the local profile", () => {
    const files = readdirSync(join(ROOT, "clusters", "lab", "admission")).sort();

    expect(files).toEqual(
      ["isolation", "jobs", "namespaces", "networkpolicies", "pods", "probes", "volumes"]
        .flatMap((name) => [`validatingadmissionpolicy-datomspod-lab-${name}.yaml`, `validatingadmissionpolicybinding-datomspod-lab-${name}.yaml`])
        .sort(),
    );
    expect(existsSync(join(ROOT, "clusters", "self-built-example", "admission"))).toBe(true);
    expect(existsSync(join(ROOT, "clusters", "local", "admission"))).toBe(false);
    expect(admissionRendered(profiles.get("local")!)).toBe(false);
  });

  it("are the committed files, byte for byte, every time", () => {
    const first = renderAdmission(lab).map(toYaml);
    const second = renderAdmission(structuredClone(lab)).map(toYaml);

    expect(second).toEqual(first);
    for (const object of renderAdmission(lab)) {
      const file = join(ROOT, "clusters", "lab", "admission", `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`);
      expect(readFileSync(file, "utf8")).toBe(toYaml(object));
    }
  });

  it("fail closed and deny: failurePolicy Fail, every binding Deny, every rule with a message naming the field", () => {
    const objects = renderAdmission(lab);

    const policies = objects.filter((o) => o.kind === "ValidatingAdmissionPolicy") as unknown as Policy[];
    const bindings = objects.filter((o) => o.kind === "ValidatingAdmissionPolicyBinding") as unknown as {
      spec: { policyName: string; validationActions: string[] };
    }[];
    expect(policies.map((p) => p.spec.failurePolicy)).toEqual(policies.map(() => "Fail"));
    expect(bindings.map((b) => b.spec.policyName)).toEqual(policies.map((p) => p.metadata.name));
    expect(bindings.every((b) => JSON.stringify(b.spec.validationActions) === '["Deny"]')).toBe(true);
    for (const rule of policies.flatMap((p) => p.spec.validations)) expect(rule.messageExpression).toMatch(/^'(metadata|spec)\.[^ ]+ /);
  });

  it("create no pod in a dp- namespace unless the authorizer grants the isolation proof; only the probe's exact shape is exempt", () => {
    const objects = renderAdmission(lab) as any[];
    const policy = objects.find((o) => o.kind === "ValidatingAdmissionPolicy" && o.metadata.name === "datomspod-lab-isolation");
    const binding = objects.find((o) => o.kind === "ValidatingAdmissionPolicyBinding" && o.metadata.name === "datomspod-lab-isolation");
    const probes = objects.find((o) => o.kind === "ValidatingAdmissionPolicy" && o.metadata.name === "datomspod-lab-probes");

    // no parameter object: the API server's informer for a built-in paramKind can freeze (kubernetes/kubernetes#130887)
    expect(policy.spec.paramKind).toBeUndefined();
    expect(binding.spec.paramRef).toBeUndefined();
    expect(policy.spec.matchConstraints.resourceRules).toEqual([
      { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "*" },
    ]);
    expect(policy.spec.validations[0].expression).toBe(
      "authorizer.serviceAccount('datomspod-system', 'datomspod-isolation').group('datomspod.io').resource('isolation').name('datomspod-isolation').check('get').allowed()",
    );
    expect(binding.spec.matchResources.objectSelector).toEqual({ matchExpressions: [{ key: PROBE_LABEL, operator: "DoesNotExist" }] });
    // the label exempts nothing but the probe: the probes policy holds a labelled pod to the exact script, no volumes, no environment
    expect(probes.spec.matchConditions[1].expression).toBe(`has(object.metadata.labels) && '${PROBE_LABEL}' in object.metadata.labels`);
    const shape = probes.spec.validations[1].expression as string;
    expect(shape).toContain("c.command[0] == 'node' && c.command[1] == '-e' && c.command[2] == \"");
    expect(shape).toContain(JSON.stringify(PROBE_SCRIPT).slice(1, 80));
    expect(shape).toContain("!has(c.env) && !has(c.envFrom)");
    expect(shape).toContain("!has(c.lifecycle) && !has(c.livenessProbe) && !has(c.readinessProbe) && !has(c.startupProbe)");
    expect(probes.spec.validations[0].expression).toBe("!has(variables.pod.volumes) || size(variables.pod.volumes) == 0");
    // a test's scope reads a record of its own
    const scoped = renderAdmission(lab, { suffix: "t1", objectSelector: { mark: "t1" } }) as any[];
    expect(
      scoped.find((o) => o.metadata.name === "datomspod-lab-isolation-t1" && o.kind === "ValidatingAdmissionPolicy").spec.validations[0].expression,
    ).toContain(".name('datomspod-isolation-t1')");
    expect(scoped.find((o) => o.metadata.name === "datomspod-lab-isolation-t1" && o.kind.endsWith("Binding")).spec).toMatchObject({
      matchResources: { objectSelector: { matchLabels: { mark: "t1" }, matchExpressions: [{ key: PROBE_LABEL, operator: "DoesNotExist" }] } },
    });
  });

  it("carry the profile into the rules: served folders, the pinned pod image, the repositories, the longest deadline", () => {
    const pinned = `${lab.images.pod.image}@${lab.images.pod.digest}`;

    expect(policyText(lab, "volumes")).toContain("['/var/lib/datomspod/data/'].exists(p, (object.spec.hostPath.path + '/').startsWith(p))");
    expect(policyText(lab, "volumes")).toContain(`object.spec.storageClassName == '${lab.storageClassName!}'`);
    expect(policyText(lab, "jobs")).toContain(`c.image == '${pinned}'`);
    expect(policyText(lab, "jobs")).toContain("c.image.startsWith('localhost/datomspod/')");
    expect(policyText(lab, "jobs")).toContain(`object.spec.activeDeadlineSeconds <= ${604800 + ROLE_DEADLINE_SECONDS}`);
    const short = { ...lab, maxDurationSeconds: 3600 };
    expect(maxDeadlineSeconds(short)).toBe(3600 + ROLE_DEADLINE_SECONDS);
    expect(policyText(short, "pods")).toContain(`object.spec.activeDeadlineSeconds <= ${3600 + ROLE_DEADLINE_SECONDS}`);
    const exact = { ...lab, images: { ...lab.images, allowedAlgorithmRepositories: ["registry.example.org/algorithms/python"] } };
    expect(policyText(exact, "pods")).toContain("c.image.startsWith('registry.example.org/algorithms/python@')");
  });

  it("serve no folder at all on a profile without hostPathInputs", () => {
    const none = { ...lab, hostPathInputs: undefined };

    expect(policyText(none, "volumes")).toContain("[].exists(p,");
  });

  it("refuse to put a value that is not plain text into CEL", () => {
    const odd = { ...lab, images: { ...lab.images, allowedAlgorithmRepositories: ["localhost/x') || true || ('"] } };

    expect(() => renderAdmission(odd)).toThrow(/cannot be a CEL literal/);
  });

  it("take a scope for tests: names with a suffix, bindings that judge only labelled objects", () => {
    const scoped = renderAdmission(lab, { suffix: "t1", objectSelector: { "datomspod.io/admission-test": "t1" } });

    expect(scoped.every((o) => o.metadata.name.endsWith("-t1"))).toBe(true);
    const binding = scoped.find((o) => o.kind === "ValidatingAdmissionPolicyBinding") as unknown as { spec: { matchResources: { objectSelector: unknown } } };
    expect(binding.spec.matchResources.objectSelector).toEqual({ matchLabels: { "datomspod.io/admission-test": "t1" } });
  });

  it("live under the platform's Argo CD project: the instances' project cannot write them, the platform's writes nothing else", () => {
    const [project, application] = renderPlatform(lab) as unknown as [
      { metadata: { name: string }; spec: { clusterResourceWhitelist: { kind: string }[]; namespaceResourceBlacklist: unknown[] } },
      { spec: { project: string; source: { path: string }; syncPolicy: { automated: { prune: boolean; selfHeal: boolean } } } },
    ];
    const instances = renderArgoCd(lab)[0] as unknown as { spec: { clusterResourceWhitelist: { kind: string }[] } };

    expect(project.spec.clusterResourceWhitelist.map((k) => k.kind)).toEqual(["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]);
    expect(project.spec.namespaceResourceBlacklist).toEqual([{ group: "*", kind: "*" }]);
    expect(application.spec).toMatchObject({ project: project.metadata.name, source: { path: "clusters/lab/admission" } });
    // a folder emptied in git never removes the policies; an edit on the cluster is put back
    expect(application.spec.syncPolicy.automated).toMatchObject({ prune: false, selfHeal: true });
    expect(instances.spec.clusterResourceWhitelist.map((k) => k.kind)).toEqual(["Namespace", "PersistentVolume"]);
    expect(parse(readFileSync(join(ROOT, "clusters", "lab", "argocd", "appproject-platform.yaml"), "utf8"))).toEqual(project);
  });
});

describe("the doctor's comparison", () => {
  it.each([
    [{ a: 1, b: [1, 2] }, { a: 1, b: [1, 2] }, []],
    [{ a: 1, b: [1, 2] }, { a: 1, b: [2] }, ["b"]],
    [{ a: 1 }, { a: 1, excluded: {} }, ["excluded"]],
    [{ a: 1 }, undefined, ["a"]],
  ])("finds the spec fields that differ (%j against %j)", (rendered, live, fields) => {
    expect(differingFields(rendered, live)).toEqual(fields);
  });

  it.each([
    [{ podSelector: {}, policyTypes: ["Ingress", "Egress"] }, true],
    [{ podSelector: {}, policyTypes: ["Egress"] }, false],
    [{ podSelector: { matchLabels: { a: "b" } }, policyTypes: ["Ingress", "Egress"] }, false],
    [{ podSelector: {}, policyTypes: ["Ingress", "Egress"], egress: [{}] }, false],
  ])("tells a deny-all NetworkPolicy (%j: %s)", (spec, denies) => {
    expect(deniesAll({ metadata: { name: "p" }, spec })).toBe(denies);
  });
});

describe("the folders datomspod keeps in a cluster", () => {
  it("cannot be taken by a contract: compile refuses the id admission and writes nothing", async () => {
    const repo = tempRepo(["hospital-stats"]);
    renameSync(join(repo, "contracts", "hospital-stats"), join(repo, "contracts", "admission"));
    for (const folder of ["signatures", "approvals", "runs", "receipts", "acks"])
      rmSync(join(repo, "contracts", "admission", folder), { recursive: true, force: true });
    const file = join(repo, "contracts", "admission", "contract.json");
    writeFileSync(file, `${JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), id: "admission" }, null, 2)}\n`);
    await signAll(repo, "admission");
    await approveAll(repo, "admission");
    await cli(repo, "request", "admission", "run-1", "--key", testKey("health-consumer").file);

    const compiled = await cli(repo, "compile");

    expect(compiled.code).not.toBe(0);
    expect(compiled.stderr).toContain("admission is a folder datomspod keeps in every cluster (admission, argocd, operator)");
    expect(compiled.stderr).toContain("give the contract another id");
    expect(existsSync(join(repo, "clusters", "local", "admission"))).toBe(false);
  });
});
