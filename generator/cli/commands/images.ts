import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { InputError, VerdictError } from "../../errors.js";
import { loadProfiles } from "../../compile/profile.js";
import { buildImages, cacheDirectory, type BuiltImage } from "../../run/build-images.js";
import { ENGINES, type Engine } from "../../run/exec.js";
import { IMAGE_KEYS, PUBLIC_NODE_BASE, pinPodImage, type ImageKey } from "../../run/images.js";
import { writeFileAtomic } from "../../repo/files.js";
import { PACKAGE_ROOT, packageFile } from "../../repo/package-root.js";
import type { Command } from "../command.js";
import { stringOption } from "../options.js";

export const imagesBuild: Command = {
  name: ["images", "build"],
  summary: "build the container images a local run needs and print them with their digests",
  usage: "[--engine podman|docker] [--only python,node,pod] [--base IMAGE] [--pin | --check]",
  help: [
    "Images: localhost/datomspod/python:3.11 and localhost/datomspod/node:24 (algorithm base images, FROM scratch,",
    "reproducible: the same Debian packages and node version give the same digest, which contracts pin) and",
    "localhost/datomspod/pod:<version> (the datomspod CLI and the supervisor). An image whose inputs did not change",
    "is not rebuilt. The pod image is built FROM localhost/datomspod/node:24 (reproducible: its digest is what the",
    `repository's local cluster profiles pin), or FROM --base (e.g. ${PUBLIC_NODE_BASE}; another digest). No registry`,
    "is needed. It says when the pod image's digest is not the one a cluster profile naming this image (clusters/*/cluster.yaml:",
    "local, or a lab whose node imports it) pins (that profile's contracts would not run here); --check exits 1 then (the CI drift check), --pin",
    "writes the new digest into the profile (the profile is part of every approval: the data owners approve again).",
    "Caches live in DATOMSPOD_CACHE (default ~/.cache/datomspod).",
  ].join("\n"),
  options: { engine: { type: "string" }, only: { type: "string" }, base: { type: "string" }, pin: { type: "boolean" }, check: { type: "boolean" } },
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
    const pod = images.find((image) => image.key === "pod");
    if ((values["pin"] === true || values["check"] === true) && pod === undefined) {
      throw InputError.of({
        file: "command line",
        path: values["pin"] === true ? "--pin" : "--check",
        message: "is about the pod image, which --only leaves out",
        fix: "add pod to --only",
      });
    }
    const pins = pod === undefined ? [] : podPins(ctx.repo, pod, values["pin"] === true);
    const width = Math.max(...images.map((image) => image.reference.length));
    ctx.emit(images, images.map((image) => `${image.reference.padEnd(width)}  ${image.pinned}  ${image.built ? "built" : "up to date"}`).join("\n"));
    for (const p of pins) {
      if (p.state === "pinned") ctx.err(`${p.file}: pinned ${p.digest} (was ${p.was}); its contracts' data owners approve again\n`);
      if (p.state === "differs")
        ctx.err(
          `note: ${p.file} pins ${p.was}, not this build's ${p.digest}: its contracts do not run with this checkout (datomspod images build --pin re-pins; the data owners then approve again)\n`,
        );
    }
    const differ = pins.filter((p) => p.state === "differs");
    if (values["check"] === true && differ.length > 0) {
      throw new VerdictError(
        "the pod image built here is not the one the local cluster profile pins",
        differ.map((p) => ({
          file: p.file,
          path: "$.images.pod.digest",
          message: `pins ${p.was}, but the pod image built from this checkout is ${p.digest}: the code, the lockfile, the base image or the system packages differ`,
          fix: "run datomspod from the commit that pinned it; or, to pin this build: datomspod images build --pin, then have the data owners approve again (npm run examples re-signs the examples)",
        })),
      );
    }
    return 0;
  },
};

interface ProfilePin {
  readonly file: string;
  readonly state: "matches" | "differs" | "pinned";
  readonly digest: string;
  readonly was: string;
}

/**
 * The cluster profiles that run this locally built pod image (the local runner's and a lab's, whose
 * nodes import it by digest), each compared with the build (and pinned to it with --pin).
 */
function podPins(repo: string, pod: BuiltImage, pin: boolean): ProfilePin[] {
  const [repository = ""] = pod.pinned.split("@");
  const tag = pod.reference.slice(pod.reference.lastIndexOf(":") + 1);
  return [...loadProfiles(repo).values()]
    .filter((profile) => profile.images.pod.image === repository)
    .map((profile): ProfilePin => {
      const file = join("clusters", profile.name, "cluster.yaml");
      const was = profile.images.pod.digest;
      if (was === pod.digest && profile.images.pod.tag === tag) return { file, state: "matches", digest: pod.digest, was };
      if (!pin) return { file, state: "differs", digest: pod.digest, was };
      const path = join(repo, file);
      writeFileAtomic(path, pinPodImage(readFileSync(path, "utf8"), tag, pod.digest));
      return { file, state: "pinned", digest: pod.digest, was };
    });
}
