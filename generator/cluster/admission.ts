/**
 * The doctor's `admission` check: the cluster refuses on its own only if the admission policies
 * compile renders for the profile (generator/compile/admission.ts) are there exactly as rendered.
 *
 *   - every rendered ValidatingAdmissionPolicy and binding exists, and its spec equals the rendered
 *     one (the API server's type checking of a policy's CEL has nothing to warn about);
 *   - every `dp-` namespace of an instance (labelled with its contract) that has datomspod pods holds
 *     the deny-all NetworkPolicy: a policy cannot look up other objects, so this is checked here.
 *
 * A missing policy is "missing", one that differs (a weaker rule, another action than Deny, an
 * exclusion) or an instance namespace without deny-all is "refused": fail closed.
 */

import { isDeepStrictEqual } from "node:util";
import type { K8sObject } from "../compile/instance.js";
import { LABELS } from "../compile/names.js";
import type { Finding } from "./doctor.js";
import { resourcePath, type Kube } from "./kube.js";

interface Live {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly spec?: Record<string, unknown>;
  readonly status?: { readonly typeChecking?: { readonly expressionWarnings?: readonly { readonly fieldRef: string; readonly warning: string }[] } };
}

interface NetworkPolicyView extends Live {
  readonly spec?: { podSelector?: { matchLabels?: object; matchExpressions?: unknown[] }; policyTypes?: string[]; ingress?: unknown[]; egress?: unknown[] };
}

/** The top-level fields of `spec` whose live value is not the rendered one. */
export function differingFields(rendered: Record<string, unknown>, live: Record<string, unknown> | undefined): string[] {
  const keys = new Set([...Object.keys(rendered), ...Object.keys(live ?? {})]);
  return [...keys].filter((key) => !isDeepStrictEqual(rendered[key], live?.[key])).sort();
}

/** Whether a NetworkPolicy denies all ingress and egress of every pod of its namespace. */
export function deniesAll(policy: NetworkPolicyView): boolean {
  const spec = policy.spec ?? {};
  const selectsAll = Object.keys(spec.podSelector?.matchLabels ?? {}).length === 0 && (spec.podSelector?.matchExpressions ?? []).length === 0;
  const types = spec.policyTypes ?? [];
  return selectsAll && types.includes("Ingress") && types.includes("Egress") && (spec.ingress ?? []).length === 0 && (spec.egress ?? []).length === 0;
}

async function policies(kube: Kube, cluster: string, expected: readonly K8sObject[]): Promise<Finding[]> {
  const fix = `apply clusters/${cluster}/admission/ as rendered (Argo CD's Application datomspod-${cluster}-admission syncs it; or kubectl apply --server-side -f clusters/${cluster}/admission/)`;
  const findings: Finding[] = [];
  for (const object of expected) {
    const label = `${object.kind}/${object.metadata.name}`;
    const live = await kube.find<Live>(resourcePath(object.apiVersion, object.kind, undefined, object.metadata.name));
    if (live === undefined) {
      findings.push({
        check: "admission",
        object: label,
        status: "missing",
        message: "the cluster does not have it: a hand-edited instance is refused by nothing but review",
        fix,
      });
      continue;
    }
    const differing = differingFields(object["spec"] as Record<string, unknown>, live.spec);
    const warnings = live.status?.typeChecking?.expressionWarnings ?? [];
    findings.push(
      differing.length > 0
        ? {
            check: "admission",
            object: label,
            status: "refused",
            message: `differs from the rendered one in spec.${differing.join(", spec.")}: the cluster may admit what compile never renders`,
            fix,
          }
        : warnings.length > 0
          ? {
              check: "admission",
              object: label,
              status: "warn",
              message: `as rendered, but the API server warns: ${warnings.map((w) => `${w.fieldRef}: ${w.warning}`).join("; ")}`,
              fix: "report this: the policy's CEL does not type-check against this API server",
            }
          : { check: "admission", object: label, status: "ok", message: "as rendered" },
    );
  }
  return findings;
}

async function denyAllPresent(kube: Kube): Promise<Finding[]> {
  const namespaces = (await kube.list<Live>(resourcePath("v1", "Namespace", undefined), { labelSelector: `${LABELS.contract},!datomspod.io/doctor` }))
    .map((ns) => ns.metadata.name)
    .filter((name) => name.startsWith("dp-"));
  const withPods = new Set(
    (await kube.list<Live>("/api/v1/pods", { labelSelector: `${LABELS.managedBy}=datomspod` })).map((pod) => pod.metadata.namespace ?? ""),
  );
  const denied = new Set(
    (await kube.list<NetworkPolicyView>("/apis/networking.k8s.io/v1/networkpolicies")).filter(deniesAll).map((policy) => policy.metadata.namespace ?? ""),
  );
  return namespaces
    .filter((name) => withPods.has(name) && !denied.has(name))
    .sort()
    .map((name) => ({
      check: "admission",
      object: `Namespace/${name}`,
      status: "refused",
      message: "runs datomspod pods without a deny-all NetworkPolicy: its algorithm may reach the network",
      fix: `restore networkpolicy-deny-all.yaml in the instance's folder (datomspod compile renders it) and let Argo CD sync, or delete namespace ${name}`,
    }));
}

export async function checkAdmission(kube: Kube, cluster: string, expected: readonly K8sObject[]): Promise<Finding[]> {
  return [...(await policies(kube, cluster, expected)), ...(await denyAllPresent(kube))];
}
