/**
 * Algorithm approvals: who may approve, and approvals that no longer cover the algorithm. Each case
 * changes hospital-stats in a temporary repository and asserts the exact answer of `datomspod
 * approve` (exit 2) or the state and issues `datomspod contract status` reports.
 */

import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, expectIssues, jsonOut, runCli, type ExpectedIssue } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { approveAll, signAll, typedData, walletRecord } from "../helpers/records.js";
import { contractJson, editJson, readJson, tempRepo, writeJson, writeText } from "../helpers/repo.js";

const ID = "hospital-stats";
const FILE = contractJson(ID);
const CODE = `contracts/${ID}/algorithm/aggregate.py`;
const PROVIDER = testKey("hospital-provider");
const CONSUMER = testKey("health-consumer");
const WITNESS = testKey("notary-witness");

const approvalFile = (address: string): string => `contracts/${ID}/approvals/${address}.json`;
const sha256 = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex");

/** A copy of hospital-stats without run requests, so only signatures and approvals decide its state. */
function approvedRepo(): string {
  const repo = tempRepo([ID]);
  rmSync(join(repo, "contracts", ID, "runs"), { recursive: true, force: true });
  return repo;
}

/** Appends a line to the algorithm code and returns the issues that mismatch causes. */
function changeCode(repo: string): ExpectedIssue[] {
  const contract = readJson<any>(repo, FILE);
  const changed = `${readFileSync(join(repo, CODE), "utf8")}print("and every row")\n`;
  writeText(repo, CODE, changed);
  return [
    {
      file: FILE,
      path: "$.inputs.algorithm.code.sha256",
      message: `does not match ${CODE} (its sha256 is ${sha256(changed)})`,
      fix: "the code changed after the contract was written: restore it, or update the contract and sign it again",
    },
    {
      file: FILE,
      path: "$.inputs.algorithm.code.size",
      message: `is ${contract.inputs.algorithm.code.size} but ${CODE} has ${Buffer.byteLength(changed)} bytes`,
      fix: "set the real size",
    },
  ];
}

/** Updates the contract to the current code and has every party sign it again (approvals stay as they were). */
async function adoptCode(repo: string): Promise<void> {
  const bytes = readFileSync(join(repo, CODE));
  editJson(repo, FILE, (c) => (c.inputs.algorithm.code = { ...c.inputs.algorithm.code, sha256: sha256(bytes), size: bytes.length }));
  await signAll(repo, ID);
}

const otherVersion = (address: string): ExpectedIssue => ({
  file: approvalFile(address),
  path: "$.message.contractHash",
  message: "was signed over another version of the contract",
  fix: "sign the current contract again",
});

type Case = [name: string, arrange: (repo: string) => Promise<ExpectedIssue[]> | ExpectedIssue[], state: string];

const STATUS_CASES: Case[] = [
  ["the committed approvals", () => [], "active"],
  [
    "an approval by the consumer, who is not asked to approve",
    async (repo) => {
      writeJson(repo, approvalFile(CONSUMER.address), await walletRecord("health-consumer", await typedData(repo, ID, true)));
      return [
        {
          file: approvalFile(CONSUMER.address),
          path: "$.signer",
          message: `${CONSUMER.address} (consumer) is not asked to sign approvals`,
          fix: "remove this file",
        },
      ];
    },
    "signed",
  ],
  ["committed code that differs from the approved code", (repo) => changeCode(repo), "signed"],
  [
    "approvals of the old code after the contract adopted new code",
    async (repo) => {
      changeCode(repo);
      await adoptCode(repo);
      const otherCode = (address: string): ExpectedIssue => ({
        file: approvalFile(address),
        path: "$.message.codeSha256",
        message: "approves other algorithm code",
        fix: "review and approve the current code",
      });
      return [otherVersion(WITNESS.address), otherCode(WITNESS.address), otherVersion(PROVIDER.address), otherCode(PROVIDER.address)];
    },
    "signed",
  ],
  [
    "approvals of the old image after the contract changed its digest",
    async (repo) => {
      editJson(repo, FILE, (c) => (c.inputs.algorithm.container.digest = `sha256:${"1".repeat(64)}`));
      await signAll(repo, ID);
      const otherImage = (address: string): ExpectedIssue => ({
        file: approvalFile(address),
        path: "$.message.imageDigest",
        message: "approves another image digest",
        fix: "review and approve the current image",
      });
      return [otherVersion(WITNESS.address), otherImage(WITNESS.address), otherVersion(PROVIDER.address), otherImage(PROVIDER.address)];
    },
    "signed",
  ],
  [
    "a missing approval by the witness",
    (repo) => {
      rmSync(join(repo, approvalFile(WITNESS.address)));
      return [
        {
          file: approvalFile(WITNESS.address),
          path: "$",
          message: "no approval by witness Data Exchange Notary",
          fix: `datomspod approve ${ID} --key <their key>`,
        },
      ];
    },
    "signed",
  ],
  [
    "an agreement filed as an approval",
    (repo) => {
      writeText(repo, approvalFile(PROVIDER.address), readFileSync(join(repo, `contracts/${ID}/signatures/${PROVIDER.address}.json`)));
      const file = approvalFile(PROVIDER.address);
      return [
        { file, path: "$.kind", message: 'is "agreement", expected "approval"', fix: "put the record in the right folder" },
        { file, path: "$.message.title", message: "is not a field of this record", fix: "remove it" },
        { file, path: "$.message.algorithmDid", message: "is missing", fix: "sign the record again with datomspod" },
        { file, path: "$.message.codeSha256", message: "is missing", fix: "sign the record again with datomspod" },
        { file, path: "$.message.imageDigest", message: "is missing", fix: "sign the record again with datomspod" },
      ];
    },
    "signed",
  ],
];

describe("contract status counts only approvals of the exact algorithm", () => {
  it.each(STATUS_CASES)("%s", async (_name, arrange, state) => {
    const repo = approvedRepo();
    const issues = await arrange(repo);

    const result = await cli(repo, "contract", "status", ID, "--format", "json", "--at", "2026-12-01T00:00:00Z");

    expect(jsonOut(result).state).toBe(state);
    await expectIssues(repo, ["contract", "status", ID, "--at", "2026-12-01T00:00:00Z"], 0, issues);
  });

  it("is approved again once the providers and the witness approve the new code", async () => {
    const repo = approvedRepo();
    changeCode(repo);
    await adoptCode(repo);

    await approveAll(repo, ID);

    const result = jsonOut(await cli(repo, "contract", "status", ID, "--format", "json"));
    expect({ state: result.state, issues: result.issues }).toEqual({ state: "active", issues: [] });
  });
});

describe("approve refuses", () => {
  it("the consumer's key (exit 2, nothing written)", async () => {
    const repo = approvedRepo();

    await expectIssues(repo, ["approve", ID, "--key", CONSUMER.file], 2, [
      {
        file: CONSUMER.file,
        path: "$",
        message: `key ${CONSUMER.address} is not a data provider or witness of ${ID}`,
        fix: "approve with the key of a provider or the witness",
      },
    ]);
    expect(existsSync(join(repo, approvalFile(CONSUMER.address)))).toBe(false);
  });

  it("code that differs from the contract (exit 2, the approval stays as it was)", async () => {
    const repo = approvedRepo();
    const before = readFileSync(join(repo, approvalFile(PROVIDER.address)));
    const issues = changeCode(repo);

    const text = await runCli(["approve", ID, "--key", PROVIDER.file], { repo });

    expect(text.stderr).toBe(
      [`error: the algorithm of ${ID} cannot be approved`, ...issues.map((i) => `  - ${i.file} ${i.path}: ${i.message} (fix: ${i.fix})`), ""].join("\n"),
    );
    await expectIssues(repo, ["approve", ID, "--key", PROVIDER.file], 2, issues);
    expect(readFileSync(join(repo, approvalFile(PROVIDER.address)))).toEqual(before);
  });

  it("a missing code file", async () => {
    const repo = approvedRepo();
    rmSync(join(repo, CODE));

    await expectIssues(repo, ["approve", ID, "--key", PROVIDER.file], 2, [
      { file: CODE, path: "$", message: "file not found", fix: "create it or check the name" },
    ]);
  });
});

describe("approve", () => {
  it("writes the provider's approval, byte-identical to the committed one", async () => {
    const repo = approvedRepo();
    const committed = readFileSync(join(repo, approvalFile(PROVIDER.address)), "utf8");
    rmSync(join(repo, approvalFile(PROVIDER.address)));

    const result = await cli(repo, "approve", ID, "--key", PROVIDER.file);

    expect(result).toEqual({
      code: 0,
      stdout: `provider ${PROVIDER.address} approved the algorithm of ${ID}: ${approvalFile(PROVIDER.address)}\n`,
      stderr: "",
    });
    expect(readFileSync(join(repo, approvalFile(PROVIDER.address)), "utf8")).toBe(committed);
  });
});
