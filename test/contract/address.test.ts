/**
 * The contract's address checks (generator/contract/address.ts) give ethers' answers: the EIP-55
 * form, a refused bad checksum, and the address of a public key, over random keys and addresses.
 */

import { Wallet, computeAddress as ethersComputeAddress, getAddress as ethersGetAddress } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { computeAddress, getAddress } from "../../generator/contract/address.js";

function answer(f: () => string): string {
  try {
    return f();
  } catch {
    return "refused";
  }
}

const hex40 = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((bytes) => Buffer.from(bytes).toString("hex"));

describe("getAddress", () => {
  it("checksums as EIP-55's own vectors", () => {
    const vectors = ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"];

    const answers = vectors.map((v) => getAddress(v.toLowerCase()));

    expect(answers).toEqual(vectors);
  });

  it("gives ethers' answer for lower, upper, mixed and mis-checksummed addresses, with and without 0x", () => {
    fc.assert(
      fc.property(hex40, fc.constantFrom("lower", "upper", "checksummed", "flipped"), fc.boolean(), (hex, form, prefixed) => {
        const checksummed = ethersGetAddress(`0x${hex}`).slice(2);
        const body =
          form === "lower"
            ? hex
            : form === "upper"
              ? hex.toUpperCase()
              : form === "checksummed"
                ? checksummed
                : checksummed.replace(/[a-fA-F]/, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
        const value = prefixed ? `0x${body}` : body;

        expect(answer(() => getAddress(value))).toBe(answer(() => ethersGetAddress(value)));
      }),
      { numRuns: 400 },
    );
  });

  it.each(["", "0x", "0x123", `0x${"g".repeat(40)}`, `0x${"a".repeat(41)}`, `XE${"0".repeat(32)}`])("refuses %j", (value) => {
    expect(() => getAddress(value)).toThrow();
  });
});

describe("computeAddress", () => {
  it("gives ethers' address for random keys, uncompressed and compressed", () => {
    for (let i = 0; i < 25; i += 1) {
      const wallet = Wallet.createRandom();

      const uncompressed = computeAddress(wallet.signingKey.publicKey);
      const compressed = computeAddress(wallet.signingKey.compressedPublicKey);

      expect(uncompressed).toBe(wallet.address);
      expect(compressed).toBe(ethersComputeAddress(wallet.signingKey.compressedPublicKey));
    }
  });

  it.each([`0x04${"00".repeat(64)}`, "0x04", "04ab", `0x${"11".repeat(32)}`])("refuses %s, which is no point of the curve", (value) => {
    expect(() => computeAddress(value)).toThrow();
  });
});
