import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { InputError } from "../../errors.js";
import { buildImages, cacheDirectory } from "../../run/build-images.js";
import { ENGINES, type Engine } from "../../run/exec.js";
import { IMAGE_KEYS, PUBLIC_NODE_BASE, type ImageKey } from "../../run/images.js";
import { PACKAGE_ROOT, packageFile } from "../../repo/package-root.js";
import type { Command } from "../command.js";
import { stringOption } from "../options.js";

export const imagesBuild: Command = {
  name: ["images", "build"],
  summary: "build the container images a local run needs and print them with their digests",
  usage: "[--engine podman|docker] [--only python,node,pod] [--base IMAGE]",
  help: [
    "Images: localhost/datomspod/python:3.11 and localhost/datomspod/node:24 (algorithm base images, FROM scratch,",
    "reproducible: the same Debian packages and node version give the same digest, which contracts pin) and",
    "localhost/datomspod/pod:<version> (the datomspod CLI and the supervisor). An image whose inputs did not change",
    `is not rebuilt. The pod image is built FROM --base, else ${PUBLIC_NODE_BASE} when it is here or can be`,
    "pulled, else FROM localhost/datomspod/node:24. No registry is needed. Caches live in DATOMSPOD_CACHE",
    "(default ~/.cache/datomspod).",
  ].join("\n"),
  options: { engine: { type: "string" }, only: { type: "string" }, base: { type: "string" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const engine = stringOption(values, "engine") ?? "podman";
    if (!(ENGINES as readonly string[]).includes(engine)) {
      throw InputError.of({
        file: "command line",
        path: "--engine",
        message: `unknown engine ${JSON.stringify(engine)}`,
        fix: `use one of ${ENGINES.join(", ")}`,
      });
    }
    const only = (stringOption(values, "only") ?? IMAGE_KEYS.join(",")).split(",").filter((key) => key !== "");
    const unknown = only.filter((key) => !(IMAGE_KEYS as readonly string[]).includes(key));
    if (unknown.length > 0 || only.length === 0) {
      throw InputError.of({
        file: "command line",
        path: "--only",
        message: `unknown image ${JSON.stringify(unknown.join(","))}`,
        fix: `list some of ${IMAGE_KEYS.join(", ")}`,
      });
    }
    const version = (JSON.parse(readFileSync(packageFile("package.json"), "utf8")) as { version: string }).version;
    const base = stringOption(values, "base");
    const images = await buildImages({
      engine: engine as Engine,
      root: PACKAGE_ROOT,
      cacheDir: cacheDirectory(process.env, homedir()),
      only: only as ImageKey[],
      ...(base !== undefined ? { base } : {}),
      version,
      pullTimeoutMs: 120_000,
      log: (line) => ctx.err(`${line}\n`),
    });
    const width = Math.max(...images.map((image) => image.reference.length));
    ctx.emit(images, images.map((image) => `${image.reference.padEnd(width)}  ${image.pinned}  ${image.built ? "built" : "up to date"}`).join("\n"));
    return 0;
  },
};
