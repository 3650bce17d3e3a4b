/**
 * The contract validator `npm run build` precompiles (generator/contract/build-validator.ts, used
 * by every role in the pod) answers as the schema compiled at run time does, and is used only when
 * it was compiled from the schema as it is now.
 */

import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { contractValidatorCode, runSchemas, schemaValidatorsCode } from "../../generator/contract/build-validator.js";
import {
  CONTRACT_VALIDATOR_FILE,
  compileSchema,
  contractSchema,
  newAjv,
  precompiledContractValidator,
  precompiledValidators,
  schemaKey,
  validateAgainst,
} from "../../generator/contract/schema.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";

// Beside the schema module, where `require("ajv/dist/runtime/…")` of the standalone code resolves.
const DIR = join(PACKAGE_ROOT, "generator", "contract");
const written: string[] = [];

function writeValidator(name: string, code: string): string {
  const file = join(DIR, name);
  writeFileSync(file, code);
  written.push(file);
  return file;
}

afterEach(() => {
  for (const file of written.splice(0)) rmSync(file, { force: true });
});

const example = (id: string): Record<string, any> => JSON.parse(readFileSync(join(PACKAGE_ROOT, "contracts", id, "contract.json"), "utf8"));

const DOCUMENTS: [string, () => unknown][] = [
  ["hospital-stats as committed", () => example("hospital-stats")],
  ["bank-credit-model as committed", () => example("bank-credit-model")],
  ["a missing required field", () => ({ ...example("hospital-stats"), parties: undefined })],
  ["an unknown field", () => ({ ...example("hospital-stats"), extra: 1 })],
  ["a wrong type", () => ({ ...example("hospital-stats"), id: 7 })],
  ["a pattern not matched", () => ({ ...example("hospital-stats"), id: "Not A Label" })],
  ["a data asset without its kind", () => ({ ...example("hospital-stats"), inputs: { ...example("hospital-stats")["inputs"], data: [{}] } })],
  ["not an object", () => []],
];

describe("the precompiled contract validator", () => {
  it.each(DOCUMENTS)("gives the run-time validator's issues for %s", (name, document) => {
    const precompiled = precompiledContractValidator(writeValidator(`.test-${process.pid}-a.cjs`, contractValidatorCode()));
    const compiled = newAjv().compile(contractSchema);
    const value = JSON.parse(JSON.stringify(document()));

    const issues = validateAgainst(precompiled!, value, "contract.json");

    expect(issues).toEqual(validateAgainst(compiled, value, "contract.json"));
    expect(issues.length > 0).toBe(!name.endsWith("as committed"));
  });

  it("is refused when it was compiled from another schema", () => {
    const stale = contractValidatorCode().replace(/schemaSha256 = "[0-9a-f]{64}"/, `schemaSha256 = "${"0".repeat(64)}"`);

    const validator = precompiledContractValidator(writeValidator(`.test-${process.pid}-b.cjs`, stale));

    expect(validator).toBeUndefined();
  });

  it("is refused when it is not there", () => {
    expect(precompiledContractValidator(join(DIR, `.absent-${CONTRACT_VALIDATOR_FILE}`))).toBeUndefined();
  });
});

describe("the precompiled validators of the run's other schemas", () => {
  const local = (): unknown => parse(readFileSync(join(PACKAGE_ROOT, "clusters", "local", "cluster.yaml"), "utf8"));
  const others: [string, () => unknown][] = [
    ["an empty object", () => ({})],
    ["an array", () => []],
    ["a string", () => "x"],
    ["an unknown field", () => ({ unknown: 1 })],
    ["the local cluster profile", local],
    ["the local profile with a wrong type", () => ({ ...(local() as object), name: 7 })],
  ];

  it.each(runSchemas().flatMap((schema, i) => others.map(([name, document]) => [i, name, schema, document] as const)))(
    "schema %i gives the run-time validator's issues for %s",
    (_i, _name, schema, document) => {
      const validators = precompiledValidators(writeValidator(`.test-${process.pid}-c.cjs`, schemaValidatorsCode()));
      const value = JSON.parse(JSON.stringify(document()));

      const precompiled = validators[schemaKey(schema)];

      expect(precompiled).toBeTypeOf("function");
      expect(validateAgainst(precompiled, value, "file")).toEqual(validateAgainst(newAjv().compile(schema), value, "file"));
    },
  );

  it("holds no validator for a schema changed since, which is then compiled at run time", () => {
    const validators = precompiledValidators(writeValidator(`.test-${process.pid}-d.cjs`, schemaValidatorsCode()));
    const changed = { ...(runSchemas()[0] as Record<string, unknown>), title: "changed" };

    expect(validators[schemaKey(changed)]).toBeUndefined();
    expect(validateAgainst(compileSchema(changed), {}, "file").length).toBeGreaterThan(0);
  });
});
