/**
 * Images of the lab, built locally with podman (no registry anywhere) and handed to the lab's
 * containerd under their exact manifest digest:
 *
 *   - busybox: Debian's busybox-static with links for the applets tests use (sh, sleep, wget,
 *     httpd, nc, …) and /www/index.html, user 65534;
 *   - pause: Debian's static catatonit in pause mode (`-P`), the pods' sandbox image.
 *
 * Builds are reproducible (`--timestamp 0`, no identity label), so the same inputs give the same
 * digest; the tag is the inputs' hash, so a warm machine skips the build.
 *
 * Import: `skopeo copy --preserve-digests containers-storage:IMG oci-archive:FILE:IMG` (`podman
 * save` would rewrite the manifest, changing the digest), `ctr images import`, then `ctr images tag
 * IMG REPO@sha256:DIGEST`: a pod that names the image by digest is looked up by that exact name in
 * containerd's store; without the tag the kubelet reports ErrImageNeverPull/ErrImagePull.
 */

import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./exec.js";

export interface LocalImage {
  /** localhost/datomspod-lab/<name>:<inputs hash> */
  readonly tag: string;
  readonly repository: string;
  /** sha256:… of the manifest */
  readonly digest: string;
  /** repository@digest: what pods name. */
  readonly pinned: string;
}

export const BUSYBOX_APPLETS = ["sh", "sleep", "wget", "httpd", "nc", "timeout", "echo", "date", "cat", "true", "false", "ls", "id", "printf", "test", "["];

interface ImageSpec {
  readonly name: string;
  /** Files to copy into the image: path in the image -> file on this machine. */
  readonly files: Readonly<Record<string, string>>;
  /** Links in the image: path -> target. */
  readonly links: Readonly<Record<string, string>>;
  /** Literal files: path -> content. */
  readonly texts: Readonly<Record<string, string>>;
  readonly containerfile: string;
}

function busyboxSpec(): ImageSpec {
  const links: Record<string, string> = {};
  for (const applet of BUSYBOX_APPLETS) links[`bin/${applet}`] = "busybox";
  return {
    name: "busybox",
    files: { "bin/busybox": "/bin/busybox" },
    links,
    texts: { "www/index.html": "datomspod-lab\n" },
    containerfile: 'FROM scratch\nCOPY rootfs/ /\nUSER 65534:65534\nCMD ["/bin/sh"]\n',
  };
}

function pauseSpec(): ImageSpec {
  return {
    name: "pause",
    files: { catatonit: "/usr/bin/catatonit" },
    links: {},
    texts: {},
    containerfile: 'FROM scratch\nCOPY rootfs/ /\nUSER 65535:65535\nENTRYPOINT ["/catatonit", "-P"]\n',
  };
}

function inputsHash(spec: ImageSpec): string {
  const hash = createHash("sha256");
  hash.update(spec.containerfile);
  for (const [path, file] of Object.entries(spec.files).sort()) hash.update(`file ${path}\n`).update(readFileSync(file));
  for (const [path, target] of Object.entries(spec.links).sort()) hash.update(`link ${path} ${target}\n`);
  for (const [path, text] of Object.entries(spec.texts).sort()) hash.update(`text ${path}\n${text}\n`);
  return hash.digest("hex").slice(0, 16);
}

async function buildIfMissing(podman: string, spec: ImageSpec): Promise<LocalImage> {
  const repository = `localhost/datomspod-lab/${spec.name}`;
  const tag = `${repository}:${inputsHash(spec)}`;
  const exists = await run(podman, ["image", "exists", tag], { allowFailure: true });
  if (exists.code !== 0) {
    const context = mkdtempSync(join("/tmp", `datomspod-lab-image-${spec.name}-`));
    try {
      for (const [path, file] of Object.entries(spec.files)) {
        mkdirSync(join(context, "rootfs", path, ".."), { recursive: true });
        copyFileSync(file, join(context, "rootfs", path));
      }
      for (const [path, target] of Object.entries(spec.links)) {
        mkdirSync(join(context, "rootfs", path, ".."), { recursive: true });
        symlinkSync(target, join(context, "rootfs", path));
      }
      for (const [path, text] of Object.entries(spec.texts)) {
        mkdirSync(join(context, "rootfs", path, ".."), { recursive: true });
        writeFileSync(join(context, "rootfs", path), text, { mode: 0o644 });
      }
      writeFileSync(join(context, "Containerfile"), spec.containerfile);
      await run(
        podman,
        ["build", "--quiet", "--no-cache", "--pull=never", "--timestamp", "0", "--identity-label=false", "--format", "oci", "--tag", tag, context],
        { timeoutMs: 180_000 },
      );
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  }
  const digest = (await run(podman, ["image", "inspect", "--format", "{{.Digest}}", tag])).stdout.trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`podman reports no manifest digest for ${tag}: ${JSON.stringify(digest)}`);
  return { tag, repository, digest, pinned: `${repository}@${digest}` };
}

/** The busybox and pause images, built with podman when missing. */
export async function buildLabImages(podman: string): Promise<{ busybox: LocalImage; pause: LocalImage }> {
  const [busybox, pause] = await Promise.all([buildIfMissing(podman, busyboxSpec()), buildIfMissing(podman, pauseSpec())]);
  return { busybox, pause };
}

export interface ContainerdAccess {
  readonly ctr: string;
  /** containerd's socket */
  readonly address: string;
  readonly skopeo: string;
}

function ctrArgs(access: ContainerdAccess, args: readonly string[]): string[] {
  return ["--address", access.address, "--namespace", "k8s.io", ...args];
}

/**
 * Puts `image` into containerd's k8s.io namespace under its tag and under repository@digest (what
 * pods name), with the manifest podman built (same digest). The archive names the image by a tag
 * of its own digest, from which both names are made: engineers sharing the lab build different pod
 * images under the same tag, and an import of theirs between two steps must not swap the content.
 * Throws when containerd ends up with a different digest under the digest's names.
 */
export async function importImage(access: ContainerdAccess, image: LocalImage, workDir: string): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  // one archive per process: test files sharing the lab import the same image at the same time
  const archive = join(workDir, `${image.repository.replaceAll("/", "_")}.${process.pid}.oci.tar`);
  const staged = `${image.repository}:import-${image.digest.slice("sha256:".length, "sha256:".length + 20)}`;
  rmSync(archive, { force: true });
  await run(access.skopeo, ["copy", "--quiet", "--preserve-digests", `containers-storage:${image.tag}`, `oci-archive:${archive}:${staged}`], {
    timeoutMs: 120_000,
  });
  try {
    await run(access.ctr, ctrArgs(access, ["images", "import", archive]), { timeoutMs: 120_000 });
  } finally {
    rmSync(archive, { force: true });
  }
  await run(access.ctr, ctrArgs(access, ["images", "tag", "--force", staged, image.pinned]));
  await run(access.ctr, ctrArgs(access, ["images", "tag", "--force", staged, image.tag]));
  const listed = (await run(access.ctr, ctrArgs(access, ["images", "list"]))).stdout;
  for (const name of [staged, image.pinned]) {
    const line = listed.split("\n").find((l) => l.split(/\s+/)[0] === name);
    if (line === undefined) throw new Error(`containerd has no image ${name} after the import:\n${listed}`);
    if (!line.includes(image.digest)) throw new Error(`containerd's ${name} is not ${image.digest}: ${line}`);
  }
}
