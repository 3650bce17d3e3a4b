/**
 * Proves that the cluster enforces the deny-all NetworkPolicy every instance renders, before any
 * instance runs there: a policy is only a request to the CNI, and a CNI that ignores it lets the
 * algorithm talk to anything.
 *
 * In two fresh `dp-` namespaces with Pod Security `restricted` (removed afterwards):
 *
 *   <prefix>-target   a target pod serving HTTP, and a control pod (no policy) that probes the
 *                     target and every listener: it must get through, or the probe proves nothing;
 *   <prefix>          the instance's deny-all policy, then a canary pod that probes the same
 *                     targets after a settle time: every try must fail.
 *
 * Listeners are the URLs the operator names (--egress-url) and one the doctor opens itself on an
 * address the pods can route to (--listen), which also records who connected, so a canary that
 * reports "closed" while its packets arrived is still caught. The pods report through their
 * termination message (the API server carries it), so no `kubectl logs` path to the kubelet is
 * needed. The verdict (judgeIsolation) fails closed: anything but "the control got through and
 * the canary never did, and no listener saw it" refuses.
 */

import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { Kube, KubeObject } from "./kube.js";

export const CANARY_PORT = 8080;
/**
 * The label of the probe pods: the admission policies let them run before isolation is proven
 * (they are what proves it) and hold them to the probe's shape (compile/admission.ts).
 */
export const PROBE_LABEL = "datomspod.io/isolation-probe";

/** The parts of a Pod the canary reads. */
interface PodView {
  readonly status?: {
    readonly phase?: string;
    readonly podIP?: string;
    readonly containerStatuses?: readonly { readonly state?: { readonly terminated?: { readonly message?: string } } }[];
  };
}

/** What the probe pods run with `node -e` (node is in the datomspod pod image): serve, or probe name=url pairs and report JSON in the termination message. */
export const PROBE_SCRIPT = `
const http = require("http");
const fs = require("fs");
const [mode, ...args] = process.argv.slice(1);
if (mode === "serve") {
  http.createServer((req, res) => res.end("datomspod-canary\\n")).listen(Number(args[0]));
} else {
  const [settleMs, tries, intervalMs, ...pairs] = args;
  const targets = pairs.map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]);
  const once = (url) => new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => { res.resume(); resolve("OPEN"); });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (error) => resolve("CLOSED:" + (error.code || error.message)));
  });
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  (async () => {
    await sleep(Number(settleMs));
    const results = Object.fromEntries(targets.map(([name]) => [name, []]));
    for (let i = 0; i < Number(tries); i++) {
      for (const [name, url] of targets) results[name].push(await once(url));
      await sleep(Number(intervalMs));
    }
    const text = JSON.stringify(results);
    fs.writeFileSync("/dev/termination-log", text);
    console.log(text);
  })();
}
`;

export interface CanaryOptions {
  /** The image the probe pods run (node on PATH): the profile's pod image, by digest. */
  readonly image: string;
  /** URLs outside the cluster's pods that an isolated pod must not reach. */
  readonly egressUrls?: readonly string[];
  /** An address the pods can route to where the doctor opens a listener of its own (e.g. the node's address). */
  readonly listen?: string;
  /** Whether the canary's namespace gets the deny-all policy (default true; false only to show what a non-enforcing cluster looks like). */
  readonly policy?: boolean;
  readonly settleSeconds?: number;
  readonly tries?: number;
  readonly timeoutMs?: number;
  /** Namespace prefix (default dp-doctor-<random>). */
  readonly prefix?: string;
  readonly log?: (line: string) => void;
}

export type ProbeResults = Record<string, string[]>;

export interface IsolationEvidence {
  readonly namespace: string;
  readonly targets: Record<string, string>;
  readonly policy: boolean;
  /** What the control pod (no policy) saw, or undefined when it reported nothing. */
  readonly control?: ProbeResults;
  /** What the canary (under the policy) saw, or undefined when it reported nothing. */
  readonly canary?: ProbeResults;
  /** Addresses that connected to the doctor's own listener. */
  readonly listenerSaw: readonly string[];
  readonly canaryIp?: string;
  readonly controlIp?: string;
  /** Why a pod did not report (timeout, failed to start). */
  readonly problems: readonly string[];
}

export interface IsolationVerdict {
  readonly isolated: boolean;
  /** One line per reason; empty when isolated. */
  readonly reasons: readonly string[];
}

/** The verdict over the evidence: isolated only when the control reached every target, the canary none, and no listener saw the canary. */
export function judgeIsolation(evidence: IsolationEvidence): IsolationVerdict {
  const reasons: string[] = [...evidence.problems];
  const names = Object.keys(evidence.targets);
  if (evidence.control === undefined) reasons.push("the control pod reported nothing: the probe proves nothing");
  if (evidence.canary === undefined) reasons.push("the canary reported nothing: isolation is unproven");
  for (const name of names) {
    const control = evidence.control?.[name] ?? [];
    if (evidence.control !== undefined && !control.includes("OPEN"))
      reasons.push(
        `the control pod without a policy could not reach ${name} (${evidence.targets[name]}: ${control.join(", ") || "no tries"}): the probe proves nothing`,
      );
    const canary = evidence.canary?.[name];
    if (evidence.canary !== undefined && (canary === undefined || canary.length === 0)) reasons.push(`the canary did not try ${name}`);
    const open = (canary ?? []).filter((result) => result === "OPEN").length;
    if (open > 0) reasons.push(`the canary reached ${name} (${evidence.targets[name]}) in ${open} of ${canary?.length ?? 0} tries: egress is not denied`);
  }
  if (evidence.canaryIp !== undefined && evidence.listenerSaw.includes(evidence.canaryIp))
    reasons.push(`the doctor's listener was reached from the canary (${evidence.canaryIp}): egress is not denied`);
  return { isolated: reasons.length === 0, reasons };
}

function restrictedNamespace(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name,
      labels: {
        "app.kubernetes.io/managed-by": "datomspod",
        "datomspod.io/doctor": "canary",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
      },
    },
  };
}

/** The deny-all policy exactly as every instance renders it (generator/compile/instance.ts). */
export function denyAll(namespace: string): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "deny-all", namespace },
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
  };
}

export function probePod(namespace: string, name: string, image: string, args: readonly string[]): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { "app.kubernetes.io/managed-by": "datomspod", "datomspod.io/doctor": name, [PROBE_LABEL]: "true" } },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 1,
      // Every pod of a dp- namespace ends (the cluster's admission policies refuse one without a deadline).
      activeDeadlineSeconds: 600,
      securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "probe",
          image,
          imagePullPolicy: "IfNotPresent",
          command: ["node", "-e", PROBE_SCRIPT, ...args],
          terminationMessagePolicy: "File",
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
          resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "96Mi" } },
        },
      ],
    },
  };
}

async function waitFor<T>(timeoutMs: number, check: () => Promise<T | undefined>): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function podPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${namespace}/pods/${name}`;
}

async function openListener(address: string): Promise<{ server: Server; url: string; saw: Set<string> }> {
  const saw = new Set<string>();
  const server = createServer((req, res) => {
    saw.add((req.socket.remoteAddress ?? "").replace(/^::ffff:/, ""));
    res.end("datomspod-doctor\n");
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, address, () => resolve((server.address() as { port: number }).port));
  });
  const host = address.includes(":") ? `[${address}]` : address;
  return { server, url: `http://${host}:${port}/`, saw };
}

/** Runs the canary and the control pod and gathers what they saw; namespaces are removed afterwards whatever happens. */
export async function probeIsolation(kube: Kube, options: CanaryOptions): Promise<IsolationEvidence> {
  const log = options.log ?? (() => undefined);
  const prefix = options.prefix ?? `dp-doctor-${randomBytes(3).toString("hex")}`;
  const canaryNs = prefix;
  const targetNs = `${prefix}-target`;
  const policy = options.policy ?? true;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const settleMs = (options.settleSeconds ?? 5) * 1000;
  const tries = options.tries ?? 5;
  const problems: string[] = [];
  const listener = options.listen === undefined ? undefined : await openListener(options.listen);
  try {
    await kube.create(restrictedNamespace(targetNs));
    await kube.create(restrictedNamespace(canaryNs));
    if (policy) await kube.create(denyAll(canaryNs));
    await kube.create(probePod(targetNs, "target", options.image, ["serve", String(CANARY_PORT)]));
    log(`canary: namespaces ${canaryNs} (deny-all: ${policy}) and ${targetNs}; waiting for the target pod`);
    const targetIp = await waitFor(timeoutMs, async () => {
      const pod = await kube.find<PodView>(podPath(targetNs, "target"));
      return pod?.status?.phase === "Running" ? pod.status.podIP : undefined;
    });
    const targets: Record<string, string> = {};
    if (targetIp === undefined) {
      problems.push(`the target pod ${targetNs}/target did not run within ${timeoutMs / 1000} s (is the image ${options.image} on the nodes?)`);
      return { namespace: canaryNs, targets, policy, listenerSaw: [], problems };
    }
    targets["pod"] = `http://${targetIp}:${CANARY_PORT}/`;
    (options.egressUrls ?? []).forEach((url, i) => (targets[`url-${i}`] = url));
    if (listener !== undefined) targets["listener"] = listener.url;
    const args = ["probe", String(settleMs), String(tries), "1000", ...Object.entries(targets).map(([name, url]) => `${name}=${url}`)];
    await kube.create(probePod(targetNs, "control", options.image, args));
    await kube.create(probePod(canaryNs, "canary", options.image, args));
    log(`canary: probing ${Object.values(targets).join(", ")}`);
    const finished = async (namespace: string, name: string): Promise<{ results?: ProbeResults; ip?: string }> => {
      const status = await waitFor(timeoutMs + settleMs + tries * 3000, async () => {
        const found = await kube.find<PodView>(podPath(namespace, name));
        return found?.status?.phase === "Succeeded" || found?.status?.phase === "Failed" ? found.status : undefined;
      });
      if (status === undefined) {
        problems.push(`pod ${namespace}/${name} did not finish in time`);
        return {};
      }
      const ip = status.podIP;
      const message = status.containerStatuses?.[0]?.state?.terminated?.message;
      try {
        return { results: JSON.parse(message ?? "") as ProbeResults, ...(ip === undefined ? {} : { ip }) };
      } catch {
        problems.push(`pod ${namespace}/${name} ended ${status.phase ?? "?"} without a report`);
        return ip === undefined ? {} : { ip };
      }
    };
    const [control, canary] = await Promise.all([finished(targetNs, "control"), finished(canaryNs, "canary")]);
    return {
      namespace: canaryNs,
      targets,
      policy,
      ...(control.results === undefined ? {} : { control: control.results }),
      ...(canary.results === undefined ? {} : { canary: canary.results }),
      ...(control.ip === undefined ? {} : { controlIp: control.ip }),
      ...(canary.ip === undefined ? {} : { canaryIp: canary.ip }),
      listenerSaw: [...(listener?.saw ?? [])].sort(),
      problems,
    };
  } finally {
    listener?.server.close();
    listener?.server.closeAllConnections();
    for (const namespace of [canaryNs, targetNs]) await kube.delete(`/api/v1/namespaces/${namespace}`).catch(() => false);
  }
}
