/**
 * In-process evaluation of the OPS-C policy: the wasm module `opa build -t wasm` compiled from
 * policies/opsc (committed as policies/bundle/), run with @open-policy-agent/opa-wasm. The module
 * is loaded once; each evaluation is a pure function of its input. An evaluation error, an
 * undefined result or a result of the wrong shape throws a PolicyBundleError: a broken bundle is
 * never a pass.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import type { LoadedPolicy } from "@open-policy-agent/opa-wasm";
import type { ValidateFunction } from "ajv";
import { DatomspodError, ExitCode, type Issue } from "../errors.js";
import { compileSchema } from "../contract/schema.js";
import { display } from "../repo/files.js";
import { PACKAGE_ROOT, packageFile } from "../repo/package-root.js";
import type { PolicyInput } from "./input.js";
import { AXES, type Scenario } from "./scenarios.js";
import { POLICY_RESULT_SCHEMA, type PolicyResult } from "./result.js";

/**
 * The SDK's ES module exports only the asynchronous loadPolicy; its CommonJS entry also has the
 * synchronous loader, which keeps evaluation a plain function call.
 */
const sdk = createRequire(import.meta.url)("@open-policy-agent/opa-wasm") as {
  loadPolicySync(wasm: Uint8Array, memory?: number): LoadedPolicy;
};

export const BUNDLE_DIR = "policies/bundle";
export const ENTRYPOINT = "opsc/result";

/** The bundled policy could not be loaded or did not answer as it must: exit 4. */
export class PolicyBundleError extends DatomspodError {
  readonly exitCode = ExitCode.internal;

  static of(issue: Issue): PolicyBundleError {
    return new PolicyBundleError(`${issue.file}: ${issue.message}${issue.fix ? ` (fix: ${issue.fix})` : ""}`, [issue]);
  }
}

export interface PolicyBundle {
  /** Bundle folder as shown in messages. */
  readonly file: string;
  /** sha256 hex of policy.wasm. */
  readonly sha256: string;
  evaluate(input: PolicyInput, scenario: Scenario): PolicyResult;
}

let resultValidator: ValidateFunction | undefined;

function validResult(value: unknown): value is PolicyResult {
  resultValidator ??= compileSchema(POLICY_RESULT_SCHEMA);
  return resultValidator(value);
}

/** Objects with their keys sorted, so results serialize the same whatever order wasm produced. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** The verdict must follow from the rest of the result; a bundle that says otherwise is broken. */
function consistent(result: PolicyResult): boolean {
  const expected = result.deny.length === 0 && result.inside_region && result.leakage.ok && AXES.every((axis) => result.minimums[axis].ok);
  return result.pass === expected;
}

/** Loads policy.wasm and data.json from `dir` (default: the package's policies/bundle). */
export function loadPolicyBundle(dir = packageFile(BUNDLE_DIR)): PolicyBundle {
  const file = display(PACKAGE_ROOT, dir);
  const broken = (message: string, fix = "rebuild it with policies/build, or reinstall datomspod"): PolicyBundleError =>
    PolicyBundleError.of({ file, path: "$", message, fix });
  let wasm: Buffer;
  let data: unknown;
  try {
    wasm = readFileSync(join(dir, "policy.wasm"));
    data = JSON.parse(readFileSync(join(dir, "data.json"), "utf8"));
  } catch (error) {
    throw broken(`cannot read the policy bundle: ${(error as Error).message}`);
  }
  let policy: LoadedPolicy;
  try {
    policy = sdk.loadPolicySync(wasm);
    policy.setData(data as object);
  } catch (error) {
    throw broken(`policy.wasm does not load: ${(error as Error).message}`);
  }
  if (!Object.hasOwn(policy.entrypoints as object, ENTRYPOINT)) throw broken(`policy.wasm has no entrypoint ${ENTRYPOINT}`);
  const sha256 = createHash("sha256").update(wasm).digest("hex");

  return {
    file,
    sha256,
    evaluate(input: PolicyInput, scenario: Scenario): PolicyResult {
      const where = `contract ${input.contract.id}`;
      let answer: unknown;
      try {
        answer = policy.evaluate({ ...input, scenario }, ENTRYPOINT);
      } catch (error) {
        throw broken(`evaluating ${where} failed: ${(error as Error).message}`);
      }
      const results = Array.isArray(answer) ? (answer as { result?: unknown }[]) : [];
      if (results.length !== 1 || results[0]?.result === undefined) throw broken(`the policy's result for ${where} is undefined`);
      const result = sortKeys(results[0].result);
      if (!validResult(result)) {
        const first = resultValidator?.errors?.[0];
        throw broken(
          `the policy's result for ${where} does not have the expected shape (${first ? `${first.instancePath || "/"} ${first.message ?? ""}` : "unknown"})`,
        );
      }
      if (!consistent(result)) throw broken(`the policy's verdict for ${where} contradicts its own findings`);
      return result;
    },
  };
}

let defaultBundle: PolicyBundle | undefined;

/**
 * Judges one contract's instance under `scenario` with the package's bundled policy (loaded on
 * first use). Throws PolicyBundleError when the policy cannot give a well-formed answer.
 */
export function evaluatePolicies(input: PolicyInput, scenario: Scenario): PolicyResult {
  defaultBundle ??= loadPolicyBundle();
  return defaultBundle.evaluate(input, scenario);
}
