/**
 * Which pull-request reviews stand for which approver. Pure: the contract, the reviews as GitHub's
 * REST API lists them and the pull request's head commit in, one verdict per required approver
 * (every data provider, the witness) out.
 *
 * Per reviewer, the latest *deciding* review counts, as GitHub's own review summary does:
 * APPROVED, CHANGES_REQUESTED and DISMISSED decide; COMMENTED and PENDING never do. An approval
 * counts only when it is of the current head commit: a push makes it stale, a dismissal clears
 * it, a later request for changes withdraws it. A login counts only for the one party the signed
 * contract binds it to, and never for the consumer (signatures/reviews.ts bindLogin).
 */

import type { Contract, Party } from "../contract/types.generated.js";
import { requiredApprovers } from "../contract/rules.js";
import { bindLogin } from "../signatures/reviews.js";
import type { Review } from "./client.js";

export const APPROVER_STATUSES = ["approved", "stale", "dismissed", "changes-requested", "none", "no-login"] as const;
export type ApproverStatus = (typeof APPROVER_STATUSES)[number];

export interface ApproverReview {
  readonly party: Party;
  readonly status: ApproverStatus;
  /** The deciding review (approved, stale, dismissed, changes-requested). */
  readonly review?: Review;
}

export interface IgnoredReview {
  readonly review: Review;
  readonly reason: string;
}

export interface ReviewDecision {
  readonly approvers: readonly ApproverReview[];
  /** Approvals that stand for nobody (not a party, the consumer, an ambiguous login), with why. */
  readonly ignored: readonly IgnoredReview[];
}

const DECIDING = new Set<Review["state"]>(["APPROVED", "CHANGES_REQUESTED", "DISMISSED"]);

/** Submitted order: by time, then id (GitHub's ids grow). Reviews without a time (PENDING) last. */
function byTime(a: Review, b: Review): number {
  const ta = a.submittedAt ?? "~";
  const tb = b.submittedAt ?? "~";
  return ta < tb ? -1 : ta > tb ? 1 : a.id - b.id;
}

/** The latest deciding review of each login (lower-case). */
export function latestDecisions(reviews: readonly Review[]): Map<string, Review> {
  const latest = new Map<string, Review>();
  for (const review of [...reviews].sort(byTime)) {
    if (review.login === "" || !DECIDING.has(review.state)) continue;
    latest.set(review.login.toLowerCase(), review);
  }
  return latest;
}

export function decideReviews(contract: Contract, reviews: readonly Review[], headSha: string): ReviewDecision {
  const latest = latestDecisions(reviews);
  const approvers = requiredApprovers(contract).map((party): ApproverReview => {
    if (party.github === undefined) return { party, status: "no-login" };
    const review = latest.get(party.github.toLowerCase());
    if (review === undefined) return { party, status: "none" };
    // A login shared with another party stands for neither (bindLogin says why: it is ignored below).
    if ("problem" in bindLogin(contract, review.login)) return { party, status: "none" };
    const status: ApproverStatus =
      review.state === "DISMISSED"
        ? "dismissed"
        : review.state === "CHANGES_REQUESTED"
          ? "changes-requested"
          : review.commitId === headSha
            ? "approved"
            : "stale";
    return { party, status, review };
  });
  const ignored: IgnoredReview[] = [];
  for (const review of latest.values()) {
    if (review.state !== "APPROVED") continue;
    const binding = bindLogin(contract, review.login);
    if ("problem" in binding) ignored.push({ review, reason: binding.problem });
  }
  ignored.sort((a, b) => byTime(a.review, b.review));
  return { approvers, ignored };
}
