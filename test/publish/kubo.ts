/**
 * A real Kubo daemon for tests: `.ci/tools/start-kubo` (an offline daemon on loopback with a fresh
 * repository), stopped and removed when the test file ends. Skipped, with the reason, when the ipfs
 * binary is not installed.
 */

import { execFile, execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "../helpers/repo.js";

function findIpfs(): string | undefined {
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), join(homedir(), ".cache", "datomspod", "bin")];
  return dirs.map((dir) => join(dir, "ipfs")).find((path) => existsSync(path));
}

export const IPFS = findIpfs();
export const NO_IPFS =
  IPFS === undefined ? "ipfs (Kubo) is not installed (PATH or ~/.cache/datomspod/bin); build it with .ci/tools/build-go-tools kubo" : undefined;

export interface Kubo {
  readonly apiUrl: string;
  readonly ipfsPath: string;
  readonly pid: number;
  /** Runs the ipfs CLI against this daemon's repository. */
  cli(args: readonly string[], input?: Uint8Array): Buffer;
  stop(): void;
}

export async function startKubo(): Promise<Kubo> {
  const { stdout } = await promisify(execFile)(join(ROOT, ".ci", "tools", "start-kubo"), [], { env: { ...process.env, IPFS_BIN: IPFS! }, timeout: 90_000 });
  const values = Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .map((line) => line.split("=", 2) as [string, string]),
  );
  const ipfsPath = values["IPFS_PATH"];
  const pid = Number(values["KUBO_PID"]);
  return {
    apiUrl: values["KUBO_API_URL"],
    ipfsPath,
    pid,
    cli: (args, input) =>
      execFileSync(IPFS!, [...args], { env: { ...process.env, IPFS_PATH: ipfsPath, IPFS_TELEMETRY: "off" }, input, maxBuffer: 64 * 1024 * 1024 }),
    stop() {
      try {
        process.kill(pid);
      } catch {
        // already gone
      }
      rmSync(ipfsPath, { recursive: true, force: true });
    },
  };
}
