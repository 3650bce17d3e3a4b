/**
 * Helpers of the podman e2e tests: whether podman is here, the images (built once, cached by the
 * images' inputs label), and a run of the hand-written fixture pod (fixtures/pod.yaml) with an
 * algorithm of the test's own.
 */

import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { buildImages, cacheDirectory, type BuiltImage } from "../../generator/run/build-images.js";
import { execTool } from "../../generator/run/exec.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { playPod, podmanPod, type PodRun } from "../../generator/run/pod.js";
import { openPodmanService, podmanCli, type Podman } from "../../generator/run/podman.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

/** Why the podman tests cannot run here, or undefined when they can. */
export async function podmanMissing(): Promise<string | undefined> {
  try {
    const result = await execTool("podman", ["info", "--format", "{{.Host.OCIRuntime.Name}}"], { allowFailure: true, timeoutMs: 30_000 });
    return result.code === 0 ? undefined : `podman info failed: ${result.stderr.trim()}`;
  } catch (error) {
    return (error as Error).message;
  }
}

export function skipMessage(reason: string | undefined): void {
  if (reason !== undefined) console.warn(`SKIPPED podman e2e tests: podman is not usable here (${reason}); install it with .ci/setup`);
}

let images: Promise<Map<string, BuiltImage>> | undefined;

/** The python base image and the pod image, built when missing or out of date. */
export function ensureImages(): Promise<Map<string, BuiltImage>> {
  images ??= (async () => {
    if (!existsSync(join(PACKAGE_ROOT, "dist", "generator", "cli", "main.js"))) throw new Error("dist/ is missing: run `npm run build` first");
    const version = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
    const built = await buildImages({
      engine: "podman",
      root: PACKAGE_ROOT,
      cacheDir: cacheDirectory(process.env, homedir()),
      only: ["python", "pod"],
      version,
      pullTimeoutMs: 20_000,
      log: () => undefined,
    });
    return new Map(built.map((image) => [image.key, image]));
  })();
  return images;
}

export interface FixtureRun {
  readonly run: PodRun;
  readonly podName: string;
  /** The supervisor's status (status volume, computing.json), or undefined when none was written. */
  readonly status: Record<string, unknown> | undefined;
  /** Files in /data/outputs by name. */
  readonly outputs: Readonly<Record<string, string>>;
  /** /data/logs/algorithm.log. */
  readonly log: string;
  readonly inputFile: string;
  readonly inputBefore: string;
  readonly inputAfter: string;
}

export interface FixtureOptions {
  /** Part of the pod name. */
  readonly name: string;
  /** The Python algorithm's code. */
  readonly algorithm: string;
  readonly memory?: string;
  readonly deadlineSeconds?: number;
  readonly pidsLimit?: number;
  /** The sha256 datomspace-in expects of the input (default: the input's real one). */
  readonly expectedSha256?: string;
  /** Mode of the input file on the host (default 0644). */
  readonly inputMode?: number;
  /** The runner's time limit for the whole pod (default 180 s). */
  readonly timeoutMs?: number;
  /** Who answers playPod's questions: a podman service of the run's own, as `datomspod run` (default), the CLI, or the test's own. */
  readonly podman?: "service" | "cli" | Podman;
}

export const PATIENTS_CSV = "age,sex,region,diagnosis,stay\n34,F,north,J,3\n51,M,south,I,5\n29,F,north,K,2\n";
export const DID = "did:op:7f3c2a5e9b1d4c6f8a0e2b4d6f8a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a";

function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Runs fixtures/pod.yaml with the given algorithm and returns what the run left. */
export async function runFixture(options: FixtureOptions): Promise<FixtureRun> {
  const built = await ensureImages();
  const dir = mkdtempSync(join(tmpdir(), `datomspod-e2e-${options.name}-`));
  const inputFile = join(dir, "patients.csv");
  writeFileSync(inputFile, PATIENTS_CSV);
  chmodSync(inputFile, options.inputMode ?? 0o644);
  const podName = `dp-e2e-${options.name}-${randomBytes(3).toString("hex")}`;
  const python = built.get("python")!;
  const tokens: Record<string, string> = {
    POD_NAME: podName,
    POD_IMAGE: built.get("pod")!.reference,
    ALGORITHM_IMAGE: python.pinned,
    INPUT_FILE: inputFile,
    INPUT_SHA256: options.expectedSha256 ?? sha256(PATIENTS_CSV),
    DEADLINE: String(options.deadlineSeconds ?? 60),
    MEMORY: options.memory ?? "256Mi",
  };
  const text = readFileSync(join(FIXTURES, "pod.yaml"), "utf8").replace(/@([A-Z0-9_]+)@/g, (_, key: string) => {
    const value = tokens[key];
    if (value === undefined) throw new Error(`fixtures/pod.yaml: unknown token @${key}@`);
    return value;
  });
  const objects = parseAllDocuments(text).map((doc) => doc.toJS() as Record<string, unknown>);
  const configMap = (name: string): { data: Record<string, string> } =>
    objects.find((o) => o.kind === "ConfigMap" && (o.metadata as { name: string }).name === name) as { data: Record<string, string> };
  configMap("algorithm").data.algorithm = options.algorithm;
  for (const role of ["datomspace-in.cjs", "datomspace-out.cjs", "oracle.cjs"]) configMap("roles").data[role] = readFileSync(join(FIXTURES, role), "utf8");

  const asked = options.podman ?? "service";
  const service = asked === "service" ? await openPodmanService() : undefined;
  if (asked === "service" && service === undefined) throw new Error("the podman service did not come up");
  const podman: Podman = asked === "service" ? service! : asked === "cli" ? podmanCli : asked;
  try {
    return await playFixture(objects, podName, dir, inputFile, options.pidsLimit ?? 512, options.timeoutMs ?? 180_000, podman);
  } finally {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function playFixture(
  objects: readonly Record<string, unknown>[],
  podName: string,
  dir: string,
  inputFile: string,
  pidsLimit: number,
  timeoutMs: number,
  podman: Podman,
): Promise<FixtureRun> {
  let status: Record<string, unknown> | undefined;
  const outputs: Record<string, string> = {};
  let log = "";
  const pod = podmanPod(objects, "test/run/fixtures/pod.yaml");
  const run = await playPod(pod, {
    podman,
    scratchDir: join(dir, "scratch"),
    pidsLimit,
    timeoutMs,
    collect(volumes) {
      const at = (volume: string): string => volumes[`${podName}-${volume}`];
      const statusFile = join(at("status"), "computing.json");
      if (existsSync(statusFile)) status = JSON.parse(readFileSync(statusFile, "utf8")) as Record<string, unknown>;
      for (const file of readdirSync(at("outputs"))) outputs[file] = readFileSync(join(at("outputs"), file), "utf8");
      const logFile = join(at("logs"), "algorithm.log");
      if (existsSync(logFile)) log = readFileSync(logFile, "utf8");
    },
  });
  return { run, podName, status, outputs, log, inputFile, inputBefore: sha256(PATIENTS_CSV), inputAfter: sha256(readFileSync(inputFile)) };
}

/** The container of the run by its name in the pod (datomspace-in, computing, …). */
export function container(run: PodRun, name: string): PodRun["containers"][number] {
  const found = run.containers.find((c) => c.container === name);
  if (found === undefined) throw new Error(`no container ${name} in ${run.name}`);
  return found;
}

/** Runs `fn` with the system's temporary folder (TMPDIR, what os.tmpdir() reads) at `dir`, then puts it back. */
export async function withTmpdir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
}
