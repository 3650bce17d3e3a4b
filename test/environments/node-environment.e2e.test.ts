/**
 * Slow (the npm registry, podman): a Node environment added from a package.json — locked with
 * sha512 integrities from the npm registry, installed with `npm ci --ignore-scripts`, built FROM
 * localhost/datomspod/node:24 — runs code that requires its package, and builds again to the same
 * digest. A dependency that is not a registry release is refused.
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildEnvironment } from "../../generator/environment/build.js";
import { loadEnvironment } from "../../generator/environment/environment.js";
import { cacheDirectory } from "../../generator/run/build-images.js";
import { execEngine, removeImage } from "../../generator/run/exec.js";
import { runCli } from "../helpers/cli.js";
import { podmanMissing, skipMessage } from "../run/podman.js";
import { runImages } from "../run/run-helpers.js";

const missing = await podmanMissing();
skipMessage(missing);
const slow = { timeout: 900_000 };

function repo(t: { onTestFinished: (fn: () => void) => void }, packageJson: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "datomspod-node-env-"));
  t.onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, ".git"));
  writeFileSync(join(dir, "package.json"), JSON.stringify(packageJson));
  return dir;
}

describe.skipIf(missing !== undefined)("a Node environment from a package.json", () => {
  it("locks, builds reproducibly and runs code that requires its package", slow, async (t) => {
    await runImages();
    const dir = repo(t, { name: "x", private: true, dependencies: { ms: "2.1.3" } });
    const tag = `localhost/datomspod-test/node-ms:again-${process.pid}`;
    t.onTestFinished(async () => {
      await removeImage("podman", tag);
      await removeImage("podman", "localhost/datomspod/node-ms:1");
    });

    const created = await runCli(["env", "new", "node-ms", "--from", join(dir, "package.json"), "--base", "node"], { repo: dir });
    const built = await runCli(["env", "build", "node-ms", "--pin", "--format", "json"], { repo: dir });
    const environment = loadEnvironment(dir, "node-ms", { file: "test", path: "$" });
    const again = await buildEnvironment({ engine: "podman", cacheDir: cacheDirectory(process.env, homedir()), log: () => undefined, as: tag }, environment);
    writeFileSync(join(dir, "probe.js"), 'console.log(require("ms")("2 days"));\n');
    const ran = await execEngine("podman", [
      "run",
      "--rm",
      "--network",
      "none",
      "--read-only",
      "-v",
      `${join(dir, "probe.js")}:/probe.js:ro`,
      again.reference,
      "node",
      "/probe.js",
    ]);

    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain("  + ms==2.1.3");
    const lock = JSON.parse(readFileSync(join(dir, "environments", "node-ms", "package-lock.json"), "utf8")) as {
      packages: Record<string, { resolved?: string; integrity?: string }>;
    };
    expect(lock.packages["node_modules/ms"]).toMatchObject({
      resolved: "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz",
      integrity: expect.stringMatching(/^sha512-/),
    });
    expect(built.code, built.stderr).toBe(0);
    const [image] = JSON.parse(built.stdout) as { digest: string; packages: number }[];
    expect(image?.packages).toBe(1);
    expect(environment.definition.image.digest).toBe(image?.digest);
    expect(again.digest).toBe(image?.digest);
    expect(ran.stdout.trim()).toBe("172800000");
  });

  it("refuses a dependency that is not a release of the npm registry", slow, async (t) => {
    const dir = repo(t, { name: "x", private: true, dependencies: { local: "file:./local" } });
    mkdirSync(join(dir, "local"));
    writeFileSync(join(dir, "local", "package.json"), JSON.stringify({ name: "local", version: "1.0.0" }));

    const created = await runCli(["env", "new", "node-local", "--from", join(dir, "package.json"), "--base", "node"], { repo: dir });

    expect(created.code).toBe(2);
    expect(created.stderr).toContain('environments/node-local/package-lock.json $.packages["node_modules/local"]: is a link to a folder');
  });
});
