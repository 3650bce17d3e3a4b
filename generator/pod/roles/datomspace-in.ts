/**
 * The datomspace-in role: the last thing that runs before the algorithm. It re-hashes the algorithm
 * code and every input file against the contract, writes its verdict, and only when everything
 * matches hands the supervisor to the computing container and creates the gate file without which
 * the supervisor refuses to start the algorithm. It fails closed: a mismatch, a missing or linked
 * file, or any unexpected error leaves no gate, and the verdict says why, so the pod still goes on
 * to a receipt that names the cause. With noRawRecords it also fingerprints the inputs' rows, in the
 * same read pass, for datomspace-out (which never mounts the inputs).
 */

import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { canonicalHash } from "../../contract/canonical.js";
import { parseStrictJson } from "../../contract/json.js";
import type { Contract, DataAsset } from "../../contract/types.generated.js";
import { writeFileAtomic, toJsonText } from "../../repo/files.js";
import { RowIndexBuilder } from "../../seal/rows.js";
import { OpenFileError, hashFile } from "./checksum.js";
import { SUPERVISOR_IN_IMAGE, VERIFIED_FILES, readPodContract, type PodContract } from "./files.js";

export interface DatomspaceInOptions {
  readonly contract: string;
  /** Folder of the input mounts: file `f` of asset `i` at `<inputs>/<i>/<f>`. */
  readonly inputs: string;
  /** The algorithm code ($ALGO). */
  readonly algorithm: string;
  /** Where the supervisor is copied for the computing container. */
  readonly tools: string;
  readonly status: string;
  /** Where the verdict, the gate and the row index go; default: the status folder. */
  readonly verified?: string;
  /** The supervisor binary in the pod image. */
  readonly supervisor?: string;
  /** algoCustomData.json, when mounted: its canonical sha256 goes into the verdict, and it is copied into the Ocean layout. */
  readonly parameters?: string;
  /**
   * An empty folder the computing container mounts read-only at /data/inputs: datomspace-in fills it
   * with Ocean's input paths as symbolic links to the input mounts, and algoCustomData.json.
   */
  readonly oceanInputs?: string;
  /**
   * The computing container's working directory, an empty scratch folder: datomspace-in puts the
   * link `data` → `/data` in it, so that Ocean's relative `data/inputs/...` paths still resolve
   * while the algorithm's own scratch files stay there (never an output, never delivered).
   */
  readonly scratch?: string;
  /**
   * On a cluster: seconds after the pod started before the gate may open. A NetworkPolicy enforcer
   * programs a new pod's firewall only after it sees the pod (kube-router: a fraction of a second
   * after the pod's network is up), and until then the pod's traffic is not filtered. The
   * algorithm starts after the gate, so it never runs inside that window.
   */
  readonly networkSettleSeconds?: number;
  /** When the pod started (ms since the epoch); default: when this process started. */
  readonly startedAt?: number;
}

/** The link in the scratch working directory that keeps Ocean's relative paths (`data/inputs/...`) working. */
export const SCRATCH_DATA_LINK = { name: "data", target: "/data" } as const;

export const FAILURE_REASONS = ["missing", "symbolic-link", "not-a-file", "size-mismatch", "sha256-mismatch", "unreadable", "contract", "internal"] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface CheckedFile {
  /** The file as the contract names it (algorithm/aggregate.py, patients.csv). */
  readonly file: string;
  /** Where the contract describes it. */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface Failure {
  readonly file: string;
  readonly path: string;
  readonly reason: FailureReason;
  readonly expected: string | number | null;
  readonly actual: string | number | null;
  readonly message: string;
}

export interface Verdict {
  readonly version: 1;
  readonly ok: boolean;
  readonly contract: { readonly id: string; readonly hash: string } | null;
  readonly checked: readonly CheckedFile[];
  readonly failures: readonly Failure[];
  /** sha256 of the canonical algoCustomData.json the algorithm gets, or null when not mounted here. */
  readonly parametersHash: string | null;
  readonly supervisor: { readonly sha256: string; readonly size: number } | null;
  readonly rows: {
    /** Lines of two or more tokens read, and tokens that qualify as values on their own. */
    readonly indexed: number;
    readonly values: number;
    /** Rare rows and values written to the index (found fewer than `threshold` times). */
    readonly distinct: number;
    readonly distinctValues: number;
    readonly threshold: number;
    readonly fieldCounts: readonly number[];
    readonly binaryFiles: readonly string[];
  } | null;
  /** The Ocean layout made for the algorithm: links made, paths skipped because another input took them, whether the parameters were copied. */
  readonly ocean: { readonly links: number; readonly skipped: readonly string[]; readonly parameters: boolean } | null;
}

/** Where input file `file` of asset `i` is mounted (each listed file on its own, read-only). */
export function inputFilePath(inputs: string, i: number, file: string): string {
  return join(inputs, String(i), file);
}

/**
 * Ocean Compute-to-Data's input paths, relative to /data/inputs, for file `j` of asset `i`: the
 * current `<did>/<service id>/<file>`, the legacy `<did>/<index>` and the flat `<file name>`.
 */
export function oceanPaths(asset: DataAsset, j: number): string[] {
  const file = asset.files[j].name;
  return [join(asset.did, asset.serviceId, file), join(asset.did, String(j)), file];
}

function isTabular(name: string, contentType: string | undefined): boolean {
  return /\.(csv|tsv)$/i.test(name) || contentType === "text/csv" || contentType === "text/tab-separated-values";
}

interface Expected {
  readonly file: string;
  readonly path: string;
  readonly location: string;
  readonly size: number;
  readonly sha256: string;
  readonly header?: boolean;
  /** The algorithm comes from a ConfigMap, whose files are links into a hidden folder of the same volume. */
  readonly configMapLink?: boolean;
}

interface Tally {
  readonly failures: Failure[];
  readonly checked: CheckedFile[];
  readonly binaryFiles: string[];
}

function check(expected: Expected, tally: Tally, rows?: RowIndexBuilder): void {
  const fail = (reason: FailureReason, message: string, want: string | number | null = null, got: string | number | null = null): void => {
    tally.failures.push({ file: expected.file, path: expected.path, reason, expected: want, actual: got, message });
  };
  let location = expected.location;
  let stat;
  try {
    stat = lstatSync(location);
    if (stat.isSymbolicLink() && expected.configMapLink === true) {
      // A ConfigMap's key is a link to ..data/<key> inside the same volume; follow it only there.
      const target = realpathSync(location);
      if (!target.startsWith(`${realpathSync(dirname(location))}/`)) return fail("symbolic-link", `is a symbolic link out of its volume (${location})`);
      location = target;
      stat = lstatSync(location);
    }
  } catch {
    fail("missing", `does not exist (${expected.location})`);
    return;
  }
  if (stat.isSymbolicLink()) return fail("symbolic-link", `is a symbolic link (${expected.location})`);
  if (!stat.isFile()) return fail("not-a-file", `is not a regular file (${expected.location})`);
  if (stat.size !== expected.size) {
    // The size alone proves the mismatch; a file of another size is not read (it may be huge).
    return fail("size-mismatch", `is ${stat.size} bytes, the contract says ${expected.size}`, expected.size, stat.size);
  }
  rows?.startFile(expected.header ?? false);
  let digest;
  try {
    digest = hashFile(location, rows === undefined ? undefined : (chunk) => rows.feed(chunk));
  } catch (error) {
    if (error instanceof OpenFileError) return fail(error.problem, `${error.message} (${expected.location})`);
    if (error instanceof RangeError) throw error;
    return fail("unreadable", `cannot be read: ${(error as Error).message}`);
  }
  const indexed = rows?.endFile();
  if (digest.size !== expected.size) fail("size-mismatch", `is ${digest.size} bytes, the contract says ${expected.size}`, expected.size, digest.size);
  else if (digest.sha256 !== expected.sha256)
    fail("sha256-mismatch", "has another sha256 than the contract says: it changed after the contract was signed", expected.sha256, digest.sha256);
  else {
    tally.checked.push({ file: expected.file, path: expected.path, size: digest.size, sha256: digest.sha256 });
    if (indexed?.binary === true) tally.binaryFiles.push(expected.file);
  }
}

function expectedFiles(contract: Contract, options: DatomspaceInOptions): Expected[] {
  const code = contract.inputs.algorithm.code;
  const files: Expected[] = [
    {
      file: code.path ?? code.packageFile ?? "algorithm",
      path: "$.inputs.algorithm.code",
      location: options.algorithm,
      size: code.size,
      sha256: code.sha256,
      configMapLink: true,
    },
  ];
  contract.inputs.data.forEach((asset, i) => {
    asset.files.forEach((file, j) => {
      files.push({
        file: file.name,
        path: `$.inputs.data[${i}].files[${j}]`,
        location: inputFilePath(options.inputs, i, file.name),
        size: file.size,
        sha256: file.sha256,
        header: isTabular(file.name, file.contentType),
      });
    });
  });
  return files;
}

function readParameters(path: string): string {
  const stat = statSync(path);
  if (!stat.isFile() || stat.size > 1024 * 1024) throw new Error(`${path} is not a regular file of at most 1 MiB`);
  return canonicalHash(parseStrictJson(new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path)), path));
}

function verify(options: DatomspaceInOptions, verifiedDir: string, pod: PodContract): Verdict {
  const { contract } = pod;
  const indexPath = join(verifiedDir, VERIFIED_FILES.rows);
  rmSync(indexPath, { force: true });
  const policy = contract.outputs.policy;
  // A row or value shared by minGroupSize rows or more is a group, which aggregates may show.
  const rows = policy.noRawRecords ? new RowIndexBuilder({ spillDir: verifiedDir, threshold: policy.minGroupSize ?? 2 }) : undefined;
  try {
    return verifyFiles(options, pod, rows, indexPath);
  } finally {
    rows?.discard();
  }
}

function verifyFiles(options: DatomspaceInOptions, pod: PodContract, rows: RowIndexBuilder | undefined, indexPath: string): Verdict {
  const { contract } = pod;
  const tally: Tally = { failures: [], checked: [], binaryFiles: [] };
  const { failures, checked } = tally;
  const [code, ...inputs] = expectedFiles(contract, options);
  check(code, tally);
  for (const input of inputs) check(input, tally, rows);

  let parametersHash: string | null = null;
  if (options.parameters !== undefined) {
    try {
      parametersHash = readParameters(options.parameters);
    } catch (error) {
      failures.push({
        file: "algoCustomData.json",
        path: "$.inputs.algorithm.parameters",
        reason: "unreadable",
        expected: null,
        actual: null,
        message: `cannot be read as JSON: ${(error as Error).message}`,
      });
    }
  }

  let rowSummary: Verdict["rows"] = null;
  if (rows !== undefined && failures.length === 0) {
    const written = rows.write(indexPath);
    rowSummary = {
      indexed: rows.rows,
      values: rows.values,
      distinct: written.rows,
      distinctValues: written.values,
      threshold: rows.threshold,
      fieldCounts: [...rows.fieldCounts].sort((a, b) => a - b),
      binaryFiles: tally.binaryFiles,
    };
  }
  return {
    version: 1,
    ok: failures.length === 0,
    contract: { id: contract.id, hash: pod.hash },
    checked,
    failures,
    parametersHash,
    supervisor: null,
    rows: rowSummary,
    ocean: null,
  };
}

/**
 * Fills the Ocean folder: for every input file its three Ocean paths as symbolic links to its
 * read-only mount (the link targets are the same absolute paths in the computing container), and a
 * copy of algoCustomData.json. A path two inputs would share (the flat name) goes to the first.
 */
function buildOceanLayout(contract: Contract, inputs: string, ocean: string, parameters: string | undefined): NonNullable<Verdict["ocean"]> {
  for (const entry of readdirSync(ocean)) rmSync(join(ocean, entry), { recursive: true, force: true });
  let copied = false;
  if (parameters !== undefined) {
    writeFileSync(join(ocean, "algoCustomData.json"), readFileSync(parameters), { mode: 0o444, flag: "wx" });
    copied = true;
  }
  let links = 0;
  const skipped: string[] = [];
  contract.inputs.data.forEach((asset, i) => {
    asset.files.forEach((file, j) => {
      for (const path of oceanPaths(asset, j)) {
        const link = join(ocean, path);
        mkdirSync(dirname(link), { recursive: true });
        try {
          symlinkSync(inputFilePath(inputs, i, file.name), link);
          links += 1;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
          skipped.push(path);
        }
      }
    });
  });
  return { links, skipped, parameters: copied };
}

/** Empties the scratch working directory and links `data` to /data in it. */
function prepareScratch(scratch: string): void {
  for (const entry of readdirSync(scratch)) rmSync(join(scratch, entry), { recursive: true, force: true });
  symlinkSync(SCRATCH_DATA_LINK.target, join(scratch, SCRATCH_DATA_LINK.name));
}

function installSupervisor(source: string, tools: string): { sha256: string; size: number } {
  mkdirSync(tools, { recursive: true });
  const target = join(tools, "supervise");
  const temp = join(tools, `.supervise.${randomBytes(6).toString("hex")}.tmp`);
  try {
    copyFileSync(source, temp);
    chmodSync(temp, 0o555);
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return hashFile(target);
}

function internalFailure(file: string, reason: FailureReason, error: unknown): Failure {
  const message = error instanceof Error ? error.message : String(error);
  return { file, path: "$", reason, expected: null, actual: null, message };
}

/**
 * Runs the role. Returns the verdict it wrote; throws only when even the verdict cannot be written
 * (then there is no gate either, and the pod fails).
 */
export function runDatomspaceIn(options: DatomspaceInOptions): Verdict {
  const verifiedDir = options.verified ?? options.status;
  const gate = join(verifiedDir, VERIFIED_FILES.gate);
  rmSync(gate, { force: true });

  let verdict: Verdict;
  let pod: PodContract | undefined;
  try {
    pod = readPodContract(options.contract);
  } catch (error) {
    verdict = {
      version: 1,
      ok: false,
      contract: null,
      checked: [],
      failures: [internalFailure(options.contract, "contract", error)],
      parametersHash: null,
      supervisor: null,
      rows: null,
      ocean: null,
    };
  }
  if (pod !== undefined) {
    try {
      verdict = verify(options, verifiedDir, pod);
    } catch (error) {
      verdict = {
        version: 1,
        ok: false,
        contract: { id: pod.contract.id, hash: pod.hash },
        checked: [],
        failures: [internalFailure("datomspace-in", "internal", error)],
        parametersHash: null,
        supervisor: null,
        rows: null,
        ocean: null,
      };
    }
    if (verdict.ok) {
      try {
        verdict = { ...verdict, supervisor: installSupervisor(options.supervisor ?? SUPERVISOR_IN_IMAGE, options.tools) };
      } catch (error) {
        verdict = { ...verdict, ok: false, failures: [internalFailure("supervise", "internal", error)] };
      }
    }
    if (verdict.ok && options.oceanInputs !== undefined) {
      try {
        verdict = { ...verdict, ocean: buildOceanLayout(pod.contract, options.inputs, options.oceanInputs, options.parameters) };
      } catch (error) {
        verdict = { ...verdict, ok: false, failures: [internalFailure("ocean-inputs", "internal", error)] };
      }
    }
    if (verdict.ok && options.scratch !== undefined) {
      try {
        prepareScratch(options.scratch);
      } catch (error) {
        verdict = { ...verdict, ok: false, failures: [internalFailure("scratch", "internal", error)] };
      }
    }
  }
  writeFileAtomic(join(verifiedDir, VERIFIED_FILES.verdict), toJsonText(verdict!));
  if (verdict!.ok) {
    sleepUntil((options.startedAt ?? performance.timeOrigin) + (options.networkSettleSeconds ?? 0) * 1000);
    writeFileAtomic(gate, `${verdict!.contract!.hash}\n`, 0o444);
  }
  return verdict!;
}

/** Blocks until `time` (ms since the epoch); the role does nothing else meanwhile. */
function sleepUntil(time: number): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let left = time - Date.now(); left > 0; left = time - Date.now()) Atomics.wait(cell, 0, 0, left);
}
