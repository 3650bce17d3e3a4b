/**
 * Strict validation of rendered objects (unknown fields rejected) against the Kubernetes 1.30 and
 * Argo CD 3.6 schemas in generator/compile/schemas/ (derived from the official OpenAPI spec and CRDs,
 * see the README there). The schemas use a small set of keywords, interpreted here directly: no code
 * generation, so validating a thousand instances costs no schema compilation. CI also runs the real
 * kubeconform over clusters/ with the same schemas (.ci/checks/kubeconform), and a test holds the two
 * to the same verdicts.
 */

import { existsSync, readFileSync } from "node:fs";
import type { Issue } from "../errors.js";
import { jsonPath } from "../contract/json.js";
import { packageFile } from "../repo/package-root.js";
import type { K8sObject } from "./instance.js";

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
};

const schemas = new Map<string, Schema | null>();
const patterns = new Map<string, RegExp>();

/** kubeconform's file name for a kind: `<kind>-<first label of the group>-<version>.json`. */
export function schemaFileName(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const prefix = group === "" ? "" : `-${(group ?? "").split(".")[0]}`;
  return `${kind.toLowerCase()}${prefix}-${version}.json`;
}

function schemaFor(apiVersion: string, kind: string): Schema | null {
  const name = schemaFileName(apiVersion, kind);
  let schema = schemas.get(name);
  if (schema === undefined) {
    const path = packageFile("generator", "compile", "schemas", name);
    schema = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Schema) : null;
    schemas.set(name, schema);
  }
  return schema;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(actual: string, wanted: string | string[]): boolean {
  const list = Array.isArray(wanted) ? wanted : [wanted];
  return list.includes(actual) || (actual === "integer" && list.includes("number"));
}

/** Problems of `value` against `schema`, each as [JSON path, message]. */
export function check(schema: Schema, value: unknown, path: string, out: [string, string][]): void {
  const actual = typeOf(value);
  if (schema.type !== undefined && !typeMatches(actual, schema.type)) {
    out.push([path, `must be ${Array.isArray(schema.type) ? schema.type.join(" or ") : schema.type}, not ${actual}`]);
    return;
  }
  if (schema.enum !== undefined && !schema.enum.some((option) => option === value))
    out.push([path, `must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`]);
  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength) out.push([path, `must have at least ${schema.minLength} characters`]);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) out.push([path, `must have at most ${schema.maxLength} characters`]);
    if (schema.pattern !== undefined) {
      let regex = patterns.get(schema.pattern);
      if (regex === undefined) {
        regex = new RegExp(schema.pattern, "u");
        patterns.set(schema.pattern, regex);
      }
      if (!regex.test(value)) out.push([path, `must match ${schema.pattern}`]);
    }
  }
  for (const [keyword, alternatives] of [
    ["oneOf", schema.oneOf],
    ["anyOf", schema.anyOf],
  ] as const) {
    if (alternatives === undefined) continue;
    const passing = alternatives.filter((alternative) => {
      const inner: [string, string][] = [];
      check(alternative, value, path, inner);
      return inner.length === 0;
    }).length;
    if (keyword === "oneOf" ? passing !== 1 : passing === 0)
      out.push([path, `must match ${keyword === "oneOf" ? "exactly one" : "at least one"} of its alternatives`]);
  }
  if (actual === "array" && schema.items !== undefined) {
    (value as unknown[]).forEach((item, i) => check(schema.items!, item, jsonPath(path, i), out));
  }
  if (actual === "object") {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in object)) out.push([jsonPath(path, key), "is required"]);
    for (const [key, child] of Object.entries(object)) {
      const property = schema.properties?.[key];
      if (property !== undefined) check(property, child, jsonPath(path, key), out);
      else if (typeof schema.additionalProperties === "object") check(schema.additionalProperties, child, jsonPath(path, key), out);
      else if (
        schema.additionalProperties === false ||
        (schema.additionalProperties === undefined && schema.properties !== undefined && schema["x-kubernetes-preserve-unknown-fields"] !== true)
      ) {
        out.push([jsonPath(path, key), "is not a field of this object"]);
      }
    }
  }
}

/** Every problem of every object; `where` is the folder the objects are written to. */
export function validateObjects(objects: readonly K8sObject[], where: string): Issue[] {
  const issues: Issue[] = [];
  for (const object of objects) {
    const file = `${where}/${object.kind}/${object.metadata.name}`;
    const schema = schemaFor(object.apiVersion, object.kind);
    if (schema === null) {
      issues.push({ file, path: "$.kind", message: `no schema for ${object.apiVersion} ${object.kind}`, fix: "this is a generator bug: report it" });
      continue;
    }
    const found: [string, string][] = [];
    check(schema, JSON.parse(JSON.stringify(object)) as unknown, "$", found);
    for (const [path, message] of found) issues.push({ file, path, message: `${message} (Kubernetes schema)`, fix: "this is a generator bug: report it" });
  }
  return issues;
}
