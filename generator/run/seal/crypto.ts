/**
 * Zero-knowledge sealing of a run's outputs and logs.
 *
 * - One fresh random 256-bit data key per run.
 * - Each file becomes a blob: `DPSEAL01` ‖ 12-byte random nonce ‖ AES-256-GCM(payload) ‖ 16-byte tag,
 *   where payload = u32 BE header length ‖ header JSON ‖ file bytes. The header holds the file's
 *   real name, kind, size and plaintext sha256, so none of them is visible outside the ciphertext.
 *   The additional authenticated data binds the blob to the contract hash, the run and its subject
 *   name, so a blob cannot be moved to another run or swapped with another subject.
 * - The data key is wrapped for each party with ECIES on secp256k1 (eciesjs; the parties' Ethereum
 *   keys, uncompressed ephemeral key, HKDF-SHA256, AES-256-GCM with a 16-byte nonce), pinned below
 *   rather than taken from the library's mutable global default.
 */

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { closeSync, createReadStream, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { decrypt, encrypt } from "eciesjs";
import { Config } from "eciesjs/config";

export const SEAL_MAGIC = "DPSEAL01";
export const SEAL_FORMAT = {
  magic: SEAL_MAGIC,
  aead: "aes-256-gcm",
  nonceBytes: 12,
  tagBytes: 16,
  keyWrap: "ecies-secp256k1-hkdf-sha256-aes-256-gcm",
} as const;
const MAX_HEADER_BYTES = 64 * 1024;

export const SEALED_KINDS = ["output", "log", "report"] as const;
export type SealedKind = (typeof SEALED_KINDS)[number];

/** What the encrypted header says about the file inside a blob. */
export interface SealedHeader {
  readonly version: 1;
  readonly kind: SealedKind;
  /** The file's path below its folder (/data/outputs or /data/logs), '/'-separated. */
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

function eciesConfig(): Config {
  const config = new Config();
  config.ellipticCurve = "secp256k1";
  config.isEphemeralKeyCompressed = false;
  config.isHkdfKeyCompressed = false;
  config.symmetricAlgorithm = "aes-256-gcm";
  config.symmetricNonceLength = 16;
  return config;
}

export function newDataKey(): Buffer {
  return randomBytes(32);
}

function hexBytes(hex: string): Buffer {
  return Buffer.from(hex.replace(/^0x/, ""), "hex");
}

/** The data key encrypted to an uncompressed secp256k1 public key (0x04…), base64. */
export function wrapKey(dataKey: Uint8Array, publicKey: string): string {
  return Buffer.from(encrypt(hexBytes(publicKey), dataKey, eciesConfig())).toString("base64");
}

/** The data key from a wrapped key and a private key (0x hex); throws when it does not open. */
export function unwrapKey(wrapped: string, privateKey: string): Buffer {
  const key = Buffer.from(decrypt(hexBytes(privateKey), Buffer.from(wrapped, "base64"), eciesConfig()));
  if (key.length !== 32) throw new RangeError("the wrapped key is not a 256-bit key");
  return key;
}

/** The authenticated context of a blob: which contract, run and subject it belongs to. */
export function sealContext(contractHash: string, runId: string, subject: string): Buffer {
  return Buffer.from(`datomspod-seal/v1\0${contractHash}\0${runId}\0${subject}`, "utf8");
}

export interface SealResult {
  /** Bytes of the blob, and its sha256 (what the receipt pins and IPFS addresses). */
  readonly size: number;
  readonly sha256: string;
  /** The plaintext the header describes (checked against the file as it was encrypted). */
  readonly header: SealedHeader;
}

/**
 * Encrypts the file at `source` (or the bytes `source`) into the blob `target` (written to a
 * temporary name, then renamed). The header's size and sha256 come from an earlier pass; a file
 * that changed in between is refused, so the header never describes other bytes than those sealed.
 */
export async function sealFile(
  source: string | Uint8Array,
  target: string,
  dataKey: Uint8Array,
  context: Uint8Array,
  header: SealedHeader,
): Promise<SealResult> {
  const nonce = randomBytes(SEAL_FORMAT.nonceBytes);
  const cipher = createCipheriv("aes-256-gcm", dataKey, nonce, { authTagLength: SEAL_FORMAT.tagBytes });
  cipher.setAAD(context);
  const blobHash = createHash("sha256");
  const plainHash = createHash("sha256");
  const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o444);
  let size = 0;
  let plainSize = 0;
  const put = (bytes: Uint8Array): void => {
    if (bytes.length === 0) return;
    blobHash.update(bytes);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    size += bytes.length;
  };
  try {
    const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(headerBytes.length);
    put(Buffer.from(SEAL_MAGIC, "latin1"));
    put(nonce);
    put(cipher.update(length));
    put(cipher.update(headerBytes));
    const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
      typeof source === "string" ? createReadStream(source, { highWaterMark: 1 << 20 }) : [source];
    for await (const chunk of chunks) {
      plainHash.update(chunk as Buffer);
      plainSize += (chunk as Buffer).length;
      put(cipher.update(chunk as Buffer));
    }
    put(cipher.final());
    put(cipher.getAuthTag());
    closeSync(fd);
    if (plainSize !== header.size || plainHash.digest("hex") !== header.sha256)
      throw new Error(`${typeof source === "string" ? source : "the content"} changed while it was sealed`);
    renameSync(temp, target);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(temp, { force: true });
    throw error;
  }
  return { size, sha256: blobHash.digest("hex"), header };
}

/** Why a blob could not be opened; the message is safe to show (no key material). */
export class OpenError extends Error {}

/**
 * Decrypts a blob, streaming the plaintext to `write`, and returns its header once the tag has
 * been verified. Until then nothing written may be trusted: the caller writes to a temporary file
 * and keeps it only when this resolves. The plaintext's size and sha256 are checked against the
 * header.
 */
export function openBlob(blob: Uint8Array, dataKey: Uint8Array, context: Uint8Array, write: (bytes: Uint8Array) => void): SealedHeader {
  const minimum = SEAL_MAGIC.length + SEAL_FORMAT.nonceBytes + 4 + SEAL_FORMAT.tagBytes;
  if (blob.length < minimum || Buffer.from(blob.subarray(0, SEAL_MAGIC.length)).toString("latin1") !== SEAL_MAGIC) {
    throw new OpenError("is not a datomspod sealed blob");
  }
  const nonce = blob.subarray(SEAL_MAGIC.length, SEAL_MAGIC.length + SEAL_FORMAT.nonceBytes);
  const body = blob.subarray(SEAL_MAGIC.length + SEAL_FORMAT.nonceBytes, blob.length - SEAL_FORMAT.tagBytes);
  const tag = blob.subarray(blob.length - SEAL_FORMAT.tagBytes);
  const decipher = createDecipheriv("aes-256-gcm", dataKey, nonce, { authTagLength: SEAL_FORMAT.tagBytes });
  decipher.setAAD(context);
  decipher.setAuthTag(tag);

  let pending = Buffer.alloc(0);
  let header: SealedHeader | undefined;
  let headerLength = -1;
  const plainHash = createHash("sha256");
  let plainSize = 0;
  const take = (bytes: Buffer): void => {
    if (header === undefined) {
      pending = Buffer.concat([pending, bytes]);
      if (headerLength < 0 && pending.length >= 4) {
        headerLength = pending.readUInt32BE(0);
        if (headerLength > MAX_HEADER_BYTES) throw new OpenError("has a header larger than 64 KiB");
      }
      if (headerLength < 0 || pending.length < 4 + headerLength) return;
      header = parseHeader(pending.subarray(4, 4 + headerLength));
      bytes = pending.subarray(4 + headerLength);
      pending = Buffer.alloc(0);
    }
    if (bytes.length > 0) {
      plainHash.update(bytes);
      plainSize += bytes.length;
      write(bytes);
    }
  };
  const step = 1 << 20;
  for (let offset = 0; offset < body.length; offset += step) take(decipher.update(body.subarray(offset, offset + step)));
  try {
    take(decipher.final());
  } catch (error) {
    if (error instanceof OpenError) throw error;
    throw new OpenError("does not decrypt: the data key or the blob is wrong, or the blob belongs to another contract, run or subject");
  }
  if (header === undefined) throw new OpenError("has no complete header");
  if (plainSize !== header.size) throw new OpenError(`holds ${plainSize} bytes, but its header says ${header.size}`);
  const digest = plainHash.digest("hex");
  if (digest !== header.sha256) throw new OpenError(`holds content with sha256 ${digest}, but its header says ${header.sha256}`);
  return header;
}

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}(\/[A-Za-z0-9_][A-Za-z0-9._-]{0,127}){0,7}$/;

/** A file name as outputs may have it: relative, '/'-separated, no '..' or hidden segments, at most 8 deep. */
export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name) && !name.split("/").some((segment) => segment === "." || segment === "..");
}

function parseHeader(bytes: Uint8Array): SealedHeader {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new OpenError("has a header that is not JSON");
  }
  const h = value as Record<string, unknown>;
  if (
    h === null ||
    typeof h !== "object" ||
    h["version"] !== 1 ||
    !(SEALED_KINDS as readonly unknown[]).includes(h["kind"]) ||
    typeof h["name"] !== "string" ||
    !isSafeName(h["name"]) ||
    !Number.isSafeInteger(h["size"]) ||
    (h["size"] as number) < 0 ||
    typeof h["sha256"] !== "string" ||
    !/^[0-9a-f]{64}$/.test(h["sha256"])
  ) {
    throw new OpenError("has a malformed header");
  }
  return { version: 1, kind: h["kind"] as SealedKind, name: h["name"], size: h["size"] as number, sha256: h["sha256"] };
}
