import { homedir } from "node:os";
import { InputError } from "../../errors.js";
import { formatDoctor, runDoctor } from "../../cluster/doctor.js";
import { Kube, kubeconfigPath, readKubeconfig } from "../../cluster/kube.js";
import { loadProfiles } from "../../compile/profile.js";
import type { Command, Values } from "../command.js";
import { stringOption } from "../options.js";

function integerOption(values: Values, name: string, fallback: number, max: number): number {
  const text = stringOption(values, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value > max)
    throw InputError.of({
      file: "command line",
      path: `--${name}`,
      message: `${JSON.stringify(text)} is not a whole number up to ${max}`,
      fix: `e.g. --${name} ${fallback}`,
    });
  return value;
}

function listOption(values: Values, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
}

export const clusterDoctor: Command = {
  name: ["cluster", "doctor"],
  summary: "tell what a cluster lacks for its profile (RuntimeClass, StorageClass, PVs, GPUs, admission, NetworkPolicy enforcement) before anything syncs",
  usage: "--cluster NAME [--kubeconfig FILE] [--listen ADDRESS] [--egress-url URL]... [--canary-image IMAGE] [--settle SECONDS] [--record]",
  help: [
    "Reads clusters/NAME/cluster.yaml and the instances rendered under clusters/NAME/, and asks the API server of",
    "--kubeconfig (else $KUBECONFIG, else ~/.kube/config; client certificate or token, CA required) whether each",
    "RuntimeClass, the sealed-output StorageClass (and, for a class without provisioner, an Available",
    "PersistentVolume), every input PersistentVolume and the GPU resource exist, and whether every rendered",
    "object is admitted (server-side apply, dryRun=All; each Job's pod as a Pod, so Pod Security judges it).",
    "Then a canary pod in a fresh dp- namespace under the instances' deny-all NetworkPolicy tries to reach a",
    "pod in another namespace, every --egress-url and a listener the doctor opens on --listen ADDRESS (an",
    "address the pods can route to); a control pod without the policy must reach them all. Any way through,",
    "or a control that gets nowhere, refuses. Both namespaces are removed afterwards.",
    "--record grants the proof the cluster's isolation admission policy asks for (ClusterRoleBinding",
    "datomspod-isolation, with the canary's evidence) when the canary proved isolation, and withdraws it when",
    "it did not: no instance pod is created without it. Without --record the doctor reports whether it is there.",
    "Exit 0 when nothing is missing or refused, 1 otherwise, 3 when the API server cannot be reached.",
  ].join("\n"),
  options: {
    cluster: { type: "string" },
    kubeconfig: { type: "string" },
    listen: { type: "string" },
    "egress-url": { type: "string", multiple: true },
    "canary-image": { type: "string" },
    settle: { type: "string" },
    record: { type: "boolean" },
  },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const name = stringOption(values, "cluster", true);
    const profile = loadProfiles(ctx.repo).get(name);
    if (profile === undefined) {
      throw InputError.of({
        file: `clusters/${name}/cluster.yaml`,
        path: "$",
        message: "no such cluster profile",
        fix: "name a folder under clusters/ that has a cluster.yaml",
      });
    }
    const egressUrls = listOption(values, "egress-url");
    for (const url of egressUrls) {
      if (!/^http:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/.test(url))
        throw InputError.of({
          file: "command line",
          path: "--egress-url",
          message: `${JSON.stringify(url)} is not a plain http:// URL`,
          fix: "e.g. --egress-url http://192.0.2.10:8080/",
        });
    }
    const file = kubeconfigPath(stringOption(values, "kubeconfig"), process.env, homedir(), ctx.cwd);
    const kube = new Kube(readKubeconfig(file));
    try {
      const listen = stringOption(values, "listen");
      const image = stringOption(values, "canary-image");
      const report = await runDoctor(kube, {
        repo: ctx.repo,
        profile,
        record: values["record"] === true,
        now: ctx.now,
        canary: {
          egressUrls,
          settleSeconds: integerOption(values, "settle", 5, 120),
          ...(listen === undefined ? {} : { listen }),
          ...(image === undefined ? {} : { image }),
        },
        log: (line) => ctx.err(`${line}\n`),
      });
      ctx.emit(report, formatDoctor(report));
      return report.ok ? 0 : 1;
    } finally {
      kube.close();
    }
  },
};
