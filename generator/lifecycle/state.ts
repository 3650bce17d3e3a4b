/**
 * The lifecycle of a contract, derived from facts (what verified files exist) and a clock. Pure: the
 * same facts and time always give the same state, and no state is stored anywhere.
 *
 *   proposed → signed → approved → active ⇄ ran → delivered → deleted → settled
 *   expired and revoked end it early.
 */

export const STATES = ["proposed", "signed", "approved", "active", "ran", "delivered", "deleted", "settled", "expired", "revoked"] as const;
export type LifecycleState = (typeof STATES)[number];

export interface RunFacts {
  readonly id: string;
  /** A valid run request exists. */
  readonly requested: boolean;
  /** A receipt exists for the run. */
  readonly receipt: boolean;
  /** A valid acknowledgement of that receipt by a recipient exists. */
  readonly acknowledged: boolean;
}

export interface LifecycleFacts {
  readonly signed: boolean;
  readonly approved: boolean;
  readonly revoked: boolean;
  readonly settled: boolean;
  readonly deletionRecorded: boolean;
  /** Validity window and the time of the question, in ms since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly now: number;
  readonly runs: readonly RunFacts[];
}

export function lifecycleState(facts: LifecycleFacts): LifecycleState {
  if (facts.settled) return "settled";
  if (facts.revoked) return "revoked";
  if (!facts.signed) return "proposed";
  if (!facts.approved) return "signed";

  const produced = facts.runs.filter((run) => run.receipt);
  const pending = facts.runs.some((run) => run.requested && !run.receipt);
  if (produced.length > 0 && !pending && produced.every((run) => run.acknowledged)) {
    return facts.deletionRecorded ? "deleted" : "delivered";
  }
  if (facts.now >= facts.notAfter) return "expired";
  if (facts.now < facts.notBefore) return "approved";
  if (pending) return "active";
  return produced.length > 0 ? "ran" : "active";
}

/** States in which the contract has a rendered instance (a pod may be created). */
export function hasInstance(state: LifecycleState): boolean {
  return state === "active" || state === "ran";
}
