/**
 * "Any change of a signed field invalidates verification": random changes of hospital-stats's
 * contract.json (a value changed, retyped, removed or added anywhere) make `datomspod contract
 * verify` fail, with exit 1 whenever the changed contract is itself valid; changes of "$schema",
 * of the formatting or of the key order keep the signatures valid. Random changes of a signature
 * record make it fail too.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateContract } from "../../generator/contract/load.js";
import { cli, jsonOut } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { contractJson, readJson, readText, tempRepo, writeJson, writeText } from "../helpers/repo.js";

const ID = "hospital-stats";
const FILE = contractJson(ID);
const CONSUMER_RECORD = `contracts/${ID}/signatures/${testKey("health-consumer").address}.json`;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

/** Every value inside `value` (not the root) with its path, skipping the given top-level keys. */
function nodes(value: Json, skip: readonly string[] = [], path: Path = []): { path: Path; value: Json }[] {
  const children: [string | number, Json][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : value !== null && typeof value === "object"
      ? Object.entries(value)
      : [];
  return children
    .filter(([key]) => !(path.length === 0 && skip.includes(String(key))))
    .flatMap(([key, child]) => [{ path: [...path, key], value: child }, ...nodes(child, [], [...path, key])]);
}

function parentOf(root: Json, path: Path): { parent: any; key: string | number } {
  let parent: any = root;
  for (const key of path.slice(0, -1)) parent = parent[key];
  return { parent, key: path.at(-1)! };
}

const CLASSES = ["0123456789", "abcdef", "ghijklmnopqrstuvwxyz", "ABCDEF", "GHIJKLMNOPQRSTUVWXYZ"];

/** The string with one character replaced by another of its kind (so formats mostly stay valid). */
function changeCharacter(text: string, at: number, pick: number): string {
  const i = at % text.length;
  const kind = CLASSES.find((c) => c.includes(text[i])) ?? " -_.x";
  const options = [...kind].filter((c) => c !== text[i]);
  return text.slice(0, i) + options[pick % options.length] + text.slice(i + 1);
}

interface Mutation {
  readonly target: number;
  readonly kind: "change" | "retype" | "remove" | "add";
  readonly at: number;
  readonly pick: number;
  readonly key: string;
  readonly value: Json;
}

const mutations = fc.record({
  target: fc.nat(),
  kind: fc.constantFrom("change", "change", "change", "retype", "remove", "add"),
  at: fc.nat(),
  pick: fc.nat(),
  key: fc.string({ minLength: 1, maxLength: 12 }),
  value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
}) satisfies fc.Arbitrary<Mutation>;

/** Applies `m` to a copy of `document` (never to the skipped top-level keys) and describes what it did. */
function mutate(document: Json, m: Mutation, skip: readonly string[] = []): { changed: Json; what: string } {
  const changed = structuredClone(document);
  const all = nodes(changed, skip);
  const { path, value } = all[m.target % all.length];
  const { parent, key } = parentOf(changed, path);
  const container = value !== null && typeof value === "object";
  const what = `${m.kind} ${JSON.stringify(path)}`;
  if (m.kind === "remove") {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (m.kind === "add" || (m.kind === "change" && container)) {
    const into = container ? value : parent;
    if (Array.isArray(into))
      into.splice(m.at % (into.length + 1), 0, into.length > 0 && m.pick % 2 === 0 ? structuredClone(into[m.pick % into.length]) : m.value);
    else
      Object.defineProperty(into, m.key, {
        value: Object.hasOwn(into, m.key) ? [into[m.key], m.value] : m.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  } else if (m.kind === "retype" || value === null) {
    parent[key] = JSON.stringify(m.value) === JSON.stringify(value) ? [m.value] : m.value;
  } else if (typeof value === "number") {
    parent[key] = value + 1 + (m.pick % 3);
  } else if (typeof value === "boolean") {
    parent[key] = !value;
  } else if (typeof value === "string") {
    parent[key] = value.length === 0 ? "x" : changeCharacter(value, m.at, m.pick);
  }
  return { changed, what };
}

describe("any change of a signed field invalidates verification", () => {
  it("contract verify fails for every change of the signed contract (exit 1 when the changed contract is valid)", async () => {
    const repo = tempRepo([ID]);
    const original = readJson<Json>(repo, FILE);
    let stillValid = 0;

    await fc.assert(
      fc.asyncProperty(mutations, async (m) => {
        const { changed } = mutate(original, m, ["$schema"]);
        writeJson(repo, FILE, changed);
        const valid = validateContract(changed, FILE, ID).length === 0;

        const result = await cli(repo, "contract", "verify", ID, "--format", "json");

        if (valid) {
          stillValid++;
          expect(result.code).toBe(1);
          expect(jsonOut(result).parties.filter((p: { status: string }) => p.status === "valid")).toEqual([]);
        } else {
          expect(result.code).toBe(2);
        }
      }),
      { numRuns: 250 },
    );
    // The generator must reach valid contracts, or the exit-1 branch would test nothing.
    expect(stillValid).toBeGreaterThan(50);
  });

  it('changing, adding or removing only "$schema" keeps the signatures valid', async () => {
    const repo = tempRepo([ID]);
    const original = readJson<Record<string, Json>>(repo, FILE);

    await fc.assert(
      fc.asyncProperty(fc.option(fc.string({ unit: "grapheme", maxLength: 200 }), { nil: undefined }), async (schema) => {
        const { $schema: _old, ...rest } = original;
        writeJson(repo, FILE, schema === undefined ? rest : { $schema: schema, ...rest });

        const result = await cli(repo, "contract", "verify", ID);

        expect(result.code).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it("re-indenting the document or reordering its keys keeps the signatures valid", async () => {
    const repo = tempRepo([ID]);
    const original = readJson<Json>(repo, FILE);
    const reversed = (value: Json): Json =>
      Array.isArray(value)
        ? value.map(reversed)
        : value !== null && typeof value === "object"
          ? Object.fromEntries(
              Object.entries(value)
                .reverse()
                .map(([k, v]) => [k, reversed(v)]),
            )
          : value;

    for (const text of [
      JSON.stringify(original),
      JSON.stringify(reversed(original), null, "\t"),
      `${JSON.stringify(original, null, 4).replaceAll("\n", "\r\n")}\r\n`,
    ]) {
      writeText(repo, FILE, text);

      expect((await cli(repo, "contract", "verify", ID)).code).toBe(0);
    }
  });

  it("contract verify fails (exit 1) for every change of a signature record", async () => {
    const repo = tempRepo([ID]);
    const original = readJson<Json>(repo, CONSUMER_RECORD);
    const text = readText(repo, CONSUMER_RECORD);

    await fc.assert(
      fc.asyncProperty(mutations, async (m) => {
        writeJson(repo, CONSUMER_RECORD, mutate(original, m).changed);

        const result = await cli(repo, "contract", "verify", ID, "--format", "json");

        expect(result.code).toBe(1);
        expect(jsonOut(result).parties.find((p: { role: string }) => p.role === "consumer").status).not.toBe("valid");
      }),
      { numRuns: 200 },
    );
    writeText(repo, CONSUMER_RECORD, text);
    expect((await cli(repo, "contract", "verify", ID)).code).toBe(0);
  });
});
