import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { allInclusionProofs, inclusionProof, leafHash, merkleRoot, rootFromInclusionProof, verifyInclusion } from "../../generator/evidence/merkle.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "hex"));

// The Certificate Transparency reference data (RFC 6962 test vectors of certificate-transparency
// and its Go port): eight leaves, the tree head for every size, and audit paths.
const CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(unhex);
const CT_ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
/** [leaf index (0-based), tree size, audit path] */
const CT_PATHS: [number, number, string[]][] = [
  [0, 1, []],
  [
    0,
    8,
    [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  ],
  [
    5,
    8,
    [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  ],
  [2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]],
  [
    1,
    5,
    [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  ],
];

const hashedLeaves = CT_LEAVES.map(leafHash);

describe("RFC 6962 Merkle tree", () => {
  it.each(CT_ROOTS.map((root, size) => [size, root] as const))("gives the reference tree head for %i leaves", (size, root) => {
    const leaves = hashedLeaves.slice(0, size);

    const computed = merkleRoot(leaves);

    expect(hex(computed)).toBe(root);
  });

  it.each(CT_PATHS)("gives the reference audit path of leaf %i in a tree of %i", (index, size, path) => {
    const leaves = hashedLeaves.slice(0, size);

    const proof = inclusionProof(leaves, index);

    expect(proof.map(hex)).toEqual(path);
    expect(allInclusionProofs(leaves)[index].map(hex)).toEqual(path);
    expect(verifyInclusion(index, size, leaves[index], path.map(unhex), unhex(CT_ROOTS[size]))).toBe(true);
  });

  it("rejects reference paths used with the wrong index, size or root", () => {
    const [index, size, path] = CT_PATHS[2];
    const leaves = hashedLeaves.slice(0, size);
    const root = unhex(CT_ROOTS[size]);

    expect(verifyInclusion(index + 1, size, leaves[index], path.map(unhex), root)).toBe(false);
    // (A path alone does not fix the size: 7 gives the same turns as 8 here. The anchor stores the
    // batch size on chain for that reason.)
    expect(verifyInclusion(index, size - 2, leaves[index], path.map(unhex), root)).toBe(false);
    expect(verifyInclusion(index, size, leaves[index], path.map(unhex), unhex(CT_ROOTS[size - 1]))).toBe(false);
    expect(verifyInclusion(index, size, leaves[index], path.slice(0, -1).map(unhex), root)).toBe(false);
    expect(verifyInclusion(index, size, leaves[index], [...path, path[0]].map(unhex), root)).toBe(false);
    expect(verifyInclusion(size, size, leaves[index], path.map(unhex), root)).toBe(false);
  });

  it("cannot take a leaf for an inner node: the prefixes differ", () => {
    const left = leafHash(unhex("00"));
    const right = leafHash(unhex("01"));
    const parent = merkleRoot([left, right]);

    const forged = leafHash(new Uint8Array([...left, ...right]));

    expect(hex(forged)).not.toBe(hex(parent));
  });
});

const leafSets = fc.array(fc.uint8Array({ maxLength: 24 }), { minLength: 1, maxLength: 70 }).map((data) => data.map(leafHash));

describe("inclusion proofs (properties)", () => {
  it("every leaf's proof verifies against the root, and both proof builders agree", () => {
    fc.assert(
      fc.property(leafSets, (leaves) => {
        const root = merkleRoot(leaves);
        const all = allInclusionProofs(leaves);
        for (let i = 0; i < leaves.length; i++) {
          const proof = inclusionProof(leaves, i);
          expect(all[i].map(hex)).toEqual(proof.map(hex));
          expect(verifyInclusion(i, leaves.length, leaves[i], proof, root)).toBe(true);
          expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(leaves.length)));
        }
      }),
    );
  });

  it("any changed byte of the leaf, of a proof step or of the root fails", () => {
    fc.assert(
      fc.property(leafSets, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom("leaf", "proof", "root"), (leaves, pick, at, flip, where) => {
        const index = pick % leaves.length;
        const root = merkleRoot(leaves);
        const proof = inclusionProof(leaves, index);
        const leaf = new Uint8Array(leaves[index]);
        const steps = proof.map((p) => new Uint8Array(p));
        const head = new Uint8Array(root);
        if (where === "proof" && steps.length === 0) return; // a one-leaf tree has no proof steps
        const target = where === "leaf" ? leaf : where === "root" ? head : steps[at % steps.length];
        target[at % 32] = target[at % 32] ^ flip;

        expect(verifyInclusion(index, leaves.length, leaf, steps, head)).toBe(false);
      }),
    );
  });

  it("a proof for one leaf does not prove another leaf", () => {
    fc.assert(
      fc.property(
        leafSets.filter((l) => l.length >= 2),
        fc.nat(),
        fc.nat(),
        (leaves, a, b) => {
          const i = a % leaves.length;
          const j = b % leaves.length;
          fc.pre(i !== j && hex(leaves[i]) !== hex(leaves[j]));

          expect(verifyInclusion(i, leaves.length, leaves[j], inclusionProof(leaves, i), merkleRoot(leaves))).toBe(false);
        },
      ),
    );
  });

  it("returns no root for impossible index and size combinations", () => {
    const leaves = hashedLeaves.slice(0, 4);

    expect(rootFromInclusionProof(-1, 4, leaves[0], inclusionProof(leaves, 0))).toBeUndefined();
    expect(rootFromInclusionProof(4, 4, leaves[0], inclusionProof(leaves, 0))).toBeUndefined();
    expect(rootFromInclusionProof(0, 0, leaves[0], [])).toBeUndefined();
    expect(rootFromInclusionProof(0, 4, leaves[0].slice(1), inclusionProof(leaves, 0))).toBeUndefined();
  });
});
