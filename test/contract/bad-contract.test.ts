/**
 * Bad contract documents: every case changes contracts/hospital-stats/contract.json of a temporary
 * copy of the repository and asserts the exact answer of `datomspod contract hash`: exit 2 and each
 * issue's file, JSON path, message and fix.
 */

import { mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "vitest";
import { expectIssues, type ExpectedIssue } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { ESCROW, LOCAL_TOKEN } from "../../generator/escrow/artifact.js";
import { contractJson, editJson, readText, tempRepo, writeText } from "../helpers/repo.js";

const ID = "hospital-stats";
const FILE = contractJson(ID);
const PROVIDER = testKey("hospital-provider");
const CONSUMER = testKey("health-consumer");
const WITNESS = testKey("notary-witness");
const OUTSIDER = testKey("bank-provider");

type Arrange = (repo: string) => void;

function issue(path: string, message: string, fix: string, file = FILE): ExpectedIssue {
  return { file, path, message, fix };
}

/** Arrange: edit the parsed contract. */
function edit(change: (contract: any) => unknown): Arrange {
  return (repo) => editJson(repo, FILE, change);
}

/** Arrange: replace the text of contract.json. */
function text(change: string | ((original: string) => string)): Arrange {
  return (repo) => writeText(repo, FILE, typeof change === "string" ? change : change(readText(repo, FILE)));
}

/** Repeats the first line that holds `"key":` (a pretty-printed member) so the key occurs twice. */
function duplicateLine(original: string, key: string): string {
  const lines = original.split("\n");
  const at = lines.findIndex((line) => line.trimStart().startsWith(`"${key}":`));
  const line = lines[at];
  lines.splice(at, 1, `${line.replace(/,$/, "")},`, line);
  return lines.join("\n");
}

const syntax = (line: number, column: number, message: string, path = "$"): ExpectedIssue =>
  issue(path, `invalid JSON at line ${line} column ${column}: ${message}`, "fix the JSON syntax");
const duplicate = (path: string, key: string): ExpectedIssue =>
  issue(path, `duplicate key ${JSON.stringify(key)}: JSON readers disagree on which value counts`, "keep exactly one occurrence of the key");
const notChecksummed = (path: string, address: string): ExpectedIssue => issue(path, "is not an EIP-55 checksummed address", `write it as ${address}`);
const FILE_NAME_FORMAT = "use the format: A plain file name: no directory separators, not '.' or '..', no control characters";
const CODE_PATH_FORMAT = "use the format: A path relative to the contract folder, below algorithm/: no '..' segment, no leading '/'";
const HOST_PATH_FORMAT = "use the format: Absolute directory on the one machine of the local profile that holds the files";
const flip = (address: string): string => address.replace(/[a-f]/, (c) => c.toUpperCase());
const ESCROW_ADDRESS = ESCROW.address;
const TOKEN_ADDRESS = LOCAL_TOKEN.address;
/** hospital-stats settled through an escrow in a token (its other terms as they are). */
function withEscrow(c: any, escrow: Partial<{ address: string; cap: string; expiry: string }>): void {
  c.business.currency.token = TOKEN_ADDRESS;
  c.business.escrow = { address: ESCROW_ADDRESS, cap: "5000", expiry: "2029-01-01T00:00:00Z", ...escrow };
}

const MALFORMED: [string, Arrange, ExpectedIssue[]][] = [
  ["a trailing comma in an object", text('{\n  "schemaVersion": 1,\n}\n'), [syntax(3, 1, "expected a string key")]],
  ["a missing comma between members", text('{\n  "schemaVersion": 1\n  "id": "hospital-stats"\n}\n'), [syntax(3, 3, "expected ',' or '}'")]],
  ["single-quoted strings", text("{'id': 'hospital-stats'}"), [syntax(1, 2, "expected a string key")]],
  ["a comment", text("// the agreement\n{}\n"), [syntax(1, 1, 'unexpected character "/"')]],
  ["a truncated document", text('{\n  "id": "hospital-stats",\n  "parties": [\n'), [syntax(4, 1, "unexpected end of document", "$.parties[0]")]],
  ["an unterminated string", text('{"title": "Regional statistics'), [syntax(1, 31, "unterminated string", "$.title")]],
  ["a raw line break inside a string", text('{"title": "two\nlines"}'), [syntax(1, 15, "control character inside a string (escape it)", "$.title")]],
  ["an invalid escape", text('{"title": "C:\\data"}'), [syntax(1, 11, "invalid escape in string", "$.title")]],
  ["a lone UTF-16 surrogate", text('{"title": "\\udc00"}'), [syntax(1, 11, "string contains a lone UTF-16 surrogate", "$.title")]],
  ["two documents in one file", text("{}\n{}\n"), [syntax(2, 1, "unexpected text after the JSON value")]],
  ["a number with a leading zero", text('{"chainId": 031337}'), [syntax(1, 14, "expected ',' or '}'")]],
  ["a number out of range", text('{"chainId": 1e999}'), [syntax(1, 13, "number out of range", "$.chainId")]],
  ["NaN", text('{"chainId": NaN}'), [syntax(1, 13, 'unexpected character "N"', "$.chainId")]],
  ["an empty file", text(""), [syntax(1, 1, "unexpected end of document")]],
];

describe("contract.json that is not JSON", () => {
  it.each(MALFORMED)("%s", async (_name, arrange, issues) => {
    const repo = tempRepo([ID]);
    arrange(repo);

    await expectIssues(repo, ["contract", "hash", ID], 2, issues);
  });

  it("points at the line and column of a stray comma in the real contract", async () => {
    const repo = tempRepo([ID]);
    const original = readText(repo, FILE);
    const lines = original.split("\n");
    const line = lines.findIndex((l) => l.trimStart().startsWith('"chainId":'));
    writeText(repo, FILE, original.replace(/("chainId": \d+,)/, "$1,"));

    await expectIssues(repo, ["contract", "hash", ID], 2, [syntax(line + 1, lines[line].length + 1, "expected a string key")]);
  });
});

const DUPLICATES: [string, Arrange, ExpectedIssue[]][] = [
  ["a duplicate top-level key", text((t) => duplicateLine(t, "title")), [duplicate("$.title", "title")]],
  ["a duplicate nested key", text((t) => duplicateLine(t, "notAfter")), [duplicate("$.business.validity.notAfter", "notAfter")]],
  ["a duplicate key deep in an array", text((t) => duplicateLine(t, "sha256")), [duplicate("$.inputs.data[0].files[0].sha256", "sha256")]],
  [
    "a duplicate key spelled with an escape",
    text((t) => t.replace('"title":', '"\\u0074itle": "Something else",\n  "title":')),
    [duplicate("$.title", "title")],
  ],
  ['a duplicate top-level "__proto__"', text((t) => t.replace("{", '{\n  "__proto__": {},\n  "__proto__": {},')), [duplicate("$.__proto__", "__proto__")]],
  [
    'a duplicate "__proto__" in the parameters',
    text((t) => t.replace('"parameters": {', '"parameters": {\n        "__proto__": {"groupBy": "id"},\n        "__proto__": {},')),
    [duplicate("$.inputs.algorithm.parameters.__proto__", "__proto__")],
  ],
  [
    'a single top-level "__proto__" (an unknown field, not a prototype)',
    text((t) => t.replace("{", '{\n  "__proto__": {"title": "x"},')),
    [issue("$.__proto__", 'unknown field "__proto__"', "remove it or check its spelling")],
  ],
];

describe("contract.json with duplicate keys", () => {
  it.each(DUPLICATES)("%s", async (_name, arrange, issues) => {
    const repo = tempRepo([ID]);
    arrange(repo);

    await expectIssues(repo, ["contract", "hash", ID], 2, issues);
  });
});

const SCHEMA: [string, Arrange, ExpectedIssue[]][] = [
  ["chainId as a string", edit((c) => (c.chainId = "31337")), [issue("$.chainId", "must be integer", "write a JSON integer here")]],
  ["a fractional maxRuns", edit((c) => (c.business.maxRuns = 1.5)), [issue("$.business.maxRuns", "must be integer", "write a JSON integer here")]],
  ["parties as an object", edit((c) => (c.parties = {})), [issue("$.parties", "must be array", "write a JSON array here")]],
  [
    "ownerReview as a string",
    edit((c) => (c.outputs.policy.ownerReview = "no")),
    [issue("$.outputs.policy.ownerReview", "must be boolean", "write a JSON boolean here")],
  ],
  ["a null title", edit((c) => (c.title = null)), [issue("$.title", "must be string", "write a JSON string here")]],
  ["chainId 0", edit((c) => (c.chainId = 0)), [issue("$.chainId", "must be >= 1", "change the value so that it satisfies this rule")]],
  [
    "a negative file size",
    edit((c) => (c.inputs.data[0].files[0].size = -1)),
    [issue("$.inputs.data[0].files[0].size", "must be >= 0", "change the value so that it satisfies this rule")],
  ],
  ["schemaVersion 2", edit((c) => (c.schemaVersion = 2)), [issue("$.schemaVersion", "must be 1", "set it to 1")]],
  [
    "an unknown output kind",
    edit((c) => (c.outputs.kinds = ["aggregates", "everything"])),
    [issue("$.outputs.kinds[1]", 'must be one of "aggregates", "model", "report", "raw-records"', "use one of these values")],
  ],
  ["a document that is an array", text("[]\n"), [issue("$", "must be object", "write a JSON object here")]],
  ["a missing title", edit((c) => delete c.title), [issue("$.title", 'missing required field "title"', "add it")]],
  [
    "a missing image digest",
    edit((c) => delete c.inputs.algorithm.container.digest),
    [issue("$.inputs.algorithm.container.digest", 'missing required field "digest"', "add it")],
  ],
  ["a missing validity window", edit((c) => delete c.business.validity), [issue("$.business.validity", 'missing required field "validity"', "add it")]],
  [
    "code with neither path, cid nor packageFile",
    edit((c) => delete c.inputs.algorithm.code.path),
    [issue("$.inputs.algorithm.code", 'needs exactly one of "path", "cid", "packageFile"', "keep exactly one of them")],
  ],
  [
    "code with both path and cid",
    edit((c) => (c.inputs.algorithm.code.cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi")),
    [issue("$.inputs.algorithm.code", 'needs exactly one of "path", "cid", "packageFile"', "keep exactly one of them")],
  ],
  [
    "a location without kind",
    edit((c) => delete c.inputs.data[0].location.kind),
    [issue("$.inputs.data[0].location.kind", 'missing required field "kind" (one of "pvc", "csi", "nfs", "ipfs", "hostPath")', "add the kind of this entry")],
  ],
  [
    "a location of an unknown kind",
    edit((c) => (c.inputs.data[0].location.kind = "ftp")),
    [issue("$.inputs.data[0].location.kind", 'must be one of "pvc", "csi", "nfs", "ipfs", "hostPath"', "use one of these values")],
  ],
  ["an unknown top-level field", edit((c) => (c.signatures = [])), [issue("$.signatures", 'unknown field "signatures"', "remove it or check its spelling")]],
  [
    "an unknown nested field",
    edit((c) => (c.inputs.compute.gpus = 1)),
    [issue("$.inputs.compute.gpus", 'unknown field "gpus"', "remove it or check its spelling")],
  ],
  [
    "an unknown field of a party",
    edit((c) => (c.parties[0].email = "data@example.org")),
    [issue("$.parties[0].email", 'unknown field "email"', "remove it or check its spelling")],
  ],
  [
    "a field of another location kind",
    edit((c) => (c.inputs.data[0].location.volumeName = "x")),
    [issue("$.inputs.data[0].location.volumeName", 'unknown field "volumeName"', "remove it or check its spelling")],
  ],
  [
    "an upper-case id",
    edit((c) => (c.id = "Hospital-Stats")),
    [issue("$.id", "does not match the required format ^[a-z]([-a-z0-9]*[a-z0-9])?$", "write a value in that format")],
  ],
  [
    "a short address",
    edit((c) => (c.parties[2].address = "0x1234")),
    [issue("$.parties[2].address", "does not match the required format ^0x[0-9a-fA-F]{40}$", "use the format: EIP-55 mixed-case checksummed Ethereum address")],
  ],
];

describe("contract.json against the schema", () => {
  it.each(SCHEMA)("%s", async (_name, arrange, issues) => {
    const repo = tempRepo([ID]);
    arrange(repo);

    await expectIssues(repo, ["contract", "hash", ID], 2, issues);
  });
});

const TRAVERSAL: [string, Arrange, ExpectedIssue[]][] = [
  [
    "a data file name with ..",
    edit((c) => (c.inputs.data[0].files[0].name = "../patients.csv")),
    [issue("$.inputs.data[0].files[0].name", "does not match the required format ^(?!\\.\\.?$)[A-Za-z0-9._-]+$", FILE_NAME_FORMAT)],
  ],
  [
    "a data file name with /",
    edit((c) => (c.inputs.data[0].files[0].name = "2025/patients.csv")),
    [issue("$.inputs.data[0].files[0].name", "does not match the required format ^(?!\\.\\.?$)[A-Za-z0-9._-]+$", FILE_NAME_FORMAT)],
  ],
  [
    "a data file named ..",
    edit((c) => (c.inputs.data[0].files[0].name = "..")),
    [issue("$.inputs.data[0].files[0].name", "does not match the required format ^(?!\\.\\.?$)[A-Za-z0-9._-]+$", FILE_NAME_FORMAT)],
  ],
  [
    "a code path climbing out with ..",
    edit((c) => (c.inputs.algorithm.code.path = "algorithm/../../../etc/passwd")),
    [issue("$.inputs.algorithm.code.path", "does not match the required format ^algorithm/(?!.*(^|/)\\.\\.?(/|$))[A-Za-z0-9._/-]+$", CODE_PATH_FORMAT)],
  ],
  [
    "an absolute code path",
    edit((c) => (c.inputs.algorithm.code.path = "/etc/passwd")),
    [issue("$.inputs.algorithm.code.path", "does not match the required format ^algorithm/(?!.*(^|/)\\.\\.?(/|$))[A-Za-z0-9._/-]+$", CODE_PATH_FORMAT)],
  ],
  [
    "a code path outside algorithm/",
    edit((c) => (c.inputs.algorithm.code.path = "contract.json")),
    [issue("$.inputs.algorithm.code.path", "does not match the required format ^algorithm/(?!.*(^|/)\\.\\.?(/|$))[A-Za-z0-9._/-]+$", CODE_PATH_FORMAT)],
  ],
  [
    "a hostPath location climbing out with ..",
    edit((c) => (c.inputs.data[0].location.path = "/var/lib/datomspod/../../../etc")),
    [issue("$.inputs.data[0].location.path", "does not match the required format ^/(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9._/-]*$", HOST_PATH_FORMAT)],
  ],
];

describe("contract.json with paths that leave their folder", () => {
  it.each(TRAVERSAL)("%s", async (_name, arrange, issues) => {
    const repo = tempRepo([ID]);
    arrange(repo);

    await expectIssues(repo, ["contract", "hash", ID], 2, issues);
  });

  it("refuses a pvc subPath climbing out with ..", async () => {
    const repo = tempRepo(["bank-credit-model"]);
    editJson(repo, contractJson("bank-credit-model"), (c) => (c.inputs.data[0].location.subPath = "loans/../../other"));

    await expectIssues(repo, ["contract", "hash", "bank-credit-model"], 2, [
      {
        file: contractJson("bank-credit-model"),
        path: "$.inputs.data[0].location.subPath",
        message: "does not match the required format ^(?!/)(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9._/-]*$",
        fix: "write a value in that format",
      },
    ]);
  });
});

const RULES: [string, Arrange, ExpectedIssue[]][] = [
  [
    "an id that differs from the folder",
    edit((c) => (c.id = "hospital-stats-2")),
    [issue("$.id", 'id "hospital-stats-2" differs from its folder name "hospital-stats"', 'rename the folder or set id to "hospital-stats"')],
  ],
  [
    "a lower-case party address",
    edit((c) => (c.parties[0].address = PROVIDER.address.toLowerCase())),
    [notChecksummed("$.parties[0].address", PROVIDER.address)],
  ],
  [
    "a data owner with a wrong checksum",
    edit((c) => (c.inputs.data[0].owner = flip(PROVIDER.address))),
    [notChecksummed("$.inputs.data[0].owner", PROVIDER.address)],
  ],
  [
    "a recipient with a wrong checksum",
    edit((c) => (c.outputs.recipients[0] = CONSUMER.address.toLowerCase())),
    [notChecksummed("$.outputs.recipients[0]", CONSUMER.address)],
  ],
  [
    "a pricing party with a wrong checksum",
    edit((c) => (c.business.pricing[1].party = flip(WITNESS.address))),
    [notChecksummed("$.business.pricing[1].party", WITNESS.address)],
  ],
  [
    "an algorithm provider with a wrong checksum",
    edit((c) => (c.inputs.algorithm.provider = CONSUMER.address.toLowerCase())),
    [notChecksummed("$.inputs.algorithm.provider", CONSUMER.address)],
  ],
  [
    "a publicKey of another address",
    edit((c) => (c.parties[0].publicKey = CONSUMER.publicKey)),
    [
      issue(
        "$.parties[0].publicKey",
        "does not belong to the party's address",
        "copy the public key printed by `datomspod keys show --key FILE` for this party",
      ),
    ],
  ],
  [
    "a recipient without publicKey",
    edit((c) => delete c.parties[1].publicKey),
    [issue("$.outputs.recipients[0]", "the recipient party has no publicKey, so outputs cannot be encrypted to it", "add publicKey to that party")],
  ],
  [
    "a recipient who is not a party",
    edit((c) => (c.outputs.recipients = [OUTSIDER.address])),
    [issue("$.outputs.recipients[0]", "is not a party of the contract", "outputs may only go to parties")],
  ],
  [
    "two consumers",
    edit((c) => (c.parties[2].role = "consumer")),
    [
      issue("$.parties", "needs exactly one consumer, found 2", "give exactly one party the role consumer"),
      issue("$.business.pricing[1].party", "is the consumer, who pays: the consumer earns no fee", "name the party that earns this fee"),
    ],
  ],
  [
    "no provider",
    edit((c) => (c.parties[0].role = "algorithm-provider")),
    [
      issue("$.parties", "needs at least one provider", "add the data owner with the role provider"),
      issue("$.inputs.data[0].owner", "is not a party with the role provider", "name the provider party that owns this data"),
    ],
  ],
  [
    "a data owner who is not a provider",
    edit((c) => (c.inputs.data[0].owner = CONSUMER.address)),
    [issue("$.inputs.data[0].owner", "is not a party with the role provider", "name the provider party that owns this data")],
  ],
  [
    "one address as two parties",
    edit((c) => (c.parties[2].address = PROVIDER.address)),
    [
      issue("$.parties[2].address", "same address as $.parties[0]", "list each party once; one address has one role"),
      issue("$.business.pricing[1].party", "is not a party of the contract", "name a party listed in $.parties"),
    ],
  ],
  [
    "two datasets with one DID",
    edit((c) => c.inputs.data.push({ ...c.inputs.data[0], files: [{ ...c.inputs.data[0].files[0], name: "more-patients.csv" }] })),
    [issue("$.inputs.data[1].did", "same DID as $.inputs.data[0]", "give each dataset its own DID")],
  ],
  [
    "one file name in two datasets (Ocean's flat layout)",
    edit((c) => c.inputs.data.push({ ...c.inputs.data[0], did: "did:op:second-dataset" })),
    [
      issue(
        "$.inputs.data[1].files[0].name",
        "file name also used at $.inputs.data[0].files[0].name; Ocean's flat layout /data/inputs/<file name> needs unique names",
        "rename one of the files",
      ),
    ],
  ],
  [
    "a data file named algoCustomData.json",
    edit((c) => (c.inputs.data[0].files[0].name = "algoCustomData.json")),
    [issue("$.inputs.data[0].files[0].name", "is reserved for the consumer parameters", "rename the file")],
  ],
  [
    "the algorithm DID of a dataset",
    edit((c) => (c.inputs.algorithm.did = c.inputs.data[0].did)),
    [issue("$.inputs.algorithm.did", "is also the DID of an input dataset", "give the algorithm its own DID")],
  ],
  [
    "the witness as algorithm provider",
    edit((c) => (c.inputs.algorithm.provider = WITNESS.address)),
    [issue("$.inputs.algorithm.provider", "is not the consumer or an algorithm-provider party", "name the party that supplies the algorithm")],
  ],
  [
    "raw-records out while noRawRecords is set",
    edit((c) => c.outputs.kinds.push("raw-records")),
    [issue("$.outputs.kinds", "lists raw-records while the output policy sets noRawRecords", "drop raw-records or set noRawRecords to false")],
  ],
  [
    "an extension-less output type that cannot be told from content",
    edit((c) => (c.outputs.policy.extensionless = { types: ["pkl"] })),
    [
      issue(
        "$.outputs.policy.extensionless.types[0]",
        '"pkl" cannot be recognised from an output\'s content',
        "use one of csv, gif, gz, jpeg, jpg, json, log, md, npy, parquet, pdf, png, tif, tiff, tsv, txt, webp, zip, or give such outputs an extension",
      ),
    ],
  ],
  [
    "an extension-less output type the fileTypes do not allow",
    edit((c) => (c.outputs.policy.extensionless = { types: ["txt", "csv"] })),
    [
      issue(
        "$.outputs.policy.extensionless.types[0]",
        '"txt" is not one of the fileTypes (csv); an output without an extension may only be a type the contract allows',
        'add "txt" to outputs.policy.fileTypes, or remove it here',
      ),
    ],
  ],
  [
    "a validity window that ends before it starts",
    edit((c) => (c.business.validity = { notBefore: "2027-01-01T00:00:00Z", notAfter: "2026-12-01T00:00:00Z" })),
    [issue("$.business.validity.notAfter", "is not after notBefore", "make the validity window end after it starts")],
  ],
  [
    "an empty validity window",
    edit((c) => (c.business.validity.notAfter = c.business.validity.notBefore)),
    [issue("$.business.validity.notAfter", "is not after notBefore", "make the validity window end after it starts")],
  ],
  [
    "a date that does not exist",
    edit((c) => (c.business.validity.notBefore = "2026-02-30T00:00:00Z")),
    [issue("$.business.validity.notBefore", "is not a real date and time", "use e.g. 2026-12-01T00:00:00Z")],
  ],
  [
    "a fee the consumer earns",
    edit((c) => (c.business.pricing[0].party = CONSUMER.address)),
    [issue("$.business.pricing[0].party", "is the consumer, who pays: the consumer earns no fee", "name the party that earns this fee")],
  ],
  [
    "a fee whose maximum is under its minimum",
    edit((c) => Object.assign(c.business.pricing[0], { minimum: "3000", maximum: "2999.99" })),
    [issue("$.business.pricing[0].maximum", "is less than its minimum 3000", "make the maximum at least the minimum")],
  ],
  [
    "a total maximum under the per-contract fees and minimums",
    edit((c) => {
      c.business.pricing[0].minimum = "2000";
      c.business.maximum = "2299.99";
    }),
    [issue("$.business.maximum", "is less than the fees come to at least (2300 CNY: per-contract fees and minimums)", "raise the maximum or lower those fees")],
  ],
  [
    "a deadline billed unlike a failed run, which the public receipt cannot tell apart",
    edit((c) => (c.business.outcomes = { failed: "usage-only", deadline: "none" })),
    [
      issue(
        "$.business.outcomes.deadline",
        "is none, not what a failed run is billed (usage-only): the public receipt does not say whether a failed run hit its deadline (only the report sealed for the data owners does), so settlement bills both as failed",
        "set it the same as outcomes.failed, or remove it",
      ),
    ],
  ],
  [
    "an escrow without a token",
    edit((c) => (c.business.escrow = { address: ESCROW_ADDRESS, cap: "5000", expiry: "2029-01-01T00:00:00Z" })),
    [
      issue(
        "$.business.currency.token",
        "is missing, but the escrow holds an ERC-20 token",
        "name the token's address (its decimals() must be currency.decimals)",
      ),
    ],
  ],
  [
    "an escrow whose cap is finer than the currency's smallest unit",
    edit((c) => withEscrow(c, { cap: "5000.001" })),
    [issue("$.business.escrow.cap", "has more decimals than the currency (2)", "write it in whole units of 10^-2 CNY")],
  ],
  [
    "an escrow whose cap is under the per-contract fees",
    edit((c) => withEscrow(c, { cap: "299.99" })),
    [issue("$.business.escrow.cap", "is less than the fees come to at least (300 CNY: per-contract fees and minimums)", "raise the cap or lower those fees")],
  ],
  [
    "an escrow that expires when the validity window ends",
    edit((c) => withEscrow(c, { expiry: "2028-10-31T00:00:00Z" })),
    [
      issue(
        "$.business.escrow.expiry",
        "is not after validity.notAfter: the deposit could go back to the consumer before the last run is settled",
        "set it after the validity window, leaving time to settle",
      ),
    ],
  ],
  [
    "an escrow at the token's address",
    edit((c) => withEscrow(c, { address: TOKEN_ADDRESS })),
    [issue("$.business.escrow.address", "is the token's address", "name the escrow contract (datomspod escrow deploy prints it)")],
  ],
  [
    "an escrow at the anchor contract's address",
    edit((c) => withEscrow(c, { address: c.evidence.anchor.address })),
    [issue("$.business.escrow.address", "is the anchor contract's address", "name the escrow contract (datomspod escrow deploy prints it)")],
  ],
  [
    "an escrow address with a wrong checksum",
    edit((c) => withEscrow(c, { address: ESCROW_ADDRESS.toLowerCase() })),
    [notChecksummed("$.business.escrow.address", ESCROW_ADDRESS)],
  ],
];

describe("contract.json against the cross-field rules", () => {
  it.each(RULES)("%s", async (_name, arrange, issues) => {
    const repo = tempRepo([ID]);
    arrange(repo);

    await expectIssues(repo, ["contract", "hash", ID], 2, issues);
  });

  it("reports every problem at once, in document order of the checks", async () => {
    const repo = tempRepo([ID]);
    edit((c) => {
      c.parties[0].address = PROVIDER.address.toLowerCase();
      c.outputs.kinds.push("raw-records");
      c.inputs.data[0].owner = CONSUMER.address;
    })(repo);

    await expectIssues(repo, ["contract", "hash", ID], 2, [
      notChecksummed("$.parties[0].address", PROVIDER.address),
      issue("$.inputs.data[0].owner", "is not a party with the role provider", "name the provider party that owns this data"),
      issue("$.outputs.kinds", "lists raw-records while the output policy sets noRawRecords", "drop raw-records or set noRawRecords to false"),
    ]);
  });
});

const FILES: [string, Arrange, ExpectedIssue[]][] = [
  [
    "a document over 1 MiB",
    text(`{"description": "${"x".repeat(1024 * 1024)}"}`),
    [issue("$", "file is 1048595 bytes, larger than the limit of 1048576", "make it smaller")],
  ],
  [
    "bytes that are not UTF-8",
    (repo) => writeText(repo, FILE, Buffer.concat([Buffer.from('{"title": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])),
    [issue("$", "is not valid UTF-8", "save it as UTF-8")],
  ],
  [
    "a symbolic link as contract.json",
    (repo) => {
      renameSync(join(repo, FILE), join(repo, "elsewhere.json"));
      symlinkSync(join(repo, "elsewhere.json"), join(repo, FILE));
    },
    [issue("$", "is a symbolic link", "commit the file or folder itself, not a link")],
  ],
  [
    "a symbolic link as the contract folder",
    (repo) => {
      renameSync(join(repo, "contracts", ID), join(repo, "outside"));
      symlinkSync(join(repo, "outside"), join(repo, "contracts", ID));
    },
    [issue("$", "is a symbolic link", "commit the file or folder itself, not a link", `contracts/${ID}`)],
  ],
  [
    "a symbolic link as the algorithm folder",
    (repo) => {
      renameSync(join(repo, "contracts", ID, "algorithm"), join(repo, "outside"));
      symlinkSync(join(repo, "outside"), join(repo, "contracts", ID, "algorithm"));
    },
    [issue("$", "is a symbolic link", "commit the file or folder itself, not a link", `contracts/${ID}/algorithm`)],
  ],
  [
    "a folder where contract.json should be",
    (repo) => {
      rmSync(join(repo, FILE));
      mkdirSync(join(repo, FILE));
    },
    [issue("$", "is not a regular file", "replace it with a file")],
  ],
  ["no contract.json", (repo) => rmSync(join(repo, FILE)), [issue("$", "file not found", "create it or check the name")]],
];

describe("contract.json that cannot be read safely", () => {
  it.each(FILES)("%s", async (_name, arrange, issues) => {
    const repo = tempRepo([ID]);
    arrange(repo);

    await expectIssues(repo, ["contract", "hash", ID], 2, issues);
  });
});
