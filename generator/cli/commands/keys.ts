import { resolve } from "node:path";
import { InputError } from "../../errors.js";
import { DEFAULT_SCRYPT_N, createKeystore, keyInfo, readPassword } from "../../signatures/keys.js";
import type { Command } from "../command.js";
import { keyOption, stringOption } from "../options.js";

export const keysNew: Command = {
  name: ["keys", "new"],
  summary: "create an encrypted keystore and print its address",
  usage: "--out FILE",
  help: "The password comes from DATOMSPOD_KEY_PASSWORD or a prompt. The file is written with mode 0600 and never overwritten.",
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
    const info = await createKeystore(out, await readPassword("New keystore password: ", true), n);
    ctx.emit({ ...info, file: out }, info.address);
    return 0;
  },
};

export const keysShow: Command = {
  name: ["keys", "show"],
  summary: "print the address and public key of a keystore",
  usage: "--key FILE",
  help: "The public key goes into the contract for parties that receive outputs (they are encrypted to it).",
  options: { key: { type: "string" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const info = keyInfo((await keyOption(ctx, values)).wallet);
    ctx.emit(info, `address    ${info.address}\npublicKey  ${info.publicKey}`);
    return 0;
  },
};
