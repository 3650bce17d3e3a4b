/**
 * Keystores are decrypted with OpenSSL's scrypt (generator/signatures/keys.ts): it gives the bytes of
 * the JavaScript scrypt ethers would use, and a keystore written by another tool still opens.
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scrypt as nobleScrypt } from "@noble/hashes/scrypt.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadKeystore, nativeScrypt } from "../../generator/signatures/keys.js";

describe("nativeScrypt", () => {
  it("gives the JavaScript scrypt's bytes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.constantFrom(2, 16, 1024),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 16, max: 64 }),
        async (password, salt, N, r, p, dkLen) => {
          const ours = await nativeScrypt(password, salt, N, r, p, dkLen);

          expect(Buffer.from(ours).toString("hex")).toBe(Buffer.from(nobleScrypt(password, salt, { N, r, p, dkLen })).toString("hex"));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("opens the Web3 Secret Storage scrypt test vector (N = 2^18, as another tool wrote it)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "datomspod-keys-"));
    const file = join(dir, "key.json");
    // https://ethereum.org/en/developers/docs/data-structures-and-encoding/web3-secret-storage/ (scrypt test vector)
    writeFileSync(
      file,
      JSON.stringify({
        crypto: {
          cipher: "aes-128-ctr",
          cipherparams: { iv: "83dbcc02d8ccb40e466191a123791e0e" },
          ciphertext: "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
          kdf: "scrypt",
          kdfparams: { dklen: 32, n: 262144, p: 8, r: 1, salt: "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19" },
          mac: "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097",
        },
        id: "3198bc9c-6672-5ab3-d995-4942343ae5b6",
        version: 3,
      }),
    );

    const wallet = await loadKeystore(file, "testpassword");

    expect(wallet.privateKey).toBe("0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d");
  });
});
