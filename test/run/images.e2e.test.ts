/**
 * Slow (real image builds): the base images are reproducible (built afresh under another tag, they
 * have the digest contracts pin), run as a non-root user on a read-only root, and `datomspod
 * images build` reports them; the pod image runs the CLI and carries the supervisor.
 */

import { randomBytes } from "node:crypto";
import { homedir } from "node:os";
import { describe, expect, it } from "vitest";
import { buildBase, cacheDirectory } from "../../generator/run/build-images.js";
import { execEngine } from "../../generator/run/exec.js";
import { INPUTS_LABEL } from "../../generator/run/images.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { runCli } from "../helpers/cli.js";
import { ensureImages, podmanMissing, skipMessage } from "./podman.js";

const missing = await podmanMissing();
skipMessage(missing);

interface Printed {
  key: string;
  reference: string;
  pinned: string;
  digest: string;
  built: boolean;
  inputs: string;
}

async function podmanRun(args: readonly string[]): Promise<string> {
  return (await execEngine("podman", ["run", "--rm", "--read-only", "--network", "none", "--user", "65532:65532", ...args], { timeoutMs: 120_000 })).stdout;
}

describe.skipIf(missing !== undefined)("datomspod images build", () => {
  it.each(["python", "node"] as const)(
    "builds the %s base image reproducibly: afresh, under another tag, to the same digest",
    { timeout: 600_000 },
    async (key) => {
      const listed = await runCli(["images", "build", "--only", key, "--format", "json"]);
      expect(listed.code, listed.stderr).toBe(0);
      const [image] = JSON.parse(listed.stdout) as Printed[];
      const again = `localhost/datomspod-test/${key}:repro-${randomBytes(4).toString("hex")}`;

      try {
        const rebuilt = await buildBase(
          {
            engine: "podman",
            root: PACKAGE_ROOT,
            cacheDir: cacheDirectory(process.env, homedir()),
            only: [key],
            version: "0",
            pullTimeoutMs: 1000,
            log: () => undefined,
          },
          key,
          again,
        );

        expect(rebuilt).toMatchObject({
          built: true,
          digest: image.digest,
          inputs: image.inputs,
          pinned: `localhost/datomspod-test/${key}@${image.digest}`,
        });
        expect(image.pinned).toBe(`localhost/datomspod/${key}@${image.digest}`);
        expect(image.reference).toBe(key === "python" ? "localhost/datomspod/python:3.11" : "localhost/datomspod/node:24");
      } finally {
        await execEngine("podman", ["untag", again], { allowFailure: true });
      }
    },
  );

  it("says in text which images are up to date", { timeout: 600_000 }, async () => {
    await ensureImages();

    const result = await runCli(["images", "build", "--only", "python"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^localhost\/datomspod\/python:3\.11 {2}localhost\/datomspod\/python@sha256:[0-9a-f]{64} {2}up to date\n$/);
  });

  it("runs the base images as uid 65532 on a read-only root, the python one by digest", { timeout: 300_000 }, async () => {
    const images = await ensureImages();

    const python = await podmanRun([
      images.get("python")!.pinned,
      "python3",
      "-c",
      "import os, ssl, sqlite3, json, csv, hashlib, ctypes, decimal; print(os.getuid(), os.getcwd(), os.environ['HOME'])",
    ]);
    const node = await podmanRun(["localhost/datomspod/node:24", "node", "-e", "console.log(process.version, process.getuid())"]);

    expect(python).toBe("65532 / /tmp\n");
    expect(node).toMatch(/^v24\.[0-9]+\.[0-9]+ 65532\n$/);
  });

  it("builds the pod image with the datomspod CLI and the supervisor, labelled with its inputs", { timeout: 600_000 }, async () => {
    const pod = (await ensureImages()).get("pod")!;

    const help = await podmanRun([pod.reference, "--help"]);
    const supervise = await execEngine(
      "podman",
      ["run", "--rm", "--read-only", "--network", "none", "--entrypoint", "/opt/datomspod/bin/supervise", pod.reference],
      {
        allowFailure: true,
      },
    );
    const label = (await execEngine("podman", ["image", "inspect", "--format", `{{index .Labels "${INPUTS_LABEL}"}}`, pod.reference])).stdout.trim();

    expect(help).toMatch(/^datomspod: use data without handing it over\n/);
    expect(supervise.code).toBe(2);
    expect(supervise.stderr).toContain("supervise: --deadline must be a number of seconds > 0");
    expect(label).toBe(pod.inputs);
  });
});
