/**
 * The one place settlement reads a receipt's usage (`predicate.usage`). It takes what a signed
 * receipt publishes, whatever the shape: an exact number, or a bucket (an object with a lower
 * bound, `min`/`from`/`gte`/`lower`, or a text such as "10-100" or "[10, 100)"), which is priced at
 * its lower bound and says so. A value that is absent or null was not metered. Pure.
 */

import { divideByPowerOfTwo, fromNumber, multiply, parseDecimal, type Decimal } from "../contract/money.js";

/** One metered quantity as settlement prices it. */
export interface Metered {
  /** The quantity, or null when the receipt does not meter it. */
  readonly value: Decimal | null;
  /** How it was read, for the settlement line: "" for an exact value, otherwise the bucket and the bound used. */
  readonly note: string;
}

export interface BillableUsage {
  readonly cpuSeconds: Metered;
  readonly wallSeconds: Metered;
  /** Peak memory of the computing container in GiB times its wall time in seconds. */
  readonly gibSeconds: Metered;
  readonly gpuSeconds: Metered;
  /** Why the receipt left values unmetered (its usage.notes). */
  readonly notes: readonly string[];
}

const LOWER_BOUNDS = ["min", "from", "gte", "lower"] as const;
const BUCKET_TEXT = /^\s*[[(]?\s*(\d+(?:\.\d+)?)\s*(?:-|,|\.\.)\s*(\d+(?:\.\d+)?)?\s*[\])]?\s*$/;

/** One value of a usage block: a number, a bucket object, or a bucket text. */
export function meteredValue(value: unknown): Metered {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? { value: fromNumber(value), note: "" } : { value: null, note: "" };
  if (typeof value === "string") {
    const match = BUCKET_TEXT.exec(value);
    return match === null ? { value: null, note: "" } : { value: parseDecimal(match[1]), note: `bucket ${value.trim()}: priced at its lower bound` };
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const bucket = value as Record<string, unknown>;
    for (const key of LOWER_BOUNDS) {
      const bound = bucket[key];
      if (typeof bound === "number" && Number.isFinite(bound) && bound >= 0)
        return { value: fromNumber(bound), note: `bucket ${JSON.stringify(value)}: priced at its lower bound` };
    }
  }
  return { value: null, note: "" };
}

const NOT_METERED: Metered = { value: null, note: "" };

/** The receipt rounds each value up to a power of two (generator/seal/public.ts); settlement bills what it publishes. */
export const ROUNDED_UP = "as the receipt publishes it: rounded up to a power of two";

function published(value: unknown): Metered {
  const read = meteredValue(value);
  return read.value === null || read.note !== "" ? read : { value: read.value, note: ROUNDED_UP };
}

/** What a receipt says the run used, as settlement prices it. */
export function readUsage(receipt: unknown): BillableUsage {
  const predicate = (receipt as { predicate?: { usage?: unknown } } | null)?.predicate;
  const usage = (predicate?.usage ?? {}) as Record<string, unknown>;
  const cpu = published(usage["cpuSeconds"]);
  const wall = published(usage["durationSeconds"]);
  const peakMiB = published(usage["peakMemoryMiB"]);
  const gib: Metered =
    wall.value === null || peakMiB.value === null ? NOT_METERED : { value: divideByPowerOfTwo(multiply(peakMiB.value, wall.value), 10), note: ROUNDED_UP };
  const notes = Array.isArray(usage["notes"]) ? usage["notes"].filter((n): n is string => typeof n === "string") : [];
  return { cpuSeconds: cpu, wallSeconds: wall, gibSeconds: gib, gpuSeconds: published(usage["gpuSeconds"]), notes };
}
