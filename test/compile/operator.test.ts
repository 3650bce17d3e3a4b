/**
 * What compile renders for a cluster's operator and its Argo CD dashboard, and the mass-deletion
 * guard: least-privilege RBAC, secrets only referenced, one Application per instance folder with the
 * contract's state and OPS-C verdict, and no compile that removes more instances than allowed.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { renderArgoCd } from "../../generator/compile/argocd.js";
import { OPERATOR_RULES, renderOperator } from "../../generator/compile/operator.js";
import { loadProfiles, loopbackUrl, parseProfile } from "../../generator/compile/profile.js";
import { MAX_REMOVALS } from "../../generator/compile/write.js";
import { cli } from "../helpers/cli.js";
import { ROOT, tempRepo } from "../helpers/repo.js";

const profiles = loadProfiles(ROOT);

describe("the operator's manifests", () => {
  it("are rendered for clusters whose pods Argo CD runs, not for the local one", () => {
    expect(readdirSync(join(ROOT, "clusters", "self-built-example", "operator")).sort()).toEqual([
      "clusterrole.yaml",
      "clusterrolebinding.yaml",
      "deployment.yaml",
      "namespace.yaml",
      "serviceaccount.yaml",
    ]);
    expect(existsSync(join(ROOT, "clusters", "local", "operator"))).toBe(false);
  });

  it("grant only what the operator calls: read Jobs and namespaces, get claims and volumes, list pods and NetworkPolicies; nothing that writes, reads secrets, or reaches into a pod (logs, exec)", () => {
    const role = renderOperator(profiles.get("self-built-example")!).find((o) => o.kind === "ClusterRole") as unknown as {
      rules: { resources: string[]; verbs: string[] }[];
    };

    const granted = role.rules.flatMap((rule) => rule.resources.map((resource) => `${resource}:${rule.verbs.join(",")}`));

    expect(granted).toEqual([
      "jobs:get,list,watch",
      "namespaces:get,list,watch",
      "persistentvolumeclaims:get",
      "persistentvolumes:get",
      "pods:list",
      "networkpolicies:list",
    ]);
    expect(OPERATOR_RULES.flatMap((rule) => rule.verbs).filter((verb) => !["get", "list", "watch"].includes(verb))).toEqual([]);
  });

  it("take the keystore from a Secret by reference: no Secret object and no key material is rendered", () => {
    const objects = renderOperator(profiles.get("self-built-example")!);
    const text = JSON.stringify(objects);

    expect(objects.map((o) => o.kind)).not.toContain("Secret");
    expect(text).toContain('"secretName":"datomspod-operator-key"');
    expect(text).toContain('"secretKeyRef":{"name":"datomspod-operator-key","key":"password"}');
    expect(text).not.toMatch(/"(ciphertext|crypto|privateKey|mnemonic)"/);
  });

  it("run one replica, replaced (never two writers), from the profile's pod image by digest", () => {
    const profile = profiles.get("self-built-example")!;
    const deployment = parse(readFileSync(join(ROOT, "clusters", "self-built-example", "operator", "deployment.yaml"), "utf8")) as {
      spec: { replicas: number; strategy: { type: string }; template: { spec: { containers: { image: string; args: string[] }[] } } };
    };

    expect([deployment.spec.replicas, deployment.spec.strategy.type]).toEqual([1, "Recreate"]);
    expect(deployment.spec.template.spec.containers[0].image).toBe(`${profile.images.pod.image}@${profile.images.pod.digest}`);
    expect(deployment.spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining(["operator", "--cluster", "self-built-example", "--clone", profile.argocd.repoURL]),
    );
  });
});

/** The lab profile's text with `edit` applied (a YAML line replaced or added). */
function labProfileText(edit: (text: string) => string): string {
  return edit(readFileSync(join(ROOT, "clusters", "lab", "cluster.yaml"), "utf8"));
}

function issuesOf(text: string): { path: string; message: string; fix: string }[] {
  try {
    parseProfile(text, "clusters/lab/cluster.yaml", "lab");
    return [];
  } catch (error) {
    return (error as { issues: { path: string; message: string; fix: string }[] }).issues;
  }
}

describe("how the operator reaches services on the node's loopback (profile field operator)", () => {
  it("runs the lab's operator in the node's network namespace, and only the lab's: other clusters' and the instances' pods keep their own", () => {
    const deployment = renderOperator(profiles.get("lab")!).find((o) => o.kind === "Deployment") as unknown as {
      spec: { template: { spec: { hostNetwork?: boolean; containers: { env: { name: string }[] }[] } } };
    };
    const example = renderOperator(profiles.get("self-built-example")!).find((o) => o.kind === "Deployment") as unknown as {
      spec: { template: { spec: { hostNetwork?: boolean } } };
    };

    expect(deployment.spec.template.spec.hostNetwork).toBe(true);
    expect(example.spec.template.spec.hostNetwork).toBeUndefined();
    expect(deployment.spec.template.spec.containers[0].env.map((e) => e.name)).toEqual(["DATOMSPOD_KEY_PASSWORD", "HOME", "NODE_OPTIONS"]);
    // the instances' pods: the lab's admission policies refuse hostNetwork in dp- namespaces (test/cluster/admission.test.ts)
    expect(readFileSync(join(ROOT, "clusters", "lab", "admission", "validatingadmissionpolicy-datomspod-lab-pods.yaml"), "utf8")).toContain(
      "spec.hostNetwork must be false",
    );
  });

  it("schedules the operator on the node the profile names (operator.nodeSelector), and refuses a label that is not one", () => {
    const profile = parseProfile(
      labProfileText((t) => `${t}  nodeSelector:\n    kubernetes.io/hostname: sealed-node-1\n`),
      "clusters/lab/cluster.yaml",
      "lab",
    );
    const deployment = renderOperator(profile).find((o) => o.kind === "Deployment") as unknown as {
      spec: { template: { spec: { nodeSelector?: Record<string, string> } } };
    };
    const lab = renderOperator(profiles.get("lab")!).find((o) => o.kind === "Deployment") as unknown as typeof deployment;

    expect(deployment.spec.template.spec.nodeSelector).toEqual({ "kubernetes.io/hostname": "sealed-node-1" });
    expect(lab.spec.template.spec.nodeSelector).toBeUndefined();
    expect(issuesOf(labProfileText((t) => `${t}  nodeSelector:\n    kubernetes.io/hostname: "not a node!"\n`))).toEqual([
      expect.objectContaining({ path: expect.stringMatching(/operator\.nodeSelector/) }),
    ]);
    expect(issuesOf(labProfileText((t) => `${t}  nodeSelector: {}\n`))).toEqual([
      expect.objectContaining({ path: expect.stringMatching(/operator\.nodeSelector/) }),
    ]);
  });

  it("calls the API server the profile names, as the kubelet's variables for the kubernetes Service", () => {
    const profile = parseProfile(
      labProfileText((t) => `${t}  apiServer: https://127.0.0.1:41234\n`),
      "clusters/lab/cluster.yaml",
      "lab",
    );

    const deployment = renderOperator(profile).find((o) => o.kind === "Deployment") as unknown as {
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    };

    expect(deployment.spec.template.spec.containers[0].env.slice(3)).toEqual([
      { name: "KUBERNETES_SERVICE_HOST", value: "127.0.0.1" },
      { name: "KUBERNETES_SERVICE_PORT", value: "41234" },
    ]);
  });

  it("refuses a loopback address the operator's pod could not reach without hostNetwork, naming each field and the fix", () => {
    const issues = issuesOf(
      labProfileText((t) =>
        t
          .replace("  hostNetwork: true\n", "  apiServer: https://localhost:6443\n")
          .replace("repoURL: https://github.com/datomspod/datomspod.git", "repoURL: http://127.0.0.1:9418/r.git"),
      ),
    );

    expect(issues.map((issue) => issue.path)).toEqual(["$.ipfs.endpoint", "$.argocd.repoURL", "$.operator.apiServer"]);
    expect(issues[0]).toMatchObject({
      message: "http://127.0.0.1:5001 is on the node's loopback, which the operator's pod cannot reach from its own network namespace",
      fix: expect.stringContaining("set operator.hostNetwork: true"),
    });
  });

  it.each([
    "http://127.1:5001",
    "http://0x7f.0.0.1:5001",
    "http://0.0.0.0:5001",
    "http://[0:0:0:0:0:0:0:1]:5001",
    "http://[::ffff:127.0.0.1]:5001",
    "http://LOCALHOST.:5001",
    "http://kubo.localhost:5001",
  ])("refuses %s as the loopback too, however it is spelled", (url) => {
    const issues = issuesOf(
      labProfileText((t) => t.replace("  hostNetwork: true\n", "  hostNetwork: false\n").replace("endpoint: http://127.0.0.1:5001", `endpoint: ${url}`)),
    );

    expect(issues).toContainEqual(expect.objectContaining({ path: "$.ipfs.endpoint", message: expect.stringContaining("is on the node's loopback") }));
  });

  it("takes an address pods reach, and a name that only starts like the loopback", () => {
    for (const url of ["http://10.0.0.7:5001", "http://127.example.org:5001", "http://localhost.example.org:5001", "http://[fd00::1]:5001"])
      expect(loopbackUrl(url), url).toBe(false);
  });

  it.each([
    ["hostNetwork: yes", "  hostNetwork: true\n", '  hostNetwork: "yes"\n', "$.operator.hostNetwork"],
    ["an http:// API server", "  hostNetwork: true\n", "  hostNetwork: true\n  apiServer: http://127.0.0.1:6443\n", "$.operator.apiServer"],
    ["an API server with a path", "  hostNetwork: true\n", "  hostNetwork: true\n  apiServer: https://127.0.0.1:6443/api\n", "$.operator.apiServer"],
    ["an unknown field", "  hostNetwork: true\n", "  hostNetwork: true\n  hostPID: true\n", "$.operator.hostPID"],
  ])("refuses %s at its JSON path", (_name, from, to, path) => {
    const issues = issuesOf(labProfileText((t) => t.replace(from, to)));

    expect(issues.map((issue) => issue.path)).toContain(path);
  });
});

describe("the Argo CD dashboard", () => {
  it("makes one Application per instance folder (its namespace.yaml), never of admission/, argocd/ or operator/", () => {
    const appset = renderArgoCd(profiles.get("self-built-example")!)[1] as unknown as { spec: { generators: { git: { files: unknown[] } }[] } };

    expect(appset.spec.generators[0].git.files).toEqual([
      { path: "clusters/self-built-example/*/namespace.yaml" },
      { path: "clusters/self-built-example/admission/namespace.yaml", exclude: true },
      { path: "clusters/self-built-example/argocd/namespace.yaml", exclude: true },
      { path: "clusters/self-built-example/operator/namespace.yaml", exclude: true },
    ]);
  });

  it("regenerates an instance's manifests only for a commit that touches its own folder", () => {
    for (const profile of profiles.values()) {
      const appset = renderArgoCd(profile)[1] as unknown as {
        spec: { template: { metadata: { annotations: Record<string, string> }; spec: { source: { path: string } } } };
      };

      // "." is the Application's source path: clusters/<cluster>/<id>, the instance folder (nothing outside it is rendered into it)
      expect(appset.spec.template.metadata.annotations["argocd.argoproj.io/manifest-generate-paths"]).toBe(".");
      expect(appset.spec.template.spec.source.path).toBe("{{.path.path}}");
    }
  });
  it("shows the contract's state and OPS-C verdict (the instance Namespace's annotations) and links to the contract, its pull requests and anchors", () => {
    const appset = parse(readFileSync(join(ROOT, "clusters", "local", "argocd", "applicationset.yaml"), "utf8")) as {
      spec: { template: { metadata: { annotations: Record<string, string> }; spec: { info: { name: string; value: string }[] } } };
    };
    const namespace = parse(readFileSync(join(ROOT, "clusters", "local", "hospital-stats", "namespace.yaml"), "utf8")) as {
      metadata: { annotations: Record<string, string> };
    };

    expect(appset.spec.template.spec.info.map((entry) => entry.name)).toEqual(["contract", "contract state", "OPS-C verdict"]);
    expect(Object.keys(appset.spec.template.metadata.annotations).sort()).toEqual([
      "argocd.argoproj.io/manifest-generate-paths",
      "link.argocd.argoproj.io/anchors",
      "link.argocd.argoproj.io/contract",
      "link.argocd.argoproj.io/pull-requests",
    ]);
    expect(namespace.metadata.annotations["datomspod.io/state"]).toBe("active");
    expect(namespace.metadata.annotations["datomspod.io/opsc-verdict"]).toMatch(/^pass: openness \d+, privacy \d+, security \d+ \(scenario [-a-z]+\)$/);
  });
});

describe("the mass-deletion guard", () => {
  function staleFolders(repo: string, count: number): string[] {
    return Array.from({ length: count }, (_, i) => {
      const dir = join(repo, "clusters", "local", `gone-${i}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "namespace.yaml"), `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dp-gone-${i}\n`);
      return dir;
    });
  }

  it(`refuses a compile that would remove more than ${MAX_REMOVALS} instance folders, writing nothing`, async () => {
    const repo = tempRepo();
    const dirs = staleFolders(repo, MAX_REMOVALS + 1);

    const result = await cli(repo, "compile");

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`compile would remove ${MAX_REMOVALS + 1} instance folders at once (more than ${MAX_REMOVALS}): nothing was written`);
    expect(result.stderr).toContain(`compile --allow-removals ${MAX_REMOVALS + 1}`);
    expect(dirs.filter((dir) => existsSync(dir))).toHaveLength(MAX_REMOVALS + 1);
    expect(existsSync(join(repo, "clusters", "local", "hospital-stats"))).toBe(false);
  });

  it("removes them when told how many may go, and removes up to the limit without being told", async () => {
    const repo = tempRepo();
    const many = staleFolders(repo, MAX_REMOVALS + 1);

    const allowed = await cli(repo, "compile", "--allow-removals", String(MAX_REMOVALS + 1));
    const few = staleFolders(repo, MAX_REMOVALS);
    const unasked = await cli(repo, "compile");

    expect([allowed.code, unasked.code]).toEqual([0, 0]);
    expect([...many, ...few].filter((dir) => existsSync(dir))).toEqual([]);
    expect(existsSync(join(repo, "clusters", "local", "hospital-stats", "namespace.yaml"))).toBe(true);
  });

  it("refuses an --allow-removals that is not a number (exit 2)", async () => {
    const result = await cli(tempRepo(), "compile", "--allow-removals", "all");

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--allow-removals");
  });
});
