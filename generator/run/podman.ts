/**
 * The podman seam of a run's pod: the operations `playPod` needs, answered either by one podman
 * process each (`podmanCli`, the functions of exec.ts) or by requests to a podman service of the
 * run's own (`openPodmanService`: `podman system service` on a socket in a private folder, started
 * while the gate runs, stopped when the run ends).
 *
 * Why a service: every podman process spends 30–60 ms setting itself up (its configuration, the
 * storage, the OCI runtimes, `conmon --version`) before it does anything, and a run asks podman
 * about ten times one after the other (the pod, each role's start, the final inspect, the pod's
 * removal). The service sets itself up once; each request is then a few milliseconds of podman's
 * own work. It is the same libpod doing the same thing: the CLI's `kube play --network none
 * --no-hosts` is the API's `play/kube?network=none&noHosts=true`, and so on.
 *
 * The service is a convenience, never a dependency: when it does not come up, the run asks the CLI;
 * when it is gone during the run (it also ends by itself after IDLE_SECONDS without a request, so
 * that nothing of a killed runner is left running), every request that could not be delivered is
 * asked of the CLI instead. A request that was delivered but not answered is not repeated: the
 * run fails, and the pod is taken down (through the CLI if need be).
 */

import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServiceError, formatIssue } from "../errors.js";
import {
  containerLogs,
  failureFix,
  initContainers,
  inspectContainers,
  kubeDown,
  kubePlay,
  parseInspected,
  podCgroupPath,
  podExists,
  podRemove,
  podStop,
  startContainers,
  startPodmanService,
  volumeNames,
  volumeRemove,
  waitContainers,
  type ExecResult,
  type InspectedContainer,
} from "./exec.js";

/** What `playPod` asks of podman. */
export interface Podman {
  readonly podExists: (pod: string) => Promise<boolean>;
  readonly kubePlay: (yamlFile: string) => Promise<string | undefined>;
  readonly initContainers: (names: readonly string[], timeoutMs: number) => Promise<ExecResult>;
  readonly startContainers: (names: readonly string[], timeoutMs: number) => Promise<ExecResult>;
  readonly inspectContainers: (names: readonly string[], timeoutMs?: number) => Promise<InspectedContainer[]>;
  readonly waitContainers: (names: readonly string[], timeoutMs: number) => Promise<number[]>;
  readonly podStop: (pod: string, seconds: number) => Promise<void>;
  readonly kubeDown: (yamlFile: string) => Promise<boolean>;
  readonly podRemove: (pod: string) => Promise<void>;
  readonly podCgroupPath: (pod: string) => Promise<string>;
  readonly containerLogs: (name: string) => Promise<{ stdout: string; stderr: string }>;
  readonly volumeRemove: (names: readonly string[]) => Promise<void>;
  readonly volumeNames: () => Promise<string[]>;
}

/** One podman process for each operation. */
export const podmanCli: Podman = {
  podExists,
  kubePlay,
  initContainers,
  startContainers,
  inspectContainers,
  waitContainers,
  podStop,
  kubeDown,
  podRemove,
  podCgroupPath,
  containerLogs,
  volumeRemove,
  volumeNames,
};

/** A run's podman service: the same operations, and how to stop it. */
export interface PodmanService extends Podman {
  /** The service's socket (in a folder only root can enter). */
  readonly socket: string;
  /** Whether a request found the service gone (its later requests went to the CLI). */
  readonly gone: () => boolean;
  /** Stops the service (SIGTERM, SIGKILL after 2 s) and removes its folder; resolves once it exited. */
  readonly close: () => Promise<void>;
}

/** The API version the requests name: podman 4's, which later podman versions still serve. */
const API = "/v4.0.0/libpod";

/** Seconds without a request after which the service ends by itself (podman's --time). */
export const IDLE_SECONDS = 10;

/** How long the runner waits for the service to answer its first request before it uses the CLI instead. */
export const SERVICE_START_MS = 3000;

/** How long the service may take to take a pod down before the CLI is asked to (podman stops each container with 10 s of grace). */
const KUBE_DOWN_MS = 30_000;

/** The longest path of a unix socket (sun_path is 108 bytes, with the final NUL). */
const MAX_SOCKET_PATH = 107;

/** The request could not be delivered (the service is not there, or no longer): it did nothing, the CLI may be asked instead. */
class Undelivered extends Error {}

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** What the API says when it refuses: `{"cause", "message", "response"}`; else the body itself. */
export function apiMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON: shown as it is
  }
  return body.trim();
}

/**
 * One request to the service. Rejects with Undelivered when it reached nothing; with a ServiceError
 * when it was delivered but not answered (the connection closed, or `timeoutMs` passed).
 */
function ask(socket: string, method: string, path: string, options: { body?: string; timeoutMs?: number; step: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const failed = (message: string, fix: string): ServiceError => {
      const issue = { file: `podman service ${method} ${path}`, path: "$", message: `${options.step}: ${message}`, fix };
      return new ServiceError(formatIssue(issue), [issue]);
    };
    let connected = false;
    let timer: NodeJS.Timeout | undefined;
    const req = request(
      {
        socketPath: socket,
        agent: false,
        method,
        path: `${API}${path}`,
        headers: options.body === undefined ? {} : { "content-type": "application/yaml", "content-length": Buffer.byteLength(options.body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        });
        // An answer cut off before its end is no answer (after "end", settling again does nothing).
        const cutOff = (): void => {
          clearTimeout(timer);
          reject(failed("podman's service did not finish its answer", "see `podman ps -a` for what it did; run again"));
        };
        res.on("error", cutOff);
        res.on("close", () => {
          if (!res.complete) cutOff();
        });
      },
    );
    req.on("socket", (s) => s.once("connect", () => (connected = true)));
    req.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!connected && ["ENOENT", "ECONNREFUSED", "ENOTSOCK", "EACCES"].includes(error.code ?? "")) reject(new Undelivered(error.message));
      else reject(failed(`podman's service did not answer (${error.message})`, "see `podman ps -a` for what it did; run again"));
    });
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        reject(
          failed(
            `did not finish within ${options.timeoutMs} ms`,
            "see whether podman hangs (`podman ps -a`, `podman info`); a machine under load may need a longer deadline",
          ),
        );
        req.destroy();
      }, options.timeoutMs);
    }
    req.end(options.body);
  });
}

function refused(method: string, path: string, step: string, answer: Answer): ServiceError {
  const message = apiMessage(answer.body);
  const issue = {
    file: `podman service ${method} ${path}`,
    path: "$",
    message: `${step} failed: ${answer.status}: ${message}`,
    fix: failureFix("podman", message),
  };
  return new ServiceError(formatIssue(issue), [issue]);
}

const ok = (status: number): boolean => status >= 200 && status < 300;
const name = (text: string): string => encodeURIComponent(text);

/**
 * The operations answered by the service at `socket`. Those on a run's path (the pod's creation,
 * each start, the inspections, the removal) are requests; the rare ones (a deadline's stop, logs a
 * k8s-file could not give, volumes an image made) stay with the CLI.
 */
export function serviceClient(socket: string): Omit<PodmanService, "close"> {
  let isGone = false;
  /** The request, or, when it could not be delivered, the CLI's answer to the same question. */
  const either = async <T>(viaService: () => Promise<T>, viaCli: () => Promise<T>): Promise<T> => {
    if (isGone) return viaCli();
    try {
      return await viaService();
    } catch (error) {
      if (!(error instanceof Undelivered)) throw error;
      isGone = true;
      return viaCli();
    }
  };
  /**
   * Several requests at once, as one podman process with several names: code 0 when each succeeded,
   * else 125 and a line for each failure, as the CLI prints them. A request that took too long
   * rejects (the runner then stops the pod); one that could not be delivered rejects Undelivered
   * only when none was (then the CLI is asked: nothing was done); else it is a failure.
   */
  const each = async (names: readonly string[], action: string, timeoutMs: number, step: string): Promise<ExecResult> => {
    const settled = await Promise.allSettled(names.map((n) => ask(socket, "POST", `/containers/${name(n)}/${action}`, { timeoutMs, step })));
    const reasons = settled.flatMap((s) => (s.status === "rejected" ? [s.reason instanceof Error ? s.reason : new Error(String(s.reason))] : []));
    const undelivered = reasons.find((r) => r instanceof Undelivered);
    if (undelivered !== undefined && reasons.length === settled.length && reasons.every((r) => r instanceof Undelivered)) throw undelivered;
    const timedOut = reasons.find((r) => r instanceof ServiceError && /did not finish within/.test(r.message));
    if (timedOut !== undefined) throw timedOut;
    const failed = settled.flatMap((s, i) => {
      if (s.status === "rejected") return [`Error: ${names[i]}: ${s.reason instanceof Error ? s.reason.message : String(s.reason)}\n`];
      // 304: already so (started): what was asked for holds.
      return ok(s.value.status) || s.value.status === 304 ? [] : [`Error: ${names[i]}: ${apiMessage(s.value.body)}\n`];
    });
    return failed.length === 0 ? { code: 0, stdout: names.map((n) => `${n}\n`).join(""), stderr: "" } : { code: 125, stdout: "", stderr: failed.join("") };
  };
  return {
    socket,
    gone: () => isGone,
    podExists: (pod) =>
      either(
        async () => {
          const step = "asking whether the pod exists";
          const path = `/pods/${name(pod)}/exists`;
          const answer = await ask(socket, "GET", path, { step });
          // 204: it exists; 404: it does not; anything else says neither.
          if (answer.status === 204 || answer.status === 404) return answer.status === 204;
          throw refused("GET", path, step, answer);
        },
        () => podExists(pod),
      ),
    kubePlay: (yamlFile) =>
      either(
        async () => {
          const step = "creating the run's pod (podman kube play)";
          const path = "/play/kube?start=false&network=none&noHosts=true";
          const answer = await ask(socket, "POST", path, { body: readFileSync(yamlFile, "utf8"), step });
          if (!ok(answer.status)) throw refused("POST", path, step, answer);
          const report = JSON.parse(answer.body) as { Pods?: { ID?: string }[] | null };
          const id = report.Pods?.[0]?.ID;
          return typeof id === "string" && /^[0-9a-f]{64}$/.test(id) ? id : undefined;
        },
        () => kubePlay(yamlFile),
      ),
    initContainers: (names, timeoutMs) =>
      names.length === 0
        ? Promise.resolve({ code: 0, stdout: "", stderr: "" })
        : either(
            () => each(names, "init", timeoutMs, "creating the containers (podman init)"),
            () => initContainers(names, timeoutMs),
          ),
    startContainers: (names, timeoutMs) =>
      either(
        () => each(names, "start", timeoutMs, "starting the containers (podman start)"),
        () => startContainers(names, timeoutMs),
      ),
    inspectContainers: (names, timeoutMs) =>
      either(
        async () => {
          const answers = await Promise.all(
            names.map((n) =>
              ask(socket, "GET", `/containers/${name(n)}/json`, { step: "inspecting the containers", ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
            ),
          );
          // One that does not exist is left out, as `podman container inspect` leaves it out.
          return parseInspected(
            `[${answers
              .filter((a) => ok(a.status))
              .map((a) => a.body)
              .join(",")}]`,
          );
        },
        () => inspectContainers(names, timeoutMs),
      ),
    // Taking the pod down never fails on the service's account: whatever went wrong with the request
    // (not delivered, not answered, not in time), the CLI is asked to take it down.
    kubeDown: (yamlFile) =>
      either(
        async () => {
          const answer = await ask(socket, "DELETE", "/play/kube", {
            body: readFileSync(yamlFile, "utf8"),
            step: "taking the pod down (podman kube down)",
            timeoutMs: KUBE_DOWN_MS,
          });
          if (!ok(answer.status)) return false;
          // Each pod's stop and removal report their own errors; the CLI exits non-zero on any.
          const report = JSON.parse(answer.body) as { StopReport?: { Errs?: unknown[] | null }[] | null; RmReport?: { Err?: unknown }[] | null };
          // A report naming no pod removed none: the pod's removal is not assumed.
          const stopped = report.StopReport ?? [];
          const removed = report.RmReport ?? [];
          return removed.length > 0 && stopped.every((r) => (r.Errs ?? []).length === 0) && removed.every((r) => r.Err === null || r.Err === undefined);
        },
        () => kubeDown(yamlFile),
      ).catch(() => kubeDown(yamlFile)),
    waitContainers,
    podStop,
    podRemove,
    podCgroupPath,
    containerLogs,
    volumeRemove,
    volumeNames,
  };
}

/** Resolves once the child exited (at once when it already had). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Starts `podman system service` on a socket in a new folder (mode 0700, under the system's
 * temporary folder) and waits until it answers, at most `startMs`. Resolves with the service, or
 * undefined when it did not come up (the caller uses `podmanCli`); nothing of it is left then.
 * Never rejects: the service only saves time.
 */
export async function openPodmanService(startMs = SERVICE_START_MS, now: () => number = Date.now): Promise<PodmanService | undefined> {
  // A unix socket's path holds at most 107 bytes: under a longer temporary folder, no service (the CLI answers).
  if (Buffer.byteLength(join(tmpdir(), "datomspod-podman-XXXXXX", "podman.sock")) > MAX_SOCKET_PATH) return undefined;
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), "datomspod-podman-"));
  } catch {
    return undefined; // no folder for its socket (a temporary folder not writable): the CLI answers
  }
  const socket = join(dir, "podman.sock");
  let child: ChildProcess;
  try {
    child = startPodmanService(socket, IDLE_SECONDS);
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  // A caller that never closes it does not wait for it: it ends IDLE_SECONDS after its caller.
  child.unref();
  const running = (): boolean => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  let keepAlive: NodeJS.Timeout | undefined;
  const close = async (): Promise<void> => {
    clearInterval(keepAlive);
    if (running()) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exited(child);
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = now() + startMs;
  while (now() < deadline && running()) {
    try {
      const answer = await ask(socket, "GET", "/_ping", { timeoutMs: Math.max(1, deadline - now()), step: "asking the podman service" });
      if (answer.status === 200) {
        // Asked now and then while the run waits for its algorithm (podman is not asked then), so that it
        // does not end for want of requests; once the runner is gone, it ends IDLE_SECONDS later.
        keepAlive = setInterval(
          () => void ask(socket, "GET", "/_ping", { timeoutMs: 1000, step: "keeping the podman service" }).catch(() => undefined),
          (IDLE_SECONDS * 1000) / 4,
        );
        keepAlive.unref();
        return { ...serviceClient(socket), close };
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await close();
  return undefined;
}
