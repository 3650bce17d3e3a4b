/**
 * How the lab runs programs: `spawn` with an argument array (never a shell string), output
 * collected, optional stdin, a time limit. A failure throws with the command and the end of its
 * stderr.
 */

import { spawn } from "node:child_process";

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Written to stdin, which is then closed. */
  readonly input?: string | Buffer;
  /** Milliseconds; the process is killed (SIGKILL) after it. Default 120 s. */
  readonly timeoutMs?: number;
  /** Resolve with the exit code instead of throwing when it is not 0. */
  readonly allowFailure?: boolean;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function shown(file: string, args: readonly string[]): string {
  const text = [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

function tail(text: string, max = 2000): string {
  const trimmed = text.trim();
  return trimmed.length > max ? `…${trimmed.slice(-max)}` : trimmed;
}

/** Runs `file args` to the end and collects its output. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      shell: false,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? 120_000);
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.stdin.on("error", () => undefined);
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(error.code === "ENOENT" ? `${file} is not installed or not on PATH` : `${shown(file, args)}: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (timedOut) {
        reject(new Error(`${shown(file, args)}: did not finish within ${options.timeoutMs ?? 120_000} ms ${tail(stderr)}`));
        return;
      }
      const exit = code ?? -1;
      if (exit === 0 || (options.allowFailure === true && code !== null)) {
        resolve({ code: exit, stdout, stderr });
        return;
      }
      reject(new Error(`${shown(file, args)}: ${code === null ? `killed by ${signal}` : `exited with ${code}`}: ${tail(stderr || stdout)}`));
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Thrown by a `waitFor` check to stop waiting at once (e.g. the awaited process exited). */
export class GiveUp extends Error {}

/**
 * Calls `check` every `intervalMs` until it returns a value other than undefined, and resolves with
 * that value; throws after `timeoutMs` with `what` and the last error seen, or at once when the
 * check throws GiveUp.
 */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let failure: string | undefined;
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      failure = (error as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${failure === undefined ? "" : ` (last error: ${failure})`}`);
    await sleep(intervalMs);
  }
}
