/**
 * The lab's long-running programs: each started detached (its own process group, so a Ctrl-C of
 * the test run does not reach it), output to <lab>/logs/<name>.log, and recorded in
 * <lab>/run/<name>.json with its pid and its start time from /proc (so a later `down`, also after
 * a crash, stops exactly that process and never another one that got the same pid). Stopping:
 * SIGTERM, then SIGKILL after a grace period.
 */

import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "./exec.js";

export interface DaemonRecord {
  readonly name: string;
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot; with the pid, names the process. */
  readonly startTime: string;
  readonly command: readonly string[];
  readonly log: string;
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Field 22 (starttime) of /proc/<pid>/stat, or undefined when there is no such process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count after its end.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether the recorded process is still that process (same pid, same start time), and not a zombie. */
export function isRunning(record: Pick<DaemonRecord, "pid" | "startTime">): boolean {
  if (processStartTime(record.pid) !== record.startTime) return false;
  try {
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${record.pid}/status`, "utf8"))?.[1];
    return state !== "Z";
  } catch {
    return false;
  }
}

function runDir(labDir: string): string {
  return join(labDir, "run");
}

/** Starts `file args` as the lab's daemon `name`; resolves once it has a pid (not once it is ready). */
export function startDaemon(labDir: string, name: string, file: string, args: readonly string[], options: StartOptions = {}): DaemonRecord {
  mkdirSync(runDir(labDir), { recursive: true });
  mkdirSync(join(labDir, "logs"), { recursive: true });
  const log = join(labDir, "logs", `${name}.log`);
  const fd = openSync(log, "a");
  try {
    const child = spawn(file, [...args], {
      cwd: options.cwd ?? labDir,
      env: options.env ?? process.env,
      detached: true,
      stdio: ["ignore", fd, fd],
      shell: false,
    });
    child.on("error", () => undefined);
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${name} (${file})`);
    const record: DaemonRecord = { name, pid: child.pid, startTime: processStartTime(child.pid) ?? "", command: [file, ...args], log };
    writeFileSync(join(runDir(labDir), `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
    return record;
  } finally {
    closeSync(fd);
  }
}

/** The daemons recorded in the lab folder (running or not). */
export function daemonRecords(labDir: string): DaemonRecord[] {
  const dir = runDir(labDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .flatMap((file) => {
      try {
        return [JSON.parse(readFileSync(join(dir, file), "utf8")) as DaemonRecord];
      } catch {
        return [];
      }
    });
}

export function daemonRecord(labDir: string, name: string): DaemonRecord | undefined {
  return daemonRecords(labDir).find((record) => record.name === name);
}

/** Throws with the end of its log when the daemon is no longer running. */
export function assertRunning(record: DaemonRecord): void {
  if (isRunning(record)) return;
  let log = "";
  try {
    log = readFileSync(record.log, "utf8").trim().split("\n").slice(-15).join("\n");
  } catch {
    // no log
  }
  throw new Error(`${record.name} (pid ${record.pid}) exited; end of ${record.log}:\n${log}`);
}

/** Stops the lab's daemon `name` if it still runs (SIGTERM, SIGKILL after `graceMs`); forgets it. */
export async function stopDaemon(labDir: string, name: string, graceMs = 10_000): Promise<void> {
  const record = daemonRecord(labDir, name);
  if (record === undefined) return;
  await stopProcess(record, graceMs);
  rmSync(join(runDir(labDir), `${name}.json`), { force: true });
}

/** SIGTERM to the recorded process (only if it is still that process), SIGKILL after `graceMs`. */
export async function stopProcess(record: Pick<DaemonRecord, "pid" | "startTime">, graceMs: number): Promise<void> {
  if (!isRunning(record)) return;
  try {
    process.kill(record.pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(record)) return;
    await sleep(100);
  }
  if (isRunning(record)) {
    try {
      process.kill(record.pid, "SIGKILL");
    } catch {
      return;
    }
    for (let i = 0; i < 50 && isRunning(record); i++) await sleep(100);
  }
}
