/**
 * Review records: an approving GitHub pull-request review that stands for a data owner's (or the
 * witness's) algorithm approval, as strongly as a signed `approvals/<address>.json`.
 *
 *   contracts/<id>/reviews/<review id>.json
 *
 * A review record names the review (id, state APPROVED, the commit it reviewed, when, its URL), the
 * reviewer (login and GitHub's numeric user id), the party the login stands for, and the approval
 * subject (generator/compile/prepare.ts) as computed at the reviewed commit. It counts when:
 *
 *   - the login is that party's `github` in the contract, and in no other party's (the parties
 *     signed the contract, logins included, so the binding is theirs);
 *   - the party is a data provider or the witness: the consumer never approves its own algorithm;
 *   - the party's agreement signature verifies over the current contract (the binding it signed
 *     is the one in force);
 *   - the subject equals what the repository renders now, exactly like a signed approval: any
 *     change of code, image, entrypoint, environment, profile, role image or instance voids it.
 *
 * The merge workflow writes these records from GitHub's API (`datomspod github record-reviews`),
 * they are anchored with the rest of the evidence, and `datomspod audit reviews` re-reads every one
 * from the API. Pure: records and the contract in, issues out.
 */

import type { ValidateFunction } from "ajv";
import type { Issue } from "../errors.js";
import { newAjv, validateAgainst } from "../contract/schema.js";
import { isChecksummedAddress } from "../contract/rules.js";
import type { Contract, Party } from "../contract/types.generated.js";
import { FIELD_MISMATCH } from "./records.js";
import { RECORD_TYPES, type RecordMessage } from "./typed-data.js";

/** The folder of a contract that holds its review records. */
export const REVIEW_FOLDER = "reviews";
export const REVIEW_RECORD_KIND = "github-review";

export interface ReviewRecord {
  readonly kind: typeof REVIEW_RECORD_KIND;
  readonly version: 1;
  /** owner/name of the repository the pull request belongs to. */
  readonly repository: string;
  readonly pullRequest: number;
  readonly review: {
    readonly id: number;
    readonly state: "APPROVED";
    /** The commit the review approved (the pull request's head then). */
    readonly commit: string;
    readonly submittedAt: string;
    readonly url: string;
  };
  readonly reviewer: { readonly login: string; readonly id: number };
  /** The party the login stands for (checksummed address). */
  readonly party: string;
  /** The approval subject at the reviewed commit, as the EIP-712 AlgorithmApproval message. */
  readonly approval: RecordMessage;
}

const APPROVAL_FIELDS = RECORD_TYPES.approval.fields.map((field) => field.name);
export const GITHUB_LOGIN = "^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$";

const reviewSchema = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "version", "repository", "pullRequest", "review", "reviewer", "party", "approval"],
  properties: {
    kind: { const: REVIEW_RECORD_KIND },
    version: { const: 1 },
    repository: { type: "string", pattern: "^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$" },
    pullRequest: { type: "integer", minimum: 1 },
    review: {
      type: "object",
      additionalProperties: false,
      required: ["id", "state", "commit", "submittedAt", "url"],
      properties: {
        id: { type: "integer", minimum: 1 },
        state: { const: "APPROVED" },
        commit: { type: "string", pattern: "^[0-9a-f]{40}$" },
        submittedAt: { type: "string", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$" },
        url: { type: "string", pattern: "^https://[^\\s]{1,500}$" },
      },
    },
    reviewer: {
      type: "object",
      additionalProperties: false,
      required: ["login", "id"],
      properties: { login: { type: "string", pattern: GITHUB_LOGIN }, id: { type: "integer", minimum: 1 } },
    },
    party: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
    approval: {
      type: "object",
      additionalProperties: false,
      required: APPROVAL_FIELDS,
      properties: Object.fromEntries(APPROVAL_FIELDS.map((name) => [name, { type: "string", maxLength: 4000 }])),
    },
  },
} as const;

let validator: ValidateFunction | undefined;

export function validateReviewShape(value: unknown, file: string): Issue[] {
  validator ??= newAjv().compile(reviewSchema);
  return validateAgainst(validator, value, file);
}

/** The file name of a review's record. */
export function reviewFileName(reviewId: number): string {
  return `${reviewId}.json`;
}

/** Who a GitHub login stands for in a contract, or why it stands for nobody. */
export type LoginBinding = { readonly party: Party } | { readonly problem: string; readonly fix: string };

/**
 * The party a login stands for when it approves: the one party whose signed `github` it is
 * (GitHub logins are case-insensitive), which must be a data provider or the witness.
 */
export function bindLogin(contract: Contract, login: string): LoginBinding {
  const wanted = login.toLowerCase();
  const matches = contract.parties.filter((party) => party.github?.toLowerCase() === wanted);
  if (matches.length === 0)
    return {
      problem: `@${login} is not the GitHub login of any party of the contract`,
      fix: "only a party whose login the signed contract names (parties[].github) approves",
    };
  if (matches.length > 1)
    return {
      problem: `@${login} is the GitHub login of ${matches.length} parties (${matches.map((p) => p.role).join(", ")}), so it cannot stand for one of them`,
      fix: "give each party its own login in the contract and have every party sign it again",
    };
  const party = matches[0];
  if (party.role === "consumer")
    return { problem: `@${login} is the consumer's login: the consumer never approves its own algorithm`, fix: "a data provider or the witness approves" };
  if (party.role !== "provider" && party.role !== "witness")
    return {
      problem: `@${login} is the ${party.role}'s login; only data providers and the witness approve the algorithm`,
      fix: "a data provider or the witness approves",
    };
  return { party };
}

export interface ReviewExpectation {
  readonly contract: Contract;
  /** The approval message as it must be now (signatures/verify.ts approvalMessage of the current subject). */
  readonly message: RecordMessage;
  /** Addresses (lower-case) of the parties whose agreement signature verifies over the current contract. */
  readonly agreed: ReadonlySet<string>;
}

export interface ReviewVerdict {
  /** The party the record stands for, when the login binds to one. */
  readonly party?: Party;
  readonly issues: readonly Issue[];
  /** Every issue is only that the record approves another subject (an earlier version). */
  readonly stale: boolean;
}

/** Verifies one review record (read from `file`, named `name` when it is a file). */
export function verifyReviewRecord(value: unknown, expected: ReviewExpectation, file: string, name?: string): ReviewVerdict {
  const shape = validateReviewShape(value, file);
  if (shape.length > 0) return { issues: shape, stale: false };
  const record = value as ReviewRecord;
  const issues: Issue[] = [];
  const add = (path: string, message: string, fix: string): void => {
    issues.push({ file, path, message, fix });
  };
  if (name !== undefined && name !== reviewFileName(record.review.id))
    add("$.review.id", `file name ${name} does not match the review id ${record.review.id}`, `name the file ${reviewFileName(record.review.id)}`);
  if (!isChecksummedAddress(record.party)) add("$.party", "is not an EIP-55 checksummed address", "write the party's address with its checksum");

  const binding = bindLogin(expected.contract, record.reviewer.login);
  let party: Party | undefined;
  if ("problem" in binding) add("$.reviewer.login", binding.problem, binding.fix);
  else {
    party = binding.party;
    if (party.address.toLowerCase() !== record.party.toLowerCase())
      add(
        "$.party",
        `names ${record.party}, but @${record.reviewer.login} is the login of ${party.address} (${party.name})`,
        "record the party the login belongs to",
      );
    else if (!expected.agreed.has(party.address.toLowerCase()))
      add(
        "$.reviewer.login",
        `${party.role} ${party.name} has not signed the current contract, so the login @${record.reviewer.login} it names is not (yet) its own`,
        `the party signs the contract: datomspod contract sign ${expected.contract.id} --key FILE`,
      );
  }
  const bound = issues.length;
  for (const key of APPROVAL_FIELDS) {
    const want = expected.message[key] ?? "";
    const got = record.approval[key] ?? "";
    if (got.toLowerCase() !== want.toLowerCase()) {
      const known = FIELD_MISMATCH[key] ?? { message: `differs from the expected ${JSON.stringify(want)}`, fix: "approve again" };
      add(`$.approval.${key}`, known.message, `${known.fix} (approve the pull request that changes it, or datomspod approve)`);
    }
  }
  return { ...(party === undefined ? {} : { party }), issues, stale: bound === 0 && issues.length > 0 };
}
