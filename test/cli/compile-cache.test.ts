import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compileCacheFolder } from "../../generator/cli/compile-cache.js";

const dirs: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "datomspod-compile-cache-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;

describe("compileCacheFolder", () => {
  it("makes the folder, the user's only, and gives it (under /tmp too: sticky)", () => {
    const root = scratch();

    const folder = compileCacheFolder({ DATOMSPOD_CACHE: join(root, "a", "b") }, "/nonexistent-home");

    expect(folder).toBe(join(root, "a", "b", "node-compile-cache"));
    for (const path of [join(root, "a"), join(root, "a", "b"), folder!]) expect(statSync(path).mode & 0o777).toBe(0o700);
  });

  it("uses ~/.cache/datomspod without DATOMSPOD_CACHE", () => {
    const home = scratch();
    expect(compileCacheFolder({}, home)).toBe(join(home, ".cache", "datomspod", "node-compile-cache"));
  });

  it("gives none when a folder on the way is writable by others (who could put their code in place)", () => {
    const root = scratch();
    mkdirSync(join(root, "shared"), { mode: 0o700 });
    chmodSync(join(root, "shared"), 0o777);

    expect(compileCacheFolder({ DATOMSPOD_CACHE: join(root, "shared", "cache") }, "/x")).toBeUndefined();
    chmodSync(join(root, "shared"), 0o775);
    expect(compileCacheFolder({ DATOMSPOD_CACHE: join(root, "shared", "cache") }, "/x")).toBeUndefined();
  });

  it.skipIf(!isRoot)("gives none when a folder on the way is another user's (root with someone's HOME)", () => {
    const home = scratch();
    chownSync(home, 1000, 1000);
    expect(compileCacheFolder({}, home)).toBeUndefined();
    chownSync(home, 0, 0);
    mkdirSync(join(home, "c"), { mode: 0o700 });
    mkdirSync(join(home, "c", "node-compile-cache"), { mode: 0o700 });
    chownSync(join(home, "c", "node-compile-cache"), 1000, 1000);
    expect(compileCacheFolder({ DATOMSPOD_CACHE: join(home, "c") }, "/x")).toBeUndefined();
  });

  it("gives none, at once, where no folder can be made (a file in the way, /proc)", () => {
    const root = scratch();
    writeFileSync(join(root, "file"), "");
    expect(compileCacheFolder({ DATOMSPOD_CACHE: join(root, "file", "cache") }, "/x")).toBeUndefined();
    const started = Date.now();
    expect(compileCacheFolder({ DATOMSPOD_CACHE: "/proc/datomspod-nowhere/cache" }, "/x")).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
