/**
 * A data owner reviews an algorithm package once and approves it for their datasets, within
 * limits: `algorithms/<name>/<version>/approvals/<address>.json`, an EIP-712 signature over the
 * package digest, the hash of the limits (carried in the file) and the time of the approval.
 *
 *   datasets   the DIDs the approval covers (a provider's own, in the contracts that use them)
 *   scenarios  the OPS-C scenarios a contract may judge under
 *   clusters   the clusters a contract may run on, each with the digest of its profile (the role
 *              image, storage and runtime the owner reviewed): a changed profile is not approved
 *   parameters bounds of the algorithm's parameters: what a contract fixes and what a consumer
 *              may ask for in a run request (consumerParameters) must lie within them
 *   validity   notBefore / notAfter: outside it the approval counts for nothing
 *
 * A contract that uses the package within these limits inherits the approval: the owner does not
 * approve it again. A revocation (`revocations/<address>.<time>.json`, signed by the same owner) voids
 * every approval the owner gave the package at or before it, for every future check, compile and
 * run; a replayed copy of an old approval is still older than the revocation. The files stay in
 * git and in the evidence, so past runs stay verifiable.
 */

import { basename, join } from "node:path";
import type { ValidateFunction } from "ajv";
import { InputError, type Issue } from "../errors.js";
import { canonicalHash } from "../contract/canonical.js";
import { newAjv, validateAgainst } from "../contract/schema.js";
import { parseTimestamp } from "../contract/rules.js";
import type { ConsumerParameter, Contract, Party } from "../contract/types.generated.js";
import { display, readJsonFile } from "../repo/files.js";
import { listRecordFiles } from "../repo/layout.js";
import { verifyRecord, type SignedRecord } from "../signatures/records.js";
import { algorithmDomainId, toBytes32, type RecordMessage } from "../signatures/typed-data.js";
import { APPROVALS_FOLDER, REVOCATIONS_FOLDER, type AlgorithmPackage } from "./package.js";

export interface ParameterLimit {
  readonly minimum?: number;
  readonly maximum?: number;
  readonly enum?: readonly (string | number | boolean)[];
}

export interface ApprovalLimits {
  readonly datasets: readonly string[];
  readonly scenarios: readonly string[];
  readonly clusters: readonly { readonly name: string; readonly profileDigest: string }[];
  readonly parameters?: Readonly<Record<string, ParameterLimit>>;
  readonly validity: { readonly notBefore: string; readonly notAfter: string };
}

const TIMESTAMP = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$";
const NAME = "^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$";

export const limitsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["datasets", "scenarios", "clusters", "validity"],
  properties: {
    datasets: {
      type: "array",
      minItems: 1,
      maxItems: 64,
      uniqueItems: true,
      items: { type: "string", pattern: "^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$", maxLength: 200 },
    },
    scenarios: { type: "array", minItems: 1, maxItems: 16, uniqueItems: true, items: { type: "string", pattern: NAME, maxLength: 63 } },
    clusters: {
      type: "array",
      minItems: 1,
      maxItems: 16,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "profileDigest"],
        properties: { name: { type: "string", pattern: NAME, maxLength: 63 }, profileDigest: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" } },
      },
    },
    parameters: {
      type: "object",
      maxProperties: 64,
      propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]{0,62}$" },
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        minProperties: 1,
        properties: {
          minimum: { type: "number" },
          maximum: { type: "number" },
          enum: { type: "array", minItems: 1, maxItems: 64, items: { anyOf: [{ type: "string", maxLength: 200 }, { type: "number" }, { type: "boolean" }] } },
        },
      },
    },
    validity: {
      type: "object",
      additionalProperties: false,
      required: ["notBefore", "notAfter"],
      properties: { notBefore: { type: "string", pattern: TIMESTAMP }, notAfter: { type: "string", pattern: TIMESTAMP } },
    },
  },
} as const;

let limitsValidator: ValidateFunction | undefined;

/** Validates limits (shape, then a validity window that is one). */
export function validateLimits(value: unknown, file: string, at = "$.limits"): Issue[] {
  limitsValidator ??= newAjv().compile(limitsSchema);
  const issues = validateAgainst(limitsValidator, value, file).map((issue) => ({ ...issue, path: `${at}${issue.path.slice(1)}` }));
  if (issues.length > 0) return issues;
  const { notBefore, notAfter } = (value as ApprovalLimits).validity;
  const from = parseTimestamp(notBefore);
  const to = parseTimestamp(notAfter);
  if (from === undefined || to === undefined || from >= to)
    issues.push({ file, path: `${at}.validity`, message: "is not a window: notBefore must be a time before notAfter", fix: "use e.g. 2026-01-01T00:00:00Z" });
  return issues;
}

export function approvalMessageOf(pkg: Pick<AlgorithmPackage, "ref" | "digest">, limits: ApprovalLimits, approvedAt: string): RecordMessage {
  return { package: pkg.ref, packageDigest: toBytes32(pkg.digest), limitsHash: toBytes32(canonicalHash(limits)), approvedAt };
}

export function revocationMessageOf(pkg: Pick<AlgorithmPackage, "ref">, revokedAt: string, reason: string): RecordMessage {
  return { package: pkg.ref, revokedAt, reason };
}

export interface PackageApproval {
  readonly signer: string;
  readonly file: string;
  readonly chainId: number;
  readonly limits: ApprovalLimits;
  readonly approvedAt: string;
}

export interface PackageRevocation {
  readonly signer: string;
  readonly file: string;
  readonly revokedAt: string;
  readonly reason: string;
}

export interface MarketRecords {
  /** Approvals whose signature verifies over the current package, by signer. */
  readonly approvals: ReadonlyMap<string, PackageApproval>;
  /** Revocations whose signature verifies, by signer. */
  readonly revocations: ReadonlyMap<string, PackageRevocation>;
  /** Files that do not verify (they count for nothing). */
  readonly issues: readonly Issue[];
}

function readRecords(repo: string, dir: string, what: string, issues: Issue[]): { value: SignedRecord; file: string; name: string }[] {
  const { json, other } = listRecordFiles(dir);
  for (const name of other)
    issues.push({ file: display(repo, join(dir, name)), path: "$", message: `is not ${what}`, fix: `keep only <address>.json files in ${basename(dir)}/` });
  const out: { value: SignedRecord; file: string; name: string }[] = [];
  for (const name of json) {
    const path = join(dir, name);
    const file = display(repo, path);
    try {
      out.push({ value: readJsonFile(path, file, 64 * 1024) as unknown as SignedRecord, file, name });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      issues.push(...error.issues);
    }
  }
  return out;
}

/**
 * Reads and verifies the approvals and revocations of a package. `chainId`: the chain of the
 * contract they are judged for (an approval signed for another chain does not count); without
 * it, each record's own.
 */
export function readMarketRecords(repo: string, pkg: AlgorithmPackage, chainId?: number): MarketRecords {
  const issues: Issue[] = [];
  const domain = algorithmDomainId(pkg.name, pkg.version);
  const approvals = new Map<string, PackageApproval>();
  for (const { value, file, name } of readRecords(repo, join(pkg.dir, APPROVALS_FOLDER), "a package approval", issues)) {
    const limits = value?.limits;
    const found: Issue[] = [];
    if (limits === undefined) found.push({ file, path: "$.limits", message: "is missing", fix: "approve with datomspod algorithm approve" });
    else found.push(...validateLimits(limits, file));
    const approvedAt = String(value?.message?.["approvedAt"] ?? "");
    if (found.length === 0) {
      const want = chainId ?? (typeof value.chainId === "number" ? value.chainId : 0);
      found.push(
        ...verifyRecord(
          value,
          { kind: "packageApproval", contractId: domain, chainId: want, message: approvalMessageOf(pkg, limits as unknown as ApprovalLimits, approvedAt) },
          file,
        ),
      );
      if (parseTimestamp(approvedAt) === undefined) found.push({ file, path: "$.message.approvedAt", message: "is not a time", fix: "approve again" });
    }
    if (found.length === 0 && basename(name, ".json") !== value.signer)
      found.push({ file, path: "$.signer", message: `file name ${name} does not match the signer ${value.signer}`, fix: `name the file ${value.signer}.json` });
    if (found.length > 0) issues.push(...found);
    else approvals.set(value.signer, { signer: value.signer, file, chainId: value.chainId, limits: limits as unknown as ApprovalLimits, approvedAt });
  }
  const revocations = new Map<string, PackageRevocation>();
  for (const { value, file, name } of readRecords(repo, join(pkg.dir, REVOCATIONS_FOLDER), "a package revocation", issues)) {
    const revokedAt = String(value?.message?.["revokedAt"] ?? "");
    const reason = String(value?.message?.["reason"] ?? "");
    // A revocation counts on any chain: it only ever takes something away.
    const own = typeof value?.chainId === "number" ? value.chainId : 0;
    const found = verifyRecord(
      value,
      { kind: "packageRevocation", contractId: domain, chainId: own, message: revocationMessageOf(pkg, revokedAt, reason) },
      file,
    );
    if (found.length === 0 && parseTimestamp(revokedAt) === undefined)
      found.push({ file, path: "$.message.revokedAt", message: "is not a time", fix: "revoke again" });
    if (found.length === 0 && name !== revocationFileName(value.signer, revokedAt))
      found.push({
        file,
        path: "$.signer",
        message: `file name ${name} does not match the signer and time ${value.signer} ${revokedAt}`,
        fix: `name the file ${revocationFileName(value.signer, revokedAt)}`,
      });
    if (found.length > 0) issues.push(...found);
    else if ((parseTimestamp(revocations.get(value.signer)?.revokedAt ?? "") ?? Number.NEGATIVE_INFINITY) < parseTimestamp(revokedAt)!)
      revocations.set(value.signer, { signer: value.signer, file, revokedAt, reason });
  }
  return { approvals, revocations, issues };
}

/**
 * A revocation's file: `<address>.<time>.json` (the time as YYYYMMDDTHHMMSSZ). Each revocation is
 * a file of its own, written once, so every one stays evidence; the latest of an owner counts.
 */
export function revocationFileName(signer: string, revokedAt: string): string {
  return `${signer}.${revokedAt.replace(/[-:]/g, "")}.json`;
}

/** Whether `revocation` voids an approval given at `approvedAt` (it does for every approval at or before it). */
export function revokes(revocation: PackageRevocation | undefined, approvedAt: string): boolean {
  if (revocation === undefined) return false;
  return (parseTimestamp(approvedAt) ?? Number.POSITIVE_INFINITY) <= (parseTimestamp(revocation.revokedAt) ?? Number.NEGATIVE_INFINITY);
}

/** The datasets an approver answers for: a provider its own, the witness all of them. */
export function datasetsOf(contract: Contract, party: Party): { did: string; index: number }[] {
  return contract.inputs.data
    .map((asset, index) => ({ did: asset.did, owner: asset.owner, index }))
    .filter((asset) => party.role !== "provider" || asset.owner.toLowerCase() === party.address.toLowerCase())
    .map(({ did, index }) => ({ did, index }));
}

function within(limit: ParameterLimit, value: unknown): boolean {
  if (limit.enum !== undefined && !limit.enum.some((allowed) => allowed === value)) return false;
  if (limit.minimum !== undefined || limit.maximum !== undefined) {
    if (typeof value !== "number") return false;
    if (limit.minimum !== undefined && value < limit.minimum) return false;
    if (limit.maximum !== undefined && value > limit.maximum) return false;
  }
  return true;
}

function describeLimit(limit: ParameterLimit): string {
  const parts: string[] = [];
  if (limit.enum !== undefined) parts.push(`one of ${limit.enum.map((v) => JSON.stringify(v)).join(", ")}`);
  if (limit.minimum !== undefined) parts.push(`at least ${limit.minimum}`);
  if (limit.maximum !== undefined) parts.push(`at most ${limit.maximum}`);
  return parts.join(", ");
}

/** What a consumer may ask for with `parameter`, when all of it lies within `limit`; otherwise why not. */
function consumerRangeProblem(parameter: ConsumerParameter, limit: ParameterLimit): string | undefined {
  switch (parameter.type) {
    case "number": {
      const min = parameter.minimum;
      const max = parameter.maximum;
      if (limit.enum !== undefined) return "a consumer may ask for any number in a range, but the approval allows only listed values";
      if (limit.minimum !== undefined && (min === undefined || min < limit.minimum))
        return `a consumer may ask for ${min === undefined ? "any number" : `as little as ${min}`}, below the approved minimum ${limit.minimum}`;
      if (limit.maximum !== undefined && (max === undefined || max > limit.maximum))
        return `a consumer may ask for ${max === undefined ? "any number" : `as much as ${max}`}, above the approved maximum ${limit.maximum}`;
      return undefined;
    }
    case "select": {
      const values = (parameter.options ?? []).flatMap((option) => Object.keys(option));
      const outside = values.filter((value) => !within(limit, value));
      return outside.length === 0 ? undefined : `a consumer may choose ${outside.map((v) => JSON.stringify(v)).join(", ")}, which the approval does not allow`;
    }
    case "boolean":
      return [true, false].every((value) => within(limit, value)) ? undefined : "a consumer may set it to true or false, and the approval does not allow both";
    case "text":
      return "a consumer may write any text into it, and the approval limits it";
  }
}

/**
 * Why the approval `approval` does not cover contract `contract` for `party` at `now` (empty: it
 * covers it). Issues are reported on the contract at the field that is out of bounds.
 */
export function limitProblems(
  contract: Contract,
  file: string,
  party: Party,
  approval: PackageApproval,
  cluster: { name: string; profileDigest: string },
  now: number,
): Issue[] {
  const issues: Issue[] = [];
  const { limits } = approval;
  const by = `the approval of ${party.role} ${party.address} (${approval.file})`;
  const add = (path: string, message: string, fix: string): void => {
    issues.push({ file, path, message, fix });
  };
  const notBefore = parseTimestamp(limits.validity.notBefore)!;
  const notAfter = parseTimestamp(limits.validity.notAfter)!;
  if (parseTimestamp(approval.approvedAt)! > now)
    add("$.inputs.algorithm.package", `${by} is dated ${approval.approvedAt}, after the time it is judged at`, "the owner approves again with a correct clock");
  if (now < notBefore)
    add("$.inputs.algorithm.package", `${by} is valid only from ${limits.validity.notBefore}`, "wait until then, or ask the owner for an approval valid now");
  if (now > notAfter)
    add("$.inputs.algorithm.package", `${by} expired on ${limits.validity.notAfter}`, "the data owner reviews the package again and approves it anew");
  for (const { did, index } of datasetsOf(contract, party)) {
    if (!limits.datasets.includes(did))
      add(
        `$.inputs.data[${index}].did`,
        `${did} is not among the datasets of ${by}`,
        "the owner approves the package for this dataset too, or approves this contract itself",
      );
  }
  if (!limits.scenarios.includes(contract.opsc.scenario))
    add(
      "$.opsc.scenario",
      `${JSON.stringify(contract.opsc.scenario)} is not a scenario of ${by} (${limits.scenarios.join(", ")})`,
      "use an approved scenario, or ask the owner",
    );
  const clusters = limits.clusters.filter((c) => c.name === cluster.name);
  if (clusters.length === 0)
    add(
      "$.cluster",
      `${JSON.stringify(cluster.name)} is not a cluster of ${by} (${limits.clusters.map((c) => c.name).join(", ")})`,
      "run on an approved cluster, or ask the owner",
    );
  else if (!clusters.some((c) => c.profileDigest === `sha256:${cluster.profileDigest}`))
    add(
      "$.cluster",
      `clusters/${cluster.name}/cluster.yaml changed since ${by} (its profile is sha256:${cluster.profileDigest}, approved ${clusters.map((c) => c.profileDigest).join(", ")})`,
      "the owner reviews the profile's change and approves the package again",
    );
  const algorithm = contract.inputs.algorithm;
  for (const [name, limit] of Object.entries(limits.parameters ?? {})) {
    const fixed = algorithm.parameters?.[name];
    if (fixed !== undefined && !within(limit, fixed))
      add(
        `$.inputs.algorithm.parameters.${name}`,
        `is ${JSON.stringify(fixed)}, outside ${by}: ${describeLimit(limit)}`,
        "choose a value within the approved limits",
      );
    const index = (algorithm.consumerParameters ?? []).findIndex((p) => p.name === name);
    if (index < 0) continue;
    const parameter = algorithm.consumerParameters![index];
    if (!within(limit, parameter.default))
      add(
        `$.inputs.algorithm.consumerParameters[${index}].default`,
        `is ${JSON.stringify(parameter.default)}, outside ${by}: ${describeLimit(limit)}`,
        "choose a default within the approved limits",
      );
    const problem = consumerRangeProblem(parameter, limit);
    if (problem !== undefined)
      add(
        `$.inputs.algorithm.consumerParameters[${index}]`,
        `${problem} (${by}: ${describeLimit(limit)})`,
        "narrow what the consumer may ask for to the approved limits",
      );
  }
  return issues;
}

export interface InheritedVerdict {
  /** Approvers the package approvals cover for this contract. */
  readonly valid: ReadonlySet<string>;
  /** Approvers with a package approval that does not cover the contract (revoked, expired, out of limits). */
  readonly invalid: ReadonlySet<string>;
  readonly issues: readonly Issue[];
}

/** Which required approvers of `contract` inherit an approval of `pkg`, judged at `now`. */
export function inheritedApprovals(
  repo: string,
  contract: Contract,
  file: string,
  approvers: readonly Party[],
  pkg: AlgorithmPackage,
  cluster: { name: string; profileDigest: string },
  now: number,
): InheritedVerdict {
  const records = readMarketRecords(repo, pkg, contract.chainId);
  const valid = new Set<string>();
  const invalid = new Set<string>();
  const issues: Issue[] = [];
  for (const party of approvers) {
    const approval = records.approvals.get(party.address);
    const revocation = records.revocations.get(party.address);
    if (approval === undefined) {
      const unverified = records.issues.filter((issue) => issue.file.endsWith(`/${party.address}.json`) && issue.file.includes(`/${APPROVALS_FOLDER}/`));
      if (unverified.length > 0) {
        issues.push(...unverified);
        invalid.add(party.address);
      }
      continue;
    }
    if (revokes(revocation, approval.approvedAt)) {
      issues.push({
        file: approval.file,
        path: "$",
        message: `was revoked by ${party.role} ${party.address} at ${revocation!.revokedAt} (${revocation!.file}${revocation!.reason ? `: ${revocation!.reason}` : ""}), so no run may use it`,
        fix: "the data owner approves the package anew (datomspod algorithm approve), or the contract uses another algorithm",
      });
      invalid.add(party.address);
      continue;
    }
    const problems = limitProblems(contract, file, party, approval, cluster, now);
    if (problems.length > 0) {
      issues.push(...problems);
      invalid.add(party.address);
    } else valid.add(party.address);
  }
  return { valid, invalid, issues };
}
