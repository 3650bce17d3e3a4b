#!/usr/bin/env node
// .ci/tools/k8s-schemas.mjs — turn Kubernetes' OpenAPI v2 spec and CRDs into
// strict, standalone JSON schemas in kubeconform's local layout. Node built-ins
// only. Normally run through .ci/tools/k8s-schemas, which fetches the inputs.
//
// Usage:
//   node k8s-schemas.mjs --out DIR --swagger swagger.json --k8s-version v1.30.14
//     [--k8s-sum h1:...] [--k8s-license FILE]
//     [--crd CRD.json --crd-source NAME]... [--argocd-version 3.6.0] [--argocd-license FILE]
//
// --crd takes a CRD already converted from YAML to JSON (the wrapper uses
// `opa eval`); --crd-source is the file name recorded in the README.
//
// What it does — the transformation `openapi2jsonschema --kubernetes --strict
// --stand-alone` (and kubeconform's scripts/openapi2jsonschema.py for CRDs):
//   * one file per kind: <kind>-<first label of group>-<version>.json, lowercase,
//     core group: <kind>-<version>.json (kubeconform's {{ .ResourceKind }}{{ .KindSuffix }});
//   * standalone: every $ref is inlined (a $ref cycle is an error);
//   * strict: every schema object that has "properties" and no
//     "additionalProperties" gets "additionalProperties": false, the root too,
//     except where x-kubernetes-preserve-unknown-fields is true;
//   * "format": "int-or-string" becomes oneOf string|integer, and
//     resource.Quantity oneOf string|number (what the API server accepts);
//   * apiVersion and kind get an enum of the one group/version and kind;
//   * CRDs: the root "metadata" ({"type": "object"} in a CRD) becomes the
//     Kubernetes ObjectMeta schema from the same swagger, as the API server
//     validates it;
//   * "$schema": "http://json-schema.org/schema#" at the top, as kubeconform's
//     own published schemas have;
//   * output: keys sorted, 2-space JSON, LF, trailing newline — byte-identical
//     on every run. Other *.json files in --out are removed.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

// The Kubernetes kinds the project renders: [group, version, kind].
const K8S_KINDS = [
  ['', 'v1', 'Namespace'],
  ['', 'v1', 'ConfigMap'],
  ['', 'v1', 'PersistentVolume'],
  ['', 'v1', 'PersistentVolumeClaim'],
  ['', 'v1', 'Pod'],
  ['', 'v1', 'ResourceQuota'],
  ['', 'v1', 'LimitRange'],
  ['', 'v1', 'Secret'],
  ['', 'v1', 'ServiceAccount'],
  ['networking.k8s.io', 'v1', 'NetworkPolicy'],
  ['batch', 'v1', 'Job'],
  ['apps', 'v1', 'Deployment'],
  ['rbac.authorization.k8s.io', 'v1', 'ClusterRole'],
  ['rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding'],
  ['admissionregistration.k8s.io', 'v1', 'ValidatingAdmissionPolicy'],
  ['admissionregistration.k8s.io', 'v1', 'ValidatingAdmissionPolicyBinding'],
];

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const SCHEMA_URI = 'http://json-schema.org/schema#';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    swagger: { type: 'string' },
    'k8s-version': { type: 'string' },
    'k8s-sum': { type: 'string', default: '' },
    'k8s-license': { type: 'string' },
    crd: { type: 'string', multiple: true, default: [] },
    'crd-source': { type: 'string', multiple: true, default: [] },
    'argocd-version': { type: 'string', default: '' },
    'argocd-license': { type: 'string' },
  },
  strict: true,
});
for (const need of ['out', 'swagger', 'k8s-version']) {
  if (!args[need]) die(`missing --${need}`);
}
if (args.crd.length !== args['crd-source'].length) die('give one --crd-source per --crd');

function die(msg) {
  process.stderr.write(`k8s-schemas.mjs: ${msg}\n`);
  process.exit(1);
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const clone = (v) => structuredClone(v);

// Deep copy with keys sorted (arrays keep their order: it is meaningful).
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObj(v)) return v;
  const o = {};
  for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k]);
  return o;
}

// Visit every subschema position of a JSON schema node, replacing it by fn(child).
function mapSubschemas(node, fn) {
  const out = { ...node };
  if (isObj(out.properties)) {
    out.properties = Object.fromEntries(Object.entries(out.properties).map(([k, s]) => [k, fn(s)]));
  }
  if (isObj(out.patternProperties)) {
    out.patternProperties = Object.fromEntries(Object.entries(out.patternProperties).map(([k, s]) => [k, fn(s)]));
  }
  if (isObj(out.additionalProperties)) out.additionalProperties = fn(out.additionalProperties);
  if (isObj(out.items)) out.items = fn(out.items);
  else if (Array.isArray(out.items)) out.items = out.items.map(fn);
  if (isObj(out.not)) out.not = fn(out.not);
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    if (Array.isArray(out[k])) out[k] = out[k].map(fn);
  }
  return out;
}

// Inline "#/definitions/..." refs; special-case int-or-string and Quantity.
function standalone(node, defs, stack = []) {
  if (!isObj(node)) return node;
  if (typeof node.$ref === 'string') {
    const m = /^#\/definitions\/(.+)$/.exec(node.$ref);
    if (!m || !defs[m[1]]) die(`unresolvable $ref ${node.$ref}`);
    const name = m[1];
    if (stack.includes(name)) die(`$ref cycle: ${[...stack, name].join(' -> ')}`);
    const { $ref: _ignored, ...siblings } = node;
    let target;
    if (name === QUANTITY) {
      target = { description: defs[name].description, oneOf: [{ type: 'string' }, { type: 'number' }] };
    } else {
      target = standalone(defs[name], defs, [...stack, name]);
    }
    return { ...target, ...siblings };
  }
  if (node.format === 'int-or-string') {
    const o = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
    if (node.description !== undefined) o.description = node.description;
    return o;
  }
  if ('nullable' in node) die('"nullable" is not handled; extend k8s-schemas.mjs');
  return mapSubschemas(node, (s) => standalone(s, defs, stack));
}

// additionalProperties: false on every schema object with "properties".
function strict(node) {
  if (!isObj(node)) return node;
  const out = mapSubschemas(node, strict);
  if (
    isObj(out.properties) &&
    !('additionalProperties' in out) &&
    out['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

function pinApiVersionAndKind(schema, group, version, kind) {
  const apiVersion = group ? `${group}/${version}` : version;
  const p = schema.properties ?? die(`${kind}: schema without properties`);
  if (!p.apiVersion || !p.kind) die(`${kind}: schema without apiVersion/kind properties`);
  p.apiVersion = { ...p.apiVersion, enum: [apiVersion] };
  p.kind = { ...p.kind, enum: [kind] };
}

function fileName(group, version, kind) {
  // kubeconform: KindSuffix = "-" + first dot-label of group (or the version for core) [+ "-" + version]
  const suffix = group ? `-${group.split('.')[0]}-${version}` : `-${version}`;
  return `${kind}${suffix}.json`.toLowerCase();
}

function finish(schema) {
  const s = { ...schema, $schema: SCHEMA_URI };
  if (!('type' in s)) s.type = 'object';
  return `${JSON.stringify(sortKeys(s), null, 2)}\n`;
}

const outputs = new Map(); // file name -> text
const rows = []; // README table rows

// --- Kubernetes built-in kinds ---
const swaggerBuf = readFileSync(args.swagger);
const swagger = JSON.parse(swaggerBuf.toString('utf8'));
const defs = swagger.definitions ?? die('swagger has no definitions');
for (const [group, version, kind] of K8S_KINDS) {
  const names = Object.keys(defs).filter((n) =>
    (defs[n]['x-kubernetes-group-version-kind'] ?? []).some(
      (g) => g.group === group && g.version === version && g.kind === kind,
    ),
  );
  if (names.length !== 1) die(`${group}/${version} ${kind}: found ${names.length} definitions`);
  let schema = standalone(clone(defs[names[0]]), defs, [names[0]]);
  pinApiVersionAndKind(schema, group, version, kind);
  schema = strict(schema);
  const file = fileName(group, version, kind);
  outputs.set(file, finish(schema));
  rows.push([file, group ? `${group}/${version}` : version, kind, `Kubernetes ${args['k8s-version']} \`${names[0]}\``]);
}
const objectMeta = standalone(clone(defs[OBJECT_META]), defs, [OBJECT_META]);

// --- CRDs ---
const crdInputs = [];
args.crd.forEach((path, i) => {
  const buf = readFileSync(path);
  const crd = JSON.parse(buf.toString('utf8'));
  if (crd.kind !== 'CustomResourceDefinition') die(`${path}: not a CustomResourceDefinition`);
  const group = crd.spec.group;
  const kind = crd.spec.names.kind;
  crdInputs.push([args['crd-source'][i], crd.metadata.name]);
  for (const v of crd.spec.versions) {
    if (v.served === false) continue;
    const base = v.schema?.openAPIV3Schema ?? die(`${path}: ${v.name} has no openAPIV3Schema`);
    let schema = standalone(clone(base), {});
    const meta = schema.properties?.metadata;
    if (!isObj(meta) || Object.keys(meta).some((k) => k !== 'type' && k !== 'description')) {
      die(`${path}: unexpected root metadata schema ${JSON.stringify(meta)}`);
    }
    schema.properties.metadata = { ...clone(objectMeta), ...(meta.description ? { description: meta.description } : {}) };
    pinApiVersionAndKind(schema, group, v.name, kind);
    schema = strict(schema);
    const file = fileName(group, v.name, kind);
    if (outputs.has(file)) die(`two schemas for ${file}`);
    outputs.set(file, finish(schema));
    rows.push([file, `${group}/${v.name}`, kind, `Argo CD ${args['argocd-version']} CRD \`${crd.metadata.name}\``]);
  }
});

// --- write ---
mkdirSync(args.out, { recursive: true });
for (const f of readdirSync(args.out)) {
  if (f.endsWith('.json') && !outputs.has(f)) rmSync(join(args.out, f));
}
for (const [f, text] of [...outputs].sort(([a], [b]) => (a < b ? -1 : 1))) {
  writeFileSync(join(args.out, f), text);
}
const licenses = [];
if (args['k8s-license']) {
  writeFileSync(join(args.out, 'LICENSE.kubernetes'), readFileSync(args['k8s-license']));
  licenses.push('LICENSE.kubernetes');
}
if (args['argocd-license']) {
  writeFileSync(join(args.out, 'LICENSE.argo-cd'), readFileSync(args['argocd-license']));
  licenses.push('LICENSE.argo-cd');
}

rows.sort((a, b) => (a[0] < b[0] ? -1 : 1));
const readme = `# Kubernetes and Argo CD JSON schemas (strict, standalone)

Generated files: do not edit. Regenerate from the repository root with

    .ci/tools/k8s-schemas

(\`.ci/tools/k8s-schemas --check\` exits non-zero if this directory differs from a
fresh generation). The output is deterministic: sorted keys, 2-space JSON, LF.

## Use

Offline, strict validation of rendered manifests with kubeconform:

    .ci/tools/kubeconform-local FILE_OR_DIR...

which runs

    kubeconform -strict -summary -schema-location "$PWD/generator/compile/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" ...

from the repository root. A kind that has no file here is an error, not a skip.

## Sources

- Kubernetes ${args['k8s-version']}: \`api/openapi-spec/swagger.json\` (OpenAPI v2,
  sha256 \`${sha256(swaggerBuf)}\`) from the Go module
  \`k8s.io/kubernetes@${args['k8s-version']}\`${args['k8s-sum'] ? ` (go.sum \`${args['k8s-sum']}\`)` : ''}, fetched from
  the Go module proxy with \`go mod download\`.
${crdInputs.length ? `- Argo CD ${args['argocd-version']}: the CustomResourceDefinitions\n${crdInputs.map(([src, name]) => `  - \`${src}\` (\`${name}\`)`).join('\n')}\n  from the project's shared schemas folder, converted from YAML to JSON with \`opa eval\`.\n` : ''}
## Transformation (.ci/tools/k8s-schemas.mjs)

The same as \`openapi2jsonschema --kubernetes --strict --stand-alone\` (and
kubeconform's \`scripts/openapi2jsonschema.py\` for CRDs):

- standalone: every \`$ref\` is inlined;
- strict: every schema object with \`properties\` and no \`additionalProperties\`
  gets \`"additionalProperties": false\`, the root included, except where
  \`x-kubernetes-preserve-unknown-fields: true\`;
- \`format: int-or-string\` becomes \`oneOf: [string, integer]\`, and
  \`resource.Quantity\` becomes \`oneOf: [string, number]\`;
- \`apiVersion\` and \`kind\` get an \`enum\` of the one valid value;
- in the CRD schemas, the root \`metadata\` (just \`type: object\` in a CRD) is the
  Kubernetes ${args['k8s-version']} \`ObjectMeta\` schema, as the API server checks it.

## Files

| file | apiVersion | kind | from |
| --- | --- | --- | --- |
${rows.map((r) => `| \`${r[0]}\` | \`${r[1]}\` | ${r[2]} | ${r[3]} |`).join('\n')}

## Licence

The schemas are derived from Kubernetes and Argo CD, both under the Apache
License 2.0: see ${licenses.map((l) => `\`${l}\``).join(' and ') || 'the upstream projects'} (copied unchanged from the
sources above).
`;
writeFileSync(join(args.out, 'README.md'), readme);
process.stdout.write(`k8s-schemas: wrote ${outputs.size} schemas to ${args.out}\n`);
