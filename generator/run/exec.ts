/**
 * The one place of the run stage that starts processes: the container engine (podman, or docker
 * for image builds, and the podman service a run asks), the helpers an image build needs (go through the supervisor's build script,
 * npm, the rootfs script), and mount/umount of a run's scratch volumes (tmpfs, the inputs' bind and overlay mounts). Always `execFile` with an argument array, never a shell string.
 * A failure becomes a ServiceError that carries the command and the end of its stderr.
 */

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { ServiceError, formatIssue, type Issue } from "../errors.js";

export const ENGINES = ["podman", "docker"] as const;
export type Engine = (typeof ENGINES)[number];

export interface ExecOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Milliseconds; the process is killed (SIGKILL) after it. */
  readonly timeoutMs?: number;
  /** Resolve with the exit code instead of throwing when it is not 0. */
  readonly allowFailure?: boolean;
  /** What to tell the user when the program is missing. */
  readonly missingFix?: string;
  /** What the command was doing, in words (e.g. "creating the pod (podman kube play)"): named in the error. */
  readonly step?: string;
  /** How to fix a failure of this command, when its error output does not say more (see `failureFix`). */
  readonly fix?: string;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function serviceError(issue: Issue): ServiceError {
  return new ServiceError(formatIssue(issue), [issue]);
}

const MAX_BUFFER = 64 * 1024 * 1024;
const STDERR_TAIL = 2000;

function shown(file: string, args: readonly string[]): string {
  const text = [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * The fix for a failed command, from what it printed: the causes a newcomer meets (podman refused
 * by the machine's rlimits, an image not built yet, not root, a leftover pod), else the caller's,
 * else the general one.
 */
export function failureFix(file: string, stderr: string, fallback?: string): string {
  if (/rlimit|ulimit/i.test(stderr)) {
    return 'this machine refuses podman\'s default rlimits: add default_ulimits = ["nofile=4096:4096","nproc=4096:4096"] under [containers] in /etc/containers/containers.conf (bash .ci/setup does it)';
  }
  if (/image not known|manifest unknown|no such image|image not found/i.test(stderr)) {
    return "build the images this machine runs: datomspod images build (nothing is pulled; the digests are reproducible)";
  }
  if (/(permission denied|operation not permitted)/i.test(stderr) && /mount|cgroup|netns|newuidmap/i.test(stderr)) {
    return "run as root: the local runner mounts the inputs and scratch volumes and sets the pod's cgroup limits";
  }
  if (/already exists|is in use/i.test(stderr) && /pod|container|volume/i.test(stderr)) {
    return "a pod or volume of an earlier run is left over: list them with `podman pod ps -a` and `podman volume ls`, remove them (podman pod rm -f NAME), run again";
  }
  if (fallback !== undefined) return fallback;
  return `the cause is ${file}'s error shown above; fix it and run again${file === "podman" ? " (`podman info` shows podman's configuration)" : ""}`;
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > STDERR_TAIL ? `…${trimmed.slice(-STDERR_TAIL)}` : trimmed;
}

/** Runs `file args` and collects its output. */
export function execTool(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 0,
        killSignal: "SIGKILL",
        maxBuffer: MAX_BUFFER,
        encoding: "utf8",
        shell: false,
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const failure = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
        const command = shown(file, args);
        if (failure.code === "ENOENT") {
          reject(
            serviceError({
              file: command,
              path: "$",
              message: `${file} is not installed or not on PATH`,
              fix: options.missingFix ?? `install ${file}`,
            }),
          );
          return;
        }
        if (failure.killed === true && options.timeoutMs !== undefined) {
          reject(
            serviceError({
              file: command,
              path: "$",
              message: `${options.step === undefined ? "" : `${options.step}: `}did not finish within ${options.timeoutMs} ms${stderr ? `: ${tail(stderr)}` : ""}`,
              fix: `see whether it hangs (${file === "podman" ? "`podman ps -a`, `podman info`" : "its output above"}); a machine under load may need a longer deadline`,
            }),
          );
          return;
        }
        const code = typeof failure.code === "number" ? failure.code : -1;
        if (options.allowFailure === true && code >= 0) {
          resolve({ code, stdout, stderr });
          return;
        }
        const how = code >= 0 ? `exited with ${code}` : `failed (${failure.signal ?? failure.message})`;
        reject(
          serviceError({
            file: command,
            path: "$",
            message: `${options.step === undefined ? "" : `${options.step} failed: `}${how}${stderr.trim() ? `: ${tail(stderr)}` : " (it printed nothing on stderr)"}`,
            fix: failureFix(file, stderr, options.fix),
          }),
        );
      },
    );
  });
}

function engineFix(engine: Engine): string {
  return engine === "podman"
    ? "install podman (Debian: `apt-get install podman catatonit`; see .ci/setup)"
    : "install docker (Debian: `apt-get install docker.io`) and start dockerd";
}

/** Runs the container engine. */
export function execEngine(engine: Engine, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return execTool(engine, args, { missingFix: engineFix(engine), ...options });
}

export interface ImageFacts {
  /** The image ID (config digest), `sha256:...`. */
  readonly id: string;
  /** The manifest digest a reference `repository@digest` names, when the engine knows one. */
  readonly digest: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

/** What the engine knows of a local image, or undefined when it has none by that reference. */
export async function inspectImage(engine: Engine, reference: string, timeoutMs?: number): Promise<ImageFacts | undefined> {
  const result = await execEngine(engine, ["image", "inspect", reference], { allowFailure: true, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  if (result.code !== 0) return undefined;
  const [raw] = JSON.parse(result.stdout) as {
    Id: string;
    Digest?: string;
    RepoDigests?: string[];
    Labels?: Record<string, string> | null;
    Config?: { Labels?: Record<string, string> | null };
  }[];
  if (raw === undefined) return undefined;
  const id = raw.Id.startsWith("sha256:") ? raw.Id : `sha256:${raw.Id}`;
  const digest = raw.Digest ?? raw.RepoDigests?.[0]?.split("@")[1];
  return { id, digest, labels: raw.Labels ?? raw.Config?.Labels ?? {} };
}

export interface BuildRequest {
  readonly context: string;
  readonly containerfile: string;
  readonly tag: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly buildArgs: Readonly<Record<string, string>>;
}

/**
 * Builds an image reproducibly: podman with `--timestamp 0` (every time and file mtime set to the
 * epoch), no identity label (so the builder's version is not in the image), no build cache and
 * no pull. docker has no such switches: its image is functionally the same but its digest is not
 * reproducible.
 */
export async function buildImage(engine: Engine, request: BuildRequest): Promise<void> {
  const labels = Object.entries(request.labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .flatMap(([k, v]) => ["--label", `${k}=${v}`]);
  const buildArgs = Object.entries(request.buildArgs)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
  const args =
    engine === "podman"
      ? [
          "build",
          "--quiet",
          "--no-cache",
          "--pull=never",
          "--timestamp",
          "0",
          "--identity-label=false",
          "--format",
          "oci",
          ...labels,
          ...buildArgs,
          "--file",
          request.containerfile,
          "--tag",
          request.tag,
          request.context,
        ]
      : ["build", "--quiet", "--no-cache", ...labels, ...buildArgs, "--file", request.containerfile, "--tag", request.tag, request.context];
  await execEngine(engine, args, {
    env: { ...process.env, DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT ?? "1" },
    step: `building the image ${request.tag}`,
  });
}

/** Tries to pull an image; resolves with the engine's error text when that fails. */
export async function tryPull(engine: Engine, reference: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const result = await execEngine(engine, ["pull", "--quiet", reference], { allowFailure: true, timeoutMs });
    return result.code === 0 ? undefined : tail(result.stderr) || `exited with ${result.code}`;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Removes a local image; one still used by a container stays (no --force). */
export async function removeImage(engine: Engine, reference: string): Promise<void> {
  await execEngine(engine, ["image", "rm", reference], { allowFailure: true });
}

/** Runs the supervisor's build script; resolves with the path of the cached static binary. */
export async function buildSupervisor(script: string): Promise<string> {
  const result = await execTool("bash", [script], {
    missingFix: "install bash and Go (https://go.dev/dl, or /usr/local/go/bin on PATH)",
    timeoutMs: 10 * 60_000,
  });
  const path = result.stdout.trim().split("\n").pop() ?? "";
  if (!path.startsWith("/"))
    throw serviceError({
      file: script,
      path: "$",
      message: `building the supervisor printed no binary path: ${JSON.stringify(result.stdout)}`,
      fix: `its output is above; check that Go is installed (bash .ci/setup) and run bash ${script} to see every line`,
    });
  return path;
}

/** Runs rootfs.sh to prepare a base image's build context (see generator/run/image-context). */
export async function prepareRootfs(script: string, args: readonly string[]): Promise<void> {
  await execTool("bash", [script, ...args], { timeoutMs: 10 * 60_000, missingFix: "install bash, dpkg and npm (a Debian machine)" });
}

/**
 * The production dependencies of a folder that holds package.json and package-lock.json, at the
 * locked versions. `npm install --no-save` rather than `npm ci`: npm ci refuses a lockfile that
 * lacks other platforms' optional packages, as npm itself writes it.
 */
export async function installProductionDependencies(dir: string): Promise<void> {
  await execTool("npm", ["install", "--omit=dev", "--ignore-scripts", "--no-save", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: dir,
    timeoutMs: 10 * 60_000,
    missingFix: "install npm",
  });
}

/** Versions of installed Debian packages (`name version` lines); absent ones are left out. */
export async function debianVersions(packages: readonly string[]): Promise<string> {
  const result = await execTool("dpkg-query", ["-W", "-f", "${Package} ${Version}\\n", ...packages], {
    allowFailure: true,
    missingFix: "base images are built on Debian (dpkg-query)",
  });
  return result.stdout
    .split("\n")
    .filter((line) => /^\S+ \S+$/.test(line))
    .sort()
    .join("\n");
}

// --- pods (podman only: `kube play` is what runs the rendered pod on one machine) -------------

/**
 * `podman kube play --start=false`: creates the pod and its containers without starting it, so
 * limits that kube play cannot express can be set before it runs. `--network none` leaves the pod
 * with a loopback interface only. (`--no-hosts` is asked for, but podman 4.3 kube play still writes
 * an /etc/hosts with the host's entries: the runner mounts its own, see pod.ts.) Resolves
 * with the pod's ID (podman prints it after `Pod:`, even with `--quiet`), or undefined when it
 * printed none.
 */
export async function kubePlay(yamlFile: string): Promise<string | undefined> {
  const result = await execEngine("podman", ["kube", "play", "--start=false", "--network", "none", "--no-hosts", "--quiet", yamlFile], {
    step: "creating the run's pod (podman kube play)",
  });
  return /^Pod:\n([0-9a-f]{64})$/m.exec(result.stdout)?.[1];
}

/**
 * `podman init`: creates the containers in the OCI runtime (root file system, mounts, namespaces,
 * cgroup; runc resolves the program) without starting their process. The pod's infra container
 * starts with the first.
 */
export async function initContainers(names: readonly string[], timeoutMs: number): Promise<ExecResult> {
  if (names.length === 0) return { code: 0, stdout: "", stderr: "" };
  return execEngine("podman", ["init", ...names], { allowFailure: true, timeoutMs });
}

/** `podman start`: starts the containers (creating the ones not created yet); resolves with podman's result. */
export async function startContainers(names: readonly string[], timeoutMs: number): Promise<ExecResult> {
  return execEngine("podman", ["start", ...names], { allowFailure: true, timeoutMs });
}

/** `podman kube down`: stops and removes the pod (not its volumes); resolves with whether it worked. */
export async function kubeDown(yamlFile: string): Promise<boolean> {
  return (await execEngine("podman", ["kube", "down", yamlFile], { allowFailure: true })).code === 0;
}

/** Stops every container of the pod: SIGTERM, then SIGKILL after `seconds`. */
export async function podStop(pod: string, seconds: number): Promise<void> {
  await execEngine("podman", ["pod", "stop", "--time", String(seconds), pod], { allowFailure: true });
}

export async function podRemove(pod: string): Promise<void> {
  await execEngine("podman", ["pod", "rm", "--force", "--ignore", pod], { allowFailure: true });
}

/** `podman pod exists`: 0 it does, 1 it does not; any other answer says neither, and is an error. */
export async function podExists(pod: string): Promise<boolean> {
  const result = await execEngine("podman", ["pod", "exists", pod], { allowFailure: true });
  if (result.code === 0 || result.code === 1) return result.code === 0;
  throw serviceError({
    file: shown("podman", ["pod", "exists", pod]),
    path: "$",
    message: `asking whether the pod exists failed: exited with ${result.code}${result.stderr.trim() ? `: ${tail(result.stderr)}` : ""}`,
    fix: failureFix("podman", result.stderr),
  });
}

/** The pod's cgroup (relative to the cgroup mount), e.g. /libpod_parent/<pod id>. */
export async function podCgroupPath(pod: string): Promise<string> {
  return (await execEngine("podman", ["pod", "inspect", "--format", "{{.CgroupPath}}", pod], { step: "finding the pod's cgroup" })).stdout.trim();
}

export interface ContainerFacts {
  readonly name: string;
  /** created, running, exited, … */
  readonly status: string;
  readonly exitCode: number;
  readonly oomKilled: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** What `inspectContainers` also tells about where a container's output went. */
export interface InspectedContainer extends ContainerFacts {
  /** podman's ID of the container (64 hex digits). */
  readonly id: string;
  /** The log driver (`k8s-file` by default) and, for k8s-file, the host path of the log. */
  readonly log: { readonly driver: string; readonly path: string };
  /** The podman volumes it mounts (e.g. anonymous ones for an image's VOLUME). */
  readonly volumes: readonly string[];
  /** Where conmon writes its process ID when it starts. */
  readonly conmonPidFile: string;
}

/** The state of containers (one podman call); the ones that do not exist are left out. */
export async function inspectContainers(names: readonly string[], timeoutMs?: number): Promise<InspectedContainer[]> {
  if (names.length === 0) return [];
  const result = await execEngine("podman", ["container", "inspect", ...names], { allowFailure: true, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  return parseInspected(result.stdout);
}

/** What `podman container inspect` prints (the API's answers, in an array, read the same): the facts the runner uses. */
export function parseInspected(json: string): InspectedContainer[] {
  const found =
    json.trim() === ""
      ? []
      : (JSON.parse(json) as {
          Id: string;
          Name: string;
          ConmonPidFile?: string;
          State: { Status: string; ExitCode: number; OOMKilled: boolean; StartedAt: string; FinishedAt: string };
          HostConfig?: { LogConfig?: { Type?: string; Path?: string } };
          Mounts?: { Type?: string; Name?: string }[] | null;
        }[]);
  return found.map(({ Id, Name, ConmonPidFile, State, HostConfig, Mounts }) => ({
    name: Name,
    id: Id,
    status: State.Status,
    exitCode: State.ExitCode,
    oomKilled: State.OOMKilled,
    startedAt: State.StartedAt,
    finishedAt: State.FinishedAt,
    log: { driver: HostConfig?.LogConfig?.Type ?? "", path: HostConfig?.LogConfig?.Path ?? "" },
    volumes: (Mounts ?? []).filter((m) => m.Type === "volume" && typeof m.Name === "string" && m.Name !== "").map((m) => m.Name as string),
    conmonPidFile: ConmonPidFile ?? "",
  }));
}

/**
 * How often `podman wait` looks whether the containers stopped: podman 4.3 polls, every 250 ms by
 * default, so a run waited 125 ms on average after its last container had ended. Looking is a
 * read of podman's state: 20 times a second costs nothing measurable.
 */
export const WAIT_INTERVAL = "50ms";

/** Waits until every container stopped (one podman call); resolves with their exit codes in order. */
export async function waitContainers(names: readonly string[], timeoutMs: number): Promise<number[]> {
  if (names.length === 0) return [];
  const result = await execEngine("podman", ["wait", "--interval", WAIT_INTERVAL, ...names], { timeoutMs });
  return exitCodesOf(result.stdout, names.length);
}

/** `podman wait`'s answer (pure): one exit code a line, in order; a missing or other line is no exit code (-1), never a success. */
export function exitCodesOf(stdout: string, count: number): number[] {
  const lines = stdout.trim().split("\n");
  return Array.from({ length: count }, (_, i) => (/^-?\d{1,10}$/.test(lines[i]?.trim() ?? "") ? Number(lines[i]) : -1));
}

/** A container's output through `podman logs` (stdout and stderr, each in order). */
export async function containerLogs(name: string): Promise<{ stdout: string; stderr: string }> {
  const result = await execEngine("podman", ["logs", name], { allowFailure: true });
  return { stdout: result.stdout, stderr: result.stderr };
}

export async function volumeRemove(names: readonly string[]): Promise<void> {
  if (names.length > 0) await execEngine("podman", ["volume", "rm", "--force", ...names], { allowFailure: true });
}

/**
 * Starts `podman system service` listening on `socket` (a unix socket), ending by itself after
 * `idleSeconds` without a request; its output is discarded. The caller stops it (see podman.ts).
 */
export function startPodmanService(socket: string, idleSeconds: number): ChildProcess {
  const child = spawn("podman", ["system", "service", "--time", String(idleSeconds), `unix://${socket}`], { stdio: "ignore", shell: false });
  child.on("error", () => undefined); // podman missing: the service never answers, and the CLI, asked instead, says so
  return child;
}

/** The names of all volumes (one podman call). */
export async function volumeNames(): Promise<string[]> {
  return (await execEngine("podman", ["volume", "ls", "--format", "{{.Name}}"])).stdout.split("\n").filter((name) => name !== "");
}

export interface TmpfsOptions {
  /** The most bytes it holds (the kernel rounds up to whole pages). */
  readonly bytes: number;
  /** The most files and folders it holds. */
  readonly inodes: number;
  readonly uid: number;
  readonly gid: number;
  /** The mode of its root folder, e.g. 0o700. */
  readonly mode: number;
}

/**
 * Mounts a tmpfs of at most `bytes` at `dir` (which must exist), owned by uid:gid, nosuid and
 * nodev. Only root may (rootful podman runs the pods anyway).
 */
export async function mountTmpfs(dir: string, options: TmpfsOptions): Promise<void> {
  const flags = `size=${options.bytes},nr_inodes=${options.inodes},uid=${options.uid},gid=${options.gid},mode=${options.mode.toString(8).padStart(4, "0")},nosuid,nodev`;
  await execTool("mount", ["-t", "tmpfs", "-o", flags, "tmpfs", dir], {
    timeoutMs: 30_000,
    missingFix: "install mount (util-linux) and run datomspod run as root, as rootful podman needs",
  });
}

/**
 * Binds the folder `source` read-only at `target` (which must exist): how the runner stages an
 * input folder under a neutral path of its own (only root may).
 */
export async function bindMount(source: string, target: string): Promise<void> {
  await execTool("mount", ["--bind", "-o", "ro", source, target], { timeoutMs: 30_000, missingFix: "install mount (util-linux)" });
}

/**
 * Mounts a read-only overlay of the folders `lowers` at `target`. The lower folders are given
 * relative to `cwd`, which the kernel keeps as given: the mount table (which a container can read)
 * then shows `lowerdir=stage/0:empty`, not where the folders lie on the host. An overlay without an
 * upper folder needs at least two lower ones.
 */
export async function mountOverlay(cwd: string, lowers: readonly string[], target: string): Promise<void> {
  await execTool("mount", ["-t", "overlay", "-o", `ro,lowerdir=${lowers.join(":")}`, "overlay", target], {
    cwd,
    timeoutMs: 30_000,
    missingFix: "install mount (util-linux); the kernel needs overlayfs, as podman's storage does",
  });
}

/**
 * Unmounts the folders (one call for all); `lazy` detaches a busy one (gone from the host's tree at
 * once, freed when its last user lets go). Resolves with whether umount reported success; the
 * caller checks the mount table.
 */
export async function unmount(dirs: readonly string[], lazy = false): Promise<boolean> {
  if (dirs.length === 0) return true;
  return (
    (await execTool("umount", [...(lazy ? ["--lazy"] : []), ...dirs], { allowFailure: true, timeoutMs: 30_000, missingFix: "install umount (util-linux)" }))
      .code === 0
  );
}
