/**
 * Zero-knowledge sealing of a run's outputs and logs.
 *
 * - One fresh random 256-bit data key per run.
 * - Files are packed into blobs: `DPSEAL02` ‖ 12-byte random nonce ‖ AES-256-GCM(payload) ‖ 16-byte
 *   tag, where payload = u32 BE header length ‖ header JSON ‖ the files' bytes one after the other ‖
 *   zeros. The header lists each file's real name, size and plaintext sha256, so none of them is
 *   visible outside the ciphertext; the zeros pad the blob to a size bucket (public.ts), so its
 *   size says little about what it holds.
 *   The additional authenticated data binds the blob to the contract hash, the run and its subject
 *   name, so a blob cannot be moved to another run or swapped with another subject.
 * - The data key is wrapped for each party with ECIES on secp256k1 in eciesjs's format (the parties'
 *   Ethereum keys, uncompressed ephemeral key, HKDF-SHA256, AES-256-GCM with a 16-byte nonce),
 *   computed by OpenSSL (ecies.ts).
 */

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { closeSync, createReadStream, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { eciesDecrypt, eciesEncrypt } from "./ecies.js";

import { MAX_HEADER_BYTES, SEALED_KINDS, SEAL_FORMAT, SEAL_MAGIC, isSafeName, type SealedKind } from "./format.js";

export { MAX_HEADER_BYTES, SEALED_KINDS, SEAL_FORMAT, SEAL_MAGIC, isSafeName, type SealedKind } from "./format.js";

/** A file packed in a blob. */
export interface SealedFile {
  /** Its path below its folder (/data/outputs or /data/logs), '/'-separated; the report's name. */
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

/** What the encrypted header says about the files inside a blob, whose content is their concatenation. */
export interface SealedHeader {
  readonly version: 2;
  readonly kind: SealedKind;
  readonly files: readonly SealedFile[];
}

export function newDataKey(): Buffer {
  return randomBytes(32);
}

function hexBytes(hex: string): Buffer {
  return Buffer.from(hex.replace(/^0x/, ""), "hex");
}

/** The data key encrypted to an uncompressed secp256k1 public key (0x04…), base64. */
export function wrapKey(dataKey: Uint8Array, publicKey: string): string {
  return eciesEncrypt(hexBytes(publicKey), dataKey).toString("base64");
}

/** The data key from a wrapped key and a private key (0x hex); throws when it does not open. */
export function unwrapKey(wrapped: string, privateKey: string): Buffer {
  const key = eciesDecrypt(hexBytes(privateKey), Buffer.from(wrapped, "base64"));
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

/** A file to seal: a path, or the bytes themselves; `limit`: only its first bytes (a log's head). */
export interface SealSource {
  readonly path: string | Uint8Array;
  readonly limit?: number;
}

async function* chunksOf(source: SealSource): AsyncIterable<Uint8Array> {
  let left = source.limit ?? Number.POSITIVE_INFINITY;
  const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
    typeof source.path === "string" ? createReadStream(source.path, { highWaterMark: 1 << 20 }) : [source.path];
  for await (const chunk of chunks) {
    if (left <= 0) return;
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= part.length;
    yield part;
  }
}

/**
 * Encrypts the files `sources` (described, in the same order, by `header.files`) into one blob
 * `target` (written to a temporary name, then renamed), padded with zeros inside the ciphertext so
 * the blob is `paddedTo(unpadded size)` bytes. The header's sizes and digests come from an earlier
 * pass; a file that changed in between is refused, so the header never describes other bytes
 * than those sealed.
 */
export async function sealFile(
  sources: readonly SealSource[],
  target: string,
  dataKey: Uint8Array,
  context: Uint8Array,
  header: SealedHeader,
  paddedTo: (size: number) => number,
): Promise<SealResult> {
  const nonce = randomBytes(SEAL_FORMAT.nonceBytes);
  const cipher = createCipheriv("aes-256-gcm", dataKey, nonce, { authTagLength: SEAL_FORMAT.tagBytes });
  cipher.setAAD(context);
  const blobHash = createHash("sha256");
  const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o444);
  let size = 0;
  const put = (bytes: Uint8Array): void => {
    if (bytes.length === 0) return;
    blobHash.update(bytes);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    size += bytes.length;
  };
  try {
    const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
    if (headerBytes.length > MAX_HEADER_BYTES) throw new RangeError(`the sealed header would be ${headerBytes.length} bytes, more than ${MAX_HEADER_BYTES}`);
    const content = header.files.reduce((sum, file) => sum + file.size, 0);
    const unpadded = SEAL_MAGIC.length + SEAL_FORMAT.nonceBytes + 4 + headerBytes.length + content + SEAL_FORMAT.tagBytes;
    const padding = paddedTo(unpadded) - unpadded;
    if (padding < 0) throw new RangeError("the padded size is smaller than the blob");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(headerBytes.length);
    put(Buffer.from(SEAL_MAGIC, "latin1"));
    put(nonce);
    put(cipher.update(length));
    put(cipher.update(headerBytes));
    for (const [i, source] of sources.entries()) {
      const plainHash = createHash("sha256");
      let plainSize = 0;
      for await (const chunk of chunksOf(source)) {
        plainHash.update(chunk);
        plainSize += chunk.length;
        put(cipher.update(chunk));
      }
      const described = header.files[i];
      if (described === undefined || plainSize !== described.size || plainHash.digest("hex") !== described.sha256)
        throw new Error(`${typeof source.path === "string" ? source.path : "the content"} changed while it was sealed`);
    }
    const zeros = Buffer.alloc(Math.min(padding, 1 << 20));
    for (let left = padding; left > 0; left -= zeros.length) put(cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left)));
    put(cipher.final());
    put(cipher.getAuthTag());
    closeSync(fd);
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
 * Decrypts a blob, streaming each packed file's plaintext to `write(file index, bytes)`, and
 * returns its header once the tag has been verified. Until then nothing written may be trusted:
 * the caller writes to temporary files and keeps them only when this returns. Every file's size
 * and sha256 are checked against the header, and the padding must be zeros.
 */
export function openBlob(blob: Uint8Array, dataKey: Uint8Array, context: Uint8Array, write: (file: number, bytes: Uint8Array) => void): SealedHeader {
  const minimum = SEAL_MAGIC.length + SEAL_FORMAT.nonceBytes + 4 + SEAL_FORMAT.tagBytes;
  if (blob.length < minimum || Buffer.from(blob.subarray(0, SEAL_MAGIC.length)).toString("latin1") !== SEAL_MAGIC) {
    throw new OpenError("is not a datomspod sealed blob (DPSEAL02)");
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
  let file = 0;
  let left = 0;
  let hash = createHash("sha256");
  let nonZero = false;
  const finishFile = (): void => {
    const described = header!.files[file];
    const digest = hash.digest("hex");
    if (digest !== described.sha256) throw new OpenError(`holds ${described.name} with sha256 ${digest}, but its header says ${described.sha256}`);
    file += 1;
    hash = createHash("sha256");
    left = header!.files[file]?.size ?? 0;
  };
  const skipEmpty = (): void => {
    while (header !== undefined && file < header.files.length && left === 0) finishFile();
  };
  const take = (input: Buffer): void => {
    let bytes = input;
    if (header === undefined) {
      pending = Buffer.concat([pending, bytes]);
      if (headerLength < 0 && pending.length >= 4) {
        headerLength = pending.readUInt32BE(0);
        if (headerLength > MAX_HEADER_BYTES) throw new OpenError(`has a header larger than ${MAX_HEADER_BYTES} bytes`);
      }
      if (headerLength < 0 || pending.length < 4 + headerLength) return;
      header = parseHeader(pending.subarray(4, 4 + headerLength));
      bytes = pending.subarray(4 + headerLength);
      pending = Buffer.alloc(0);
      left = header.files[0]?.size ?? 0;
      skipEmpty();
    }
    while (bytes.length > 0) {
      if (file >= header.files.length) {
        if (bytes.some((byte) => byte !== 0)) nonZero = true;
        return;
      }
      const part = bytes.subarray(0, Math.min(left, bytes.length));
      hash.update(part);
      write(file, part);
      left -= part.length;
      bytes = bytes.subarray(part.length);
      skipEmpty();
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
  if (file < header.files.length) throw new OpenError(`ends inside ${header.files[file].name}: it holds fewer bytes than its header says`);
  if (nonZero) throw new OpenError("has padding that is not zeros");
  return header;
}

function parseHeader(bytes: Uint8Array): SealedHeader {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new OpenError("has a header that is not JSON");
  }
  const h = value as Record<string, unknown>;
  const files = Array.isArray(h?.["files"]) ? (h["files"] as unknown[]) : undefined;
  const fileOk = (f: unknown): boolean => {
    const r = f as Record<string, unknown> | null;
    return (
      r !== null &&
      typeof r === "object" &&
      typeof r["name"] === "string" &&
      (isSafeName(r["name"]) || r["name"] === "datomspace-out.json") &&
      Number.isSafeInteger(r["size"]) &&
      (r["size"] as number) >= 0 &&
      typeof r["sha256"] === "string" &&
      /^[0-9a-f]{64}$/.test(r["sha256"])
    );
  };
  if (
    h === null ||
    typeof h !== "object" ||
    h["version"] !== 2 ||
    !(SEALED_KINDS as readonly unknown[]).includes(h["kind"]) ||
    files === undefined ||
    !files.every(fileOk)
  ) {
    throw new OpenError("has a malformed header");
  }
  const names = files.map((f) => (f as SealedFile).name);
  if (new Set(names).size !== names.length) throw new OpenError("packs two files of the same name");
  return {
    version: 2,
    kind: h["kind"] as SealedKind,
    files: files.map((f) => {
      const r = f as SealedFile;
      return { name: r.name, size: r.size, sha256: r.sha256 };
    }),
  };
}
