/**
 * Validation against the published JSON Schema (contracts/contract.schema.json, 2020-12, ajv strict).
 * Every violation is collected with its JSON path; validation never stops at the first.
 */

import { readFileSync } from "node:fs";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import type { Issue } from "../errors.js";
import { packageFile } from "../repo/package-root.js";
import { jsonPath } from "./json.js";

export const CONTRACT_SCHEMA_FILE = "contracts/contract.schema.json";
export const contractSchema = JSON.parse(readFileSync(packageFile(CONTRACT_SCHEMA_FILE), "utf8")) as Record<string, unknown>;

export function newAjv(): Ajv2020 {
  return new Ajv2020({ strict: true, allErrors: true, strictRequired: false });
}

let contractValidator: ValidateFunction | undefined;

function validator(): ValidateFunction {
  contractValidator ??= newAjv().compile(contractSchema);
  return contractValidator;
}

/** Turns a JSON pointer (`/inputs/data/0/did`) into a JSON path (`$.inputs.data[0].did`). */
export function pointerToPath(pointer: string): string {
  if (pointer === "") return "$";
  return pointer
    .slice(1)
    .split("/")
    .map((segment) => segment.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce<string>((path, segment) => jsonPath(path, /^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : segment), "$");
}

/** Readable messages for ajv errors, and a fix where one is obvious. */
function describe(error: ErrorObject): { path: string; message: string; fix?: string } {
  const path = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties":
      return {
        path: jsonPath(path, String(params["additionalProperty"])),
        message: `unknown field ${JSON.stringify(params["additionalProperty"])}`,
        fix: "remove it or check its spelling against contracts/contract.schema.json",
      };
    case "required":
      return {
        path: jsonPath(path, String(params["missingProperty"])),
        message: `missing required field ${JSON.stringify(params["missingProperty"])}`,
        fix: "add it",
      };
    case "pattern":
      return { path, message: `does not match the required format ${String(params["pattern"])}` };
    case "enum":
      return { path, message: `must be one of ${(params["allowedValues"] as unknown[]).map((v) => JSON.stringify(v)).join(", ")}` };
    case "const":
      return { path, message: `must be ${JSON.stringify(params["allowedValue"])}` };
    default:
      return { path, message: error.message ?? error.keyword };
  }
}

/**
 * ajv reports every branch of a failed `oneOf`; keep the most specific errors: drop the `oneOf`
 * summary when the branch errors say more, and drop `const` mismatches on `kind` discriminators
 * of branches the document did not choose.
 */
function relevant(errors: readonly ErrorObject[]): ErrorObject[] {
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) byPath.set(e.instancePath, [...(byPath.get(e.instancePath) ?? []), e]);
  return errors.filter((e) => {
    if (e.keyword === "const" && e.instancePath.endsWith("/kind")) return false;
    if (e.keyword === "oneOf" || e.keyword === "if") {
      const deeper = errors.some((o) => o !== e && o.instancePath.startsWith(e.instancePath) && o.keyword !== "const");
      return !deeper;
    }
    return true;
  });
}

export function validateAgainst(validate: ValidateFunction, value: unknown, file: string): Issue[] {
  if (validate(value)) return [];
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const error of relevant(validate.errors ?? [])) {
    const issue = { file, ...describe(error) };
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function validateContractSchema(value: unknown, file: string): Issue[] {
  return validateAgainst(validator(), value, file);
}
