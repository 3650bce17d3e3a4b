/**
 * Exact decimal arithmetic for money and metered quantities: a value is an integer number of units
 * of 10^-scale (bigint), so "0.1" + "0.2" is "0.3" and a price times a quantity is exact. Every
 * quantity datomspod bills (seconds with decimals, bytes over 2^30) has a terminating decimal
 * expansion, so nothing is ever rounded except where a settlement line says so. Pure.
 */

export interface Decimal {
  /** The value times 10^scale. */
  readonly units: bigint;
  readonly scale: number;
}

export const ROUNDING_MODES = ["down", "half-up", "up"] as const;
export type Rounding = (typeof ROUNDING_MODES)[number];

const DECIMAL_TEXT = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

export const ZERO: Decimal = { units: 0n, scale: 0 };

/** Parses "12", "0.002", "-3.5", "1.5e-7" exactly; throws a RangeError on anything else. */
export function parseDecimal(text: string): Decimal {
  const match = DECIMAL_TEXT.exec(text);
  if (match === null) throw new RangeError(`${JSON.stringify(text)} is not a decimal number`);
  const [, sign = "", whole = "0", fraction = "", exponent = "0"] = match;
  let units = BigInt(`${sign}${whole}${fraction}`);
  let scale = fraction.length - Number(exponent);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return normalize({ units, scale });
}

/** A JavaScript number as the exact decimal of its shortest representation (what JSON printed). */
export function fromNumber(value: number): Decimal {
  if (!Number.isFinite(value)) throw new RangeError(`${value} is not a finite number`);
  return parseDecimal(String(value));
}

export function fromBigInt(value: bigint): Decimal {
  return { units: value, scale: 0 };
}

/** Drops trailing zeros of the fraction. */
export function normalize(d: Decimal): Decimal {
  let { units, scale } = d;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return { units, scale };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale), scale];
}

export function add(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return normalize({ units: x + y, scale });
}

export function subtract(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return normalize({ units: x - y, scale });
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return normalize({ units: a.units * b.units, scale: a.scale + b.scale });
}

/** a / 2^bits, exactly (1/2 = 5/10). */
export function divideByPowerOfTwo(a: Decimal, bits: number): Decimal {
  return normalize({ units: a.units * 5n ** BigInt(bits), scale: a.scale + bits });
}

/** a × 10^digits. */
export function shift(a: Decimal, digits: number): Decimal {
  return digits >= 0 ? normalize({ units: a.units * 10n ** BigInt(digits), scale: a.scale }) : normalize({ units: a.units, scale: a.scale - digits });
}

export function compare(a: Decimal, b: Decimal): number {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The whole number `d` rounds to, by `mode` (non-negative values; "down" truncates toward zero). */
export function roundToInteger(d: Decimal, mode: Rounding): bigint {
  const divisor = 10n ** BigInt(d.scale);
  const whole = d.units / divisor;
  const rest = d.units % divisor;
  if (rest === 0n) return whole;
  const sign = d.units < 0n ? -1n : 1n;
  switch (mode) {
    case "down":
      return whole;
    case "up":
      return whole + sign;
    case "half-up":
      return (rest < 0n ? -rest : rest) * 2n >= divisor ? whole + sign : whole;
  }
}

/** The decimal text: "-12.5", "0.002", "3". */
export function formatDecimal(d: Decimal): string {
  const { units, scale } = normalize(d);
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return `${negative ? "-" : ""}${whole}${scale > 0 ? `.${fraction}` : ""}`;
}

/** An amount in currency units as a whole number of the smallest unit (10^-decimals), or undefined when it is finer than that. */
export function toSmallestUnit(amount: string, decimals: number): bigint | undefined {
  const d = shift(parseDecimal(amount), decimals);
  return d.scale === 0 ? d.units : undefined;
}
