/**
 * The one place of the anchor stage that starts processes (the local anvil node): `spawn` with an
 * argument array, never a shell string; standard error kept (last 8 KiB) for messages.
 */

import { spawn } from "node:child_process";

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildHandle {
  readonly pid: number;
  /** Settles when the process has exited. */
  readonly exited: Promise<ProcessExit>;
  /** Whether the process has exited. */
  hasExited(): boolean;
  /** The last part of what the process wrote to standard error. */
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
}

const STDERR_KEEP = 8 * 1024;
const running = new Set<ChildHandle>();
let exitHookInstalled = false;

/**
 * Starts `file` with `args`. If this Node process exits first, the child gets SIGTERM (anvil then
 * still writes its state file before it exits).
 */
export function startProcess(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildHandle {
  const child = spawn(file, [...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "ignore", "pipe"], shell: false });
  let stderr = "";
  let done = false;
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once("error", (error) => {
      stderr += String(error.message);
      done = true;
      resolve({ code: null, signal: null });
    });
    child.once("exit", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  const handle: ChildHandle = {
    pid: child.pid ?? -1,
    exited,
    hasExited: () => done,
    stderr: () => stderr,
    kill(signal) {
      if (!done) child.kill(signal);
    },
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const handle of running) handle.kill("SIGTERM");
    });
  }
  return handle;
}
