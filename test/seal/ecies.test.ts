/**
 * The key wrapping computed by OpenSSL (generator/seal/ecies.ts) against eciesjs, the
 * implementation whose format it writes: each opens what the other sealed, for many random keys
 * (each with its own shared point, whose y the code must pick right), and nothing else opens.
 */

import { randomBytes } from "node:crypto";
import { decrypt, encrypt } from "eciesjs";
import { Config } from "eciesjs/config";
import { Wallet } from "ethers";
import { describe, expect, it } from "vitest";
import { eciesDecrypt, eciesEncrypt, sharedPoint } from "../../generator/seal/ecies.js";
import { unwrapKey, wrapKey } from "../../generator/seal/crypto.js";

/** The configuration datomspod sealed with when it used eciesjs. */
function eciesjsConfig(): Config {
  const config = new Config();
  config.ellipticCurve = "secp256k1";
  config.isEphemeralKeyCompressed = false;
  config.isHkdfKeyCompressed = false;
  config.symmetricAlgorithm = "aes-256-gcm";
  config.symmetricNonceLength = 16;
  return config;
}

function bytes(hex: string): Buffer {
  return Buffer.from(hex.slice(2), "hex");
}

const wallets = Array.from({ length: 40 }, () => Wallet.createRandom());

describe("ECIES by OpenSSL, in eciesjs's format", () => {
  it("eciesjs opens what it seals, for 40 random keys", () => {
    const messages = wallets.map(() => randomBytes(32));

    const opened = wallets.map((w, i) => Buffer.from(decrypt(bytes(w.privateKey), eciesEncrypt(bytes(w.signingKey.publicKey), messages[i]), eciesjsConfig())));

    expect(opened).toEqual(messages);
  });

  it("opens what eciesjs seals, for 40 random keys", () => {
    const messages = wallets.map(() => randomBytes(32));

    const opened = wallets.map((w, i) => eciesDecrypt(bytes(w.privateKey), encrypt(bytes(w.signingKey.publicKey), messages[i], eciesjsConfig())));

    expect(opened).toEqual(messages);
  });

  it("writes the same layout: 65-byte uncompressed ephemeral key, 16-byte nonce, 16-byte tag, ciphertext", () => {
    const wallet = wallets[0];

    const sealed = eciesEncrypt(bytes(wallet.signingKey.publicKey), Buffer.alloc(32));

    expect(sealed.length).toBe(65 + 16 + 16 + 32);
    expect(sealed[0]).toBe(4);
  });

  it("computes the shared point both ways alike (k·P = p·K)", () => {
    const [a, b] = [wallets[1], wallets[2]];

    const ab = sharedPoint(bytes(a.privateKey), bytes(b.signingKey.publicKey));
    const ba = sharedPoint(bytes(b.privateKey), bytes(a.signingKey.publicKey));

    expect(ab.equals(ba)).toBe(true);
    expect(ab.length).toBe(65);
  });

  it("refuses another key, a changed byte, a truncated payload and a point off the curve", () => {
    const [owner, other] = [wallets[3], wallets[4]];
    const wrapped = wrapKey(randomBytes(32), owner.signingKey.publicKey);
    const raw = Buffer.from(wrapped, "base64");
    const flipped = Buffer.from(raw);
    flipped[raw.length - 1] ^= 1;
    const offCurve = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]);

    expect(unwrapKey(wrapped, owner.privateKey)).toHaveLength(32);
    expect(() => unwrapKey(wrapped, other.privateKey)).toThrow();
    expect(() => unwrapKey(flipped.toString("base64"), owner.privateKey)).toThrow();
    expect(() => unwrapKey(raw.subarray(0, 90).toString("base64"), owner.privateKey)).toThrow();
    expect(() => eciesEncrypt(offCurve, Buffer.alloc(32))).toThrow();
  });
});
