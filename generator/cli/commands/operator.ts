import { join, resolve } from "node:path";
import { existsSync, statSync } from "node:fs";
import { InputError } from "../../errors.js";
import { inClusterAccess, Kube, readKubeconfig } from "../../cluster/kube.js";

import { Operator, type OperatorEvent } from "../../operator/operator.js";
import { DispatchRenderer, GitSink } from "../../operator/sink.js";
import { loadProfiles } from "../../compile/profile.js";
import type { Command, Context } from "../command.js";
import { keyOption, stringOption } from "../options.js";

function line(event: OperatorEvent): string {
  switch (event.event) {
    case "receipt":
      return `receipt  ${event.contract} ${event.run}: ${event.result}${event.phase === undefined ? "" : ` (${event.phase})`} -> ${event.where}`;
    case "deletion":
      return `deletion ${event.contract} ${event.namespace}: ${event.result} -> ${event.where}`;
    case "error":
      return [`ERROR    ${event.subject}: ${event.message}`, ...event.issues.map((issue) => `  ${issue}`)].join("\n");
  }
}

function folderOption(ctx: Context, value: string, option: string): string {
  const dir = resolve(ctx.cwd, value);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw InputError.of({ file: "command line", path: option, message: `${dir} is not a folder`, fix: `pass an existing folder as ${option}` });
  return dir;
}

export const operator: Command = {
  name: ["operator"],
  summary: "in a cluster: bring finished Jobs' receipts and deleted instances' records from the cluster into git",
  usage:
    "--cluster NAME --key FILE --sealed-root DIR [--kubeconfig FILE] [--remote origin] [--branch main] [--dispatch-dir DIR] [--ipfs URL] [--clone URL] [--once]",
  help: [
    "Runs against the repository clone given by --repo (the operator owns it: it is reset to REMOTE/BRANCH before every decision).",
    "Lists, then watches, the Jobs and namespaces datomspod rendered for cluster NAME. For each finished Job (Complete or Failed)",
    "of a requested run it reads the sealed claim's volume on this node (hostPath or local PersistentVolumes under --sealed-root),",
    "checks and publishes every sealed blob (Kubo via --ipfs or the profile, else the local store), completes and signs the",
    "receipt with --key (one of the contract's evidence.runners) as `datomspod run` does, commits and pushes it. When an instance",
    "namespace is gone and its folder is no longer in git, it records contracts/<id>/deletion.json (uid, deletion requested, and",
    "gone as the API server's clock says), signed, and commits it; the next `datomspod anchor` anchors it.",
    "--dispatch-dir renders repository_dispatch events (the GitHub way) into DIR instead of pushing. --once reconciles and exits.",
    "--clone URL clones the repository into --repo first when it is not a clone yet (the Deployment's empty volume).",
    "Credentials: --kubeconfig, else KUBECONFIG, else the pod's service account.",
  ].join("\n"),
  options: {
    cluster: { type: "string" },
    key: { type: "string" },
    "sealed-root": { type: "string" },
    kubeconfig: { type: "string" },
    remote: { type: "string" },
    branch: { type: "string" },
    "dispatch-dir": { type: "string" },
    ipfs: { type: "string" },
    once: { type: "boolean" },
    clone: { type: "string" },
  },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const cluster = stringOption(values, "cluster", true);
    const sealedRoot = folderOption(ctx, stringOption(values, "sealed-root", true), "--sealed-root");
    const kubeconfig = stringOption(values, "kubeconfig") ?? process.env["KUBECONFIG"];
    const access = kubeconfig !== undefined ? readKubeconfig(resolve(ctx.cwd, kubeconfig)) : inClusterAccess();
    if (access === undefined)
      throw InputError.of({
        file: "command line",
        path: "--kubeconfig",
        message: "no kubeconfig and not in a pod",
        fix: "pass --kubeconfig FILE or set KUBECONFIG",
      });
    const { wallet } = await keyOption(ctx, values);
    const git = new GitSink(ctx.repo, stringOption(values, "remote") ?? "origin", stringOption(values, "branch") ?? "main");
    const clone = stringOption(values, "clone");
    if (clone !== undefined && !existsSync(join(ctx.repo, ".git"))) await git.cloneInto(clone);
    await git.assertOwned();
    await git.sync();
    if (!loadProfiles(ctx.repo).has(cluster))
      throw InputError.of({
        file: `clusters/${cluster}/cluster.yaml`,
        path: "$",
        message: "does not exist in the repository",
        fix: "pass the name of a cluster profile under clusters/",
      });
    const dispatchDir = stringOption(values, "dispatch-dir");
    const kube = new Kube(access);
    const events: OperatorEvent[] = [];
    const log = (event: OperatorEvent): void => {
      events.push(event);
      if (ctx.format === "json") ctx.out(`${JSON.stringify(event)}\n`);
      else ctx.out(`${line(event)}\n`);
    };
    const op = new Operator(
      {
        repo: ctx.repo,
        cluster,
        runner: wallet,
        kube,
        sealedRoot,
        git,
        ...(dispatchDir === undefined ? {} : { dispatch: new DispatchRenderer(resolve(ctx.cwd, dispatchDir)) }),
        ...(stringOption(values, "ipfs") === undefined ? {} : { ipfsApi: stringOption(values, "ipfs") }),
        now: () => new Date(),
      },
      log,
    );
    try {
      if (values["once"] === true) await op.reconcile();
      else {
        const stop = new AbortController();
        const abort = (): void => stop.abort();
        process.once("SIGTERM", abort);
        process.once("SIGINT", abort);
        try {
          await op.run(stop.signal);
        } finally {
          process.off("SIGTERM", abort);
          process.off("SIGINT", abort);
        }
      }
    } finally {
      kube.close();
    }
    // --once: exit 3 when something could not be handled (it is tried again at the next run).
    return events.some((event) => event.event === "error") ? 3 : 0;
  },
};
