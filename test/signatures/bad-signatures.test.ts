/**
 * Agreement signatures that must not count: each case changes the signatures (or the contract) of
 * hospital-stats in a temporary repository and asserts the exact answer of `datomspod contract
 * verify`: exit 1 with every issue's file, JSON path, message and fix, or exit 2 when the folder
 * cannot be read safely.
 */

import { cpSync, mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, expectIssues, jsonOut, type ExpectedIssue } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { domainOf, recoverSigner, signAll, typedData, walletRecord, type Record712 } from "../helpers/records.js";
import { contractJson, editJson, readJson, readText, tempRepo, writeJson, writeText } from "../helpers/repo.js";

const ID = "hospital-stats";
const PROVIDER = testKey("hospital-provider");
const CONSUMER = testKey("health-consumer");
const WITNESS = testKey("notary-witness");
const OUTSIDER = testKey("bank-provider");
/** The order of secp256k1. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const sigFile = (address: string, id = ID): string => `contracts/${id}/signatures/${address}.json`;
const consumerFile = sigFile(CONSUMER.address);

function issue(file: string, path: string, message: string, fix: string): ExpectedIssue {
  return { file, path, message, fix };
}

const otherVersion = (file: string): ExpectedIssue =>
  issue(file, "$.message.contractHash", "was signed over another version of the contract", "sign the current contract again");
const missing = (role: string, name: string, address: string): ExpectedIssue =>
  issue(sigFile(address), "$", `no agreement by ${role} ${name}`, `datomspod contract sign ${ID} --key <their key>`);
const recoversTo = (file: string, recovered: string, signer: string): ExpectedIssue =>
  issue(file, "$.signature", `recovers to ${recovered}, not to the signer ${signer}`, "the signature does not match the signed content: sign again");

/** The consumer's committed record, changed by `change`. */
function changeConsumerRecord(repo: string, change: (record: Record712) => void): void {
  editJson<Record712>(repo, consumerFile, change);
}

/** The signature with s replaced by n - s and the recovery byte flipped: the same signer's malleable twin. */
function malleable(signature: string): string {
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  return `0x${signature.slice(2, 66)}${(N - s).toString(16).padStart(64, "0")}${v === 27 ? "1c" : "1b"}`;
}

type Case = [name: string, arrange: (repo: string) => Promise<ExpectedIssue[]> | ExpectedIssue[]];

const CASES: Case[] = [
  [
    "a signature by someone who is not a party",
    async (repo) => {
      writeJson(repo, sigFile(OUTSIDER.address), await walletRecord("bank-provider", await typedData(repo, ID)));
      return [issue(sigFile(OUTSIDER.address), "$.signer", `${OUTSIDER.address} is not a party of the contract`, "remove this signature; only parties sign")];
    },
  ],
  [
    "signatures over the contract before it was changed",
    (repo) => {
      editJson(repo, contractJson(ID), (c) => (c.business.maxRuns = 30));
      return [otherVersion(sigFile(WITNESS.address)), otherVersion(consumerFile), otherVersion(sigFile(PROVIDER.address))];
    },
  ],
  [
    "signatures over another title",
    (repo) => {
      editJson(repo, contractJson(ID), (c) => (c.title = "Regional patient statistics, all columns"));
      const title = (file: string): ExpectedIssue =>
        issue(file, "$.message.title", 'differs from the expected "Regional patient statistics, all columns"', "sign the record again");
      return [
        title(sigFile(WITNESS.address)),
        otherVersion(sigFile(WITNESS.address)),
        title(consumerFile),
        otherVersion(consumerFile),
        title(sigFile(PROVIDER.address)),
        otherVersion(sigFile(PROVIDER.address)),
      ];
    },
  ],
  [
    "a signature file copied from another contract",
    async (repo) => {
      expect((await cli(repo, "contract", "new", "hospital-stats-copy", "--from", ID)).code).toBe(0);
      expect((await cli(repo, "contract", "sign", "hospital-stats-copy", "--key", CONSUMER.file)).code).toBe(0);
      cpSync(join(repo, sigFile(CONSUMER.address, "hospital-stats-copy")), join(repo, consumerFile));
      return [
        issue(consumerFile, "$.message.contractId", "was signed for another contract id (a replayed signature)", "sign this contract itself"),
        otherVersion(consumerFile),
      ];
    },
  ],
  [
    "this contract's message signed under another contract id's domain",
    async (repo) => {
      const data = await typedData(repo, ID);
      const record = await walletRecord("health-consumer", data, domainOf("hospital-stats-copy", data.domain.chainId));
      writeJson(repo, consumerFile, record);
      return [recoversTo(consumerFile, recoverSigner(data, record.signature), CONSUMER.address)];
    },
  ],
  [
    "a signature from another contract with its message rewritten to this one",
    async (repo) => {
      expect((await cli(repo, "contract", "new", "hospital-stats-copy", "--from", ID)).code).toBe(0);
      const data = await typedData(repo, ID);
      const foreign = await walletRecord("health-consumer", await typedData(repo, "hospital-stats-copy"));
      writeJson(repo, consumerFile, { ...foreign, message: data.message });
      return [recoversTo(consumerFile, recoverSigner(data, foreign.signature), CONSUMER.address)];
    },
  ],
  [
    "a record that claims another chainId",
    (repo) => {
      changeConsumerRecord(repo, (r) => (r.chainId = 1));
      return [
        issue(consumerFile, "$.chainId", "was signed for chain 1 but the contract is on chain 31337 (a replayed signature)", "sign for the contract's chainId"),
      ];
    },
  ],
  [
    "a signature made for chain 1 presented as chain 31337",
    async (repo) => {
      const data = await typedData(repo, ID);
      const record = await walletRecord("health-consumer", data, domainOf(ID, 1));
      writeJson(repo, consumerFile, record);
      return [recoversTo(consumerFile, recoverSigner(data, record.signature), CONSUMER.address)];
    },
  ],
  [
    "signatures from chain 31337 after the contract moved to chain 1",
    (repo) => {
      editJson(repo, contractJson(ID), (c) => (c.chainId = 1));
      const chain = (file: string): ExpectedIssue =>
        issue(file, "$.chainId", "was signed for chain 31337 but the contract is on chain 1 (a replayed signature)", "sign for the contract's chainId");
      return [
        chain(sigFile(WITNESS.address)),
        otherVersion(sigFile(WITNESS.address)),
        chain(consumerFile),
        otherVersion(consumerFile),
        chain(sigFile(PROVIDER.address)),
        otherVersion(sigFile(PROVIDER.address)),
      ];
    },
  ],
  [
    "a high-s (malleable) twin of a valid signature",
    (repo) => {
      changeConsumerRecord(repo, (r) => (r.signature = malleable(r.signature)));
      return [
        issue(consumerFile, "$.signature", "has a high s value (a malleable signature)", "sign again with a wallet that produces low-s signatures (EIP-2)"),
      ];
    },
  ],
  [
    "a recovery byte of 0",
    (repo) => {
      changeConsumerRecord(repo, (r) => (r.signature = `${r.signature.slice(0, 130)}00`));
      return [issue(consumerFile, "$.signature", "has recovery byte 0, expected 27 or 28", "sign again with eth_signTypedData_v4")];
    },
  ],
  [
    "a signature with r = 0",
    (repo) => {
      changeConsumerRecord(repo, (r) => (r.signature = `0x${"0".repeat(64)}${r.signature.slice(66)}`));
      return [issue(consumerFile, "$.signature", "is not a valid secp256k1 signature", "sign again")];
    },
  ],
  [
    "a signature with one digit of s changed",
    (repo) => {
      const record = readJson<Record712>(repo, consumerFile);
      const last = record.signature.at(-3)!;
      const signature = `${record.signature.slice(0, -3)}${last === "0" ? "1" : "0"}${record.signature.slice(-2)}`;
      writeJson(repo, consumerFile, { ...record, signature });
      return typedData(repo, ID).then((data) => [recoversTo(consumerFile, recoverSigner(data, signature), CONSUMER.address)]);
    },
  ],
  [
    "a signer address in lower case",
    (repo) => {
      changeConsumerRecord(repo, (r) => (r.signer = r.signer.toLowerCase()));
      return [
        issue(consumerFile, "$.signer", "is not an EIP-55 checksummed address", "write the signer address with its checksum"),
        issue(
          consumerFile,
          "$.signer",
          `file name ${CONSUMER.address}.json does not match the signer ${CONSUMER.address.toLowerCase()}`,
          `name the file ${CONSUMER.address.toLowerCase()}.json`,
        ),
      ];
    },
  ],
  [
    "a signer address with a wrong checksum",
    (repo) => {
      const wrong = CONSUMER.address.replace(/[A-F]/, (c) => c.toLowerCase());
      changeConsumerRecord(repo, (r) => (r.signer = wrong));
      return [
        issue(consumerFile, "$.signer", "is not an EIP-55 checksummed address", "write the signer address with its checksum"),
        issue(consumerFile, "$.signer", `file name ${CONSUMER.address}.json does not match the signer ${wrong}`, `name the file ${wrong}.json`),
      ];
    },
  ],
  [
    "a record whose signer is another party than the one who signed",
    (repo) => {
      changeConsumerRecord(repo, (r) => (r.signer = WITNESS.address));
      return [
        recoversTo(consumerFile, CONSUMER.address, WITNESS.address),
        issue(
          consumerFile,
          "$.signer",
          `file name ${CONSUMER.address}.json does not match the signer ${WITNESS.address}`,
          `name the file ${WITNESS.address}.json`,
        ),
        missing("consumer", "Public Health Institute", CONSUMER.address),
      ];
    },
  ],
  [
    "a signature file named for another address",
    (repo) => {
      renameSync(join(repo, consumerFile), join(repo, sigFile(OUTSIDER.address)));
      return [
        issue(
          sigFile(OUTSIDER.address),
          "$.signer",
          `file name ${OUTSIDER.address}.json does not match the signer ${CONSUMER.address}`,
          `name the file ${CONSUMER.address}.json`,
        ),
      ];
    },
  ],
  [
    "the consumer's signature filed as the witness's",
    (repo) => {
      rmSync(join(repo, sigFile(WITNESS.address)));
      renameSync(join(repo, consumerFile), join(repo, sigFile(WITNESS.address)));
      return [
        issue(
          sigFile(WITNESS.address),
          "$.signer",
          `file name ${WITNESS.address}.json does not match the signer ${CONSUMER.address}`,
          `name the file ${CONSUMER.address}.json`,
        ),
        missing("witness", "Data Exchange Notary", WITNESS.address),
      ];
    },
  ],
  [
    "a missing signature",
    (repo) => {
      rmSync(join(repo, sigFile(WITNESS.address)));
      return [missing("witness", "Data Exchange Notary", WITNESS.address)];
    },
  ],
  [
    "stray files that are not signatures",
    (repo) => {
      writeText(repo, `contracts/${ID}/signatures/README.md`, "signatures go here\n");
      writeText(repo, `contracts/${ID}/signatures/${CONSUMER.address}.json.bak`, readText(repo, consumerFile));
      mkdirSync(join(repo, `contracts/${ID}/signatures/old.json`));
      const stray = (name: string): ExpectedIssue =>
        issue(`contracts/${ID}/signatures/${name}`, "$", "is not a signature file", "keep only <address>.json files in signatures/");
      return [stray(`${CONSUMER.address}.json.bak`), stray("README.md"), stray("old.json")];
    },
  ],
  [
    "an approval record filed as a signature",
    (repo) => {
      cpSync(join(repo, `contracts/${ID}/approvals/${PROVIDER.address}.json`), join(repo, sigFile(PROVIDER.address)));
      const file = sigFile(PROVIDER.address);
      return [
        issue(file, "$.kind", 'is "approval", expected "agreement"', "put the record in the right folder"),
        ...[
          "algorithmDid",
          "codeSha256",
          "image",
          "imageDigest",
          "entrypoint",
          "environment",
          "environmentDigest",
          "cluster",
          "clusterProfileDigest",
          "roleImageDigest",
          "instanceDigest",
        ].map((field) => issue(file, `$.message.${field}`, "is not a field of this record", "remove it")),
        issue(file, "$.message.title", "is missing", "sign the record again with datomspod"),
      ];
    },
  ],
  [
    "a record with an extra message field",
    (repo) => {
      changeConsumerRecord(repo, (r) => (r.message["validUntil"] = "2099-01-01"));
      return [issue(consumerFile, "$.message.validUntil", "is not a field of this record", "remove it")];
    },
  ],
  [
    "a record with an unknown field",
    (repo) => {
      changeConsumerRecord(repo, (r) => Object.assign(r, { note: "signed on my phone" }));
      return [issue(consumerFile, "$.note", 'unknown field "note"', "remove it or check its spelling")];
    },
  ],
  [
    "a truncated signature",
    (repo) => {
      changeConsumerRecord(repo, (r) => (r.signature = r.signature.slice(0, 100)));
      return [issue(consumerFile, "$.signature", "does not match the required format ^0x[0-9a-fA-F]{130}$", "write a value in that format")];
    },
  ],
  [
    "a signature record with a duplicate key",
    (repo) => {
      writeText(repo, consumerFile, readText(repo, consumerFile).replace('  "signature":', '  "signature": "0x00",\n  "signature":'));
      return [
        issue(consumerFile, "$.signature", 'duplicate key "signature": JSON readers disagree on which value counts', "keep exactly one occurrence of the key"),
        missing("consumer", "Public Health Institute", CONSUMER.address),
      ];
    },
  ],
  [
    "a signature file that is not JSON",
    (repo) => {
      writeText(repo, consumerFile, "signed: yes\n");
      return [
        issue(consumerFile, "$", 'invalid JSON at line 1 column 1: unexpected character "s"', "fix the JSON syntax"),
        missing("consumer", "Public Health Institute", CONSUMER.address),
      ];
    },
  ],
  [
    "a signature file over 64 KiB",
    (repo) => {
      writeText(repo, consumerFile, `{"signature": "${"x".repeat(70_000)}"}`);
      return [
        issue(consumerFile, "$", "file is 70017 bytes, larger than the limit of 65536", "make it smaller"),
        missing("consumer", "Public Health Institute", CONSUMER.address),
      ];
    },
  ],
];

describe("contract verify refuses", () => {
  it.each(CASES)("%s", async (_name, arrange) => {
    const repo = tempRepo([ID]);
    const issues = await arrange(repo);

    await expectIssues(repo, ["contract", "verify", ID], 1, issues);
  });

  it("says which parties signed validly", async () => {
    const repo = tempRepo([ID]);
    changeConsumerRecord(repo, (r) => (r.chainId = 1));
    rmSync(join(repo, sigFile(WITNESS.address)));

    const result = await cli(repo, "contract", "verify", ID, "--format", "json");

    expect(result.code).toBe(1);
    expect(jsonOut(result).parties.map((p: { role: string; status: string }) => `${p.role} ${p.status}`)).toEqual([
      "provider valid",
      "consumer invalid",
      "witness missing",
    ]);
    expect(result.stderr).toBe(`error: contract ${ID} is not validly signed by every party\n`);
  });

  it("refuses a symbolic link in signatures/ before reading anything (exit 2)", async () => {
    const repo = tempRepo([ID]);
    renameSync(join(repo, consumerFile), join(repo, "elsewhere.json"));
    symlinkSync(join(repo, "elsewhere.json"), join(repo, consumerFile));

    await expectIssues(repo, ["contract", "verify", ID], 2, [issue(consumerFile, "$", "is a symbolic link", "commit the file or folder itself, not a link")]);
  });

  it("accepts the committed signatures (the cases above start from a valid state)", async () => {
    const repo = tempRepo([ID]);

    const result = await cli(repo, "contract", "verify", ID);

    expect(result.code).toBe(0);
  });

  it("accepts signatures again once every party signed the changed contract", async () => {
    const repo = tempRepo([ID]);
    editJson(repo, contractJson(ID), (c) => (c.business.maxRuns = 30));

    await signAll(repo, ID);

    expect((await cli(repo, "contract", "verify", ID)).code).toBe(0);
  });
});
