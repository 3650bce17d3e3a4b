/**
 * Byte-stable YAML: `apiVersion`, `kind`, `metadata` first, `name` first in any mapping, other keys
 * sorted, undefined dropped, one stringify call with fixed options, LF endings.
 */

import { stringify } from "yaml";

const FIRST = ["apiVersion", "kind", "metadata", "name"];

function rank(key: string): number {
  const i = FIRST.indexOf(key);
  return i === -1 ? FIRST.length : i;
}

/** A deep copy with keys in the canonical order and undefined values dropped. */
export function ordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((item) => item !== undefined).map((item) => ordered(item));
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, ordered(v)]));
  }
  return value;
}

export function toYaml(value: unknown): string {
  return stringify(ordered(value), {
    lineWidth: 0,
    minContentWidth: 0,
    indent: 2,
    indentSeq: true,
    aliasDuplicateObjects: false,
    defaultStringType: "PLAIN",
    defaultKeyType: "PLAIN",
  });
}
