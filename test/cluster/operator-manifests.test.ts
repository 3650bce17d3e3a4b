/**
 * The operator's rendered manifests (clusters/self-built-example/operator/) are admitted by the lab's
 * real API server: server-side apply with dryRun=All, each object as rendered, except that the
 * namespaced ones go to a namespace of this test (the rendered `datomspod-system` is not made here).
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/repo.js";
import { kube, needs, providedLab } from "./lab/context.js";
import { runId } from "./lab/workloads.js";

const NAMESPACE = `dp-opdry-${runId()}`;
const PATHS: Record<string, (namespace: string | undefined, name: string) => string> = {
  Namespace: (_ns, name) => `/api/v1/namespaces/${name}`,
  ServiceAccount: (ns, name) => `/api/v1/namespaces/${ns}/serviceaccounts/${name}`,
  ClusterRole: (_ns, name) => `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`,
  ClusterRoleBinding: (_ns, name) => `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`,
  Deployment: (ns, name) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
};

afterAll(async () => {
  const info = providedLab().info;
  if (info !== undefined) await kube(info).delete(`/api/v1/namespaces/${NAMESPACE}`);
});

describe("the operator's manifests on a real API server", () => {
  it("are admitted by server-side apply (dryRun=All): Deployment, ServiceAccount, ClusterRole, ClusterRoleBinding, Namespace", async (ctx) => {
    const api = kube(needs(ctx));
    await api.request("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NAMESPACE, labels: { "datomspod.io/lab-test": "true" } },
    });
    const dir = join(ROOT, "clusters", "self-built-example", "operator");
    const admitted: string[] = [];

    for (const file of readdirSync(dir).sort()) {
      const object = parse(readFileSync(join(dir, file), "utf8")) as { kind: string; metadata: { name: string; namespace?: string } };
      if (object.metadata.namespace !== undefined) object.metadata.namespace = NAMESPACE;
      const subjects = (object as { subjects?: { namespace?: string }[] }).subjects ?? [];
      for (const subject of subjects) subject.namespace = NAMESPACE;
      const path = PATHS[object.kind](object.metadata.namespace, object.metadata.name);
      const answer = await api.request("PATCH", `${path}?fieldManager=datomspod-operator-test&dryRun=All&force=true`, object, "application/apply-patch+yaml");
      admitted.push(`${answer.kind}/${answer.metadata.name}`);
    }

    expect(admitted).toEqual([
      "ClusterRole/datomspod-operator",
      "ClusterRoleBinding/datomspod-operator",
      "Deployment/datomspod-operator",
      "Namespace/datomspod-system",
      "ServiceAccount/datomspod-operator",
    ]);
  });
});
