/**
 * Strict validation of rendered objects (unknown fields rejected) against the Kubernetes 1.30 and
 * Argo CD 3.6 schemas in generator/compile/schemas/ (derived from the official OpenAPI spec and
 * CRDs; see the README there). The same schemas drive kubeconform in CI.
 */

import { existsSync, readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import type { Issue } from "../errors.js";
import { pointerToPath } from "../contract/schema.js";
import { packageFile } from "../repo/package-root.js";
import type { K8sObject } from "./instance.js";

const validators = new Map<string, ValidateFunction>();
let ajv: Ajv | undefined;

/** kubeconform's file name for a kind: `<kind>-<first label of the group>-<version>.json`. */
export function schemaFileName(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const prefix = group === "" ? "" : `-${(group ?? "").split(".")[0]}`;
  return `${kind.toLowerCase()}${prefix}-${version}.json`;
}

function validatorFor(apiVersion: string, kind: string): ValidateFunction | undefined {
  const name = schemaFileName(apiVersion, kind);
  const cached = validators.get(name);
  if (cached !== undefined) return cached;
  const path = packageFile("generator", "compile", "schemas", name);
  if (!existsSync(path)) return undefined;
  const { $schema: _ignored, ...schema } = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  ajv ??= new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  validators.set(name, validate);
  return validate;
}

/** Every problem of every object; `where` is the folder the objects are written to. */
export function validateObjects(objects: readonly K8sObject[], where: string): Issue[] {
  const issues: Issue[] = [];
  for (const object of objects) {
    const file = `${where}/${object.kind}/${object.metadata.name}`;
    const validate = validatorFor(object.apiVersion, object.kind);
    if (validate === undefined) {
      issues.push({ file, path: "$.kind", message: `no schema for ${object.apiVersion} ${object.kind}`, fix: "this is a generator bug: report it" });
      continue;
    }
    const plain = JSON.parse(JSON.stringify(object)) as unknown;
    if (!validate(plain)) {
      for (const error of validate.errors ?? []) {
        const extra = error.keyword === "additionalProperties" ? ` ${JSON.stringify((error.params as { additionalProperty: string }).additionalProperty)}` : "";
        issues.push({ file, path: pointerToPath(error.instancePath), message: `${error.message ?? error.keyword}${extra} (Kubernetes schema)`, fix: "this is a generator bug: report it" });
      }
    }
  }
  return issues;
}
