/**
 * Validation against the published JSON Schema (contracts/contract.schema.json, 2020-12, ajv strict).
 * Every violation is collected with its JSON path; validation never stops at the first.
 *
 * The contract's validator is compiled from the schema by `npm run build` (build-validator.ts,
 * ajv's standalone code, same options) and used when it was compiled from this very schema (its
 * sha256 matches); otherwise the schema is compiled here. Compiling it costs ~0.3 s of CPU, which
 * each of the pod's roles paid under a quarter of a CPU. ajv itself is loaded only to compile.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Ajv2020, ErrorObject, Options, ValidateFunction } from "ajv/dist/2020.js";
import type { Issue } from "../errors.js";
import { packageFile } from "../repo/package-root.js";
import { jsonPath } from "./json.js";

export const CONTRACT_SCHEMA_FILE = "contracts/contract.schema.json";
const contractSchemaText = readFileSync(packageFile(CONTRACT_SCHEMA_FILE), "utf8");
export const contractSchema = JSON.parse(contractSchemaText) as Record<string, unknown>;
/** sha256 of the schema file: the precompiled validator carries the one it was compiled from. */
export const contractSchemaSha256 = createHash("sha256").update(contractSchemaText).digest("hex");
/** The precompiled validator, beside this module in dist/ (CommonJS, as ajv's standalone code is). */
export const CONTRACT_VALIDATOR_FILE = "contract-validator.cjs";

const load = createRequire(import.meta.url);

export function newAjv(options: Options = {}): Ajv2020 {
  const { Ajv2020 } = load("ajv/dist/2020.js") as { Ajv2020: new (options: Options) => Ajv2020 };
  return new Ajv2020({ strict: true, allErrors: true, strictRequired: false, verbose: true, ...options });
}

/** The validator `npm run build` compiled, when it was compiled from this very schema; undefined otherwise. */
export function precompiledContractValidator(file = `./${CONTRACT_VALIDATOR_FILE}`): ValidateFunction | undefined {
  let compiled: (ValidateFunction & { schemaSha256?: unknown }) | undefined;
  try {
    compiled = load(file) as ValidateFunction & { schemaSha256?: unknown };
  } catch {
    return undefined;
  }
  return typeof compiled === "function" && compiled.schemaSha256 === contractSchemaSha256 ? compiled : undefined;
}

let contractValidator: ValidateFunction | undefined;

/**
 * The other schemas a run validates against (the cluster profile, environments, OPS-C scenarios
 * and results, signature records), compiled by `npm run build` into one file of ajv's standalone
 * validators keyed by the sha256 of each schema's JSON (build-validator.ts). Compiling them at run
 * time cost `datomspod run` ≈ 0.25 s of CPU.
 */
export const PRECOMPILED_VALIDATORS_FILE = "schema-validators.cjs";

/** The key of a schema among the precompiled validators: sha256 of its JSON text. */
export function schemaKey(schema: object): string {
  return `v${createHash("sha256").update(JSON.stringify(schema)).digest("hex")}`;
}

/** The precompiled validators in `file`, by schema key; none when the file is not there. */
export function precompiledValidators(file = `./${PRECOMPILED_VALIDATORS_FILE}`): Readonly<Record<string, ValidateFunction>> {
  let loaded: unknown;
  try {
    loaded = load(file);
  } catch {
    return {};
  }
  return Object.fromEntries(
    Object.entries(loaded as Record<string, unknown>).filter((entry): entry is [string, ValidateFunction] => typeof entry[1] === "function"),
  );
}

let precompiled: Readonly<Record<string, ValidateFunction>> | undefined;

/** The validator of `schema`: the one `npm run build` compiled from this very schema (same key), else compiled here (same ajv, same options). */
export function compileSchema(schema: object): ValidateFunction {
  precompiled ??= precompiledValidators();
  return precompiled[schemaKey(schema)] ?? newAjv().compile(schema);
}

function validator(): ValidateFunction {
  contractValidator ??= precompiledContractValidator() ?? newAjv().compile(contractSchema);
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

interface Branch {
  readonly required?: readonly string[];
  readonly properties?: { readonly kind?: { readonly const?: unknown } };
}

/** The `kind` constants of a `oneOf`'s branches, when every branch has one. */
function kindsOf(branches: unknown): unknown[] | undefined {
  if (!Array.isArray(branches)) return undefined;
  const kinds = (branches as Branch[]).map((branch) => branch.properties?.kind?.const);
  return kinds.length > 0 && kinds.every((kind) => kind !== undefined) ? kinds : undefined;
}

const list = (values: readonly unknown[]): string => values.map((v) => JSON.stringify(v)).join(", ");

/** Readable messages for ajv errors, each with a fix. */
function describe(error: ErrorObject): { path: string; message: string; fix: string } {
  const path = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  const described = (error.parentSchema as { description?: unknown } | undefined)?.description;
  switch (error.keyword) {
    case "additionalProperties":
      return {
        path: jsonPath(path, String(params["additionalProperty"])),
        message: `unknown field ${JSON.stringify(params["additionalProperty"])}`,
        fix: "remove it or check its spelling",
      };
    case "required":
      return {
        path: jsonPath(path, String(params["missingProperty"])),
        message: `missing required field ${JSON.stringify(params["missingProperty"])}`,
        fix: "add it",
      };
    case "pattern":
      return {
        path,
        message: `does not match the required format ${String(params["pattern"])}`,
        fix: typeof described === "string" ? `use the format: ${described.replace(/\.$/, "")}` : "write a value in that format",
      };
    case "enum":
      return { path, message: `must be one of ${list(params["allowedValues"] as unknown[])}`, fix: "use one of these values" };
    case "const":
      return { path, message: `must be ${JSON.stringify(params["allowedValue"])}`, fix: `set it to ${JSON.stringify(params["allowedValue"])}` };
    case "type":
      return { path, message: `must be ${String(params["type"])}`, fix: `write a JSON ${String(params["type"])} here` };
    case "oneOf": {
      const kinds = kindsOf(error.schema);
      if (kinds !== undefined)
        return { path: jsonPath(path, "kind"), message: `missing required field "kind" (one of ${list(kinds)})`, fix: "add the kind of this entry" };
      const names = ((error.schema as Branch[] | undefined) ?? []).flatMap((branch) => branch.required ?? []);
      return { path, message: `needs exactly one of ${list(names)}`, fix: "keep exactly one of them" };
    }
    default:
      return { path, message: error.message ?? error.keyword, fix: "change the value so that it satisfies this rule" };
  }
}

/**
 * ajv reports every branch of a failed `oneOf`. When the branches are told apart by a `kind`
 * constant, keep only the errors of the branch the document chose (or one error listing the kinds
 * when it chose none); when they differ by which field is present, one error naming the fields.
 */
function relevant(errors: readonly ErrorObject[]): ErrorObject[] {
  const dropped = new Set<ErrorObject>();
  const added: ErrorObject[] = [];
  for (const oneOf of errors.filter((e) => e.keyword === "oneOf")) {
    const prefix = `${oneOf.schemaPath}/`;
    const branchOf = (e: ErrorObject): string => e.schemaPath.slice(prefix.length).split("/")[0];
    const inside = errors.filter(
      (e) => e !== oneOf && e.schemaPath.startsWith(prefix) && (e.instancePath === oneOf.instancePath || e.instancePath.startsWith(`${oneOf.instancePath}/`)),
    );
    const discriminators = inside.filter((e) => e.keyword === "const" && e.instancePath === `${oneOf.instancePath}/kind`);
    if (discriminators.length > 0) {
      const rejected = new Set(discriminators.map(branchOf));
      dropped.add(oneOf);
      for (const e of inside) if (rejected.has(branchOf(e))) dropped.add(e);
      if (inside.every((e) => rejected.has(branchOf(e)))) {
        added.push({
          ...discriminators[0],
          keyword: "enum",
          params: { allowedValues: discriminators.map((e) => (e.params as { allowedValue: unknown }).allowedValue) },
        });
      }
      continue;
    }
    const data = oneOf.data;
    const missingKind = kindsOf(oneOf.schema) !== undefined && typeof data === "object" && data !== null && !Array.isArray(data) && !("kind" in data);
    const whichField = inside.every((e) => e.keyword === "required");
    if (missingKind || whichField) inside.forEach((e) => dropped.add(e));
    else dropped.add(oneOf);
  }
  return [...errors.filter((e) => !dropped.has(e)), ...added];
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
