/**
 * Where the lab's programs are: the Go pieces that .ci/tools/cluster/build put under
 * $DATOMSPOD_CACHE/cluster/<piece>-<version>/ (versions from .ci/tools/cluster/versions), and the
 * Debian ones on PATH. `missingTools` says which are absent and how to get them.
 */

import { accessSync, constants, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is test/cluster/lab/tools.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const VERSIONS_FILE = join(REPO_ROOT, ".ci/tools/cluster/versions");
export const BUILD_SCRIPT = join(REPO_ROOT, ".ci/tools/cluster/build");

export interface Versions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly argocd: string;
  readonly kwok: string;
  readonly kubeRouter: string;
}

/** The pinned versions (KEY=VALUE lines of .ci/tools/cluster/versions). */
export function readVersions(file = VERSIONS_FILE): Versions {
  const values = new Map<string, string>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^([A-Z_]+)=(\S+)\s*$/.exec(line);
    if (match !== null) values.set(match[1], match[2]);
  }
  const get = (key: string): string => {
    const value = values.get(key);
    if (value === undefined) throw new Error(`${file}: no ${key}=`);
    return value;
  };
  return {
    kubernetes: get("KUBERNETES_VERSION"),
    etcd: get("ETCD_VERSION"),
    argocd: get("ARGOCD_VERSION"),
    kwok: get("KWOK_VERSION"),
    kubeRouter: get("KUBE_ROUTER_VERSION"),
  };
}

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.DATOMSPOD_CACHE ?? join(homedir(), ".cache", "datomspod");
}

export interface LabTools {
  readonly versions: Versions;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubelet: string;
  readonly kubectl: string;
  readonly etcd: string;
  /** Folder with argocd, its component links and git-verify-wrapper.sh (put on the repo server's PATH). */
  readonly argocdBin: string;
  /** Argo CD's own CustomResourceDefinitions for the version built (Application, ApplicationSet, AppProject). */
  readonly argocdCrds: readonly string[];
  readonly kwok: string;
  /** kwok's node and pod stages (multi-document YAML). */
  readonly kwokStages: string;
  readonly kubeRouter: string;
  readonly containerd: string;
  readonly ctr: string;
  readonly runc: string;
  readonly cniBin: string;
  readonly redisServer: string;
  readonly skopeo: string;
  readonly podman: string;
  readonly iptables: string;
  readonly iptablesSave: string;
  readonly ipset: string;
  readonly git: string;
  readonly openssl: string;
}

export function labTools(env: NodeJS.ProcessEnv = process.env): LabTools {
  const versions = readVersions();
  const cluster = join(cacheRoot(env), "cluster");
  const k8s = join(cluster, `kubernetes-${versions.kubernetes}`, "bin");
  const argocdBin = join(cluster, `argocd-${versions.argocd}`, "bin");
  const kwok = join(cluster, `kwok-${versions.kwok}`);
  return {
    versions,
    kubeApiserver: join(k8s, "kube-apiserver"),
    kubeControllerManager: join(k8s, "kube-controller-manager"),
    kubeScheduler: join(k8s, "kube-scheduler"),
    kubelet: join(k8s, "kubelet"),
    kubectl: join(k8s, "kubectl"),
    etcd: join(cluster, `etcd-${versions.etcd}`, "bin", "etcd"),
    argocdBin,
    argocdCrds: ["application", "applicationset", "appproject"].map((crd) => join(argocdBin, "..", "share", "crds", `${crd}-crd.yaml`)),
    kwok: join(kwok, "bin", "kwok"),
    kwokStages: join(kwok, "share", "stages.yaml"),
    kubeRouter: join(cluster, `kube-router-${versions.kubeRouter}`, "bin", "kube-router"),
    containerd: "/usr/bin/containerd",
    ctr: "/usr/bin/ctr",
    runc: "/usr/sbin/runc",
    cniBin: "/usr/lib/cni",
    redisServer: "/usr/bin/redis-server",
    skopeo: "/usr/bin/skopeo",
    podman: "/usr/bin/podman",
    iptables: "/usr/sbin/iptables",
    iptablesSave: "/usr/sbin/iptables-save",
    ipset: "/usr/sbin/ipset",
    git: "/usr/bin/git",
    openssl: "/usr/bin/openssl",
  };
}

/** The parts of the lab, each of which tests may need on its own. */
export type Piece = "control-plane" | "node" | "network-policy" | "argocd" | "kwok";

const BUILD_HINT = "run .ci/tools/cluster/build (as root; a cold build takes ~15 min on 2 cores)";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The programs each piece needs. */
export function pieceFiles(tools: LabTools, piece: Piece): string[] {
  switch (piece) {
    case "control-plane":
      return [tools.etcd, tools.kubeApiserver, tools.kubeControllerManager, tools.kubeScheduler, tools.kubectl, tools.openssl];
    case "node":
      return [
        tools.kubelet,
        tools.containerd,
        tools.ctr,
        tools.runc,
        join(tools.cniBin, "bridge"),
        join(tools.cniBin, "host-local"),
        join(tools.cniBin, "loopback"),
        tools.podman,
        tools.skopeo,
      ];
    case "network-policy":
      return [tools.kubeRouter, tools.iptables, tools.iptablesSave, tools.ipset];
    case "argocd":
      return [
        join(tools.argocdBin, "argocd"),
        join(tools.argocdBin, "argocd-repo-server"),
        join(tools.argocdBin, "argocd-application-controller"),
        join(tools.argocdBin, "argocd-applicationset-controller"),
        join(tools.argocdBin, "git-verify-wrapper.sh"),
        ...tools.argocdCrds,
        tools.redisServer,
        tools.git,
      ];
    case "kwok":
      return [tools.kwok, tools.kwokStages];
  }
}

/** Why `piece` cannot run here (the missing files and how to get them), or undefined when it can. */
export function missingTools(tools: LabTools, piece: Piece): string | undefined {
  const missing = pieceFiles(tools, piece).filter((file) => (file.endsWith(".yaml") ? !exists(file) : !executable(file)));
  if (missing.length === 0) return undefined;
  return `missing ${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more file(s)` : ""}: ${BUILD_HINT}`;
}

function exists(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
