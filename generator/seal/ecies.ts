/**
 * ECIES on secp256k1 in eciesjs's format, computed by OpenSSL (node:crypto) instead of JavaScript
 * curve arithmetic: the same bytes eciesjs writes and reads (test/seal/ecies.test.ts holds it
 * to eciesjs both ways), in about a millisecond instead of 60–100 ms a key, and without loading
 * @noble/curves into datomspace-out.
 *
 * The format (eciesjs 0.5 with the configuration crypto.ts pins): ephemeral public key, uncompressed
 * (65 bytes) ‖ 16-byte nonce ‖ 16-byte AES-256-GCM tag ‖ ciphertext, under the key
 * HKDF-SHA256(ephemeral public key ‖ shared point, both uncompressed; no salt, no info; 32 bytes).
 *
 * OpenSSL's ECDH gives only the shared point's x; its y is one of two square roots. The right one
 * is found with a second ECDH: x(S + P) for S = k·P is x((k + 1)·P), which only one of the two
 * candidates matches (checked: exactly one must, else the key is refused).
 */

import { ECDH, createCipheriv, createDecipheriv, createECDH, hkdfSync, randomBytes } from "node:crypto";

const CURVE = "secp256k1";
/** The field prime and the group order of secp256k1. */
const P = 2n ** 256n - 2n ** 32n - 977n;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const POINT_BYTES = 65;
const NONCE_BYTES = 16;
const TAG_BYTES = 16;

function mod(a: bigint, m = P): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function pow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

function toBigInt(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
}

function toBytes32(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, "0"), "hex");
}

/** A public key as 65 uncompressed bytes: 0x04 ‖ x ‖ y (from 65, 64 or 33 bytes); throws when it is not a point of the curve. */
export function uncompressedPoint(publicKey: Uint8Array): Buffer {
  const bytes = publicKey.length === 64 ? Buffer.concat([Buffer.from([4]), publicKey]) : Buffer.from(publicKey);
  return ECDH.convertKey(bytes, CURVE, undefined, undefined, "uncompressed") as Buffer;
}

/** x of k·point, by OpenSSL; throws on a key or point it refuses. */
function sharedX(privateKey: bigint, point: Buffer): bigint {
  const ecdh = createECDH(CURVE);
  ecdh.setPrivateKey(toBytes32(privateKey));
  return toBigInt(ecdh.computeSecret(point));
}

/** x of A + B for affine points with different x. */
function sumX(ax: bigint, ay: bigint, bx: bigint, by: bigint): bigint {
  const slope = mod((by - ay) * pow(bx - ax, P - 2n));
  return mod(slope * slope - ax - bx);
}

/** k·point, uncompressed (65 bytes): the shared point of ECIES. */
export function sharedPoint(privateKey: Uint8Array, publicKey: Uint8Array): Buffer {
  const point = uncompressedPoint(publicKey);
  const k = toBigInt(privateKey);
  if (k <= 1n || k >= N - 1n) throw new RangeError("the private key is out of range");
  const px = toBigInt(point.subarray(1, 33));
  const py = toBigInt(point.subarray(33, 65));
  const x = sharedX(k, point);
  const next = sharedX(k + 1n, point);
  // S = k·P with S ≠ ±P (k ∉ {1, n − 1}), so S + P = (k + 1)·P is defined and x(S) ≠ x(P).
  const root = pow(x * x * x + 7n, (P + 1n) / 4n);
  if (mod(root * root) !== mod(x * x * x + 7n)) throw new RangeError("the shared x is not on the curve");
  const matches = [root, P - root].filter((y) => sumX(x, y, px, py) === next);
  if (matches.length !== 1) throw new RangeError("the shared point cannot be determined");
  return Buffer.concat([Buffer.from([4]), toBytes32(x), toBytes32(matches[0])]);
}

function symmetricKey(ephemeral: Buffer, shared: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", Buffer.concat([ephemeral, shared]), Buffer.alloc(0), Buffer.alloc(0), 32));
}

/** A fresh key pair; keys 1 and n − 1 (probability 2^-255), the two sharedPoint cannot use, are drawn again. */
function ephemeralKey(): ReturnType<typeof createECDH> {
  for (;;) {
    const ecdh = createECDH(CURVE);
    ecdh.generateKeys();
    const k = toBigInt(ecdh.getPrivateKey());
    if (k > 1n && k < N - 1n) return ecdh;
  }
}

/** `message` encrypted to `publicKey` (65, 64 or 33 bytes), in eciesjs's format. */
export function eciesEncrypt(publicKey: Uint8Array, message: Uint8Array): Buffer {
  const receiver = uncompressedPoint(publicKey);
  const ephemeral = ephemeralKey();
  const ephemeralPoint = ephemeral.getPublicKey(null, "uncompressed");
  const key = symmetricKey(ephemeralPoint, sharedPoint(ephemeral.getPrivateKey(), receiver));
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  const ciphertext = Buffer.concat([cipher.update(message), cipher.final()]);
  return Buffer.concat([ephemeralPoint, nonce, cipher.getAuthTag(), ciphertext]);
}

/** The message of an eciesjs-format `data` for `privateKey` (32 bytes); throws when it does not open. */
export function eciesDecrypt(privateKey: Uint8Array, data: Uint8Array): Buffer {
  if (data.length < POINT_BYTES + NONCE_BYTES + TAG_BYTES) throw new RangeError("the ECIES payload is too short");
  const bytes = Buffer.from(data);
  const ephemeralPoint = uncompressedPoint(bytes.subarray(0, POINT_BYTES));
  const nonce = bytes.subarray(POINT_BYTES, POINT_BYTES + NONCE_BYTES);
  const tag = bytes.subarray(POINT_BYTES + NONCE_BYTES, POINT_BYTES + NONCE_BYTES + TAG_BYTES);
  const key = symmetricKey(ephemeralPoint, sharedPoint(privateKey, ephemeralPoint));
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(bytes.subarray(POINT_BYTES + NONCE_BYTES + TAG_BYTES)), decipher.final()]);
}
