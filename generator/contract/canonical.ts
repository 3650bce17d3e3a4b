/**
 * RFC 8785 JSON Canonicalization Scheme: the one byte form of a document that is hashed, signed,
 * pinned and anchored. Keys are sorted by UTF-16 code units, numbers use the ECMAScript shortest
 * round-trip form (which is what `JSON.stringify` gives for a finite number), strings the minimal
 * JSON escaping, no white space.
 */

import { createHash } from "node:crypto";

export function canonicalize(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError("RFC 8785 cannot represent NaN or Infinity");
      return JSON.stringify(value);
    case "string":
      if (!value.isWellFormed()) throw new TypeError("RFC 8785 cannot represent a lone surrogate");
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalize(item)).join(",")}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalize(v)}`).join(",")}}`;
    }
    default:
      throw new TypeError(`RFC 8785 cannot represent a ${typeof value}`);
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** sha256 of the canonical form, lower-case hex without prefix. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalize(value));
}
