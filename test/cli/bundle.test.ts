/**
 * The bundle `npm run build` makes (generator/cli/bundle.ts): the `datomspod` users run and the pod
 * image's roles. It must answer exactly as the compiled modules do, find what the modules read from
 * beside themselves, and be the same bytes every time (the pod image's digest depends on it).
 */

import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUNDLE_DIR, BUNDLE_ENTRIES, bundleCli } from "../../generator/cli/bundle.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";

const BUNDLED = join(PACKAGE_ROOT, BUNDLE_DIR, "datomspod.js");
const MODULES = join(PACKAGE_ROOT, "dist/generator/cli/main.js");
const POD = join(PACKAGE_ROOT, BUNDLE_DIR, "pod.js");
const scratch: string[] = [];

afterAll(() => {
  for (const dir of scratch) rmSync(join(PACKAGE_ROOT, dir), { recursive: true, force: true });
});

function cli(entry: string, args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [entry, ...args], {
    cwd: PACKAGE_ROOT,
    encoding: "utf8",
    env: { ...process.env, DATOMSPOD_CACHE: join(PACKAGE_ROOT, ".datomspod", "bundle-test-cache") },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the bundled datomspod (package.json bin, /usr/local/bin/datomspod)", () => {
  it("is what package.json's bin names, and executable", () => {
    const bin = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { bin: Record<string, string> }).bin["datomspod"];

    expect(bin).toBe(`${BUNDLE_DIR}/datomspod.js`);
    expect(statSync(BUNDLED).mode & 0o111).not.toBe(0);
    expect(statSync(POD).mode & 0o111).not.toBe(0);
  });

  it.each([
    ["the help", ["--help"]],
    ["a command's help", ["run", "--help"]],
    ["an unknown command", ["frobnicate"]],
    ["a contract checked by the gate (schema, signatures, OPS-C in wasm)", ["check", "hospital-stats", "--format", "json"]],
    ["the committed instances compared with the compile", ["compile", "--check"]],
    ["the algorithm market's packages", ["algorithm", "list", "--format", "json"]],
  ])(
    "answers %s exactly as the modules do",
    (_what, args) => {
      const bundled = cli(BUNDLED, args);
      const modules = cli(MODULES, args);

      expect(bundled.stdout).toBe(modules.stdout);
      expect(bundled.stderr).toBe(modules.stderr);
      expect(bundled.code).toBe(modules.code);
      expect(bundled.stdout.length + bundled.stderr.length).toBeGreaterThan(0);
    },
    120_000,
  );

  it("runs a role as the pod image's datomspod does, and refuses its bad arguments like the modules", () => {
    const args = ["role", "datomspace-in", "--network-settle", "soon"];
    const bundled = cli(POD, args);
    const modules = cli(join(PACKAGE_ROOT, "dist/generator/pod/main.js"), args);

    expect(bundled.code).not.toBe(0);
    expect(bundled).toEqual(modules);
    expect(bundled.stderr).toContain("--network-settle");
  });

  it("finds beside its chunks every file they read from beside themselves", () => {
    const dir = join(PACKAGE_ROOT, BUNDLE_DIR);
    const files = new Set(readdirSync(dir));
    const chunks = [...files].filter((name) => name.endsWith(".js")).map((name) => readFileSync(join(dir, name), "utf8"));
    // `new URL("./x", import.meta.url)`, and the relative names handed to require (ajv's precompiled validators).
    const beside = new Set<string>();
    for (const text of chunks) {
      for (const match of text.matchAll(/new URL\("\.\/([^"]+)", import\.meta\.url\)/g)) beside.add(match[1]);
      for (const match of text.matchAll(/"((?:contract|schema)-validators?\.cjs)"/g)) beside.add(match[1]);
    }

    expect([...beside].sort()).toEqual(["contract-validator.cjs", "plan-worker.js", "schema-validators.cjs"]);
    for (const name of beside) expect(files.has(name), name).toBe(true);
    for (const name of Object.keys(BUNDLE_ENTRIES)) expect(files.has(`${name}.js`), name).toBe(true);
  });

  it("is the same bytes when built again from the same modules", async () => {
    // Outside dist/: the modules fingerprint their own code there (compile/cache.ts).
    const [a, b] = [`.datomspod/bundle-test-${process.pid}-a`, `.datomspod/bundle-test-${process.pid}-b`];
    scratch.push(a, b);

    const first = await bundleCli(PACKAGE_ROOT, a);
    const second = await bundleCli(PACKAGE_ROOT, b);

    expect(first.map((file) => file.slice(a.length))).toEqual(second.map((file) => file.slice(b.length)));
    for (const file of first) expect(readFileSync(join(PACKAGE_ROOT, file)).equals(readFileSync(join(PACKAGE_ROOT, b, file.slice(a.length)))), file).toBe(true);
    expect(first.map((file) => file.slice(a.length + 1))).toEqual(readdirSync(join(PACKAGE_ROOT, BUNDLE_DIR)).sort());
  }, 120_000);
});
