/**
 * The TEST-ONLY keys in test/keys/ (password datomspod-test-only, scrypt N = 1024): their files,
 * addresses and public keys, and decrypted wallets for signing the way a wallet would.
 */

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Wallet } from "ethers";
import { ROOT } from "./repo.js";

export const TEST_PASSWORD = "datomspod-test-only";

const KEYS_DIR = join(ROOT, "test", "keys");

export interface TestKey {
  readonly name: string;
  readonly file: string;
  readonly address: string;
  readonly publicKey: string;
}

const publicKeys = JSON.parse(readFileSync(join(KEYS_DIR, "public-keys.json"), "utf8")) as Record<string, { address: string; publicKey: string }>;

export const TEST_KEYS: readonly TestKey[] = readdirSync(KEYS_DIR)
  .filter((name) => name.endsWith(".json") && name !== "public-keys.json")
  .map((name) => name.slice(0, -".json".length))
  .sort()
  .map((name) => ({ name, file: join(KEYS_DIR, `${name}.json`), ...publicKeys[name] }));

export function testKey(name: string): TestKey {
  const key = TEST_KEYS.find((k) => k.name === name);
  if (key === undefined) throw new Error(`no test key ${name}`);
  return key;
}

export function keyForAddress(address: string): TestKey {
  const key = TEST_KEYS.find((k) => k.address.toLowerCase() === address.toLowerCase());
  if (key === undefined) throw new Error(`no test key for ${address}`);
  return key;
}

const wallets = new Map<string, Promise<Wallet>>();

/** The decrypted wallet of a test key (cached). */
export function testWallet(name: string): Promise<Wallet> {
  let wallet = wallets.get(name);
  if (wallet === undefined) {
    wallet = Wallet.fromEncryptedJson(readFileSync(testKey(name).file, "utf8"), TEST_PASSWORD).then((w) => new Wallet(w.privateKey));
    wallets.set(name, wallet);
  }
  return wallet;
}
