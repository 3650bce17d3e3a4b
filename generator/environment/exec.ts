/**
 * The processes an environment build and lock start: pip (a pinned release, run from its wheel by
 * Debian's python3.11, the interpreter of the python base image), python3.11's compileall, npm,
 * dpkg. Always `execFile` with an argument array (generator/run/exec.ts), never a shell; pip always
 * with `--isolated` (no user configuration, no PIP_* variables, so no other index) and PyPI only.
 */

import { execTool, type ExecResult } from "../run/exec.js";

/** The interpreter of localhost/datomspod/python:3.11, on the host (Debian's python3.11). */
export const HOST_PYTHON = "/usr/bin/python3.11";

/** The pip release that resolves, downloads and installs wheels, pinned by the sha256 of its wheel. */
export const PIP = {
  version: "26.3",
  wheel: "pip-26.3-py3-none-any.whl",
  sha256: "f3b60b20ffaadd4415ed7957212a38ac63fa4c5fa375bd0f4a797777940fad13",
} as const;

/** The platform environments are built for: CPython 3.11 on manylinux x86_64 (Debian 12: glibc 2.36). */
export const PYTHON_TARGET = {
  pythonVersion: "3.11",
  implementation: "cp",
  abi: "cp311",
  /** Every manylinux tag glibc 2.36 runs, newest first, and the legacy aliases. */
  platforms: [...Array.from({ length: 36 - 4 }, (_, i) => `manylinux_2_${36 - i}_x86_64`), "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"],
} as const;

function targetArgs(): string[] {
  return [
    "--only-binary=:all:",
    ...PYTHON_TARGET.platforms.flatMap((platform) => ["--platform", platform]),
    "--python-version",
    PYTHON_TARGET.pythonVersion,
    "--implementation",
    PYTHON_TARGET.implementation,
    "--abi",
    PYTHON_TARGET.abi,
  ];
}

const PIP_FIX = "install Debian's python3.11 and python3-pip (apt-get install python3.11 python3-pip)";
/** Environment of pip and python: no PIP_* settings, no user site, no bytecode written beside the sources. */
function cleanEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("PIP_") && !key.startsWith("PYTHON") && value !== undefined) env[key] = value;
  }
  return { ...env, PYTHONNOUSERSITE: "1", PYTHONDONTWRITEBYTECODE: "1", ...extra };
}

/** Downloads the pinned pip wheel with Debian's own pip (`--require-hashes`) into `dir`. */
export async function downloadPip(requirementsFile: string, dir: string): Promise<void> {
  await execTool(
    HOST_PYTHON,
    [
      "-m",
      "pip",
      "--isolated",
      "--no-cache-dir",
      "download",
      "--quiet",
      "--require-hashes",
      "--no-deps",
      "--only-binary=:all:",
      "--dest",
      dir,
      "-r",
      requirementsFile,
    ],
    { env: cleanEnv(), timeoutMs: 10 * 60_000, missingFix: PIP_FIX },
  );
}

function pip(pipWheel: string, args: readonly string[], timeoutMs: number): Promise<ExecResult> {
  return execTool(HOST_PYTHON, [`${pipWheel}/pip`, "--isolated", "--disable-pip-version-check", "--no-input", ...args], {
    env: cleanEnv(),
    timeoutMs,
    missingFix: PIP_FIX,
  });
}

/**
 * Resolves a requirements file against PyPI for the target platform and downloads the wheels into
 * `dir` (`listed`: exactly the packages named, without their dependencies).
 */
export async function pipResolveDownload(pipWheel: string, requirementsFile: string, dir: string, listed: boolean): Promise<void> {
  await pip(
    pipWheel,
    ["download", "--quiet", "--no-cache-dir", ...targetArgs(), ...(listed ? ["--no-deps"] : []), "--dest", dir, "-r", requirementsFile],
    60 * 60_000,
  );
}

/** Downloads exactly the wheels of a lock (`--require-hashes --no-deps`) into `dir`. */
export async function pipDownloadLocked(pipWheel: string, lockFile: string, dir: string): Promise<void> {
  await pip(pipWheel, ["download", "--quiet", "--no-cache-dir", "--require-hashes", "--no-deps", ...targetArgs(), "--dest", dir, "-r", lockFile], 60 * 60_000);
}

/**
 * Installs a lock's wheels from a local folder only (no index, no network needed), hash-checked,
 * without dependencies or bytecode, into `target`.
 */
export async function pipInstallLocked(pipWheel: string, lockFile: string, wheels: string, target: string): Promise<void> {
  await pip(
    pipWheel,
    [
      "install",
      "--quiet",
      "--no-index",
      "--find-links",
      wheels,
      "--no-cache-dir",
      "--require-hashes",
      "--no-deps",
      "--no-compile",
      "--no-warn-script-location",
      "--ignore-installed",
      ...targetArgs(),
      "--target",
      target,
      "-r",
      lockFile,
    ],
    60 * 60_000,
  );
}

/**
 * Compiles the installed modules to bytecode the way the image's interpreter reads it: checked-hash
 * pycs (no timestamps: the same sources give the same bytes), paths recorded as they are in the
 * image (`stripDir` removed), one hash seed. Resolves with compileall's exit code: 1 when some
 * file did not compile (a test file in another Python's syntax), which leaves it without a pyc.
 */
export async function compileBytecode(dir: string, stripDir: string): Promise<number> {
  const result = await execTool(
    HOST_PYTHON,
    ["-I", "-m", "compileall", "-q", "-q", "-j", "0", "--invalidation-mode", "checked-hash", "-s", stripDir, "-p", "/", dir],
    { env: cleanEnv({ PYTHONHASHSEED: "0", SOURCE_DATE_EPOCH: "0" }), timeoutMs: 30 * 60_000, allowFailure: true, missingFix: PIP_FIX },
  );
  if (result.code > 1) throw new Error(`compileall exited with ${result.code}: ${result.stderr.slice(-2000)}`);
  return result.code;
}

/** The files a Debian package installed (`dpkg-query -L`). */
export async function debianFiles(pkg: string): Promise<string[]> {
  const result = await execTool("dpkg-query", ["-L", pkg], { missingFix: "environments are built on Debian (dpkg-query)" });
  return result.stdout.split("\n").filter((line) => line.startsWith("/"));
}

/** Problems `dpkg --verify` finds in a package's files (config files excepted): empty when intact. */
export async function debianVerify(pkg: string): Promise<string> {
  const result = await execTool("dpkg", ["--verify", pkg], { allowFailure: true, missingFix: "environments are built on Debian (dpkg)" });
  return result.stdout
    .split("\n")
    .filter((line) => line.trim() !== "" && !/ c \//.test(line))
    .join("\n");
}

/** The Debian package that owns a file, or undefined. */
export async function debianOwner(file: string): Promise<string | undefined> {
  const result = await execTool("dpkg-query", ["-S", file], { allowFailure: true, missingFix: "environments are built on Debian (dpkg-query)" });
  if (result.code !== 0) return undefined;
  return result.stdout.split("\n")[0]?.split(":")[0];
}

/** `ldconfig -p`: the shared libraries the host's loader knows, as soname → path (x86-64 only). */
export async function hostLibraries(): Promise<Map<string, string>> {
  const result = await execTool("/sbin/ldconfig", ["-p"], { allowFailure: true, missingFix: "install libc-bin" });
  const libraries = new Map<string, string>();
  for (const line of result.stdout.split("\n")) {
    const match = /^\s*(\S+) \(([^)]*)\) => (\S+)$/.exec(line);
    if (match !== null && (match[2] ?? "").includes("x86-64") && !libraries.has(match[1] ?? "")) libraries.set(match[1] ?? "", match[3] ?? "");
  }
  return libraries;
}

/** The npm registry, whatever the machine's npm configuration names. */
const NPM_REGISTRY = ["--registry", "https://registry.npmjs.org/", "--omit-lockfile-registry-resolved=false"];

/** `npm ci --ignore-scripts --omit=dev` in a folder holding package.json and package-lock.json. */
export async function npmCi(dir: string, cache: string): Promise<void> {
  await execTool("npm", ["ci", "--ignore-scripts", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error", "--cache", cache, ...NPM_REGISTRY], {
    cwd: dir,
    timeoutMs: 30 * 60_000,
    missingFix: "install npm",
  });
}

/** `npm install --package-lock-only --ignore-scripts`: writes package-lock.json for package.json. */
export async function npmLock(dir: string, cache: string): Promise<void> {
  await execTool(
    "npm",
    ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", "--cache", cache, ...NPM_REGISTRY],
    {
      cwd: dir,
      timeoutMs: 30 * 60_000,
      missingFix: "install npm",
    },
  );
}
