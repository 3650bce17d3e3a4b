/**
 * Helpers of the `datomspod run` e2e tests: a temporary repository built the way the demo builds
 * one (the test keys of test/keys/, a contract on the local cluster whose hostPath input is a
 * folder of the test, the test's algorithm from algorithms/, the images built for this machine
 * pinned by digest), signed, approved, requested and compiled through the real CLI in-process;
 * then `datomspod run`, its receipt, `datomspod fetch`, and what podman has left of the pod.
 */

import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, type TestContext } from "vitest";
import { jobName } from "../../generator/compile/names.js";
import type { Contract } from "../../generator/contract/types.generated.js";
import { LOCAL_ANCHOR } from "../../generator/contract/templates.js";
import { execEngine } from "../../generator/run/exec.js";
import { PASSWORD_ENV } from "../../generator/signatures/keys.js";
import type { Receipt } from "../../generator/pod/roles/receipt.js";
import { runCli, type CliResult } from "../helpers/cli.js";
import { TEST_PASSWORD, testKey } from "../helpers/keys.js";
import { ROOT } from "../helpers/repo.js";

export const ALGORITHMS = join(dirname(fileURLToPath(import.meta.url)), "algorithms");
export const RUN_ID = "run-1";
export const PROVIDER = testKey("hospital-provider");
export const CONSUMER = testKey("health-consumer");
export const WITNESS = testKey("notary-witness");

export const PATIENTS_CSV = "age,sex,region,diagnosis,stay\n34,F,north,J,3\n51,M,south,I,5\n29,F,north,K,2\n";
export const PATIENTS_DID = "did:op:7f3c2a5e9b1d4c6f8a0e2b4d6f8a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a";
export const ALGORITHM_DID = "did:op:a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3";

export type ImageKey = "python" | "node" | "pod";

// Runs go on concurrently, and runCli sets and restores the keystore password around each command:
// with the same value set for the whole process, one command's restore cannot unset another's.
process.env[PASSWORD_ENV] = TEST_PASSWORD;

export interface BuiltImage {
  readonly key: string;
  readonly reference: string;
  readonly pinned: string;
  readonly digest: string;
}

export interface InputFile {
  readonly name: string;
  readonly content: string | Uint8Array;
  readonly contentType?: string;
  /** Mode of the file in the provider's folder (default 0644). */
  readonly mode?: number;
}

export interface DatasetSpec {
  readonly did: string;
  readonly serviceId: string;
  readonly files: readonly InputFile[];
  /** Other files of the provider in the same folder, not part of the contract (they must stay unseen). */
  readonly neighbours?: readonly InputFile[];
}

export interface RunSpec {
  /** The algorithm's file in algorithms/. */
  readonly algorithm: string;
  /** The image the contract pins (default python, or node for a .cjs algorithm), or another reference. */
  readonly image?: "python" | "node" | { readonly image: string; readonly tag: string; readonly digest: string };
  /** Default: `python3 $ALGO`, or `node $ALGO` for the node image. */
  readonly entrypoint?: string;
  /** Default: one dataset, patients.csv (PATIENTS_CSV) under PATIENTS_DID, service "compute". */
  readonly datasets?: readonly DatasetSpec[];
  readonly compute?: Partial<Contract["inputs"]["compute"]>;
  readonly policy?: Partial<Contract["outputs"]["policy"]>;
  /** The contract's default parameters. */
  readonly parameters?: Record<string, unknown>;
  /** The consumer's `--param KEY=VALUE` of the run request. */
  readonly request?: Readonly<Record<string, string>>;
  /** Repositories the test's cluster profile allows besides localhost/datomspod/. */
  readonly allowedRepositories?: readonly string[];
  /**
   * A compute environment shipped with datomspod (environments/NAME/), built here with `datomspod
   * env build` and pinned to the digest it gave: the contract runs in its image.
   */
  readonly environment?: string;
  /** The algorithm file's folder (default: test/run/algorithms). */
  readonly algorithms?: string;
  /** Default: from yesterday to 30 days from now (whole days, UTC). */
  readonly validity?: { readonly notBefore: string; readonly notAfter: string };
  /** Default: aggregates. */
  readonly kinds?: Contract["outputs"]["kinds"];
  /** Default: credit-scoring. */
  readonly scenario?: string;
  /** Whether prepareRun compiles the instance and expects the gate to pass (default true). */
  readonly compile?: boolean;
}

export interface PreparedRun {
  readonly repo: string;
  readonly id: string;
  readonly runId: string;
  /** The provider's folder of each dataset (the contract's hostPath). */
  readonly dataDirs: readonly string[];
  /** sha256 of every file in the provider's folders before the run, by absolute path. */
  readonly before: Readonly<Record<string, string>>;
  readonly contract: Contract;
}

export interface RunOutcome extends PreparedRun {
  readonly result: CliResult;
  /** contracts/ID/receipts/RUN.json, when the run wrote one. */
  readonly receipt: Receipt | undefined;
  /** The pod the receipt names (deletion.pod), when one was created. */
  readonly pod: string | null;
}

/**
 * The test the repository belongs to: its folder is removed when that test finishes. (The test's
 * own context, not the global hook: the tests run concurrently, and the global hook cannot tell
 * which of them is calling.)
 */
export type Scope = Pick<TestContext, "onTestFinished">;

export function sha256(content: string | Uint8Array): string {
  return createHash("sha256").update(content).digest("hex");
}

/** The current time: contracts are valid around it, and `run` evaluates the lifecycle at it. */
function now(): string {
  return new Date().toISOString();
}

/** Runs the CLI in-process against the repository, at the current time, with the test keys' password. */
export function dp(repo: string, ...argv: string[]): Promise<CliResult> {
  return runCli(argv, { repo, now: now() });
}

async function dpOk(repo: string, ...argv: string[]): Promise<CliResult> {
  const result = await dp(repo, ...argv);
  if (result.code !== 0) throw new Error(`datomspod ${argv.join(" ")} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  return result;
}

/**
 * Holds a lock folder while `fn` runs, so the e2e files that build images at the same time do not
 * build the same image twice at once (a stale lock, older than 15 minutes, is taken over).
 */
async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `${name}.lock`);
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // removed meanwhile
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

let images: Promise<Record<ImageKey, BuiltImage>> | undefined;
const environmentImages = new Map<string, Promise<BuiltImage>>();

/**
 * `datomspod env build NAME --format json`: the environment's image, built when missing or out of
 * date (once per process; the builds of concurrent test files take turns). A digest other than the
 * one environment.json pins is reported by the CI check, not here: the test runs what was built.
 */
export function runEnvironment(name: string): Promise<BuiltImage> {
  let built = environmentImages.get(name);
  if (built === undefined) {
    built = runImages().then(() =>
      withLock("datomspod-e2e-env-build", async () => {
        let result = await runCli(["env", "build", name, "--format", "json"]);
        // Another test's cleanup may have removed the base image meanwhile: it builds again to the same digest.
        if (result.code === 3 && result.stderr.includes("is not on this machine")) {
          await runCli(["images", "build", "--only", "python"]);
          result = await runCli(["env", "build", name, "--format", "json"]);
        }
        if (result.code !== 0 && result.code !== 1) throw new Error(`datomspod env build ${name} exited ${result.code}:\n${result.stderr}`);
        const [image] = JSON.parse(result.stdout) as { reference: string; digest: string }[];
        if (image === undefined) throw new Error(`datomspod env build ${name} printed no image:\n${result.stdout}${result.stderr}`);
        return { key: name, reference: image.reference, pinned: `${image.reference.split(":")[0] ?? ""}@${image.digest}`, digest: image.digest };
      }),
    );
    environmentImages.set(name, built);
  }
  return built;
}

/** `datomspod images build --format json`: the python, node and pod images, built when missing or out of date. */
export function runImages(): Promise<Record<ImageKey, BuiltImage>> {
  images ??= withLock("datomspod-e2e-images-build", async () => {
    if (!existsSync(join(ROOT, "dist", "generator", "cli", "main.js")))
      throw new Error("dist/ is missing: run `npm run build` first (the pod image packages it)");
    const result = await runCli(["images", "build", "--format", "json"]);
    if (result.code !== 0) throw new Error(`datomspod images build exited ${result.code}:\n${result.stderr}`);
    const built = JSON.parse(result.stdout) as BuiltImage[];
    return Object.fromEntries(built.map((image) => [image.key, image])) as Record<ImageKey, BuiltImage>;
  });
  return images;
}

function defaultDatasets(): DatasetSpec[] {
  return [{ did: PATIENTS_DID, serviceId: "compute", files: [{ name: "patients.csv", content: PATIENTS_CSV, contentType: "text/csv" }] }];
}

function hashFolder(dir: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) hashes[join(dir, name)] = sha256(readFileSync(join(dir, name)));
  return hashes;
}

/** sha256 of every file in the provider's folders now, by absolute path. */
export function providerFiles(prepared: PreparedRun): Record<string, string> {
  return Object.assign({}, ...prepared.dataDirs.map(hashFolder)) as Record<string, string>;
}

function day(ms: number, offsetDays: number): string {
  const d = 86_400_000;
  return new Date(Math.floor(ms / d) * d + offsetDays * d).toISOString().replace(".000Z", "Z");
}

function contractFor(
  id: string,
  spec: RunSpec,
  built: Record<ImageKey, BuiltImage>,
  datasets: readonly DatasetSpec[],
  dataDirs: readonly string[],
  code: Buffer,
  environmentImage?: BuiltImage,
): Contract {
  const key = spec.image === undefined ? (spec.algorithm.endsWith(".cjs") ? "node" : "python") : spec.image;
  const container =
    environmentImage !== undefined
      ? { image: environmentImage.reference.split(":")[0] ?? "", tag: environmentImage.reference.split(":")[1] ?? "", digest: environmentImage.digest }
      : typeof key === "string"
        ? { image: built[key].reference.split(":")[0], tag: built[key].reference.split(":")[1], digest: built[key].digest }
        : { image: key.image, tag: key.tag, digest: key.digest };
  const entrypoint = spec.entrypoint ?? (key === "node" ? "node $ALGO" : "python3 $ALGO");
  const parameters = spec.parameters ?? { groupBy: "region", minGroupSize: 1 };
  // What the consumer may set: the keys the test requests, as free text within the approval.
  const consumerParameters = Object.keys(spec.request ?? {}).map((name) => ({
    name,
    type: "text" as const,
    label: name,
    required: false,
    default: JSON.stringify(parameters[name] ?? "").replace(/^"|"$/g, ""),
  }));
  const at = Date.now();
  return {
    $schema: "../contract.schema.json",
    schemaVersion: 1,
    id,
    title: `datomspod run e2e: ${spec.algorithm}`,
    chainId: 31337,
    cluster: "local",
    parties: [
      { address: PROVIDER.address, role: "provider", name: "Riverside General Hospital", publicKey: PROVIDER.publicKey },
      { address: CONSUMER.address, role: "consumer", name: "Public Health Institute", publicKey: CONSUMER.publicKey },
      { address: WITNESS.address, role: "witness", name: "Data Exchange Notary" },
    ],
    inputs: {
      data: datasets.map((dataset, i) => ({
        did: dataset.did,
        serviceId: dataset.serviceId,
        owner: PROVIDER.address,
        location: { kind: "hostPath", path: dataDirs[i] },
        files: dataset.files.map((file) => ({
          name: file.name,
          sha256: sha256(file.content),
          size: Buffer.byteLength(file.content),
          ...(file.contentType !== undefined ? { contentType: file.contentType } : {}),
        })),
      })),
      algorithm: {
        did: ALGORITHM_DID,
        environment: spec.environment ?? (typeof key === "string" ? key : CUSTOM_ENVIRONMENT),
        container: { ...container, entrypoint },
        code: { path: `algorithm/${spec.algorithm}`, sha256: sha256(code), size: code.length },
        parameters,
        ...(consumerParameters.length > 0 ? { consumerParameters } : {}),
        provider: CONSUMER.address,
      },
      compute: { cpu: "1", memory: "256Mi", gpu: 0, nodes: 1, cores: 1, maxDurationSeconds: 60, runtimeClass: "runc", ...spec.compute },
    },
    business: {
      currency: { symbol: "USDC", decimals: 6 },
      pricing: [{ party: PROVIDER.address, kind: "data-fee", amount: "10.00", per: "run" }],
      validity: spec.validity ?? { notBefore: day(at, -1), notAfter: day(at, 30) },
      maxRuns: 3,
      billing: "per-run",
    },
    outputs: {
      kinds: spec.kinds ?? ["aggregates"],
      recipients: [CONSUMER.address],
      delivery: { kind: "local" },
      policy: { maxBytes: 65536, fileTypes: ["json", "txt"], ownerReview: false, noRawRecords: true, ...spec.policy },
    },
    // The gate judges these contracts like any other: credit-scoring accepts what the runner tests need
    // (free-form outputs up to 64 KiB, no group threshold).
    opsc: { scenario: spec.scenario ?? "credit-scoring" },
    // The provider runs the pod and signs the receipt; the local chain's anchor contract holds the evidence.
    evidence: { anchor: { address: LOCAL_ANCHOR.address, fromBlock: 0 }, anchorers: [LOCAL_ANCHOR.anchorer], runners: [PROVIDER.address] },
  };
}

/** The environment of a test that pins an image of its own. */
const CUSTOM_ENVIRONMENT = "custom";

/**
 * The repository's environments: python and node as shipped, pinned to the digests built on this
 * machine (the builds are reproducible, so these are the shipped digests on a machine of this
 * kind), and, for a test's own image, an environment of that image.
 */
function writeEnvironments(repo: string, built: Record<ImageKey, BuiltImage>, spec: RunSpec, environmentImage?: BuiltImage): void {
  const write = (name: string, environment: Record<string, unknown>): void => {
    mkdirSync(join(repo, "environments", name), { recursive: true });
    writeFileSync(join(repo, "environments", name, "environment.json"), `${JSON.stringify(environment, null, 2)}\n`);
  };
  for (const name of ["python", "node"] as const) {
    const environment = JSON.parse(readFileSync(join(ROOT, "environments", name, "environment.json"), "utf8")) as { image: { digest: string } };
    environment.image.digest = built[name].digest;
    write(name, environment);
  }
  if (spec.environment !== undefined && environmentImage !== undefined) {
    cpSync(join(ROOT, "environments", spec.environment), join(repo, "environments", spec.environment), { recursive: true });
    const environment = JSON.parse(readFileSync(join(ROOT, "environments", spec.environment, "environment.json"), "utf8")) as { image: { digest?: string } };
    environment.image.digest = environmentImage.digest;
    write(spec.environment, environment);
  }
  if (typeof spec.image === "object") {
    write(CUSTOM_ENVIRONMENT, {
      name: CUSTOM_ENVIRONMENT,
      description: "The test's own image.",
      base: "python",
      image: { repository: spec.image.image, tag: spec.image.tag, digest: spec.image.digest },
      interpreters: [
        { command: "python3", language: "python" },
        { command: "node", language: "node" },
      ],
    });
  }
}

/** The local cluster profile with the pod image built here pinned, and the test's extra algorithm repositories allowed. */
function writeProfile(repo: string, pod: BuiltImage, allowed: readonly string[]): void {
  const file = join(repo, "clusters", "local", "cluster.yaml");
  let text = readFileSync(join(ROOT, "clusters", "local", "cluster.yaml"), "utf8").replace(
    /(\n {4}tag: )"[^"]*"\n {4}digest: sha256:[0-9a-f]{64}/,
    `$1"${pod.reference.split(":").pop() ?? ""}"\n    digest: ${pod.digest}`,
  );
  if (!text.includes(`digest: ${pod.digest}`)) throw new Error("clusters/local/cluster.yaml: the pod image's tag and digest were not found to pin");
  for (const repository of allowed) text = text.replace("  allowedAlgorithmRepositories:\n", `  allowedAlgorithmRepositories:\n    - ${repository}\n`);
  writeFileSync(file, text);
}

/**
 * A fresh repository (removed when the test ends) with a contract for the algorithm, signed by the
 * provider, the consumer and the witness, the algorithm approved by the provider and the witness,
 * run `runId` (RUN_ID by default) requested by the consumer, and the instance compiled into clusters/local/ID/.
 */
export async function prepareRun(scope: Scope, spec: RunSpec, id = "run-e2e", runId = RUN_ID): Promise<PreparedRun> {
  const built = await runImages();
  const environmentImage = spec.environment !== undefined ? await runEnvironment(spec.environment) : undefined;
  const repo = mkdtempSync(join(tmpdir(), "datomspod-run-e2e-"));
  scope.onTestFinished(() => rmSync(repo, { recursive: true, force: true }));
  mkdirSync(join(repo, ".git"));
  mkdirSync(join(repo, "contracts", id, "algorithm"), { recursive: true });
  mkdirSync(join(repo, "clusters", "local"), { recursive: true });
  copyFileSync(join(ROOT, "contracts", "contract.schema.json"), join(repo, "contracts", "contract.schema.json"));
  copyFileSync(join(ROOT, "clusters", "cluster-profile.schema.json"), join(repo, "clusters", "cluster-profile.schema.json"));
  writeProfile(repo, built.pod, spec.allowedRepositories ?? []);
  writeEnvironments(repo, built, spec, environmentImage);

  const datasets = spec.datasets ?? defaultDatasets();
  const dataDirs = datasets.map((dataset, i) => {
    const dir = join(repo, `provider-data-${i}`);
    mkdirSync(dir);
    for (const file of [...dataset.files, ...(dataset.neighbours ?? [])]) {
      writeFileSync(join(dir, file.name), file.content);
      chmodSync(join(dir, file.name), file.mode ?? 0o644);
    }
    return dir;
  });
  const code = readFileSync(join(spec.algorithms ?? ALGORITHMS, spec.algorithm));
  writeFileSync(join(repo, "contracts", id, "algorithm", spec.algorithm), code);
  const contract = contractFor(id, spec, built, datasets, dataDirs, code, environmentImage);
  writeFileSync(join(repo, "contracts", id, "contract.json"), `${JSON.stringify(contract, null, 2)}\n`);

  for (const key of [PROVIDER, CONSUMER, WITNESS]) await dpOk(repo, "contract", "sign", id, "--key", key.file);
  for (const key of [PROVIDER, WITNESS]) await dpOk(repo, "approve", id, "--key", key.file);
  const params = Object.entries(spec.request ?? {}).flatMap(([k, v]) => ["--param", `${k}=${v}`]);
  await dpOk(repo, "request", id, runId, "--key", CONSUMER.file, ...params);
  if (spec.compile ?? true) await dpOk(repo, "compile");
  const prepared = { repo, id, runId, dataDirs, before: {}, contract };
  return { ...prepared, before: providerFiles(prepared) };
}

export function readReceipt(repo: string, id: string, runId = RUN_ID): Receipt | undefined {
  const file = join(repo, "contracts", id, "receipts", `${runId}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Receipt) : undefined;
}

/** How many runs of the concurrent tests play their pods at once (DATOMSPOD_E2E_RUNS, default 3). */
const RUN_SLOTS = Math.max(1, Number(process.env["DATOMSPOD_E2E_RUNS"] ?? 3) || 3);
let activeRuns = 0;
const waitingRuns: (() => void)[] = [];

async function inSlot<T>(fn: () => Promise<T>): Promise<T> {
  while (activeRuns >= RUN_SLOTS) await new Promise<void>((resolve) => waitingRuns.push(resolve));
  activeRuns += 1;
  try {
    return await fn();
  } finally {
    activeRuns -= 1;
    waitingRuns.shift()?.();
  }
}

/** `datomspod run ID RUN --format json` on a prepared repository; at most RUN_SLOTS at once in this process. */
export async function runPrepared(prepared: PreparedRun): Promise<RunOutcome> {
  const result = await inSlot(() => dp(prepared.repo, "run", prepared.id, prepared.runId, "--key", PROVIDER.file, "--format", "json"));
  const receipt = readReceipt(prepared.repo, prepared.id, prepared.runId);
  const deletion = receipt?.predicate.deletion as { pod?: string | null } | null | undefined;
  return { ...prepared, result, receipt, pod: deletion?.pod ?? null };
}

/** Prepares the repository and runs the algorithm. */
export async function runAlgorithm(scope: Scope, spec: RunSpec, id?: string): Promise<RunOutcome> {
  return runPrepared(await prepareRun(scope, spec, id));
}

export interface Fetched {
  readonly result: CliResult;
  /** The folder fetched into (DIR). */
  readonly dir: string;
  /** Files of DIR/outputs by name. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Files of DIR/logs by name. */
  readonly logs: Readonly<Record<string, string>>;
  /** DIR/datomspace-out.json, the sealed policy report, when fetched. */
  readonly report: any;
}

function readFolder(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((name) => [name, readFileSync(join(dir, name), "utf8")]),
  );
}

/** `datomspod fetch ID RUN --key FILE --out DIR` with the given test key. */
export async function fetchRun(run: PreparedRun, key: { readonly file: string }): Promise<Fetched> {
  const out = mkdtempSync(join(run.repo, `fetched-${sha256(key.file).slice(0, 8)}-`));
  const result = await dp(run.repo, "fetch", run.id, run.runId, "--key", key.file, "--out", out);
  const reportFile = join(out, "datomspace-out.json");
  return {
    result,
    dir: out,
    outputs: readFolder(join(out, "outputs")),
    logs: readFolder(join(out, "logs")),
    report: existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, "utf8")) : undefined,
  };
}

/** The report datomspace-out sealed for the data owners (the exact status, usage and violations), fetched with the provider's key. */
export async function ownerReport(run: PreparedRun): Promise<any> {
  const fetched = await fetchRun(run, PROVIDER);
  if (fetched.result.code !== 0 || fetched.report === undefined)
    throw new Error(`the provider's fetch exited ${fetched.result.code}:\n${fetched.result.stderr}`);
  return fetched.report;
}

/** The JSON an algorithm wrote to /data/outputs/<name>, as the consumer fetched it. */
export async function fetchedJson<T = any>(run: PreparedRun, name = "result.json"): Promise<T> {
  const fetched = await fetchRun(run, CONSUMER);
  if (fetched.result.code !== 0) throw new Error(`fetch exited ${fetched.result.code}:\n${fetched.result.stdout}${fetched.result.stderr}`);
  const text = fetched.outputs[name];
  if (text === undefined) throw new Error(`the run delivered no ${name}: ${Object.keys(fetched.outputs).join(", ")}`);
  return JSON.parse(text) as T;
}

/**
 * What is left of a pod, asked without touching other pods (a listing would wait on every pod's
 * lock): the pod, its containers, podman volumes named after it, and mounts under its name.
 */
export async function podLeftovers(pod: string): Promise<string[]> {
  const exists = async (args: string[]): Promise<boolean> => (await execEngine("podman", args, { allowFailure: true, timeoutMs: 60_000 })).code === 0;
  const left: string[] = [];
  if (await exists(["pod", "exists", pod])) left.push(`pod ${pod}`);
  for (const container of ["datomspace-in", "computing", "datomspace-out", "oracle"]) {
    if (await exists(["container", "exists", `${pod}-${container}`])) left.push(`container ${pod}-${container}`);
  }
  const volumes = await execEngine("podman", ["volume", "ls", "--filter", `name=${pod}`, "--format", "{{.Name}}"], { timeoutMs: 60_000 });
  left.push(
    ...volumes.stdout
      .split("\n")
      .filter((line) => line !== "")
      .map((name) => `volume ${name}`),
  );
  left.push(
    ...readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .filter((line) => line.includes(pod))
      .map((line) => `mount ${line.split(" ")[1]}`),
  );
  return left;
}

/** The pod of the run is gone, with its containers and volumes, and the receipt says so. */
export async function expectRemoved(run: RunOutcome): Promise<void> {
  const deletion = run.receipt?.predicate.deletion as { removed?: boolean; leftovers?: string[]; pod?: string } | undefined;
  // The pod says which contract and run it is: <contract>-<run>-<spec hash> (the contract id cut when too long).
  const named = jobName(run.id, run.runId, "00000000").slice(0, -8);
  expect(deletion).toMatchObject({ removed: true, leftovers: [], pod: expect.stringMatching(new RegExp(`^${named}[0-9a-f]{8}$`)) });
  expect(await podLeftovers(deletion!.pod!)).toEqual([]);
}
