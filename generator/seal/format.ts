/**
 * The sealed format as data: its name and parameters, the kinds of sealed files, and which file
 * names may leave. Kept apart from crypto.ts (which does the sealing) so that the
 * roles that only read a manifest (the oracle) or price its sizes do not load the ciphers.
 */

export const SEAL_MAGIC = "DPSEAL02";
export const SEAL_FORMAT = {
  magic: SEAL_MAGIC,
  aead: "aes-256-gcm",
  nonceBytes: 12,
  tagBytes: 16,
  keyWrap: "ecies-secp256k1-hkdf-sha256-aes-256-gcm",
  padding: "zeros inside the ciphertext to the next power of two, at least 4096 bytes",
} as const;

/** The encrypted header (file names, sizes, digests) is at most this long. */
export const MAX_HEADER_BYTES = 256 * 1024;

export const SEALED_KINDS = ["output", "log", "report"] as const;
export type SealedKind = (typeof SEALED_KINDS)[number];

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}(\/[A-Za-z0-9_][A-Za-z0-9._-]{0,127}){0,7}$/;

/** A file name as outputs may have it: relative, '/'-separated, no '..' or hidden segments, at most 8 deep. */
export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name) && !name.split("/").some((segment) => segment === "." || segment === "..");
}
