/**
 * `datomspod env build NAME`: builds a compute environment's image on top of its base image,
 * without a registry and without network inside the build, reproducibly (the same lock on the
 * same base gives the same digest).
 *
 *   lock ──► wheels (downloaded on the host with --require-hashes into ~/.cache/datomspod/wheels/,
 *            one folder per sha256; checked again here)
 *        ──► staged tree (pip install --no-index --require-hashes --only-binary=:all: --no-deps
 *            --target .../dist-packages; checked-hash bytecode; fixed modes and times)
 *        ──► shared libraries the wheels need that the base lacks, from the Debian packages the
 *            environment lists under `system` (checked with dpkg --verify)
 *        ──► Containerfile FROM the base image's ID, COPY the tree, `podman build --timestamp 0`
 *
 * A build is skipped when an image with the same inputs label exists (the lock, the base image,
 * the system packages' versions, this recipe). It updates nothing silently: the caller decides
 * whether to pin the digest it printed.
 */

import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, posix } from "node:path";
import { InputError, ServiceError, formatIssue, type Issue } from "../errors.js";
import { buildImage, debianVersions, execEngine, inspectImage, removeImage, type Engine } from "../run/exec.js";
import { BASE_IMAGES, INPUTS_LABEL, inputsHash, pinned, tagged } from "../run/images.js";
import { readDynamic, type ReadAt } from "./elf.js";
import type { Environment } from "./environment.js";
import {
  PIP,
  PYTHON_TARGET,
  compileBytecode,
  debianFiles,
  debianOwner,
  debianVerify,
  downloadPip,
  hostLibraries,
  npmCi,
  pipDownloadLocked,
  pipInstallLocked,
} from "./exec.js";
import { lockDigest, parseNpmLock, parsePipLock, wheelNameVersion, type LockedPackage } from "./lock.js";

/** Labels of an environment image besides the inputs. */
export const ENVIRONMENT_LABEL = "io.datomspod.environment";
export const LOCK_LABEL = "io.datomspod.lock";
/** Where the wheels go in the image (Debian's python3.11 puts it on sys.path). */
export const SITE_PACKAGES = "/usr/local/lib/python3.11/dist-packages";
/** Where npm packages go in the image (NODE_PATH). */
export const NODE_MODULES = "/usr/local/lib/node_modules";
/** Bumped whenever the way an environment is built changes: part of every build's inputs. */
export const RECIPE_VERSION = "1";
/** Libraries a GPU node's driver provides at run time (never in an image). */
const DRIVER_LIBRARIES = /^lib(cuda|nvidia-[a-z0-9-]+|nvcuvid|nvidia-ml)\.so(\.[0-9]+)*$/;
/** The loader and libraries every glibc program has, in every base image. */
const LIBRARY_DIRS = ["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64"];

const PYTHON_ENV = {
  MPLBACKEND: "Agg",
  MPLCONFIGDIR: "/tmp/matplotlib",
  PYTHONNOUSERSITE: "1",
} as const;

export interface EnvironmentBuildOptions {
  readonly engine: Engine;
  /** ~/.cache/datomspod or DATOMSPOD_CACHE. */
  readonly cacheDir: string;
  /** Progress, one line each. */
  readonly log: (line: string) => void;
  /** Build under this reference whatever exists (a reproducibility check); default: the environment's repository:tag. */
  readonly as?: string;
}

export interface BuiltEnvironment {
  readonly name: string;
  /** repository:tag as built. */
  readonly reference: string;
  /** repository:tag@sha256:..., what to pin. */
  readonly pin: string;
  readonly digest: string;
  readonly id: string;
  readonly inputs: string;
  /** Whether it was built now (false: an image with the same inputs was here). */
  readonly built: boolean;
  /** The digest environment.json pins, when it pins one. */
  readonly pinned?: string;
  readonly packages: number;
  /** Bytes of the wheels (or npm tarballs are not counted: 0). */
  readonly wheelBytes: number;
  /** The base image it was built FROM, by digest. */
  readonly base: string;
  readonly seconds: number;
}

function fail(environment: Environment, file: string, message: string, fix: string): InputError {
  return InputError.of({ file: `${environment.subject}${file}`, path: "$", message: `environment ${environment.name}: ${message}`, fix });
}

function serviceFail(environment: Environment, message: string, fix: string): ServiceError {
  const issue: Issue = { file: environment.subject, path: "$", message: `environment ${environment.name}: ${message}`, fix };
  return new ServiceError(formatIssue(issue), [issue]);
}

function sha256File(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(1024 * 1024);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** The locked packages of an environment (none when it has no lock), validated strictly. */
export function environmentLock(environment: Environment): { packages: readonly LockedPackage[]; text: string; file?: string; format?: "pip" | "npm" } {
  const packages = environment.definition.packages;
  if (packages === undefined) return { packages: [], text: "" };
  const text = readFileSync(join(environment.dir, packages.lock), "utf8");
  const file = `${environment.subject}${packages.lock}`;
  const parsed = packages.format === "pip" ? parsePipLock(text, file) : parseNpmLock(text, file);
  if (parsed.issues.length > 0) throw InputError.many(`${file}: ${parsed.issues.length} problem${parsed.issues.length === 1 ? "" : "s"}`, parsed.issues);
  if (packages.format === "pip" && environment.definition.base !== "python")
    throw fail(environment, "environment.json", "has a pip lock on a node base", "use base python, or an npm lock");
  if (packages.format === "npm" && environment.definition.base !== "node")
    throw fail(environment, "environment.json", "has an npm lock on a python base", "use base node, or a pip lock");
  return { packages: parsed.packages, text, file, format: packages.format };
}

// --- wheels -------------------------------------------------------------------------------------

/** The pinned pip wheel, downloaded once (hash-checked) into the cache. */
export async function pipWheel(cacheDir: string): Promise<string> {
  const dir = join(cacheDir, "pip", PIP.sha256);
  const wheel = join(dir, PIP.wheel);
  if (existsSync(wheel) && sha256File(wheel) === PIP.sha256) return wheel;
  mkdirSync(join(cacheDir, "tmp"), { recursive: true });
  const work = mkdtempSync(join(cacheDir, "tmp", "pip-"));
  try {
    writeFileSync(join(work, "requirements.txt"), `pip==${PIP.version} --hash=sha256:${PIP.sha256}\n`);
    await downloadPip(join(work, "requirements.txt"), join(work, "out"));
    const got = join(work, "out", PIP.wheel);
    if (!existsSync(got) || sha256File(got) !== PIP.sha256) throw new Error(`pip ${PIP.version} did not download as ${PIP.wheel} with the pinned sha256`);
    mkdirSync(dir, { recursive: true });
    renameSync(got, wheel);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return wheel;
}

/** The cached wheel with this sha256, if the cache holds one (not checked: see verifiedWheel). */
function cachedWheel(cacheDir: string, sha256: string): string | undefined {
  const dir = join(cacheDir, "wheels", sha256);
  if (!existsSync(dir)) return undefined;
  const file = readdirSync(dir).find((name) => name.endsWith(".whl"));
  return file === undefined ? undefined : join(dir, file);
}

/** The cached wheel with this sha256 when its bytes still hash to it; a changed one is removed (and downloaded again). */
function verifiedWheel(cacheDir: string, sha256: string, log: (line: string) => void): string | undefined {
  const path = cachedWheel(cacheDir, sha256);
  if (path === undefined) return undefined;
  if (sha256File(path) === sha256) return path;
  log(`the cached ${basename(path)} no longer hashes to ${sha256}: removed, downloading it again`);
  rmSync(dirname(path), { recursive: true, force: true });
  return undefined;
}

/** Moves a downloaded wheel into the cache under its sha256 (checked against the lock's hashes). */
function storeWheel(cacheDir: string, file: string): { sha256: string; path: string } {
  const sha256 = sha256File(file);
  const dir = join(cacheDir, "wheels", sha256);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, basename(file));
  renameSync(file, path);
  return { sha256, path };
}

/**
 * Every wheel of the lock, from the cache or downloaded from PyPI (`--require-hashes`: pip refuses
 * a file whose hash the lock does not list; each file is hashed again before it enters the
 * cache). Resolves with the wheel of each package, in lock order.
 */
export async function ensureWheels(
  environment: Environment,
  packages: readonly LockedPackage[],
  cacheDir: string,
  log: (line: string) => void,
): Promise<{ package: LockedPackage; path: string; bytes: number }[]> {
  const found = new Map<LockedPackage, string>();
  for (const p of packages) {
    const path = p.hashes.map((hash) => verifiedWheel(cacheDir, hash, log)).find((f) => f !== undefined);
    if (path !== undefined) found.set(p, path);
  }
  const missing = packages.filter((p) => !found.has(p));
  if (missing.length > 0) {
    log(`downloading ${missing.length} wheel${missing.length === 1 ? "" : "s"} of ${environment.name} from PyPI (hash-checked)`);
    const pip = await pipWheel(cacheDir);
    mkdirSync(join(cacheDir, "tmp"), { recursive: true });
    const work = mkdtempSync(join(cacheDir, "tmp", "wheels-"));
    try {
      const lock = missing.map((p) => `${p.name}==${p.version} ${p.hashes.map((h) => `--hash=sha256:${h}`).join(" ")}`).join("\n");
      writeFileSync(join(work, "missing.lock"), `${lock}\n`);
      try {
        await pipDownloadLocked(pip, join(work, "missing.lock"), join(work, "out"));
      } catch (error) {
        throw serviceFail(
          environment,
          `downloading its wheels from PyPI failed: ${(error as Error).message}`,
          "check that PyPI is reachable and the lock's versions have cp311 manylinux x86_64 wheels (datomspod env lock rewrites it)",
        );
      }
      const wanted = new Set(missing.flatMap((p) => p.hashes));
      for (const name of readdirSync(join(work, "out")).sort()) {
        const file = join(work, "out", name);
        if (!name.endsWith(".whl")) throw serviceFail(environment, `pip downloaded ${name}, which is not a wheel`, "lock wheels only (datomspod env lock)");
        const stored = storeWheel(cacheDir, file);
        if (!wanted.has(stored.sha256)) {
          rmSync(dirname(stored.path), { recursive: true, force: true });
          throw serviceFail(
            environment,
            `${name} has sha256 ${stored.sha256}, which the lock does not list`,
            "run datomspod env lock again and review the diff",
          );
        }
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return packages.map((p) => {
    const path = found.get(p) ?? p.hashes.map((hash) => cachedWheel(cacheDir, hash)).find((f) => f !== undefined);
    if (path === undefined)
      throw serviceFail(environment, `no wheel of ${p.name}==${p.version} with a locked hash came down`, "run datomspod env lock again and review the diff");
    // A hash is of one file: the file must be the wheel of the package and version the lock names.
    const wheel = wheelNameVersion(basename(path));
    if (wheel === undefined || wheel.name !== p.name || wheel.version !== p.version)
      throw fail(
        environment,
        environment.definition.packages?.lock ?? "requirements.lock",
        `line ${p.line} pins ${p.name}==${p.version} with the hash of ${basename(path)}`,
        "each hash must be of the package's own wheel: run datomspod env lock again and review the diff",
      );
    return { package: p, path, bytes: statSync(path).size };
  });
}

// --- the staged tree ----------------------------------------------------------------------------

/** Every path under `dir` (files, links, folders), sorted, relative. */
function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((path) => path)
    .sort();
}

/** Fixed modes (0755 folders and executables, 0644 other files) and times (the epoch) under `dir`. */
function normaliseTree(dir: string): void {
  for (const rel of walk(dir)) {
    const path = join(dir, rel);
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) chmodSync(path, 0o755);
    else chmodSync(path, (stat.mode & 0o111) !== 0 ? 0o755 : 0o644);
    utimesSync(path, 0, 0);
  }
  chmodSync(dir, 0o755);
  utimesSync(dir, 0, 0);
}

/** A reader of the first bytes and of ranges of a file (ELF parsing reads a few kilobytes). */
function fileReader(fd: number): ReadAt {
  return (offset, length) => {
    const buffer = Buffer.alloc(length);
    const n = readSync(fd, buffer, 0, length, offset);
    return buffer.subarray(0, n);
  };
}

/** Shared objects under the staged root, with what each needs: `{path in the image: needed}`. */
function stagedElves(rootfs: string): Map<string, { needed: readonly string[]; searchPath: readonly string[] }> {
  const elves = new Map<string, { needed: readonly string[]; searchPath: readonly string[] }>();
  for (const rel of walk(rootfs)) {
    const path = join(rootfs, rel);
    const stat = lstatSync(path);
    if (!stat.isFile() || stat.size < 64) continue;
    if (!/\.so(\.[0-9]+)*$/.test(rel) && (stat.mode & 0o111) === 0) continue;
    const fd = openSync(path, "r");
    try {
      const info = readDynamic(fileReader(fd));
      if (info !== undefined) elves.set(`/${rel.split("\\").join("/")}`, info);
    } finally {
      closeSync(fd);
    }
  }
  return elves;
}

/** File names in the base image's library folders (asked of the image itself, with its own interpreter, no network). */
async function baseLibraries(engine: Engine, baseId: string, base: "python" | "node"): Promise<Set<string>> {
  const dirs = JSON.stringify(LIBRARY_DIRS);
  const [interpreter, flag, script] =
    base === "python"
      ? ["python3", "-c", `import os\nfor d in ${dirs}:\n    print("\\n".join(os.listdir(d)) if os.path.isdir(d) else "")`]
      : ["node", "-e", `const fs = require("fs"); for (const d of ${dirs}) if (fs.existsSync(d)) console.log(fs.readdirSync(d).join("\\n"));`];
  const result = await execEngine(engine, ["run", "--rm", "--network", "none", "--pull=never", "--entrypoint", interpreter, baseId, flag, script], {
    timeoutMs: 120_000,
  });
  return new Set(result.stdout.split("\n").filter((line) => line !== ""));
}

/** Copies a Debian package's shared libraries (and the links to them) that the base lacks into the staged root. */
async function stageDebianLibraries(environment: Environment, pkg: string, rootfs: string, base: ReadonlySet<string>): Promise<string[]> {
  const problems = await debianVerify(pkg);
  if (problems !== "")
    throw serviceFail(environment, `the files of the Debian package ${pkg} differ from what Debian shipped: ${problems}`, `apt-get install --reinstall ${pkg}`);
  const copied: string[] = [];
  for (const file of await debianFiles(pkg)) {
    if (!LIBRARY_DIRS.some((dir) => file.startsWith(`${dir}/`)) || !/\.so(\.[0-9]+)*$/.test(file)) continue;
    if (!existsSync(file) || base.has(basename(file))) continue;
    // Debian 12 merged /lib into /usr/lib: the files go to /usr/lib.
    const inImage = file.startsWith("/lib") ? `/usr${file}` : file;
    const dest = join(rootfs, inImage);
    mkdirSync(dirname(dest), { recursive: true });
    if (existsSync(dest) || isLink(dest)) continue;
    if (lstatSync(file).isSymbolicLink()) symlinkSync(readlinkSync(file), dest);
    else copyFileSync(file, dest);
    copied.push(inImage);
  }
  return copied;
}

/** Python extension modules: what `import` loads, so where the loader starts. */
const EXTENSION_MODULE = /(\.cpython-311-x86_64-linux-gnu|\.abi3)?\.so$/;

/**
 * Checks that everything `import` can load finds what it needs: starting from every extension
 * module and executable of the tree, each DT_NEEDED library must be in the tree (wheels bundle
 * theirs in <package>.libs or beside them), in the base image, or among the libraries added from
 * the environment's Debian packages, and so on for what those need. Plugins that only a
 * `dlopen` would load (e.g. NVSHMEM's MPI bootstrap, cuFile's RDMA) are not on that graph: they
 * work where their system libraries are, and fail when used elsewhere. GPU driver libraries may
 * be missing (a GPU node provides them). Throws with each missing library, who needs it, and the
 * Debian package that would provide it on this machine.
 */
async function checkLibraries(environment: Environment, rootfs: string, base: ReadonlySet<string>): Promise<void> {
  const elves = stagedElves(rootfs);
  const byName = new Map<string, string>();
  for (const path of [...elves.keys()].sort()) if (!byName.has(posix.basename(path))) byName.set(posix.basename(path), path);
  const inTree = new Set<string>();
  for (const rel of walk(rootfs)) inTree.add(posix.basename(rel.split("\\").join("/")));
  const roots = [...elves.keys()].filter((path) => {
    const name = posix.basename(path);
    return (EXTENSION_MODULE.test(name) && !name.startsWith("lib")) || !/\.so(\.[0-9]+)*$/.test(name);
  });
  const seen = new Set<string>(roots);
  const queue = [...roots].sort();
  const missing = new Map<string, string>();
  while (queue.length > 0) {
    const path = queue.shift() ?? "";
    for (const soname of elves.get(path)?.needed ?? []) {
      const found = byName.get(soname);
      if (found !== undefined) {
        if (!seen.has(found)) {
          seen.add(found);
          queue.push(found);
        }
        continue;
      }
      if (inTree.has(soname) || base.has(soname) || DRIVER_LIBRARIES.test(soname)) continue;
      if (!missing.has(soname)) missing.set(soname, path);
    }
  }
  if (missing.size === 0) return;
  const host = await hostLibraries();
  const lines: string[] = [];
  const packages = new Set<string>();
  for (const [soname, who] of [...missing].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const hostPath = host.get(soname);
    const owner = hostPath === undefined ? undefined : await debianOwner(hostPath);
    if (owner !== undefined) packages.add(owner);
    lines.push(`${soname} (needed by ${who})${owner !== undefined ? `: Debian package ${owner}` : ""}`);
  }
  throw fail(
    environment,
    "environment.json",
    `its wheels need shared libraries that neither they nor the base image have: ${lines.join("; ")}`,
    packages.size > 0
      ? `add ${[...packages].map((p) => JSON.stringify(p)).join(", ")} to "system" in environment.json (and apt-get install them here)`
      : 'add the wheel that provides them to the requirements (e.g. the nvidia-* package of that library), or a Debian package that provides them to "system"',
  );
}

// --- the build ----------------------------------------------------------------------------------

function containerfile(environment: Environment): string {
  const env = environment.definition.base === "python" ? PYTHON_ENV : { NODE_PATH: NODE_MODULES };
  return [
    `# The compute environment ${environment.name}, built by \`datomspod env build ${environment.name}\`.`,
    "ARG BASE",
    "FROM ${BASE}",
    "COPY rootfs/ /",
    `ENV ${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
    "USER 65532:65532",
    "WORKDIR /",
    "",
  ].join("\n");
}

/** Installed versions of the environment's Debian packages (`name version`), or a clear error. */
async function systemVersions(environment: Environment): Promise<string> {
  const wanted = [...(environment.definition.system ?? [])].sort();
  if (wanted.length === 0) return "";
  const versions = await debianVersions(wanted);
  const have = new Set(versions.split("\n").map((line) => line.split(" ")[0]));
  const absent = wanted.filter((p) => !have.has(p));
  if (absent.length > 0)
    throw serviceFail(environment, `the Debian packages ${absent.join(", ")} are not installed here`, `apt-get install ${absent.join(" ")}`);
  return versions;
}

/** The base image an environment is built FROM; a clear error when it is not here. */
async function baseImage(options: EnvironmentBuildOptions, environment: Environment): Promise<{ reference: string; id: string; digest: string }> {
  const spec = BASE_IMAGES[environment.definition.base];
  const reference = tagged(spec);
  const image = await inspectImage(options.engine, reference);
  if (image === undefined)
    throw serviceFail(
      environment,
      `its base image ${reference} is not on this machine`,
      `run datomspod images build --only ${environment.definition.base} (it is built locally, reproducibly)`,
    );
  return { reference, id: image.id, digest: image.digest ?? image.id };
}

/** Builds (or finds up to date) the image of an environment. */
export async function buildEnvironment(options: EnvironmentBuildOptions, environment: Environment): Promise<BuiltEnvironment> {
  const started = Date.now();
  const lock = environmentLock(environment);
  if (lock.format === undefined)
    throw fail(
      environment,
      "environment.json",
      "has no packages to build (it is a base image)",
      `run datomspod images build --only ${environment.definition.base}`,
    );
  const base = await baseImage(options, environment);
  const system = await systemVersions(environment);
  const recipe = containerfile(environment);
  const { repository, tag } = environment.definition.image;
  const reference = options.as ?? `${repository}:${tag}`;
  const inputs = inputsHash([
    { name: "recipe", content: RECIPE_VERSION },
    { name: "Containerfile", content: recipe },
    { name: "base", content: base.id },
    { name: "lock", content: lockDigest(lock.packages) },
    { name: "installer", content: lock.format === "pip" ? `pip ${PIP.sha256} ${JSON.stringify(PYTHON_TARGET)}` : "npm ci --ignore-scripts --omit=dev" },
    { name: "system", content: system },
  ]);
  const result = (built: boolean, image: { id: string; digest: string }, wheelBytes: number): BuiltEnvironment => ({
    name: environment.name,
    reference,
    pin: `${reference}@${image.digest}`,
    digest: image.digest,
    id: image.id,
    inputs,
    built,
    ...(environment.definition.image.digest !== undefined ? { pinned: environment.definition.image.digest } : {}),
    packages: lock.packages.length,
    wheelBytes,
    base: pinned(base.reference, base.digest),
    seconds: (Date.now() - started) / 1000,
  });

  const existing = await inspectImage(options.engine, reference);
  const wheelsOf = (): number =>
    lock.packages.reduce((sum, p) => {
      const path = p.hashes.map((h) => cachedWheel(options.cacheDir, h)).find((f) => f !== undefined);
      return sum + (path === undefined ? 0 : statSync(path).size);
    }, 0);
  if (options.as === undefined && existing?.labels[INPUTS_LABEL] === inputs)
    return result(false, { id: existing.id, digest: existing.digest ?? existing.id }, wheelsOf());

  mkdirSync(join(options.cacheDir, "tmp"), { recursive: true });
  const work = mkdtempSync(join(options.cacheDir, "tmp", `env-${environment.name}-`));
  let wheelBytes = 0;
  try {
    const rootfs = join(work, "context", "rootfs");
    if (lock.format === "pip") {
      const wheels = await ensureWheels(environment, lock.packages, options.cacheDir, options.log);
      wheelBytes = wheels.reduce((sum, w) => sum + w.bytes, 0);
      const links = join(work, "wheels");
      mkdirSync(links);
      for (const wheel of wheels) linkOrCopy(wheel.path, join(links, basename(wheel.path)));
      writeFileSync(join(work, "requirements.lock"), lock.text);
      const target = join(rootfs, SITE_PACKAGES);
      mkdirSync(target, { recursive: true });
      options.log(`installing ${wheels.length} wheels of ${environment.name} (no index, --require-hashes)`);
      await pipInstallLocked(await pipWheel(options.cacheDir), join(work, "requirements.lock"), links, target);
      // Console scripts name the host's interpreter; algorithms run as `python3 $ALGO`.
      rmSync(join(target, "bin"), { recursive: true, force: true });
      for (const rel of walk(target)) {
        if (basename(rel) === "__pycache__" || basename(rel) === "direct_url.json") rmSync(join(target, rel), { recursive: true, force: true });
      }
      options.log(`compiling the bytecode of ${environment.name} (checked-hash)`);
      await compileBytecode(target, rootfs);
    } else {
      const app = join(work, "npm");
      mkdirSync(app);
      copyFileSync(join(environment.dir, "package.json"), join(app, "package.json"));
      copyFileSync(join(environment.dir, environment.definition.packages?.lock ?? "package-lock.json"), join(app, "package-lock.json"));
      options.log(`installing the npm packages of ${environment.name} (npm ci --ignore-scripts)`);
      await npmCi(app, join(options.cacheDir, "npm-environments"));
      mkdirSync(dirname(join(rootfs, NODE_MODULES)), { recursive: true });
      renameSync(join(app, "node_modules"), join(rootfs, NODE_MODULES));
    }
    const baseLibs = await baseLibraries(options.engine, base.id, environment.definition.base);
    for (const pkg of environment.definition.system ?? []) await stageDebianLibraries(environment, pkg, rootfs, baseLibs);
    await checkLibraries(environment, rootfs, baseLibs);
    normaliseTree(join(work, "context"));
    writeFileSync(join(work, "context", "Containerfile"), recipe);
    options.log(`building ${reference} FROM ${base.reference}`);
    await buildImage(options.engine, {
      context: join(work, "context"),
      containerfile: join(work, "context", "Containerfile"),
      tag: reference,
      labels: { [ENVIRONMENT_LABEL]: environment.name, [INPUTS_LABEL]: inputs, [LOCK_LABEL]: lockDigest(lock.packages) },
      buildArgs: { BASE: base.id },
    });
    if (existing !== undefined && options.as === undefined) {
      const now = await inspectImage(options.engine, reference);
      if (now !== undefined && now.id !== existing.id) await removeImage(options.engine, existing.id);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const image = await inspectImage(options.engine, reference);
  if (image === undefined) throw serviceFail(environment, `${reference} is missing right after its build`, "run the build again");
  return result(true, { id: image.id, digest: image.digest ?? image.id }, wheelBytes);
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/** The image size in bytes, when the image is here. */
export async function imageSize(engine: Engine, reference: string): Promise<number | undefined> {
  const result = await execEngine(engine, ["image", "inspect", "--format", "{{.Size}}", reference], { allowFailure: true });
  if (result.code !== 0) return undefined;
  const size = Number(result.stdout.trim());
  return Number.isFinite(size) ? size : undefined;
}
