/**
 * Cluster profiles (clusters/<cluster>/cluster.yaml): where and how instances run. A literal secret
 * anywhere in a profile is refused with the way to reference a Kubernetes Secret instead.
 */

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import type { ValidateFunction } from "ajv";
import { InputError, type Issue } from "../errors.js";
import { jsonPath } from "../contract/json.js";
import { newAjv, validateAgainst } from "../contract/schema.js";
import { display, readRegularFile } from "../repo/files.js";
import { packageFile } from "../repo/package-root.js";

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
}

const SECRET_NAME = /(secret|passw|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|auth)/i;
const SECRET_VALUE = /^(sk|pk|ghp|gho|github_pat|xox[abp]|AKIA)[-_A-Za-z0-9]{8,}|^-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * Finds values that are secrets written in clear: a key named like a secret with a scalar value,
 * a value that looks like a token or private key, or a URL with user information.
 */
export function findLiteralSecrets(value: unknown, file: string, path = "$"): Issue[] {
  const fix = "reference a Kubernetes Secret instead, e.g. `credentials: {secretName: ipfs-api, key: token}`, and create the Secret in the cluster";
  if (Array.isArray(value)) return value.flatMap((item, i) => findLiteralSecrets(item, file, jsonPath(path, i)));
  if (value !== null && typeof value === "object") {
    if (isSecretRef(value)) return [];
    return Object.entries(value).flatMap(([key, child]) => {
      const childPath = jsonPath(path, key);
      if (SECRET_NAME.test(key) && (typeof child === "string" || typeof child === "number")) {
        return [{ file, path: childPath, message: "is a literal secret", fix }];
      }
      return findLiteralSecrets(child, file, childPath);
    });
  }
  if (typeof value === "string" && (SECRET_VALUE.test(value) || /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]+:[^/@\s]*@/i.test(value))) {
    return [{ file, path, message: "contains what looks like a credential", fix }];
  }
  return [];
}

/** `{secretName, key}`: a reference to a Secret, the one right way to name a credential. */
function isSecretRef(value: object): boolean {
  const keys = Object.keys(value).sort();
  return keys.length === 2 && keys[0] === "key" && keys[1] === "secretName" && Object.values(value).every((v) => typeof v === "string");
}

let profileValidator: ValidateFunction | undefined;

function validateProfile(value: unknown, file: string): Issue[] {
  profileValidator ??= newAjv().compile(JSON.parse(readFileSync(packageFile(PROFILE_SCHEMA_FILE), "utf8")) as object);
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
  if (issues.length > 0) throw InputError.many(`${file}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`, issues);
  return value as ClusterProfile;
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
