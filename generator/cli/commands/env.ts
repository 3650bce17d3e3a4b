import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { InputError, VerdictError, formatIssue } from "../../errors.js";
import { buildEnvironment, imageSize, type BuiltEnvironment } from "../../environment/build.js";
import { ENVIRONMENT_FILE, environmentNames, loadEnvironment, type Environment } from "../../environment/environment.js";
import { lockEnvironment, scaffoldEnvironment } from "../../environment/resolve.js";
import { writeFileAtomic } from "../../repo/files.js";
import { cacheDirectory } from "../../run/build-images.js";
import { ENGINES, inspectImage, type Engine } from "../../run/exec.js";
import type { Command, Context, Values } from "../command.js";
import { stringOption } from "../options.js";

const COMMAND_LINE = { file: "command line", path: "NAME" };

function engineOption(values: Values): Engine {
  const engine = stringOption(values, "engine") ?? "podman";
  if (!(ENGINES as readonly string[]).includes(engine))
    throw InputError.of({
      file: "command line",
      path: "--engine",
      message: `unknown engine ${JSON.stringify(engine)}`,
      fix: `use one of ${ENGINES.join(", ")}`,
    });
  return engine as Engine;
}

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? "-" : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Writes the digest into environment.json's image, keeping the file's layout. */
export function pinDigest(text: string, digest: string): string {
  const image = /("image"\s*:\s*\{[^{}]*?)("digest"\s*:\s*"sha256:[0-9a-f]{64}")([^{}]*\})/;
  if (image.test(text)) return text.replace(image, `$1"digest": "${digest}"$3`);
  const tag = /("image"\s*:\s*\{[^{}]*?"tag"\s*:\s*"[^"]*")/;
  if (!tag.test(text)) throw new Error("environment.json has no image tag to pin the digest beside");
  return text.replace(tag, `$1, "digest": "${digest}"`);
}

export const envList: Command = {
  name: ["env", "list"],
  summary: "list the compute environments (the repository's and datomspod's) with their digests and sizes",
  usage: "[--engine podman|docker]",
  help: [
    "For each environment: where it comes from (this repository's environments/NAME/, else the copy shipped with datomspod),",
    "its base, how many packages its lock pins, whether it asks for GPUs, the digest environment.json pins, whether an image",
    "with that digest is on this machine, and its size.",
  ].join("\n"),
  options: { engine: { type: "string" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const engine = engineOption(values);
    const rows = [];
    for (const name of environmentNames(ctx.repo)) {
      const environment = loadEnvironment(ctx.repo, name, COMMAND_LINE);
      const { repository, tag, digest } = environment.definition.image;
      const reference = digest !== undefined ? `${repository}@${digest}` : `${repository}:${tag}`;
      const here = await inspectImage(engine, reference);
      const built = here !== undefined && (digest === undefined || here.digest === digest);
      rows.push({
        name,
        source: environment.inRepository ? "repository" : "datomspod",
        base: environment.definition.base,
        packages: environment.packages.length,
        gpu: environment.definition.gpu === true,
        image: `${repository}:${tag}`,
        digest: digest ?? null,
        built,
        size: built ? ((await imageSize(engine, reference)) ?? null) : null,
        environmentDigest: environment.digest,
      });
    }
    const header = ["NAME", "SOURCE", "BASE", "PACKAGES", "GPU", "PINNED DIGEST", "HERE", "SIZE"];
    const table = [
      header,
      ...rows.map((r) => [
        r.name,
        r.source,
        r.base,
        String(r.packages),
        r.gpu ? "yes" : "no",
        r.digest === null ? "(not pinned)" : r.digest.slice(0, 19),
        r.built ? "built" : "no",
        r.size === null ? "-" : megabytes(r.size),
      ]),
    ];
    const widths = header.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length)));
    ctx.emit(
      rows,
      table
        .map((row) =>
          row
            .map((cell, i) => cell.padEnd(widths[i] ?? 0))
            .join("  ")
            .trimEnd(),
        )
        .join("\n"),
    );
    return 0;
  },
};

export const envShow: Command = {
  name: ["env", "show"],
  summary: "show a compute environment: its image, base, interpreters and every package it installs (name==version)",
  usage: "NAME",
  positionals: [1, 1],
  run(ctx, [name = ""]) {
    const environment = loadEnvironment(ctx.repo, name, COMMAND_LINE);
    const d = environment.definition;
    const value = {
      name,
      source: environment.inRepository ? "repository" : "datomspod",
      description: d.description,
      base: d.base,
      image: d.image,
      gpu: d.gpu === true,
      interpreters: d.interpreters.map((i) => i.command),
      system: d.system ?? [],
      lock:
        d.packages === undefined
          ? null
          : { file: `${environment.subject}${d.packages.lock}`, format: d.packages.format, sha256: environment.lockSha256 ?? null },
      environmentDigest: environment.digest,
      packages: environment.packages,
    };
    const lines = [
      `${name} (${value.source}): ${d.description}`,
      `  base          ${d.base}`,
      `  image         ${d.image.repository}:${d.image.tag}${d.image.digest !== undefined ? `@${d.image.digest}` : " (digest not pinned)"}`,
      `  interpreters  ${value.interpreters.join(", ")}`,
      ...(d.gpu === true ? ["  gpu           yes"] : []),
      ...(value.system.length > 0 ? [`  system        ${value.system.join(", ")} (Debian)`] : []),
      `  digest        sha256:${environment.digest} (the folder, what approvals pin)`,
      value.lock === null
        ? "  packages      none (the base's own)"
        : `  packages      ${environment.packages.length}, ${value.lock.file} sha256:${value.lock.sha256 ?? ""}`,
      ...environment.packages.map((p) => `    ${p.name}==${p.version}`),
    ];
    ctx.emit(value, lines.join("\n"));
    return 0;
  },
};

function buildLine(b: BuiltEnvironment): string {
  const state = b.built ? `built in ${b.seconds.toFixed(1)} s` : "up to date";
  const drift = b.pinned === undefined ? "  (not pinned: --pin writes it into environment.json)" : b.pinned === b.digest ? "  (matches environment.json)" : "";
  return `${b.pin}  ${state}, ${b.packages} packages${b.wheelBytes > 0 ? `, ${megabytes(b.wheelBytes)} of wheels` : ""}${drift}`;
}

export const envBuild: Command = {
  name: ["env", "build"],
  summary: "build compute environments into images (locked packages, no registry, reproducible) and print the reference to pin",
  usage: "NAME... [--pin] [--engine podman|docker]",
  help: [
    "Downloads the lock's wheels from PyPI into DATOMSPOD_CACHE/wheels/ (hash-checked; once), installs them without an index",
    "(--require-hashes --only-binary=:all: --no-deps), compiles checked-hash bytecode and builds FROM the base image with",
    "podman build --timestamp 0: the same lock on the same base gives the same digest. An image whose inputs did not change is",
    "not rebuilt. It prints repository:tag@sha256:...; it exits 1 when that is not the digest environment.json pins, unless",
    "--pin, which writes the digest there (review the change like any other).",
  ].join("\n"),
  options: { pin: { type: "boolean" }, engine: { type: "string" } },
  positionals: [1, 32],
  async run(ctx, names, values) {
    const engine = engineOption(values);
    const cacheDir = cacheDirectory(process.env, homedir());
    const results: BuiltEnvironment[] = [];
    const drifted: string[] = [];
    for (const name of names) {
      const environment = loadEnvironment(ctx.repo, name, COMMAND_LINE);
      const built = await buildEnvironment({ engine, cacheDir, log: (line) => ctx.err(`${line}\n`) }, environment);
      if (values["pin"] === true && built.pinned !== built.digest) {
        pin(ctx, environment, built.digest);
        results.push({ ...built, pinned: built.digest });
        continue;
      }
      results.push(built);
      if (built.pinned !== undefined && built.pinned !== built.digest)
        drifted.push(
          formatIssue({
            file: `${environment.subject}${ENVIRONMENT_FILE}`,
            path: "$.image.digest",
            message: `the build gave ${built.digest} but environment.json pins ${built.pinned}: the lock, the base image (${built.base}), the system packages or the build recipe differ from where it was pinned`,
            fix: `review what changed; datomspod env build ${name} --pin writes the new digest (contracts of ${name} must then be approved again)`,
          }),
        );
    }
    ctx.emit(results, results.map(buildLine).join("\n"));
    if (drifted.length > 0) throw new VerdictError(drifted.join("\n"));
    return 0;
  },
};

function pin(ctx: Context, environment: Environment, digest: string): void {
  if (!environment.inRepository)
    throw InputError.of({
      file: `${environment.subject}${ENVIRONMENT_FILE}`,
      path: "$.image.digest",
      message: `environment ${environment.name} is the copy shipped with datomspod`,
      fix: `copy it into this repository's environments/${environment.name}/ to pin a digest of your own`,
    });
  const file = join(environment.dir, ENVIRONMENT_FILE);
  writeFileAtomic(file, pinDigest(readFileSync(file, "utf8"), digest));
  ctx.err(`pinned ${digest} in ${environment.subject}${ENVIRONMENT_FILE}\n`);
}

export const envLock: Command = {
  name: ["env", "lock"],
  summary: "resolve an environment's requirements against PyPI (or npm) into its lock, every package pinned with its hash",
  usage: "NAME",
  help: [
    "Reads environments/NAME/requirements.in (package names and version ranges) and writes requirements.lock: every package",
    "that will be installed, name==version with the sha256 of its wheel for CPython 3.11 manylinux x86_64, resolved by a pinned",
    'pip against PyPI only. With "dependencies": "listed" only the named packages are locked. For npm environments it writes',
    "package-lock.json from package.json. It prints what was added, removed and changed: that diff is what data owners approve.",
  ].join("\n"),
  positionals: [1, 1],
  async run(ctx, [name = ""]) {
    const environment = loadEnvironment(ctx.repo, name, COMMAND_LINE, { lock: false });
    const result = await lockEnvironment(environment, cacheDirectory(process.env, homedir()), (line) => ctx.err(`${line}\n`));
    const { added, removed, changed } = result.change;
    ctx.emit(
      result,
      [
        `${result.file}: ${result.packages.length} packages${result.wheelBytes > 0 ? `, ${megabytes(result.wheelBytes)} of wheels` : ""}`,
        ...added.map((p) => `  + ${p}`),
        ...removed.map((p) => `  - ${p}`),
        ...changed.map((p) => `  ~ ${p}`),
        ...(added.length + removed.length + changed.length === 0 ? ["  (no package changed)"] : []),
        `next: datomspod env build ${name} --pin, then commit ${environment.subject} for review`,
      ].join("\n"),
    );
    return 0;
  },
};

export const envNew: Command = {
  name: ["env", "new"],
  summary: "add an environment from a requirements file (or a package.json with --base node) and lock it",
  usage: "NAME --from FILE [--base python|node]",
  help: "Writes environments/NAME/environment.json and requirements.in (a copy of FILE), then runs datomspod env lock NAME.",
  options: { from: { type: "string" }, base: { type: "string" } },
  positionals: [1, 1],
  async run(ctx, [name = ""], values) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 40)
      throw InputError.of({
        file: "command line",
        path: "NAME",
        message: `${JSON.stringify(name)} is not an environment name`,
        fix: "use lowercase letters, digits and -, e.g. my-models",
      });
    const base = stringOption(values, "base") ?? "python";
    if (base !== "python" && base !== "node")
      throw InputError.of({ file: "command line", path: "--base", message: `unknown base ${JSON.stringify(base)}`, fix: "use python or node" });
    scaffoldEnvironment(ctx.repo, name, resolve(ctx.cwd, stringOption(values, "from", true)), base);
    return envLock.run(ctx, [name], {});
  },
};
