#!/usr/bin/env node
/**
 * Prints the capabilities `opa build -t wasm` is held to: the builtins (and wasm ABI versions) of
 * the installed @open-policy-agent/opa-wasm, so a builtin the SDK cannot run fails the build,
 * plus the rego_v1 language feature, which that file predates (without it OPA v1 syntax does
 * not parse). Usage: node policies/tools/capabilities.mjs > caps.json
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
// The package exports no package.json; its main module is src/index.cjs.
const sdk = dirname(dirname(require.resolve("@open-policy-agent/opa-wasm")));
const shipped = JSON.parse(readFileSync(join(sdk, "capabilities.json"), "utf8"));
if (!Array.isArray(shipped.builtins) || shipped.builtins.length === 0) {
  throw new Error(`${join(sdk, "capabilities.json")} lists no builtins`);
}
process.stdout.write(`${JSON.stringify({ ...shipped, features: ["rego_v1"] })}\n`);
