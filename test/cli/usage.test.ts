/**
 * The command line itself: bad usage (exit 2 with the exact message), keys, scaffolding, signing,
 * help. Every test runs `main()` in-process against its own temporary repository.
 */

import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet } from "ethers";
import { describe, expect, it } from "vitest";
import { cli, expectIssues, jsonOut, runCli, type ExpectedIssue } from "../helpers/cli.js";
import { TEST_PASSWORD, testKey } from "../helpers/keys.js";
import { contractJson, readJson, readText, tempDir, tempRepo } from "../helpers/repo.js";

const ID = "hospital-stats";
const PROVIDER = testKey("hospital-provider");
const OUTSIDER = testKey("bank-provider");

const commandLine = (path: string, message: string, fix: string): ExpectedIssue => ({ file: "command line", path, message, fix });

const USAGE: [string, string[], ExpectedIssue][] = [
  ["a missing id", ["contract", "verify"], commandLine("$", "expected 1 argument, got 0", "usage: datomspod contract verify ID")],
  ["two ids", ["contract", "verify", ID, "bank-credit-model"], commandLine("$", "expected 1 argument, got 2", "usage: datomspod contract verify ID")],
  ["contract sign without --key", ["contract", "sign", ID], commandLine("--key", "--key is required", "pass --key ...")],
  ["approve without --key", ["approve", ID], commandLine("--key", "--key is required", "pass --key ...")],
  ["keys show without --key", ["keys", "show"], commandLine("--key", "--key is required", "pass --key ...")],
  ["keys new without --out", ["keys", "new"], commandLine("--out", "--out is required", "pass --out ...")],
  [
    "keys new with a weak scrypt cost",
    ["keys", "new", "--out", "k.json", "--scrypt-n", "1000"],
    commandLine("--scrypt-n", "must be a power of two of at least 1024", "omit it for the default 131072"),
  ],
  [
    "an unknown template",
    ["contract", "new", "fresh", "--from", "everything"],
    commandLine(
      "--from",
      '"everything" is neither a template nor a contract in this repository',
      "use one of aggregate-statistics, model-training or an existing contract id",
    ),
  ],
  [
    "a --from that climbs out of contracts/",
    ["contract", "new", "fresh", "--from", "../hospital-stats"],
    commandLine(
      "--from",
      '"../hospital-stats" is neither a template nor a contract in this repository',
      "use one of aggregate-statistics, model-training or an existing contract id",
    ),
  ],
  [
    "a time that is not a time",
    ["contract", "status", ID, "--at", "next tuesday"],
    commandLine("--at", '"next tuesday" is not a time', "use e.g. 2026-12-01T00:00:00Z"),
  ],
  [
    "a contract that does not exist",
    ["contract", "verify", "no-such-contract"],
    { file: "contracts/no-such-contract/contract.json", path: "$", message: "file not found", fix: "create it or check the name" },
  ],
];

describe("bad usage exits 2 and says what to do", () => {
  it.each(USAGE)("%s", async (_name, argv, issue) => {
    const repo = tempRepo([ID]);

    await expectIssues(repo, argv, 2, [issue]);
  });

  it("an unknown format", async () => {
    const repo = tempRepo([ID]);

    const result = await cli(repo, "contract", "hash", ID, "--format", "yaml");

    expect(result).toEqual({ code: 2, stdout: "", stderr: 'error: command line --format: unknown format "yaml" (fix: use one of text, json)\n' });
  });

  it("an unknown option", async () => {
    const repo = tempRepo([ID]);

    const result = await cli(repo, "contract", "verify", ID, "--bogus");

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error: command line: Unknown option '--bogus'\..* \(fix: see `datomspod contract verify ID --help`\)\n$/);
  });

  it("an unknown command prints the command list and the error on stderr", async () => {
    const repo = tempRepo([ID]);

    const result = await cli(repo, "contract", "frobnicate", ID);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^datomspod: use data without handing it over\n/);
    expect(result.stderr).toContain("  datomspod contract verify ID\n      exit 0 only when every party signed");
    expect(result.stderr.endsWith(`error: command line: unknown command "contract frobnicate ${ID}" (fix: see the list above)\n`)).toBe(true);
  });

  it("--repo that is not a folder", async () => {
    const dir = tempDir();

    const result = await runCli(["--repo", join(dir, "missing"), "contract", "verify", ID]);

    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: `error: ${join(dir, "missing")}: --repo is not a folder (fix: pass the repository's root folder)\n`,
    });
  });
});

describe("keys", () => {
  it("keys new writes a 0600 keystore that keys show and signing accept", async () => {
    const dir = tempDir();
    const out = join(dir, "party.json");

    const created = await runCli(["keys", "new", "--out", out, "--scrypt-n", "1024", "--format", "json"], { cwd: dir, password: "correct horse battery" });

    expect(created.code).toBe(0);
    const info = jsonOut(created);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const wallet = await Wallet.fromEncryptedJson(readFileSync(out, "utf8"), "correct horse battery");
    expect(readFileSync(out, "utf8")).not.toContain(wallet.privateKey.slice(2));
    expect(info).toEqual({ address: wallet.address, publicKey: wallet.signingKey.publicKey, file: out, publicFile: join(dir, "party.pub.json") });
    const shown = await runCli(["keys", "show", "--key", "party.json"], { cwd: dir, password: "correct horse battery" });
    expect(shown).toEqual({ code: 0, stdout: `address    ${wallet.address}\npublicKey  ${wallet.signingKey.publicKey}\n`, stderr: "" });
  });

  it("keys new never overwrites a file", async () => {
    const dir = tempDir();
    const out = join(dir, "party.json");
    writeFileSync(out, "precious\n");

    const result = await runCli(["keys", "new", "--out", out, "--scrypt-n", "1024", "--format", "json"], { cwd: dir });

    expect(result.code).toBe(2);
    expect(jsonOut(result).issues).toEqual([{ file: out, path: "$", message: "already exists; a key is never overwritten", fix: "choose another --out file" }]);
    expect(readFileSync(out, "utf8")).toBe("precious\n");
  });

  it("a wrong keystore password", async () => {
    const repo = tempRepo([ID]);

    const result = await runCli(["contract", "sign", ID, "--key", PROVIDER.file], { repo, password: "not-the-password" });

    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: `error: ${PROVIDER.file}: cannot be decrypted with this password (fix: check DATOMSPOD_KEY_PASSWORD or the password you typed)\n`,
    });
  });

  it("a key file that is not a keystore", async () => {
    const repo = tempRepo([ID]);

    await expectIssues(repo, ["contract", "sign", ID, "--key", contractJson(ID)], 2, [
      { file: join(repo, contractJson(ID)), path: "$", message: "is not an encrypted JSON keystore", fix: "create one with `datomspod keys new --out FILE`" },
    ]);
  });

  it("a key file that does not exist", async () => {
    const repo = tempRepo([ID]);

    await expectIssues(repo, ["contract", "sign", ID, "--key", "nowhere.json"], 2, [
      { file: join(repo, "nowhere.json"), path: "$", message: "file not found", fix: "create it or check the name" },
    ]);
  });

  it("the test keys open with the test password", async () => {
    const result = await runCli(["keys", "show", "--key", PROVIDER.file, "--derive", "--format", "json"]);

    expect(jsonOut(result)).toEqual({ address: PROVIDER.address, publicKey: PROVIDER.publicKey });
    expect(TEST_PASSWORD).toBe("datomspod-test-only");
  });
});

describe("contract sign", () => {
  it("refuses a key that is not a party (exit 2, nothing written)", async () => {
    const repo = tempRepo([ID]);

    await expectIssues(repo, ["contract", "sign", ID, "--key", OUTSIDER.file], 2, [
      {
        file: OUTSIDER.file,
        path: "$",
        message: `key ${OUTSIDER.address} is not a party of contract ${ID}`,
        fix: "sign with a party's key, or add the party to the contract first",
      },
    ]);
    expect(() => statSync(join(repo, `contracts/${ID}/signatures/${OUTSIDER.address}.json`))).toThrow();
  });

  it("writes the party's signature, byte-identical to the committed one", async () => {
    const repo = tempRepo([ID]);
    const file = `contracts/${ID}/signatures/${PROVIDER.address}.json`;
    const committed = readText(repo, file);

    const result = await cli(repo, "contract", "sign", ID, "--key", PROVIDER.file);

    expect(result).toEqual({ code: 0, stdout: `provider ${PROVIDER.address} signed ${ID}: ${file}\n`, stderr: "" });
    expect(readText(repo, file)).toBe(committed);
  });
});

describe("contract new", () => {
  it("refuses to overwrite an existing contract", async () => {
    const repo = tempRepo([ID]);
    const before = readText(repo, contractJson(ID));

    await expectIssues(repo, ["contract", "new", ID], 2, [
      { file: contractJson(ID), path: "$", message: "already exists", fix: "choose another id; an existing contract is never overwritten" },
    ]);
    expect(readText(repo, contractJson(ID))).toBe(before);
  });

  it.each([["aggregate-statistics"], ["model-training"]])("scaffolds from the %s template, dated from the clock", async (template) => {
    const repo = tempRepo([]);

    const result = await cli(repo, "contract", "new", "fresh", "--from", template);

    expect(result).toEqual({
      code: 0,
      stdout:
        "wrote contracts/fresh/contract.json: replace the placeholder parties, data and algorithm, then have every party run `datomspod contract sign fresh --key FILE`\n",
      stderr: "",
    });
    const contract = readJson<any>(repo, contractJson("fresh"));
    expect(contract.id).toBe("fresh");
    expect(contract.business.validity).toEqual({ notBefore: "2026-11-24T00:00:00Z", notAfter: "2027-02-22T00:00:00Z" });
    expect(contract.opsc.scenario).toBe(template === "model-training" ? "model-training" : "public-statistics");
  });

  it("a scaffold names the placeholders still to replace", async () => {
    const repo = tempRepo([]);
    await cli(repo, "contract", "new", "fresh");

    await expectIssues(repo, ["contract", "hash", "fresh"], 2, [
      {
        file: contractJson("fresh"),
        path: "$.outputs.recipients[0]",
        message: "the recipient party has no publicKey, so outputs cannot be encrypted to it",
        fix: "add publicKey to that party",
      },
    ]);
  });

  it("copies another contract under a new id, without its signatures", async () => {
    const repo = tempRepo([ID]);

    expect((await cli(repo, "contract", "new", "hospital-stats-2027", "--from", ID)).code).toBe(0);

    const copy = readJson<any>(repo, contractJson("hospital-stats-2027"));
    expect({ ...copy, id: ID }).toEqual(readJson(repo, contractJson(ID)));
    const verify = await cli(repo, "contract", "verify", "hospital-stats-2027", "--format", "json");
    expect(verify.code).toBe(1);
    expect(jsonOut(verify).parties.map((p: { status: string }) => p.status)).toEqual(["missing", "missing", "missing"]);
  });
});

describe("help", () => {
  it("lists every command with exit 0", async () => {
    const result = await runCli(["--help"]);

    expect(result.code).toBe(0);
    for (const usage of [
      "keys new --out FILE",
      "contract new ID [--from TEMPLATE]",
      "contract hash ID",
      "contract typed-data ID",
      "contract sign ID --key FILE",
      "contract verify ID",
      "contract status ID",
      "approve ID --key FILE",
    ]) {
      expect(result.stdout).toContain(`datomspod ${usage}`);
    }
  });

  it.each([
    ["keys", "new"],
    ["contract", "new"],
    ["contract", "hash"],
    ["contract", "typed-data"],
    ["contract", "sign"],
    ["contract", "verify"],
    ["contract", "status"],
    ["approve"],
  ])("%s %s --help", async (...words: string[]) => {
    const result = await runCli([...words, "--help"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^usage: datomspod ${words.join(" ")}`));
  });
});

describe("the test environment", () => {
  it("runs in UTC (vitest.config.ts sets TZ), so local-time output is stable", () => {
    expect(new Date(2026, 10, 24).toISOString()).toBe("2026-11-24T00:00:00.000Z");
  });
});
