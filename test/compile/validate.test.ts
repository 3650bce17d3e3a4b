import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import type { K8sObject } from "../../generator/compile/instance.js";
import { planCompile } from "../../generator/compile/plan.js";
import { validateObjects } from "../../generator/compile/validate.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { AT } from "./repo.js";

const rendered = planCompile(PACKAGE_ROOT, new Date(AT)).contracts.flatMap((c) => c.objects);
const job = rendered.find((o) => o.kind === "Job")!;

function mutate(object: K8sObject, edit: (o: any) => void): K8sObject {
  const copy = structuredClone(object) as any;
  edit(copy);
  return copy;
}

const broken: [string, K8sObject, string][] = [
  [
    "an unknown container field",
    mutate(job, (o) => (o.spec.template.spec.initContainers[1].foo = 1)),
    "$.spec.template.spec.initContainers[1].foo: is not a field of this object",
  ],
  ["a string where an integer belongs", mutate(job, (o) => (o.spec.backoffLimit = "0")), "$.spec.backoffLimit: must be integer, not string"],
  ["a missing required field", mutate(job, (o) => delete o.spec.template.spec.containers[0].name), "$.spec.template.spec.containers[0].name: is required"],
  [
    "an unknown top-level field",
    mutate(
      rendered.find((o) => o.kind === "NetworkPolicy")!,
      (o) => (o.egress = []),
    ),
    "$.egress: is not a field of this object",
  ],
];

describe("strict validation of rendered objects", () => {
  it("accepts every object the example contracts render", () => {
    expect(validateObjects(rendered, "clusters")).toEqual([]);
  });

  it.each(broken)("rejects %s", (_, object, message) => {
    const issues = validateObjects([object], "clusters/x");

    expect(issues.map((i) => `${i.path}: ${i.message}`)).toContain(`${message} (Kubernetes schema)`);
  });

  const kubeconform = join(homedir(), ".cache", "datomspod", "bin", "kubeconform");
  it.runIf(existsSync(kubeconform))("agrees with the real kubeconform on the same schemas", () => {
    const dir = mkdtempSync(join(tmpdir(), "datomspod-kubeconform-"));
    const verdict = (object: K8sObject): boolean => {
      const file = join(dir, "object.yaml");
      writeFileSync(file, stringify(object));
      const result = spawnSync(
        kubeconform,
        ["-strict", "-summary", "-schema-location", join(PACKAGE_ROOT, "generator/compile/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json"), file],
        { encoding: "utf8" },
      );
      return result.status === 0;
    };

    const verdicts = [...rendered, ...broken.map(([, object]) => object)].map((object) => [verdict(object), validateObjects([object], "x").length === 0]);

    expect(verdicts.every(([real, ours]) => real === ours)).toBe(true);
    expect(verdicts.filter(([real]) => !real)).toHaveLength(broken.length);
    execFileSync("rm", ["-rf", dir]);
  });
});
