/**
 * The local chain of ad hoc mode: a real anvil node (npm `@foundry-rs/anvil`) on 127.0.0.1 at a free
 * port, with its state in a workspace file (`--state`: loaded at start, written at exit), so that a
 * later `datomspod anchor` or `audit verify` sees the same chain. Its accounts come from anvil's
 * well-known development mnemonic: worthless keys, for a chain that lives on one machine only.
 */

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { HDNodeWallet, Mnemonic, Wallet } from "ethers";
import { InputError, ServiceError } from "../errors.js";
import { startProcess, type ChildHandle } from "./exec.js";

/** anvil's default development mnemonic; its accounts are public knowledge. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";
export const LOCAL_CHAIN_ID = 31337;
/** Environment variable naming an anvil binary to use instead of the npm package's. */
export const ANVIL_ENV = "DATOMSPOD_ANVIL";

const devKeys = new Map<number, string>();

/** The development account `index` of the local chain (index 0 owns and anchors in ad hoc mode). */
export function devWallet(index = 0): Wallet {
  // Deriving from the mnemonic takes a PBKDF2 run; the keys are public, so they are kept.
  let key = devKeys.get(index);
  if (key === undefined) {
    key = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${index}`).privateKey;
    devKeys.set(index, key);
  }
  return new Wallet(key);
}

/** The anvil binary: $DATOMSPOD_ANVIL, or the one inside npm's @foundry-rs/anvil-<os>-<arch>. */
export function anvilBinary(): string {
  const override = process.env[ANVIL_ENV];
  if (override !== undefined && override !== "") return override;
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const os = process.platform === "win32" ? "win32" : process.platform;
  const name = `@foundry-rs/anvil-${os}-${arch}`;
  try {
    const manifest = createRequire(import.meta.url).resolve(`${name}/package.json`);
    const binary = join(dirname(manifest), "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
    if (existsSync(binary)) return binary;
  } catch {
    // fall through
  }
  throw InputError.of({
    file: name,
    path: "$",
    message: "the anvil binary is not installed",
    fix: `run npm install (it installs @foundry-rs/anvil), or set ${ANVIL_ENV} to an anvil binary`,
  });
}

/** A free TCP port on 127.0.0.1 (asked from the kernel). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface AnvilOptions {
  /** The state file (`--state`): loaded when it exists, written when anvil stops. */
  readonly stateFile?: string;
  readonly chainId?: number;
  readonly port?: number;
  /** Seconds to wait for the node to answer. */
  readonly startTimeoutSeconds?: number;
}

export interface AnvilNode {
  readonly url: string;
  readonly port: number;
  readonly chainId: number;
  readonly process: ChildHandle;
  /** Stops the node gracefully (SIGTERM: anvil writes its state file) and waits for it. */
  stop(): Promise<void>;
  /** Kills the node at once (SIGKILL: nothing is written). */
  kill(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** Starts anvil on 127.0.0.1 and waits until it answers JSON-RPC. */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  const binary = anvilBinary();
  const chainId = options.chainId ?? LOCAL_CHAIN_ID;
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    const args = ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId), "--mnemonic", DEV_MNEMONIC, "--silent"];
    if (options.stateFile !== undefined) args.push("--state", options.stateFile);
    const child = startProcess(binary, args);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + (options.startTimeoutSeconds ?? 20) * 1000;
    while (!child.hasExited() && Date.now() < deadline) {
      if (await answers(url)) {
        const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
          child.kill(signal);
          const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
          await child.exited;
          clearTimeout(timer);
        };
        return { url, port, chainId, process: child, stop: () => stopWith("SIGTERM"), kill: () => stopWith("SIGKILL") };
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGKILL");
    await child.exited;
    lastError = child.stderr().trim();
    if (options.port !== undefined || !/address already in use|Address in use/i.test(lastError)) break;
  }
  throw new ServiceError(`anvil did not start${lastError ? `: ${lastError.split("\n").slice(-3).join(" ")}` : " in time"}`, [
    {
      file: binary,
      path: "$",
      message: "anvil did not start",
      fix: "check that the state file is a valid anvil state, or remove it to start a new local chain",
    },
  ]);
}
