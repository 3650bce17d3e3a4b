/**
 * Cluster profiles (clusters/<cluster>/cluster.yaml): where and how instances run. A literal secret
 * anywhere in a profile (see literal-secrets.ts) is refused with the way to reference a Kubernetes
 * Secret instead.
 */

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { BlockList, isIPv4 } from "node:net";
import { join } from "node:path";
import { parseDocument } from "yaml";
import type { ValidateFunction } from "ajv";
import { InputError, type Issue } from "../errors.js";
import { compileSchema, validateAgainst } from "../contract/schema.js";
import { display, readRegularFile } from "../repo/files.js";
import { packageFile } from "../repo/package-root.js";
import { findLiteralSecrets } from "./literal-secrets.js";

export const PROFILE_SCHEMA_FILE = "clusters/cluster-profile.schema.json";

export type RuntimeName = "runc" | "gvisor" | "kata";

export interface SecretRef {
  readonly secretName: string;
  readonly key: string;
}

export interface PinnedImage {
  readonly image: string;
  readonly tag: string;
  readonly digest: string;
}

export interface ClusterProfile {
  readonly name: string;
  readonly mode: "local" | "self-built" | "delegated";
  readonly storageClassName?: string;
  readonly sealedOutputSize?: string;
  /** The longest run (a contract's compute.maxDurationSeconds) this cluster takes; the admission policies hold every Job to it. */
  readonly maxDurationSeconds?: number;
  /** How hostPath data locations are served off the local profile (see the schema). */
  readonly hostPathInputs?: { readonly as: "persistentVolume"; readonly allowedPathPrefixes: readonly string[] };
  readonly images: { readonly pod: PinnedImage; readonly allowedAlgorithmRepositories: readonly string[] };
  readonly runtimeClasses: Partial<Record<RuntimeName, string | null>>;
  readonly ipfs?: { readonly endpoint: string; readonly credentials?: SecretRef };
  readonly chain?: { readonly rpc: string; readonly chainId: number; readonly anchorAddress?: string; readonly credentials?: SecretRef };
  readonly gpu?: {
    readonly resourceName: string;
    readonly nodeSelector?: Readonly<Record<string, string>>;
    readonly tolerations?: readonly { key: string; operator: "Exists" | "Equal"; value?: string; effect: string }[];
  };
  readonly secrets?: readonly SecretRef[];
  readonly argocd: { readonly namespace: string; readonly repoURL: string; readonly targetRevision: string; readonly destinationServer: string };
  /** How the operator's Deployment reaches Kubo, git and the API server (see the schema; the lab's listen on the node's loopback). */
  readonly operator?: { readonly hostNetwork?: boolean; readonly apiServer?: string; readonly nodeSelector?: Readonly<Record<string, string>> };
}

let profileValidator: ValidateFunction | undefined;

function validateProfile(value: unknown, file: string): Issue[] {
  profileValidator ??= compileSchema(JSON.parse(readFileSync(packageFile(PROFILE_SCHEMA_FILE), "utf8")) as object);
  return validateAgainst(profileValidator, value, file);
}

/**
 * Parses and validates a profile's YAML text; `folder` is its cluster folder name. `known` says
 * whether this exact text already passed validation (the compile cache), which skips the schema.
 */
export function parseProfile(text: string, file: string, folder: string, known: (text: string) => boolean = () => false): ClusterProfile {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length > 0) {
    throw InputError.many(
      `${file}: invalid YAML`,
      doc.errors.map((error) => ({
        file,
        path: "$",
        message: error.message.split("\n")[0] ?? "invalid YAML",
        fix: "fix the YAML syntax (duplicate keys are refused)",
      })),
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: 0 });
  const secrets = findLiteralSecrets(value, file);
  if (secrets.length > 0) throw InputError.many(`${file}: literal secrets are not allowed in a cluster profile`, secrets);
  const issues = known(text) ? [] : validateProfile(value, file);
  if (issues.length === 0 && (value as ClusterProfile).name !== folder) {
    issues.push({
      file,
      path: "$.name",
      message: `is ${JSON.stringify((value as ClusterProfile).name)} but the folder is ${JSON.stringify(folder)}`,
      fix: `set name: ${folder}`,
    });
  }
  if (issues.length === 0) issues.push(...operatorReachIssues(value as ClusterProfile, file));
  if (issues.length > 0) throw InputError.many(`${file}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`, issues);
  return value as ClusterProfile;
}

/** Hosts that are this machine's own, whichever way they are written once the URL parser has normalised them. */
const NODE_LOCAL = new BlockList();
NODE_LOCAL.addSubnet("127.0.0.0", 8, "ipv4");
NODE_LOCAL.addAddress("0.0.0.0", "ipv4");
NODE_LOCAL.addAddress("::1", "ipv6");
NODE_LOCAL.addAddress("::", "ipv6");
NODE_LOCAL.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

/**
 * Whether a URL's host is the node itself (127.0.0.0/8, 0.0.0.0, ::1, ::, IPv4-mapped loopback,
 * localhost and its subdomains): reachable from a pod only in its node's network namespace. The
 * WHATWG URL parser normalises the spellings (`127.1`, `0x7f.1`, `[0:0::1]`, `LOCALHOST.`) first.
 */
export function loopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase().replace(/\.$/, "");
  } catch {
    return false;
  }
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (host.startsWith("[")) return NODE_LOCAL.check(host.slice(1, -1), "ipv6");
  return isIPv4(host) && NODE_LOCAL.check(host, "ipv4");
}

/**
 * The operator's Deployment (profiles other than `local`) runs in a pod: an address on the node's
 * loopback (the lab's Kubo and git server) reaches nothing from the pod's own network namespace,
 * so it needs `operator.hostNetwork: true`, said here rather than found as a pod that cannot connect.
 */
function operatorReachIssues(profile: ClusterProfile, file: string): Issue[] {
  if (profile.mode === "local" || profile.operator?.hostNetwork === true) return [];
  const addresses: [string, string | undefined][] = [
    ["$.ipfs.endpoint", profile.ipfs?.endpoint],
    ["$.argocd.repoURL", profile.argocd.repoURL],
    ["$.operator.apiServer", profile.operator?.apiServer],
  ];
  return addresses
    .filter((entry): entry is [string, string] => entry[1] !== undefined && loopbackUrl(entry[1]))
    .map(([path, url]) => ({
      file,
      path,
      message: `${url} is on the node's loopback, which the operator's pod cannot reach from its own network namespace`,
      fix: "set operator.hostNetwork: true (only where these services listen on the node's loopback, as in the lab), or give an address pods reach",
    }));
}

export function clustersDir(repo: string): string {
  return join(repo, "clusters");
}

export function profileFile(repo: string, cluster: string): string {
  return join(clustersDir(repo), cluster, "cluster.yaml");
}

/** Every cluster profile in the repository, by name. */
export function loadProfiles(repo: string, known?: (text: string) => boolean): Map<string, ClusterProfile> {
  const dir = clustersDir(repo);
  const profiles = new Map<string, ClusterProfile>();
  if (!existsSync(dir)) return profiles;
  for (const entry of readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = profileFile(repo, entry.name);
    if (!existsSync(path)) continue;
    const file = display(repo, path);
    profiles.set(entry.name, parseProfile(readRegularFile(path, file, 256 * 1024).toString("utf8"), file, entry.name, known));
  }
  return profiles;
}
