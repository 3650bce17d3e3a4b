/**
 * The Merkle tree of RFC 6962 (Certificate Transparency), section 2.1, with SHA-256:
 *
 *   leaf hash  = SHA-256(0x00 || data)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH(D[n])  = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of two < n
 *   MTH({})    = SHA-256("")
 *
 * The prefixes keep a leaf from ever being read as an inner node (second-preimage attacks), and the
 * split rule makes the tree of any size well defined without padding. Inclusion proofs are the
 * audit paths of RFC 6962 2.1.1, verified with the algorithm of RFC 9162 2.1.3.2. Pure functions.
 */

import { createHash } from "node:crypto";

export const HASH_BYTES = 32;

function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

const LEAF_PREFIX = Uint8Array.of(0);
const NODE_PREFIX = Uint8Array.of(1);

export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, data);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** The largest power of two smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over already hashed leaves. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256();
  return subtreeRoot(leaves, 0, leaves.length);
}

function subtreeRoot(leaves: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 1) return leaves[start];
  const k = split(n);
  return nodeHash(subtreeRoot(leaves, start, start + k), subtreeRoot(leaves, start + k, end));
}

/** The audit path of leaf `index` (RFC 6962 PATH(m, D[n])), from the leaf's sibling up to the root's child. */
export function inclusionProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError(`leaf index ${index} is outside a tree of ${leaves.length}`);
  const path: Uint8Array[] = [];
  collectPath(leaves, index, 0, leaves.length, path);
  return path;
}

function collectPath(leaves: readonly Uint8Array[], m: number, start: number, end: number, out: Uint8Array[]): void {
  const n = end - start;
  if (n <= 1) return;
  const k = split(n);
  if (m < k) {
    collectPath(leaves, m, start, start + k, out);
    out.push(subtreeRoot(leaves, start + k, end));
  } else {
    collectPath(leaves, m - k, start + k, end, out);
    out.push(subtreeRoot(leaves, start, start + k));
  }
}

/**
 * All audit paths of a tree at once, in O(n log n): one pass per level instead of recomputing
 * subtrees per leaf. Gives the same paths as `inclusionProof`.
 */
export function allInclusionProofs(leaves: readonly Uint8Array[]): Uint8Array[][] {
  const proofs: Uint8Array[][] = leaves.map(() => []);
  build(0, leaves.length);
  return proofs;

  function build(start: number, end: number): Uint8Array {
    const n = end - start;
    if (n === 1) return leaves[start];
    const k = split(n);
    const left = build(start, start + k);
    const right = build(start + k, end);
    for (let i = start; i < start + k; i++) proofs[i].push(right);
    for (let i = start + k; i < end; i++) proofs[i].push(left);
    return nodeHash(left, right);
  }
}

/** The root an audit path leads to, or undefined when the path cannot belong to a tree of `size` (RFC 9162 2.1.3.2). */
export function rootFromInclusionProof(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array | undefined {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size || size > 0xffffffff) return undefined;
  if (leaf.length !== HASH_BYTES || proof.some((p) => p.length !== HASH_BYTES)) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  return computed !== undefined && equalBytes(computed, root);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
