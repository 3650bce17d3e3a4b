/**
 * The supervisor is Go: its unit tests are `go test` in generator/pod/supervise; this runs them
 * (and the reproducible build) as part of the project's tests.
 */

import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildSupervisor, execTool } from "../../generator/run/exec.js";
import { SUPERVISE_BUILD_SCRIPT } from "../../generator/run/images.js";
import { packageFile } from "../../generator/repo/package-root.js";

const env = { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/local/go/bin` };
const go = await execTool("go", ["version"], { env, allowFailure: true }).catch(() => undefined);
if (go === undefined) console.warn("SKIPPED supervisor tests: go is not installed (see .ci/setup)");

describe.skipIf(go === undefined)("supervise", () => {
  it("passes its Go tests (deadline, exit codes, signals, OOM evidence, log cap, gate)", { timeout: 300_000 }, async () => {
    const result = await execTool("go", ["test", "-count=1", "./..."], {
      cwd: packageFile("generator", "pod", "supervise"),
      env: { ...env, CGO_ENABLED: "0" },
      allowFailure: true,
      timeoutMs: 280_000,
    });

    expect(result.stdout + result.stderr).toMatch(/^ok\s+datomspod\.local\/supervise\s/m);
    expect(result.code).toBe(0);
  });

  it("builds a static binary, byte-identical on a rebuild, cached by its sources' hash", { timeout: 300_000 }, async () => {
    const cache = mkdtempSync(join(tmpdir(), "datomspod-supervise-"));
    const saved = process.env.DATOMSPOD_CACHE;
    try {
      const script = packageFile(SUPERVISE_BUILD_SCRIPT);
      process.env.DATOMSPOD_CACHE = cache;
      const first = await buildSupervisor(script);
      const firstHash = createHash("sha256").update(readFileSync(first)).digest("hex");
      rmSync(join(cache, "supervise"), { recursive: true });
      const second = await buildSupervisor(script);

      expect(second).toBe(first);
      expect(first).toMatch(new RegExp(`^${cache}/supervise/[0-9a-f]{16}/supervise$`));
      expect(createHash("sha256").update(readFileSync(second)).digest("hex")).toBe(firstHash);
      const elf = readFileSync(second);
      expect(elf.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
      expect(elf.includes(Buffer.from("/lib64/ld-linux"))).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.DATOMSPOD_CACHE;
      else process.env.DATOMSPOD_CACHE = saved;
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
