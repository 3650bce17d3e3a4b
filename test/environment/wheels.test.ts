/**
 * The wheel cache against real PyPI (small wheels): a lock's wheels come down hash-checked into
 * ~/.cache/datomspod/wheels/<sha256>/, whatever pip settings the machine has; a cached wheel whose
 * bytes changed is not used; a hash the index does not serve is refused.
 */

import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ensureWheels } from "../../generator/environment/build.js";
import { loadEnvironment } from "../../generator/environment/environment.js";
import { HOST_PYTHON } from "../../generator/environment/exec.js";
import type { LockedPackage } from "../../generator/environment/lock.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";

/** Two small pure-Python wheels, as python-torch's lock pins them. */
const torch = loadEnvironment(PACKAGE_ROOT, "python-torch", { file: "test", path: "$" });
const lock = readFileSync(join(torch.dir, "requirements.lock"), "utf8");
function locked(name: string): LockedPackage {
  const match = new RegExp(`^${name}==(\\S+) \\\\\\n\\s+--hash=sha256:([0-9a-f]{64})`, "m").exec(lock);
  if (match === null) throw new Error(`python-torch's lock has no ${name}`);
  return { name, version: match[1] ?? "", hashes: [match[2] ?? ""], line: 1 };
}
const SMALL = [locked("mpmath"), locked("typing-extensions")];

const noPython = existsSync(HOST_PYTHON) ? undefined : `${HOST_PYTHON} is not installed`;
const slow = { timeout: 300_000 };
const saved = { ...process.env };

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

describe.skipIf(noPython !== undefined)("the wheel cache", () => {
  function cache(t: { onTestFinished: (fn: () => void) => void }): string {
    const dir = mkdtempSync(join(tmpdir(), "datomspod-wheels-"));
    t.onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it("downloads each wheel of the lock from PyPI once, into a folder named by its sha256, ignoring the machine's pip settings", slow, async (t) => {
    const dir = cache(t);
    // A user's or a machine's pip configuration must not move datomspod to another index.
    process.env["PIP_INDEX_URL"] = "http://127.0.0.1:9/simple";
    process.env["PIP_EXTRA_INDEX_URL"] = "http://127.0.0.1:9/simple";
    process.env["PIP_FIND_LINKS"] = "/nonexistent";
    const lines: string[] = [];

    const first = await ensureWheels(torch, SMALL, dir, (line) => lines.push(line));
    const again = await ensureWheels(torch, SMALL, dir, (line) => lines.push(line));

    for (const [i, wheel] of first.entries()) {
      expect(wheel.path).toBe(join(dir, "wheels", SMALL[i].hashes[0], wheel.path.split("/").pop()!));
      expect(wheel.path.endsWith(".whl")).toBe(true);
      expect(sha256(wheel.path)).toBe(SMALL[i].hashes[0]);
    }
    expect(again.map((w) => w.path)).toEqual(first.map((w) => w.path));
    expect(lines).toEqual(["downloading 2 wheels of python-torch from PyPI (hash-checked)"]);
  });

  it("does not use a cached wheel whose bytes changed: it downloads it again", slow, async (t) => {
    const dir = cache(t);
    const [wheel] = await ensureWheels(torch, SMALL.slice(0, 1), dir, () => undefined);
    writeFileSync(wheel.path, "not the wheel the lock pins");
    const lines: string[] = [];

    const [again] = await ensureWheels(torch, SMALL.slice(0, 1), dir, (line) => lines.push(line));

    expect(sha256(again.path)).toBe(SMALL[0].hashes[0]);
    expect(lines[0]).toContain("no longer hashes to");
  });

  it("refuses a lock that pins one package with the hash of another's wheel", slow, async (t) => {
    const dir = cache(t);
    await ensureWheels(torch, SMALL, dir, () => undefined);
    const swapped = { ...SMALL[0], hashes: SMALL[1].hashes, line: 7 };

    await expect(ensureWheels(torch, [swapped], dir, () => undefined)).rejects.toThrow(
      /environments\/python-torch\/requirements\.lock: environment python-torch: line 7 pins mpmath==[^ ]+ with the hash of typing_extensions-/,
    );
  });

  it("refuses a lock whose hash is not the file's, naming the environment", slow, async (t) => {
    const dir = cache(t);
    const forged = { ...SMALL[0], hashes: ["0".repeat(64)] };

    await expect(ensureWheels(torch, [forged], dir, () => undefined)).rejects.toThrow(
      /environment python-torch: downloading its wheels from PyPI failed: .*(hash|HASH)/s,
    );
    expect(existsSync(join(dir, "wheels", "0".repeat(64)))).toBe(false);
  });
});
