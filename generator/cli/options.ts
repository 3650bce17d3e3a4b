/** Option handling shared by the commands: string options, the evaluation time, the signer's key. */

import { resolve } from "node:path";
import type { Wallet } from "ethers";
import { InputError } from "../errors.js";
import type { Context, Values } from "./command.js";

export function stringOption(values: Values, name: string, required: true): string;
export function stringOption(values: Values, name: string, required?: false): string | undefined;
export function stringOption(values: Values, name: string, required = false): string | undefined {
  const value = values[name];
  if (typeof value === "string") return value;
  if (required) throw InputError.of({ file: "command line", path: `--${name}`, message: `--${name} is required`, fix: `pass --${name} ...` });
  return undefined;
}

/** The time a command evaluates lifecycle states at: --at TIME (RFC 3339), or now. */
export function evaluationTime(ctx: Context, values: Values): Date {
  const at = stringOption(values, "at");
  if (at === undefined) return ctx.now;
  const ms = Date.parse(at);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(at))
    throw InputError.of({ file: "command line", path: "--at", message: `${JSON.stringify(at)} is not a time`, fix: "use e.g. 2026-12-01T00:00:00Z" });
  return new Date(ms);
}

/** The wallet of --key FILE (an encrypted keystore; the password from the environment or a prompt). */
export async function keyOption(ctx: Context, values: Values): Promise<{ file: string; wallet: Wallet }> {
  const { file, wallet } = await keyOptionDecrypting(ctx, values);
  return { file, wallet: await wallet };
}

/**
 * The wallet of --key FILE as it is being decrypted: resolves once the password is known and the
 * key's scrypt has begun (OpenSSL, off the main thread), so the caller can do its own work
 * meanwhile. The caller must await (or catch) `wallet` before it acts on the key.
 */
export async function keyOptionDecrypting(ctx: Context, values: Values): Promise<{ file: string; wallet: Promise<Wallet> }> {
  const file = resolve(ctx.cwd, stringOption(values, "key", true));
  // Loaded here, not with the module: the pod's roles read their options through this module and need no keys.
  const { loadKeystore, readPassword } = await import("../signatures/keys.js");
  const password = await readPassword("Keystore password: ");
  const wallet = loadKeystore(file, password);
  wallet.catch(() => undefined); // handled: a failure is thrown where the caller awaits it
  return { file, wallet };
}
