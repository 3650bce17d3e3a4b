/**
 * Contract ids are DNS-1123 labels of at most 40 characters: every command that takes an id refuses
 * anything else before touching the file system, so an id can never name a path outside contracts/.
 */

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONTRACT_ID_MAX, assertContractId, contractDir } from "../../generator/repo/layout.js";
import { cli, expectIssues } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { tempRepo } from "../helpers/repo.js";

const KEY = testKey("hospital-provider").file;

const BAD_IDS: [string, string][] = [
  ["upper case", "Hospital-Stats"],
  ["a leading digit", "1hospital"],
  ["a trailing dash", "hospital-"],
  ["41 characters", `h${"a".repeat(40)}`],
  ["empty", ""],
  ["non-ASCII letters", "hôpital"],
  ["a full-width letter", "ｈospital"],
  ["an underscore", "hospital_stats"],
  ["a dot", "hospital.stats"],
  ["path traversal", "../x"],
  ["a parent folder", ".."],
  ["a slash", "a/b"],
  ["an absolute path", "/etc"],
  ["a backslash", "a\\b"],
  ["a space", "hospital stats"],
  ["a line break", "hospital\nstats"],
];

const COMMANDS: [string, string[]][] = [
  ["contract new", ["contract", "new"]],
  ["contract hash", ["contract", "hash"]],
  ["contract typed-data", ["contract", "typed-data"]],
  ["contract verify", ["contract", "verify"]],
  ["contract status", ["contract", "status"]],
  ["contract sign", ["contract", "sign", "--key", KEY]],
  ["approve", ["approve", "--key", KEY]],
];

function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe.each(COMMANDS)("%s refuses an id with", (_command, words) => {
  it.each(BAD_IDS)("%s", async (_name, id) => {
    const repo = tempRepo(["hospital-stats"]);
    const before = filesUnder(repo);
    const at = words.indexOf("--key");
    const argv = at < 0 ? [...words, id] : [...words.slice(0, at), id, ...words.slice(at)];

    await expectIssues(repo, argv, 2, [
      {
        file: "command line",
        path: "$",
        message: `contract id ${JSON.stringify(id)} is not a DNS-1123 label of at most 40 characters`,
        fix: "use lower-case letters, digits and '-', starting with a letter, e.g. hospital-stats",
      },
    ]);
    expect(filesUnder(repo)).toEqual(before);
  });
});

describe("contract ids", () => {
  it.each([["a"], ["a1"], ["a-1"], [`h${"a".repeat(CONTRACT_ID_MAX - 1)}`]])("accepts %s", async (id) => {
    const repo = tempRepo([]);

    const result = await cli(repo, "contract", "new", id);

    expect(result.code).toBe(0);
    expect(filesUnder(join(repo, "contracts"))).toEqual(["contract.schema.json", id, join(id, "contract.json")].sort());
  });

  it("are checked again where paths are built, not only by the CLI", () => {
    expect(() => contractDir("/repo", "../../etc")).toThrow('contract id "../../etc" is not a DNS-1123 label of at most 40 characters');
    expect(assertContractId("hospital-stats")).toBe("hospital-stats");
  });
});
