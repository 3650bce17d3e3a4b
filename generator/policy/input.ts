/**
 * The policy's input document: the contract and its hash, the cluster profile as the policy sees
 * it, every rendered Kubernetes object, the facts TypeScript established (signatures, approvals,
 * the code checksum, anchoring) and the time. Pure: the caller passes the clock and what it
 * verified. (The scenario is added by evaluatePolicies.)
 */

import type { LoadedContract } from "../contract/load.js";
import type { Contract } from "../contract/types.generated.js";
import type { ClusterProfile } from "../compile/profile.js";
import type { Environment } from "../environment/environment.js";
import type { Verification } from "../signatures/verify.js";
import { leakageBound, type LeakageBound } from "../seal/public.js";

/** A verified set of signed records (agreement signatures or algorithm approvals). */
export interface RecordFacts {
  readonly ok: boolean;
  /** Addresses of the parties whose record is missing. */
  readonly missing: readonly string[];
  /** Addresses of the parties whose record does not verify. */
  readonly invalid: readonly string[];
}

export interface PolicyFacts {
  readonly signatures: RecordFacts;
  readonly approvals: RecordFacts;
  /** The committed algorithm code hashes to $.inputs.algorithm.code.sha256. */
  readonly codeMatches: boolean;
  /** The contract names the anchor contract and anchorers its evidence goes to (evidence.anchor). */
  readonly anchoring: boolean;
  /** The most the contract can ever let out (generator/seal/public.ts): the policy reports it and scores it. */
  readonly leakage: LeakageBound;
}

/** The compute environment as the policy sees it. */
export interface PolicyEnvironment {
  readonly name: string;
  /** sha256 of the environment's folder (what approvals pin). */
  readonly digest: string;
  readonly base: string;
  /** How its packages are locked (pip, npm), or null for none beyond the base. */
  readonly lock: string | null;
  /** Every package it installs, as its lock pins them (sorted by name): what the approval shows. */
  readonly packages: readonly { readonly name: string; readonly version: string }[];
  /** The image digest environment.json pins, or null when it pins none. */
  readonly imageDigest: string | null;
  readonly gpu: boolean;
}

export interface PolicyProfile {
  readonly name: string;
  readonly mode: "local" | "self-built" | "delegated";
  /** The RuntimeClass the profile maps the contract's runtime to; null: the node's default runtime. */
  readonly runtimeClassName: string | null;
  /** Node folders the profile serves as read-only PersistentVolumes (hostPathInputs); absent when it serves none. */
  readonly hostPathPrefixes?: readonly string[];
}

export interface PolicyInput {
  readonly contract: Contract;
  readonly contractHash: string;
  readonly profile: PolicyProfile;
  readonly environment: PolicyEnvironment;
  /** Every Kubernetes object rendered for the instance. */
  readonly manifests: readonly object[];
  readonly facts: PolicyFacts;
  /** RFC 3339 UTC, e.g. 2026-11-24T00:00:00Z (milliseconds allowed); the policy never reads the clock. */
  readonly now: string;
}

/** The facts of a verification (generator/signatures/verify.ts): which parties are missing or invalid. */
export function recordFacts(verification: Verification): RecordFacts {
  const withStatus = (status: string): string[] => verification.parties.filter((party) => party.status === status).map((party) => party.address);
  return { ok: verification.ok, missing: withStatus("missing"), invalid: withStatus("invalid") };
}

/** The profile as the policy sees it, for `contract`: its name, mode, the RuntimeClass the contract's runtime maps to, and the node folders it serves. */
export function policyProfile(profile: ClusterProfile, contract: Contract): PolicyProfile {
  const runtime = contract.inputs.compute.runtimeClass ?? "runc";
  return {
    name: profile.name,
    mode: profile.mode,
    runtimeClassName: profile.runtimeClasses[runtime] ?? null,
    ...(profile.hostPathInputs === undefined ? {} : { hostPathPrefixes: profile.hostPathInputs.allowedPathPrefixes }),
  };
}

export interface PolicyInputSources {
  readonly loaded: LoadedContract;
  readonly profile: ClusterProfile;
  readonly environment: Environment;
  readonly manifests: readonly object[];
  readonly agreements: Verification;
  readonly approvals: Verification;
  /** checkAlgorithmCode found no issue. */
  readonly codeMatches: boolean;
  readonly now: Date;
}

/** The environment as the policy sees it. */
export function policyEnvironment(environment: Environment): PolicyEnvironment {
  const { definition } = environment;
  return {
    name: environment.name,
    digest: environment.digest,
    base: definition.base,
    lock: definition.packages?.format ?? null,
    packages: environment.packages.map(({ name, version }) => ({ name, version })),
    imageDigest: definition.image.digest ?? null,
    gpu: definition.gpu === true,
  };
}

/** Assembles the input document from what the gate has loaded and verified. */
export function policyInput(sources: PolicyInputSources): PolicyInput {
  const { loaded, profile } = sources;
  return {
    contract: loaded.contract,
    contractHash: loaded.hash,
    profile: policyProfile(profile, loaded.contract),
    environment: policyEnvironment(sources.environment),
    manifests: sources.manifests,
    facts: {
      signatures: recordFacts(sources.agreements),
      approvals: recordFacts(sources.approvals),
      codeMatches: sources.codeMatches,
      anchoring: loaded.contract.evidence.anchorers.length > 0,
      leakage: leakageBound(loaded.contract),
    },
    now: sources.now.toISOString(),
  };
}
