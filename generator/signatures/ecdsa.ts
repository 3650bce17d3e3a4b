/**
 * Fast verification of secp256k1 signatures against an expected signer. The first signature of a
 * signer are checked by full public-key recovery (ethers); the recovered key is then kept with a
 * precomputed multiplication table, and later signatures of the same signer are verified against it
 * (u1·G + u2·Q), including the recovery bit, so the verdict is exactly what recovery would give.
 * A contract repository has few signers and many signatures: this is about ten times faster.
 */

import { secp256k1 } from "@noble/curves/secp256k1";
import { SigningKey, computeAddress } from "ethers";

type Point = InstanceType<typeof secp256k1.ProjectivePoint>;

const N = secp256k1.CURVE.n;
const known = new Map<string, Point>();
/** Recoveries per signer so far: the multiplication table (a few ms to build) pays off from the third signature on. */
const recovered = new Map<string, number>();
const TABLE_AFTER = 2;

function mod(a: bigint): bigint {
  const r = a % N;
  return r >= 0n ? r : r + N;
}

function invert(a: bigint): bigint {
  let [low, high, lm, hm] = [mod(a), N, 1n, 0n];
  while (low > 1n) {
    const q = high / low;
    [lm, hm] = [hm - lm * q, lm];
    [low, high] = [high - low * q, low];
  }
  return mod(lm);
}

/**
 * The address that signed `digest` (0x-prefixed 32 bytes) with the 65-byte `signature`, as full
 * recovery gives it; `expected` is the signer the caller expects and only makes the check faster.
 */
export function recoverSigner(digest: string, signature: string, expected: string): string {
  const key = expected.toLowerCase();
  const point = known.get(key);
  const r = BigInt(`0x${signature.slice(2, 66)}`);
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  if (point !== undefined && r > 0n && r < N && s > 0n && s < N && (v === 27 || v === 28)) {
    const w = invert(s);
    const z = mod(BigInt(digest));
    const R = secp256k1.ProjectivePoint.BASE.multiplyAndAddUnsafe(point, mod(z * w), mod(r * w))?.toAffine();
    if (R !== undefined && mod(R.x) === r && Number(R.y & 1n) === v - 27) return expected;
  }
  const publicKey = SigningKey.recoverPublicKey(digest, signature);
  const address = computeAddress(publicKey);
  if (address.toLowerCase() === key && point === undefined) {
    const count = (recovered.get(key) ?? 0) + 1;
    recovered.set(key, count);
    if (count >= TABLE_AFTER) {
      const table = secp256k1.ProjectivePoint.fromHex(publicKey.slice(2));
      table._setWindowSize(8);
      known.set(key, table);
    }
  }
  return address;
}
