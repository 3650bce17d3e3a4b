/**
 * When a container of the run's pod ended, as soon as conmon knows it.
 *
 * podman learns that a container ended only once conmon's exit command (`podman container
 * cleanup`, a whole podman process that takes the container's lock, deletes it in the OCI runtime
 * and unmounts its root) has finished: 100–250 ms later on a two-core machine. `podman pod start`
 * waits for that between init containers, and `podman wait` waits for it too, so each role of the
 * pod would pay it before the next could begin. conmon records the exit code first, in
 * `<exit dir>/<container id>` (written to a temporary file and renamed, so it is whole when it
 * appears), and podman reads its exit code from that very file. The runner reads the folder from
 * the conmon of the container (`/proc/<pid>/cmdline`: `-c <id> … --exit-dir <dir>`) and watches it.
 *
 * It only tells the runner when to go on: what the run reports (exit codes, OOM kills, times) is
 * still what podman records and `podman container inspect` shows after the pod stopped. When the
 * exit dir cannot be known, or conmon is gone without writing the file, the runner asks podman
 * (`podman wait`), as it did before.
 */

import { readFileSync, readdirSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isAlive } from "../repo/processes.js";

/**
 * The file conmon will write a container's exit code to, from conmon's argument vector (pure): its
 * `--exit-dir` joined with the container ID, when the vector is conmon's for that container
 * (`-c <id>`); undefined otherwise.
 */
export function conmonExitFile(argv: readonly string[], id: string): string | undefined {
  if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
  const value = (flag: string): string | undefined => {
    const at = argv.indexOf(flag);
    return at >= 0 && at + 1 < argv.length ? argv[at + 1] : undefined;
  };
  const dir = value("--exit-dir");
  if (value("-c") !== id || dir === undefined || !dir.startsWith("/")) return undefined;
  return join(dir, id);
}

/** A process's argument vector (NUL-separated /proc/<pid>/cmdline); undefined when not readable. */
export function processArgv(pid: number, proc = "/proc"): string[] | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return readFileSync(join(proc, String(pid), "cmdline"), "utf8")
      .split("\0")
      .slice(0, -1);
  } catch {
    return undefined;
  }
}

/** The one number a small file holds when it matches `pattern`; undefined when not readable or not (yet) whole. */
function readNumber(file: string, pattern: RegExp): number | undefined {
  if (file === "") return undefined;
  try {
    const text = readFileSync(file, "utf8").trim();
    return pattern.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The process ID in a pid file (one positive integer); undefined when not readable. */
export function readPid(file: string): number | undefined {
  return readNumber(file, /^[1-9]\d{0,9}$/);
}

/** The exit code conmon wrote (one integer), or undefined while the file is not there (or not yet whole). */
export function readExitCode(file: string): number | undefined {
  return readNumber(file, /^-?\d{1,10}$/);
}

/** Whether the target's conmon still runs: its process is there and is still that container's conmon (not a reused ID). */
function conmonAlive(target: ExitTarget): boolean {
  if (target.conmonPid === undefined) return true; // not known: only the file or the deadline ends the wait
  if (!isAlive(target.conmonPid)) return false;
  const argv = processArgv(target.conmonPid);
  return argv === undefined || conmonExitFile(argv, basename(target.file)) === target.file;
}

export interface ExitTarget {
  /** Where conmon writes the exit code. */
  readonly file: string;
  /** conmon's process, when known: when it is gone without the file, the wait ends undefined. */
  readonly conmonPid?: number;
}

export type ExitOutcome = { readonly code: number } | { readonly gone: true } | { readonly timedOut: true };

/** How often the file is looked at besides the folder's change events (a safety net, not the mechanism). */
const LOOK_INTERVAL_MS = 100;

/**
 * Resolves once conmon wrote the container's exit code (`{ code }`), conmon ended without writing
 * it (`{ gone }`: ask podman), or the deadline (a `Date.now()` value) passed (`{ timedOut }`).
 * The folder is watched (inotify) and looked at every 100 ms as well.
 */
export function waitExitFile(target: ExitTarget, deadline: number, now: () => number = Date.now): Promise<ExitOutcome> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    let done = false;
    const finish = (outcome: ExitOutcome): void => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(timer);
      resolve(outcome);
    };
    const look = (): void => {
      const code = readExitCode(target.file);
      if (code !== undefined) return finish({ code });
      if (!conmonAlive(target)) {
        // conmon writes the file, then ends: read once more, now that it has ended.
        const last = readExitCode(target.file);
        return finish(last === undefined ? { gone: true } : { code: last });
      }
      if (now() >= deadline) finish({ timedOut: true });
    };
    try {
      watcher = watch(dirname(target.file), { persistent: true }, (_event, name) => {
        if (name === null || String(name) === basename(target.file)) look();
      });
      watcher.on("error", () => undefined); // the interval still looks
    } catch {
      watcher = undefined; // no inotify here: the interval looks
    }
    const timer = setInterval(look, LOOK_INTERVAL_MS);
    look();
  });
}

/** The `cgroup.procs` files of a cgroup and of every cgroup under it; none when it is gone. */
export function cgroupProcsFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (at: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return; // removed meanwhile: no process there
    }
    for (const entry of entries) {
      if (entry.isFile() && entry.name === "cgroup.procs") files.push(join(at, entry.name));
      else if (entry.isDirectory() && depth < 4) walk(join(at, entry.name), depth + 1);
    }
  };
  walk(dir, 0);
  return files;
}

/** Whether no process is left in the cgroup `dir` and its children (a file that cannot be read holds none: its cgroup went). */
export function cgroupEmpty(dir: string): boolean {
  return cgroupProcsFiles(dir).every((file) => {
    try {
      return readFileSync(file, "utf8").trim() === "";
    } catch {
      return true;
    }
  });
}

/** How often the pod's cgroup is looked at while its last processes end. */
const CGROUP_LOOK_MS = 10;

/**
 * Waits until no process is left in the pod's cgroup `dir`: the containers ended, and so did the
 * processes podman leaves behind them (conmon, and the `podman container cleanup` it starts, which
 * also stops the pod's infra container once the last container ended: podman's exit policy for
 * played pods). `podman kube down` begun while one of those still waits for a container's lock
 * finds the pod's cgroup busy and retries for 3 s until it kills them (one run in ten on this
 * machine). True once empty; false when `deadline` (a `Date.now()` value) passed first.
 */
export async function waitCgroupEmpty(dir: string, deadline: number, now: () => number = Date.now): Promise<boolean> {
  for (;;) {
    if (cgroupEmpty(dir)) return true;
    if (now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, CGROUP_LOOK_MS));
  }
}
