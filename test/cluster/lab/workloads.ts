/**
 * Plain test manifests for the lab (no datomspod rendering: this phase proves the infrastructure):
 * namespaces with Pod Security `restricted`, pods that satisfy it, and reading what pods print
 * from the kubelet's log files in the lab folder (the API server cannot reach the kubelet, which
 * listens on 127.0.0.1 only, so `kubectl logs` is not an option).
 */

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "./exec.js";
import { KubeError, type Kube, type KubeObject } from "./kube.js";
import type { LabInfo } from "./lab.js";

/** A short random suffix, so every run makes names of its own. */
export function runId(): string {
  return randomBytes(3).toString("hex");
}

/** A namespace whose Pod Security level is `restricted` (enforced, audited, warned). */
export function restrictedNamespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name,
      labels: {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        "datomspod.io/lab-test": "true",
        ...labels,
      },
    },
  };
}

/** A pod spec that Pod Security `restricted` accepts, running `script` with busybox sh. */
export function restrictedPodSpec(image: string, script: string, options: { env?: Record<string, string>; restartPolicy?: string } = {}): Record<string, any> {
  return {
    restartPolicy: options.restartPolicy ?? "Never",
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: 1,
    securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "main",
        image,
        imagePullPolicy: "Never",
        command: ["/bin/sh", "-c", script],
        env: Object.entries(options.env ?? {}).map(([name, value]) => ({ name, value })),
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
      },
    ],
  };
}

export function pod(namespace: string, name: string, spec: Record<string, any>, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels: { app: name, ...labels } }, spec };
}

/** Waits until the pod runs and has an address; resolves with the pod. */
export async function waitPodRunning(kube: Kube, namespace: string, name: string, timeoutMs = 90_000): Promise<any> {
  return waitFor(`pod ${namespace}/${name} Running with an IP`, timeoutMs, async () => {
    const found = await kube.find(`/api/v1/namespaces/${namespace}/pods/${name}`);
    if (found?.status?.phase === "Failed" || found?.status?.phase === "Succeeded")
      throw new Error(`pod ${namespace}/${name} ended: ${JSON.stringify(found.status)}`);
    return found?.status?.phase === "Running" && found.status.podIP ? found : undefined;
  });
}

/**
 * The lines a pod's container printed so far (CRI log files: `<time> <stream> <tag> <text>`), from
 * <podLogsDir>/<namespace>_<pod>_<uid>/<container>/*.log.
 */
export function podLines(info: LabInfo, namespace: string, podName: string, container = "main"): string[] {
  if (!existsSync(info.podLogsDir)) return [];
  const folder = readdirSync(info.podLogsDir).find((entry) => entry.startsWith(`${namespace}_${podName}_`));
  if (folder === undefined) return [];
  const dir = join(info.podLogsDir, folder, container);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith(".log"))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10))
    .flatMap((file) => readFileSync(join(dir, file), "utf8").split("\n"))
    .filter((line) => line !== "")
    .map((line) => line.split(" ").slice(3).join(" "));
}

/** Deletes namespaces (no wait); ones already gone are fine. */
export async function deleteNamespaces(kube: Kube, names: readonly string[]): Promise<void> {
  for (const name of names) await kube.delete(`/api/v1/namespaces/${name}`);
}

/** Waits until the namespace is gone (404). */
export async function waitNamespaceGone(kube: Kube, name: string, timeoutMs: number): Promise<void> {
  await waitFor(`namespace ${name} gone`, timeoutMs, async () => ((await kube.find(`/api/v1/namespaces/${name}`)) === undefined ? true : undefined));
}

/** The API server's refusal of `object` (e.g. Pod Security), or undefined when it was accepted. */
export async function refusal(kube: Kube, path: string, object: KubeObject): Promise<KubeError | undefined> {
  try {
    await kube.request("POST", path, object);
    return undefined;
  } catch (error) {
    if (error instanceof KubeError) return error;
    throw error;
  }
}
