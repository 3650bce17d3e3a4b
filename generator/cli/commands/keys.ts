import { resolve } from "node:path";
import { InputError } from "../../errors.js";
import { DEFAULT_SCRYPT_N, createKeystore, keyInfo, keystoreAddress, publicKeyFile, readPassword, recordedPublicKey } from "../../signatures/keys.js";
import type { Command } from "../command.js";
import { keyOption, stringOption } from "../options.js";

export const keysNew: Command = {
  name: ["keys", "new"],
  summary: "create an encrypted keystore and print its address",
  usage: "--out FILE",
  help: [
    "The password comes from DATOMSPOD_KEY_PASSWORD or a prompt. The keystore is written with mode 0600 and never overwritten;",
    "its public half (address and public key, no secret) beside it: party.json → party.pub.json, which `keys show` reads.",
  ].join("\n"),
  options: { out: { type: "string" }, "scrypt-n": { type: "string" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const out = resolve(ctx.cwd, stringOption(values, "out", true));
    const n = Number(stringOption(values, "scrypt-n") ?? DEFAULT_SCRYPT_N);
    if (!Number.isInteger(n) || n < 1024 || (n & (n - 1)) !== 0) {
      throw InputError.of({
        file: "command line",
        path: "--scrypt-n",
        message: "must be a power of two of at least 1024",
        fix: `omit it for the default ${DEFAULT_SCRYPT_N}`,
      });
    }
    const { publicFile, ...info } = await createKeystore(out, await readPassword("New keystore password: ", true), n);
    ctx.emit({ ...info, file: out, publicFile }, info.address);
    return 0;
  },
};

export const keysShow: Command = {
  name: ["keys", "show"],
  summary: "print the address and public key of a keystore (no password needed)",
  usage: "--key FILE [--derive]",
  help: [
    "The address comes from the keystore itself, the public key from its public half beside it (party.json → party.pub.json,",
    "written by `keys new`): no password is asked. For a keystore made elsewhere, --derive decrypts it (password from",
    "DATOMSPOD_KEY_PASSWORD or a prompt) to show its public key. The public key goes into the contract for parties that",
    "receive outputs (they are encrypted to it).",
  ].join("\n"),
  options: { key: { type: "string" }, derive: { type: "boolean" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const file = resolve(ctx.cwd, stringOption(values, "key", true));
    const address = keystoreAddress(file);
    let info = recordedPublicKey(file, address);
    if (info === undefined && values["derive"] === true) {
      const derived = keyInfo((await keyOption(ctx, values)).wallet);
      if (derived.address !== address) {
        throw InputError.of({
          file,
          path: "$.address",
          message: `declares ${address} but its key is ${derived.address}`,
          fix: "the keystore was edited: do not use it",
        });
      }
      info = derived;
    }
    if (info === undefined) {
      ctx.emit(
        { address, publicKey: null },
        `address    ${address}\npublicKey  not recorded beside the keystore (${publicKeyFile(file)}): add --derive to compute it from the key (asks for the password)`,
      );
      return 0;
    }
    ctx.emit(info, `address    ${info.address}\npublicKey  ${info.publicKey}`);
    return 0;
  },
};
