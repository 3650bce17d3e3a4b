/**
 * Ethereum addresses as the contract's rules and the pod's roles check them: the EIP-55 checksum
 * form of an address, and the address of a secp256k1 public key. Built on @noble/hashes
 * (keccak-256) and @noble/curves (secp256k1), the libraries ethers itself is built on, so that
 * validating a contract does not load ethers (42 modules, ~0.15 s of CPU in each of the pod's role
 * containers). test/contract/address.test.ts holds them to ethers' answers.
 */

import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";

/**
 * The EIP-55 checksum form of a 40-hex-digit address (with or without 0x). Throws on anything
 * else, and on a mixed-case address whose checksum is wrong (as ethers' getAddress does).
 */
export function getAddress(value: string): string {
  const match = /^(?:0x)?([0-9a-fA-F]{40})$/.exec(value);
  if (match === null) throw new Error(`invalid address ${JSON.stringify(value)}`);
  const hex = match[1].toLowerCase();
  const hash = bytesToHex(keccak_256(new TextEncoder().encode(hex)));
  const checksummed = `0x${[...hex].map((c, i) => (Number.parseInt(hash[i], 16) >= 8 ? c.toUpperCase() : c)).join("")}`;
  const given = `0x${match[1]}`;
  const mixedCase = /[a-f]/.test(match[1]) && /[A-F]/.test(match[1]);
  if (mixedCase && given !== checksummed) throw new Error(`bad address checksum ${JSON.stringify(value)}`);
  return checksummed;
}

/** The checksummed address of a secp256k1 public key (0x-prefixed hex, compressed or not). Throws when it is not a point of the curve. */
export function computeAddress(publicKey: string): string {
  if (!/^0x(?:[0-9a-fA-F]{2})+$/.test(publicKey)) throw new Error("a public key is 0x-prefixed hex");
  const point = secp256k1.ProjectivePoint.fromHex(publicKey.slice(2));
  const uncompressed = point.toRawBytes(false);
  return getAddress(bytesToHex(keccak_256(uncompressed.subarray(1)).subarray(12)));
}
