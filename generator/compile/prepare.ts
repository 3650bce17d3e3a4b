/**
 * Everything an instance is made of, resolved from the repository before anything is rendered:
 * the cluster profile, the compute environment, the committed algorithm code — and from them the
 * approval subject, the one list of what a data owner's approval covers:
 *
 *   algorithm code sha256 · image and its digest · entrypoint argv (as it will run) ·
 *   environment and its digest (its locked packages) · cluster and its profile's digest ·
 *   the role image's digest · the digest of the rendered instance template
 *
 * The instance template is the instance rendered with one placeholder run (`approved`, the
 * approved parameters): every object and every container of every Job a run of this contract
 * gets, byte for byte, except the run's id and its requested parameters, which the consumer's
 * signed run request carries and the parameter rules bound. So nothing that executes or decides in
 * the pod — a generator that renders differently, a profile that maps the runtime elsewhere, a
 * role image, an environment lock — can change without every approval becoming invalid.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { InputError, type Issue } from "../errors.js";
import { canonicalHash } from "../contract/canonical.js";
import type { LoadedContract } from "../contract/load.js";
import { parseEntrypoint } from "../environment/entrypoint.js";
import { loadEnvironment, type Environment } from "../environment/environment.js";
import { display, readRegularFile } from "../repo/files.js";
import { resolvePackage } from "../market/resolve.js";
import type { AlgorithmPackage } from "../market/package.js";
import { renderInstance, type InstanceInput } from "./instance.js";
import { parseProfile, profileFile, type ClusterProfile } from "./profile.js";

/** The placeholder run of the instance template. */
export const TEMPLATE_RUN = "approved";

export interface ApprovalSubject {
  readonly contractId: string;
  readonly contractHash: string;
  readonly algorithmDid: string;
  readonly codeSha256: string;
  /** `repository:tag@sha256:…`, as a wallet shows it. */
  readonly image: string;
  readonly imageDigest: string;
  /** The argv the computing container runs, as JSON, `$ALGO` expanded. */
  readonly entrypoint: string;
  readonly environment: string;
  readonly environmentDigest: string;
  readonly cluster: string;
  readonly clusterProfileDigest: string;
  readonly roleImageDigest: string;
  readonly instanceDigest: string;
}

export interface Prepared {
  readonly profile: ClusterProfile;
  /** sha256 of the profile's RFC 8785 JSON (comments and layout of the YAML do not count). */
  readonly profileDigest: string;
  readonly environment: Environment;
  readonly code: Uint8Array | undefined;
  readonly argv: readonly string[];
  readonly subject: ApprovalSubject;
  /** The algorithm package the contract names (verified: digest, author, environment, code), if any. */
  readonly package?: AlgorithmPackage;
}

/** The profile's digest: sha256 of its RFC 8785 JSON form. */
export function profileDigest(profile: ClusterProfile): string {
  return canonicalHash(profile);
}

/** Reads and validates one cluster profile; undefined when the file does not exist. */
export function loadProfile(repo: string, cluster: string): ClusterProfile | undefined {
  const path = profileFile(repo, cluster);
  if (!existsSync(path)) return undefined;
  const file = display(repo, path);
  return parseProfile(readRegularFile(path, file, 256 * 1024).toString("utf8"), file, cluster);
}

/** The profile's parsed value as YAML text gives it (for evidence: the digest of a profile file). */
export function profileDigestOfText(text: string): string {
  return canonicalHash(parseDocument(text, { uniqueKeys: true }).toJS({ maxAliasCount: 0 }) as unknown);
}

/** The instance input without runs, for rendering the template or the real runs. */
export type InstanceBase = Omit<InstanceInput, "runs">;

export function instanceBase(loaded: LoadedContract, prepared: Pick<Prepared, "profile" | "environment" | "code">): InstanceBase {
  return {
    contract: loaded.contract,
    contractHash: loaded.hash,
    file: loaded.file,
    profile: prepared.profile,
    environment: prepared.environment,
    code: prepared.code,
  };
}

function issuesOf(error: unknown): Issue[] {
  if (error instanceof InputError) return [...error.issues];
  throw error;
}

/**
 * Resolves what contract `loaded` runs with and what its approvals must cover. `profiles` are the
 * profiles already loaded (compile, check); otherwise the contract's own is read. Every problem is
 * returned; `prepared` is set only when there is none.
 */
export function prepareContract(
  repo: string,
  loaded: LoadedContract,
  profiles?: ReadonlyMap<string, ClusterProfile>,
): { prepared?: Prepared; issues: Issue[] } {
  const { contract } = loaded;
  const algorithm = contract.inputs.algorithm;
  const issues: Issue[] = [];
  let profile: ClusterProfile | undefined;
  try {
    profile = profiles === undefined ? loadProfile(repo, contract.cluster) : profiles.get(contract.cluster);
  } catch (error) {
    issues.push(...issuesOf(error));
  }
  if (profile === undefined && issues.length === 0) {
    issues.push({
      file: loaded.file,
      path: "$.cluster",
      message: `no cluster profile clusters/${contract.cluster}/cluster.yaml`,
      fix:
        profiles === undefined
          ? "add the profile or name an existing cluster"
          : `use one of ${[...profiles.keys()].join(", ") || "(none yet)"} or add the profile`,
    });
  }
  let environment: Environment | undefined;
  try {
    environment = loadEnvironment(repo, algorithm.environment, { file: loaded.file, path: "$.inputs.algorithm.environment" });
  } catch (error) {
    issues.push(...issuesOf(error));
  }
  let code: Uint8Array | undefined;
  let pkg: AlgorithmPackage | undefined;
  if (algorithm.package !== undefined) {
    const resolved = resolvePackage(repo, loaded);
    issues.push(...resolved.issues);
    pkg = resolved.package;
    code = resolved.code;
  } else if (algorithm.code.path !== undefined) {
    try {
      code = readRegularFile(join(loaded.dir, algorithm.code.path), join("contracts", loaded.id, algorithm.code.path), 16 * 1024 * 1024);
    } catch (error) {
      issues.push(...issuesOf(error));
    }
  }
  if (environment === undefined || profile === undefined || issues.length > 0) return { issues };

  const parsed = parseEntrypoint(algorithm.container.entrypoint, environment);
  if (parsed.argv === undefined) {
    return { issues: parsed.problems.map((p) => ({ file: loaded.file, path: "$.inputs.algorithm.container.entrypoint", message: p.message, fix: p.fix })) };
  }
  let instanceDigest: string;
  try {
    const template = renderInstance({
      ...instanceBase(loaded, { profile, environment, code }),
      runs: [{ id: TEMPLATE_RUN, parameters: algorithm.parameters ?? {} }],
    });
    instanceDigest = canonicalHash(template);
  } catch (error) {
    return { issues: issuesOf(error) };
  }
  const digest = profileDigest(profile);
  const subject: ApprovalSubject = {
    contractId: contract.id,
    contractHash: loaded.hash,
    algorithmDid: algorithm.did,
    codeSha256: algorithm.code.sha256,
    image: `${algorithm.container.image}:${algorithm.container.tag}@${algorithm.container.digest}`,
    imageDigest: algorithm.container.digest,
    entrypoint: JSON.stringify(parsed.argv),
    environment: environment.name,
    environmentDigest: environment.digest,
    cluster: profile.name,
    clusterProfileDigest: digest,
    roleImageDigest: profile.images.pod.digest,
    instanceDigest,
  };
  return {
    prepared: { profile, profileDigest: digest, environment, code, argv: parsed.argv, subject, ...(pkg === undefined ? {} : { package: pkg }) },
    issues: [],
  };
}
