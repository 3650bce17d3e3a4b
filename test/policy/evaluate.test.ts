/**
 * In-process evaluation with the committed bundle, and the ways a bundle can fail: every one is a
 * PolicyBundleError (exit 4), never a result, let alone a pass.
 */

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { ExitCode } from "../../generator/errors.js";
import { PolicyBundleError, evaluatePolicies, loadPolicyBundle } from "../../generator/policy/evaluate.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { base, split } from "./fixtures.js";
import { NO_OPA, OPA } from "./opa.js";

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "datomspod-policy-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A bundle folder whose policy.wasm is `opa build -t wasm` of `rego` (entrypoint opsc/result). */
function bundleOf(rego: string): string {
  const dir = tempDir();
  mkdirSync(join(dir, "src", "opsc"), { recursive: true });
  writeFileSync(join(dir, "src", "opsc", "opsc.rego"), rego);
  execFileSync(OPA!, ["build", "-t", "wasm", "-e", "opsc/result", "-o", join(dir, "bundle.tar.gz"), join(dir, "src")]);
  execFileSync("tar", ["-xzf", join(dir, "bundle.tar.gz"), "-C", dir, "/policy.wasm", "/data.json"], { stdio: ["ignore", "ignore", "pipe"] });
  return dir;
}

function caught(run: () => unknown): PolicyBundleError {
  try {
    run();
  } catch (error) {
    if (error instanceof PolicyBundleError) return error;
    throw error;
  }
  throw new Error("expected a PolicyBundleError");
}

describe("evaluatePolicies", () => {
  it("judges the base fixture: exact scores, no finding, a pass", () => {
    const [input, scenario] = split(base());

    const result = evaluatePolicies(input, scenario);

    expect({
      scores: result.scores,
      weighted: result.weighted,
      inside: result.inside_region,
      leakage: result.leakage,
      deny: result.deny,
      warn: result.warn,
      pass: result.pass,
    }).toEqual({
      scores: { openness: 34, privacy: 95, security: 100 },
      weighted: 85,
      inside: true,
      leakage: { bytesPerRun: 65536, metadataBitsPerRun: 53, runs: 3, boundBytes: 196628, max: null, ok: true },
      deny: [],
      warn: [],
      pass: true,
    });
  });

  it("returns keys in sorted order, so results serialize byte-identically", () => {
    const [input, scenario] = split(base());

    const first = JSON.stringify(evaluatePolicies(input, scenario));
    const second = JSON.stringify(evaluatePolicies(input, scenario));

    expect(first).toBe(second);
    expect(Object.keys(JSON.parse(first) as object)).toEqual([
      "contract",
      "deny",
      "factors",
      "inside_region",
      "leakage",
      "minimums",
      "pass",
      "region",
      "scenario",
      "scores",
      "warn",
      "weighted",
    ]);
  });

  it("reports the bundle's sha256", () => {
    expect(loadPolicyBundle().sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe.skipIf(NO_OPA !== undefined)(NO_OPA === undefined ? "the committed bundle" : `the committed bundle (skipped: ${NO_OPA})`, () => {
  it("is byte for byte what opa builds from policies/opsc (run policies/build if not)", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "capabilities.json"), execFileSync(process.execPath, [join(PACKAGE_ROOT, "policies", "tools", "capabilities.mjs")]));
    execFileSync(
      OPA!,
      [
        "build",
        "--target",
        "wasm",
        "--entrypoint",
        "opsc/result",
        "--capabilities",
        join(dir, "capabilities.json"),
        "--ignore",
        "*_test.rego",
        "--output",
        join(dir, "bundle.tar.gz"),
        "policies/opsc",
      ],
      { cwd: PACKAGE_ROOT },
    );
    execFileSync("tar", ["-xzf", join(dir, "bundle.tar.gz"), "-C", dir, "/policy.wasm"], { stdio: ["ignore", "ignore", "pipe"] });

    const fresh = readFileSync(join(dir, "policy.wasm"));
    const committed = readFileSync(join(PACKAGE_ROOT, "policies", "bundle", "policy.wasm"));

    expect(fresh.equals(committed)).toBe(true);
  });
});

describe("a broken policy bundle is an error, never a pass", () => {
  it("fails on a missing bundle folder", () => {
    const dir = join(tempDir(), "nowhere");

    const error = caught(() => loadPolicyBundle(dir));

    expect(error.exitCode).toBe(ExitCode.internal);
    expect(error.message).toMatch(/^.*nowhere: cannot read the policy bundle: ENOENT.*\(fix: rebuild it with policies\/build, or reinstall datomspod\)$/);
  });

  it("fails on a policy.wasm that is not WebAssembly", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "policy.wasm"), "not wasm");
    writeFileSync(join(dir, "data.json"), "{}");

    expect(caught(() => loadPolicyBundle(dir)).message).toContain(": policy.wasm does not load: ");
  });

  it("fails on a data.json that is not JSON", () => {
    const dir = tempDir();
    copyFileSync(join(PACKAGE_ROOT, "policies", "bundle", "policy.wasm"), join(dir, "policy.wasm"));
    writeFileSync(join(dir, "data.json"), "{");

    expect(caught(() => loadPolicyBundle(dir)).message).toContain(": cannot read the policy bundle: ");
  });

  it("fails when the result is undefined (an input without a scenario)", () => {
    const [input] = split(base());

    const error = caught(() => evaluatePolicies(input, undefined as never));

    expect(error.message).toBe(
      "policies/bundle: the policy's result for contract ward-statistics is undefined (fix: rebuild it with policies/build, or reinstall datomspod)",
    );
  });

  describe.skipIf(NO_OPA !== undefined)(NO_OPA === undefined ? "with bundles built by opa" : `with bundles built by opa (skipped: ${NO_OPA})`, () => {
    it("fails on a bundle without the opsc/result entrypoint", () => {
      const dir = tempDir();
      mkdirSync(join(dir, "src"));
      writeFileSync(join(dir, "src", "other.rego"), "package other\n\nanswer := 42\n");
      execFileSync(OPA!, ["build", "-t", "wasm", "-e", "other/answer", "-o", join(dir, "bundle.tar.gz"), join(dir, "src")]);
      execFileSync("tar", ["-xzf", join(dir, "bundle.tar.gz"), "-C", dir, "/policy.wasm", "/data.json"], { stdio: ["ignore", "ignore", "pipe"] });

      expect(caught(() => loadPolicyBundle(dir)).message).toContain(": policy.wasm has no entrypoint opsc/result");
    });

    it("fails on a result of another shape, even one that says pass", () => {
      const bundle = loadPolicyBundle(bundleOf('package opsc\n\nresult := {"pass": true}\n'));
      const [input, scenario] = split(base());

      expect(caught(() => bundle.evaluate(input, scenario)).message).toContain(
        "the policy's result for contract ward-statistics does not have the expected shape (/ must have required property 'contract')",
      );
    });

    it("fails on a pass that contradicts the result's own denies", () => {
      const [input, scenario] = split(base());
      const real = evaluatePolicies(input, scenario);
      const lying = { ...real, deny: [{ rule: "network-egress", msg: "egress allowed", details: {} }], pass: true };
      const bundle = loadPolicyBundle(bundleOf(`package opsc\n\nresult := ${JSON.stringify(lying)}\n`));

      expect(caught(() => bundle.evaluate(input, scenario)).message).toContain(
        "the policy's verdict for contract ward-statistics contradicts its own findings",
      );
    });

    it("fails on an evaluation error", () => {
      const bundle = loadPolicyBundle(bundleOf("package opsc\n\nresult := x if {\n\tx := input.a\n}\n\nresult := y if {\n\ty := input.b\n}\n"));
      const [input, scenario] = split(base());

      const error = caught(() => bundle.evaluate({ ...input, a: 1, b: 2 } as never, scenario));

      expect(error.message).toContain("evaluating contract ward-statistics failed: ");
    });
  });
});
