/**
 * Pricing a contract's settlement from its verified receipts and its business terms: one line per
 * fee and billed run (quantity × unit price, exact, then rounded to the token's smallest unit as
 * the contract says), the minimums and maximums of each fee, the total cap (business.maximum and
 * the escrow's cap), and what each party earns. Refuses, naming what, when a requested run has no
 * receipt, a receipt does not count (unsigned, unverified), a run lies outside the validity window,
 * or (billing on-delivery) a successful run is not acknowledged. Pure: the same receipts and terms
 * give the same settlement, byte for byte.
 */

import { canonicalize, canonicalHash } from "../contract/canonical.js";
import {
  ZERO,
  compare,
  formatDecimal,
  fromBigInt,
  multiply,
  parseDecimal,
  roundToInteger,
  shift,
  subtract,
  type Decimal,
  type Rounding,
} from "../contract/money.js";
import { parseTimestamp, partiesWithRole } from "../contract/rules.js";
import type { Contract } from "../contract/types.generated.js";
import type { Issue } from "../errors.js";
import { readUsage, type BillableUsage, type Metered } from "./usage.js";

export const SETTLEMENT_VERSION = 1;

export const OUTCOMES = ["succeeded", "failed", "deadline", "policy-violation", "rejected"] as const;
export type Outcome = (typeof OUTCOMES)[number];
export type Billing = "full" | "usage-only" | "none";

/** How runs that did not succeed are billed when the contract does not say (see the schema's business.outcomes). */
export const OUTCOME_DEFAULTS = { failed: "usage-only", deadline: "usage-only", policyViolation: "usage-only", rejected: "none" } as const;

type Per = Contract["business"]["pricing"][number]["per"];
const USAGE_UNITS: Readonly<Partial<Record<Per, keyof Omit<BillableUsage, "notes">>>> = {
  "cpu-second": "cpuSeconds",
  "gib-second": "gibSeconds",
  "gpu-second": "gpuSeconds",
  "wall-second": "wallSeconds",
};

export interface SettlementRun {
  readonly run: string;
  /** sha256 of the receipt's RFC 8785 form: what its runner signed. */
  readonly receipt: string;
  readonly phase: string;
  readonly outcome: Outcome;
  readonly billed: Billing;
  /** When it ran: the receipt's end, else its start, else the runner's deletion check. */
  readonly at: string;
  /** The billed quantities as read from the receipt (null: not metered). */
  readonly usage: {
    readonly cpuSeconds: string | null;
    readonly wallSeconds: string | null;
    readonly gibSeconds: string | null;
    readonly gpuSeconds: string | null;
  };
}

export interface SettlementLine {
  readonly party: string;
  /** The fee's kind (business.pricing[price].kind), or "total" for the total cap. */
  readonly kind: string;
  /** The index of the fee in business.pricing; null for the total cap. */
  readonly price: number | null;
  readonly run: string | null;
  /** The unit (contract, run, cpu-second, …), or the adjustment: minimum, maximum, cap. */
  readonly per: string;
  readonly quantity: string;
  /** Currency units per unit, as the contract says; null for adjustments. */
  readonly unitPrice: string | null;
  /** The exact amount in the smallest unit, before rounding. */
  readonly exact: string;
  /** The amount in the smallest unit (negative for a reduction). */
  readonly amount: string;
  readonly rounding: string;
  readonly note: string;
}

export interface Settlement {
  readonly version: typeof SETTLEMENT_VERSION;
  readonly contract: { readonly id: string; readonly hash: string; readonly chainId: number };
  readonly currency: { readonly symbol: string; readonly decimals: number; readonly token: string | null };
  readonly escrow: { readonly address: string; readonly cap: string; readonly expiry: string } | null;
  /** The consumer: pays the total; gets back what the escrow holds beyond it. */
  readonly payer: string;
  readonly rounding: { readonly mode: Rounding; readonly unit: string; readonly rule: string };
  readonly outcomes: Readonly<Record<keyof typeof OUTCOME_DEFAULTS, Billing>>;
  readonly runs: readonly SettlementRun[];
  readonly lines: readonly SettlementLine[];
  /** What every party but the payer earns, in the contract's party order. */
  readonly parties: readonly { readonly address: string; readonly role: string; readonly name: string; readonly amount: string }[];
  readonly total: string;
}

export interface SettlementInput {
  readonly contract: Contract;
  readonly contractHash: string;
  /** Where the contract is, for issues. */
  readonly contractFile: string;
  /** Runs with a valid run request. */
  readonly requested: readonly string[];
  /** Receipts that count (signed by a runner, for a valid request), by run. */
  readonly receipts: ReadonlyMap<string, unknown>;
  /** Receipt files that exist but do not count, with why. */
  readonly notCounted: readonly Issue[];
  /** Runs a recipient acknowledged. */
  readonly acknowledged: ReadonlySet<string>;
  /** The display path of a run's receipt. */
  readonly receiptFile: (run: string) => string;
}

export type Priced =
  { readonly settlement: Settlement; readonly problems?: undefined } | { readonly settlement?: undefined; readonly problems: readonly Issue[] };

/** The outcome of a receipt's run, from its status. */
export function outcomeOf(receipt: unknown): Outcome | undefined {
  const status = (receipt as { predicate?: { status?: { phase?: unknown } } } | null)?.predicate?.status;
  switch (status?.phase) {
    case "succeeded":
      return "succeeded";
    case "rejected":
      return "rejected";
    case "policy-violation":
      return "policy-violation";
    case "failed":
      // The public receipt does not say whether the deadline stopped it (the sealed report does):
      // billed as failed, which the contract rules keep equal to outcomes.deadline.
      return "failed";
    default:
      return undefined;
  }
}

/** When a receipt's run happened: its end, else its start, else the runner's deletion check. */
export function runTime(receipt: unknown): string | undefined {
  const p = (receipt as { predicate?: { endedAt?: unknown; startedAt?: unknown; deletion?: { checkedAt?: unknown } | null } } | null)?.predicate;
  for (const value of [p?.endedAt, p?.startedAt, p?.deletion?.checkedAt]) if (typeof value === "string" && !Number.isNaN(Date.parse(value))) return value;
  return undefined;
}

export function effectiveOutcomes(contract: Contract): Record<keyof typeof OUTCOME_DEFAULTS, Billing> {
  return { ...OUTCOME_DEFAULTS, ...contract.business.outcomes };
}

function billingOf(outcome: Outcome, outcomes: Record<keyof typeof OUTCOME_DEFAULTS, Billing>): Billing {
  switch (outcome) {
    case "succeeded":
      return "full";
    case "failed":
      return outcomes.failed;
    case "deadline":
      return outcomes.deadline;
    case "policy-violation":
      return outcomes.policyViolation;
    case "rejected":
      return outcomes.rejected;
  }
}

/** Which runs the settlement covers, or why it cannot be made. */
function checkRuns(input: SettlementInput): Issue[] {
  const { contract } = input;
  const problems: Issue[] = input.notCounted.map((issue) => ({
    ...issue,
    message: `${issue.message}; a settlement covers only receipts that count, so the contract cannot be settled`,
  }));
  const notBefore = parseTimestamp(contract.business.validity.notBefore) ?? Number.POSITIVE_INFINITY;
  const notAfter = parseTimestamp(contract.business.validity.notAfter) ?? Number.NEGATIVE_INFINITY;
  for (const run of [...input.requested].sort()) {
    const file = input.receiptFile(run);
    const receipt = input.receipts.get(run);
    if (receipt === undefined) {
      if (!input.notCounted.some((issue) => issue.file === file))
        problems.push({
          file,
          path: "$",
          message: `run ${run} was requested but has no receipt`,
          fix: `run it first (datomspod run ${contract.id} ${run} --key FILE): a settlement covers every requested run`,
        });
      continue;
    }
    const outcome = outcomeOf(receipt);
    if (outcome === undefined)
      problems.push({ file, path: "$.predicate.status.phase", message: "is not a phase datomspod writes", fix: "restore the receipt the run wrote" });
    const at = runTime(receipt);
    if (at === undefined)
      problems.push({
        file,
        path: "$.predicate.endedAt",
        message: "the receipt gives no time for the run, so it cannot be placed in the validity window",
        fix: "restore the receipt the run wrote",
      });
    else if (Date.parse(at) < notBefore || Date.parse(at) > notAfter)
      problems.push({
        file,
        path: "$.predicate.endedAt",
        message: `run ${run} ran at ${at}, outside the validity window ${contract.business.validity.notBefore} – ${contract.business.validity.notAfter}`,
        fix: "a run outside the window is not billed under this contract: the parties settle it apart, or remove its request and receipt by agreement",
      });
    if (contract.business.billing === "on-delivery" && outcome === "succeeded" && !input.acknowledged.has(run))
      problems.push({
        file: file.replace(/receipts\/([^/]+)\.json$/, "acks/$1.json"),
        path: "$",
        message: `run ${run} succeeded but its delivery is not acknowledged, and the contract bills on delivery`,
        fix: `the recipient acknowledges it: datomspod ack ${contract.id} ${run} --key FILE`,
      });
  }
  return problems;
}

function shown(metered: Metered): string | null {
  return metered.value === null ? null : formatDecimal(metered.value);
}

function roundingText(exact: Decimal, amount: bigint, mode: Rounding): string {
  const difference = subtract(fromBigInt(amount), exact);
  if (compare(difference, ZERO) === 0) return "none";
  return `${mode}: ${formatDecimal(exact)} → ${amount} (${compare(difference, ZERO) > 0 ? "+" : ""}${formatDecimal(difference)})`;
}

/** Prices the settlement, or says why it cannot be made. */
export function priceSettlement(input: SettlementInput): Priced {
  const problems = checkRuns(input);
  if (problems.length > 0) return { problems };
  const { contract } = input;
  const business = contract.business;
  const decimals = business.currency.decimals;
  const mode: Rounding = business.rounding ?? "down";
  const outcomes = effectiveOutcomes(contract);
  const toUnits = (currency: string): Decimal => shift(parseDecimal(currency), decimals);

  const runs: SettlementRun[] = [...input.requested].sort().map((run) => {
    const receipt = input.receipts.get(run);
    const usage = readUsage(receipt);
    const outcome = outcomeOf(receipt)!;
    return {
      run,
      receipt: canonicalHash(receipt),
      phase: String((receipt as { predicate: { status: { phase: string } } }).predicate.status.phase),
      outcome,
      billed: billingOf(outcome, outcomes),
      at: runTime(receipt)!,
      usage: {
        cpuSeconds: shown(usage.cpuSeconds),
        wallSeconds: shown(usage.wallSeconds),
        gibSeconds: shown(usage.gibSeconds),
        gpuSeconds: shown(usage.gpuSeconds),
      },
    };
  });

  const lines: SettlementLine[] = [];
  const line = (
    fields: Omit<SettlementLine, "exact" | "amount" | "rounding">,
    exact: Decimal,
    amount: bigint,
    rounding = roundingText(exact, amount, mode),
  ): void => {
    lines.push({ ...fields, exact: formatDecimal(exact), amount: amount.toString(), rounding });
  };
  const earned = new Map<string, bigint>();
  const credit = (party: string, amount: bigint): void => {
    earned.set(party, (earned.get(party) ?? 0n) + amount);
  };

  business.pricing.forEach((price, index) => {
    const base = { party: price.party, kind: price.kind, price: index };
    const unitPrice = parseDecimal(price.amount);
    let sum = 0n;
    const charge = (run: string | null, quantity: Decimal, note: string): void => {
      const exact = multiply(quantity, toUnits(price.amount));
      const amount = roundToInteger(exact, mode);
      line({ ...base, run, per: price.per, quantity: formatDecimal(quantity), unitPrice: formatDecimal(unitPrice), note }, exact, amount);
      sum += amount;
    };
    if (price.per === "contract") charge(null, fromBigInt(1n), "once per contract");
    else {
      for (const run of runs) {
        if (run.billed === "none") continue;
        const usageKey = USAGE_UNITS[price.per];
        if (usageKey === undefined) {
          if (run.billed === "full") charge(run.run, fromBigInt(1n), `run ${run.outcome}, billed in full`);
          continue;
        }
        const metered = readUsage(input.receipts.get(run.run))[usageKey];
        if (metered.value === null) {
          const why = readUsage(input.receipts.get(run.run)).notes.join("; ");
          charge(run.run, ZERO, `not metered by the receipt${why === "" ? "" : ` (${why})`}: billed as 0`);
        } else charge(run.run, metered.value, [`run ${run.outcome}, billed ${run.billed}`, metered.note].filter((n) => n !== "").join("; "));
      }
    }
    const adjust = (per: "minimum" | "maximum", bound: string): void => {
      const limit = roundToInteger(toUnits(bound), mode);
      if (per === "minimum" ? sum >= limit : sum <= limit) return;
      const delta = limit - sum;
      line(
        { ...base, run: null, per, quantity: "1", unitPrice: null, note: `the fee came to ${sum}; its ${per} is ${bound} ${business.currency.symbol}` },
        fromBigInt(delta),
        delta,
        "none",
      );
      sum = limit;
    };
    if (price.minimum !== undefined) adjust("minimum", price.minimum);
    if (price.maximum !== undefined) adjust("maximum", price.maximum);
    credit(price.party, sum);
  });

  // The total cap: business.maximum and what the escrow can hold.
  const caps: { limit: bigint; what: string }[] = [];
  if (business.maximum !== undefined) caps.push({ limit: roundToInteger(toUnits(business.maximum), "down"), what: `business.maximum ${business.maximum}` });
  if (business.escrow !== undefined) caps.push({ limit: roundToInteger(toUnits(business.escrow.cap), "down"), what: `escrow.cap ${business.escrow.cap}` });
  const cap = caps.reduce<{ limit: bigint; what: string } | undefined>((low, next) => (low === undefined || next.limit < low.limit ? next : low), undefined);
  let total = [...earned.values()].reduce((a, b) => a + b, 0n);
  if (cap !== undefined && total > cap.limit) {
    const before = total;
    for (const party of contract.parties) {
      const amount = earned.get(party.address);
      if (amount === undefined || amount === 0n) continue;
      const scaled = (amount * cap.limit) / before;
      const remainder = (amount * cap.limit) % before;
      line(
        {
          party: party.address,
          kind: "total",
          price: null,
          run: null,
          per: "cap",
          quantity: "1",
          unitPrice: null,
          note: `the fees came to ${before}, over the cap (${cap.what} ${business.currency.symbol} = ${cap.limit}): each party's amount × ${cap.limit}/${before}, rounded down`,
        },
        fromBigInt(scaled - amount),
        scaled - amount,
        remainder === 0n ? "none" : `down: ${amount} × ${cap.limit} / ${before} = ${scaled} and ${remainder}/${before}`,
      );
      earned.set(party.address, scaled);
    }
    total = [...earned.values()].reduce((a, b) => a + b, 0n);
  }

  const payer = partiesWithRole(contract, "consumer")[0].address;
  const parties = contract.parties
    .filter((party) => party.address !== payer)
    .map((party) => ({ address: party.address, role: party.role, name: party.name, amount: (earned.get(party.address) ?? 0n).toString() }));
  const unit = `${formatDecimal(shift(fromBigInt(1n), -decimals))} ${business.currency.symbol}`;
  const settlement: Settlement = {
    version: SETTLEMENT_VERSION,
    contract: { id: contract.id, hash: input.contractHash, chainId: contract.chainId },
    currency: { symbol: business.currency.symbol, decimals, token: business.currency.token ?? null },
    escrow:
      business.escrow === undefined
        ? null
        : { address: business.escrow.address, cap: roundToInteger(toUnits(business.escrow.cap), "down").toString(), expiry: business.escrow.expiry },
    payer,
    rounding: {
      mode,
      unit,
      rule: `each line's exact amount (quantity × unit price, in units of ${unit}) is rounded ${mode === "down" ? "down" : mode === "up" ? "up" : "half up"} to a whole unit; minimums and maximums apply to a fee's rounded lines; a total over the cap is scaled down in proportion, rounded down`,
    },
    outcomes,
    runs,
    lines,
    parties,
    total: total.toString(),
  };
  return { settlement };
}

/** The settlement as written: members in RFC 8785 order, two-space indent, LF, trailing newline. */
export function settlementText(settlement: Settlement): string {
  return `${JSON.stringify(JSON.parse(canonicalize(settlement)), null, 2)}\n`;
}

/** sha256 of the settlement's RFC 8785 form: what every party signs. */
export function settlementHash(settlement: unknown): string {
  return canonicalHash(settlement);
}

/** The payouts the escrow makes: every party that earns more than zero, in the contract's order. */
export function payoutsOf(settlement: Settlement): { payee: string; amount: string }[] {
  return settlement.parties.filter((party) => BigInt(party.amount) > 0n).map((party) => ({ payee: party.address, amount: party.amount }));
}
