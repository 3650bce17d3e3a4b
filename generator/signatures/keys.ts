/**
 * Ethereum keys in encrypted JSON keystores (Web3 Secret Storage, scrypt). The password comes from
 * DATOMSPOD_KEY_PASSWORD or an interactive prompt; a plaintext key is never read or written.
 */

import { scrypt as opensslScrypt } from "node:crypto";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { Wallet, computeAddress, encryptKeystoreJson, getAddress, isKeystoreJson, decryptKeystoreJson, SigningKey, scrypt, type KeystoreAccount } from "ethers";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { InputError } from "../errors.js";
import { parseStrictJson } from "../contract/json.js";
import { readRegularFile, writeFileAtomic, toJsonText } from "../repo/files.js";

/**
 * scrypt as keystores use it, computed by OpenSSL (node:crypto) instead of ethers' JavaScript: the
 * same bytes (test/signatures/keys.test.ts) in about a fifth of the time (0.14 s instead of 0.76 s
 * for N = 2^14 here), off the main thread. The cost parameters stay the keystore's. OpenSSL refuses
 * some parameters the JavaScript accepts (N ≥ 2^(16·r), as RFC 7914 requires, e.g. the Web3 Secret
 * Storage test vector's N = 2^18, r = 1): those keystores are derived in JavaScript as before.
 */
export function nativeScrypt(password: Uint8Array, salt: Uint8Array, N: number, r: number, p: number, dkLen: number): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    // maxmem is a ceiling, not an allocation (default 32 MiB): scrypt needs about 128·r·(N + p) bytes.
    opensslScrypt(password, salt, dkLen, { N, r, p, maxmem: 256 * r * (N + p + 2) + 16 * 1024 * 1024 }, (error, key) =>
      error === null ? resolve(new Uint8Array(key)) : reject(error),
    );
  }).catch(() => scryptAsync(password, salt, { N, r, p, dkLen }));
}

// Before any keystore is read or written (registering again, as a re-evaluated module does, is allowed).
scrypt.register(nativeScrypt);

export const PASSWORD_ENV = "DATOMSPOD_KEY_PASSWORD";
/** scrypt cost of new keystores: the Web3 Secret Storage default. */
export const DEFAULT_SCRYPT_N = 1 << 17;

export interface KeyInfo {
  readonly address: string;
  readonly publicKey: string;
}

export function keyInfo(wallet: Wallet): KeyInfo {
  return { address: wallet.address, publicKey: wallet.signingKey.publicKey };
}

/** Reads the password from the environment, or asks on the terminal (input hidden). */
export async function readPassword(prompt: string, confirm = false): Promise<string> {
  const fromEnv = process.env[PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (!process.stdin.isTTY) {
    throw InputError.of({
      file: PASSWORD_ENV,
      path: "$",
      message: "no keystore password: not set and no terminal to ask on",
      fix: `set ${PASSWORD_ENV} or run in a terminal`,
    });
  }
  const first = await askHidden(prompt);
  if (confirm && (await askHidden("Repeat the password: ")) !== first) {
    throw InputError.of({ file: "password", path: "$", message: "the two passwords differ", fix: "run the command again" });
  }
  if (first.length < 8) throw InputError.of({ file: "password", path: "$", message: "password shorter than 8 characters", fix: "choose a longer password" });
  return first;
}

function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput;
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      write.call(rl, s.startsWith(prompt) ? prompt : "");
    };
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolve(answer);
    });
  });
}

/**
 * Where the public half of a keystore is kept: beside it, `party.json` → `party.pub.json`. Public
 * (address and uncompressed public key), so that `keys show` never needs the password.
 */
export function publicKeyFile(keystore: string): string {
  return keystore.endsWith(".json") ? `${keystore.slice(0, -".json".length)}.pub.json` : `${keystore}.pub.json`;
}

/** Creates a new key, writes it encrypted to `out` (mode 0600, never overwriting) and its public half beside it; returns both. */
export async function createKeystore(out: string, password: string, scryptN = DEFAULT_SCRYPT_N): Promise<KeyInfo & { readonly publicFile: string }> {
  const publicFile = publicKeyFile(out);
  for (const file of [out, publicFile]) {
    if (existsSync(file)) throw InputError.of({ file, path: "$", message: "already exists; a key is never overwritten", fix: "choose another --out file" });
  }
  const wallet = Wallet.createRandom();
  const account: KeystoreAccount = { address: wallet.address, privateKey: wallet.privateKey };
  const json = await encryptKeystoreJson(account, password, { scrypt: { N: scryptN } });
  const info = { address: wallet.address, publicKey: wallet.signingKey.publicKey };
  writeFileAtomic(out, `${json}\n`, 0o600);
  writeFileAtomic(publicFile, toJsonText(info), 0o644);
  return { ...info, publicFile };
}

/** The address a keystore declares (Web3 Secret Storage keeps it in clear): no password needed. */
export function keystoreAddress(file: string): string {
  const text = readRegularFile(file, file, 64 * 1024).toString("utf8");
  if (!isKeystoreJson(text)) {
    throw InputError.of({ file, path: "$", message: "is not an encrypted JSON keystore", fix: "create one with `datomspod keys new --out FILE`" });
  }
  const raw = (JSON.parse(text) as { address?: unknown }).address;
  try {
    if (typeof raw !== "string") throw new Error("no address");
    return getAddress(raw.startsWith("0x") ? raw : `0x${raw}`);
  } catch {
    throw InputError.of({
      file,
      path: "$.address",
      message: "the keystore declares no valid address",
      fix: "set DATOMSPOD_KEY_PASSWORD so that the address is derived from the key itself",
    });
  }
}

/**
 * The public half recorded beside a keystore (`publicKeyFile`), or undefined when there is none. A
 * file that does not belong to the keystore's address is refused, never shown.
 */
export function recordedPublicKey(keystore: string, address: string): KeyInfo | undefined {
  const file = publicKeyFile(keystore);
  if (!existsSync(file)) return undefined;
  const value = parseStrictJson(readRegularFile(file, file, 64 * 1024).toString("utf8"), file) as { publicKey?: unknown };
  let derived: string | undefined;
  try {
    derived = typeof value.publicKey === "string" ? computeAddress(value.publicKey) : undefined;
  } catch {
    derived = undefined;
  }
  if (derived !== address) {
    throw InputError.of({
      file,
      path: "$.publicKey",
      message: `is not the public key of ${address}, the address of ${keystore}`,
      fix: "delete it: `datomspod keys show --key FILE --derive` shows the public key of the key itself",
    });
  }
  return { address, publicKey: value.publicKey as string };
}

/** Decrypts a keystore file; a wrong password or a file that is not a keystore is an input error. */
export async function loadKeystore(file: string, password: string): Promise<Wallet> {
  const text = readRegularFile(file, file, 64 * 1024).toString("utf8");
  if (!isKeystoreJson(text)) {
    throw InputError.of({ file, path: "$", message: "is not an encrypted JSON keystore", fix: "create one with `datomspod keys new --out FILE`" });
  }
  let account: KeystoreAccount;
  try {
    account = await decryptKeystoreJson(text, password);
  } catch {
    throw InputError.of({ file, path: "$", message: "cannot be decrypted with this password", fix: `check ${PASSWORD_ENV} or the password you typed` });
  }
  return new Wallet(new SigningKey(account.privateKey));
}
