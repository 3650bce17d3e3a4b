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
import { ROOT, contractJson, editJson, readJson, tempRepo, writeJson, writeText } from "../helpers/repo.js";

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

/** The issue of an approval whose `field` differs from what the repository now renders. */
const differs =
  (field: string, message: string, fix: string) =>
  (address: string): ExpectedIssue => ({ file: approvalFile(address), path: `$.message.${field}`, message, fix });
const otherInstance = differs(
  "instanceDigest",
  "approves another rendered instance (what runs in the cluster changed: generator, profile or contract)",
  "review the rendered instance (`datomspod compile`, clusters/) and approve again",
);
const otherProfile = differs("clusterProfileDigest", "approves another version of the cluster profile", "review the profile's change and approve again");
const otherRoleImage = differs(
  "roleImageDigest",
  "approves another role image (the datomspod pod image that verifies, seals and reports)",
  "review the role image and approve again",
);
const otherEnvironment = differs(
  "environmentDigest",
  "approves another version of the compute environment (its packages changed)",
  "review the environment's lock and approve again",
);
const otherImage = differs("image", "approves another image", "review and approve the current image");
const otherDigest = differs("imageDigest", "approves another image digest", "review and approve the current image");
const otherEntrypoint = differs("entrypoint", "approves another entrypoint (the command that runs)", "review and approve the current entrypoint");

/** Replaces text in the local cluster profile of the repository. */
function editProfile(repo: string, from: string, to: string): void {
  const path = join(repo, "clusters", "local", "cluster.yaml");
  const text = readFileSync(path, "utf8");
  if (!text.includes(from)) throw new Error(`the profile has no ${from}`);
  writeText(repo, "clusters/local/cluster.yaml", text.replace(from, to));
}

/** Overrides the python environment in the repository (environments/python/), edited. */
function editEnvironment(repo: string, edit: (environment: any) => void, extraFiles: Record<string, string> = {}): void {
  const environment = JSON.parse(readFileSync(join(ROOT, "environments", "python", "environment.json"), "utf8"));
  edit(environment);
  writeJson(repo, "environments/python/environment.json", environment);
  for (const [name, text] of Object.entries(extraFiles)) writeText(repo, `environments/python/${name}`, text);
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
  [
    "committed code that differs from the approved code (the instance carries the code too)",
    (repo) => [otherInstance(WITNESS.address), otherInstance(PROVIDER.address), ...changeCode(repo)],
    "signed",
  ],
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
      return [
        otherVersion(WITNESS.address),
        otherCode(WITNESS.address),
        otherInstance(WITNESS.address),
        otherVersion(PROVIDER.address),
        otherCode(PROVIDER.address),
        otherInstance(PROVIDER.address),
      ];
    },
    "signed",
  ],
  [
    "approvals of the old image after the environment and the contract moved to another digest",
    async (repo) => {
      const digest = `sha256:${"1".repeat(64)}`;
      editEnvironment(repo, (environment) => (environment.image.digest = digest));
      editJson(repo, FILE, (c) => (c.inputs.algorithm.container.digest = digest));
      await signAll(repo, ID);
      return [WITNESS, PROVIDER].flatMap(({ address }) => [
        otherVersion(address),
        otherImage(address),
        otherDigest(address),
        otherEnvironment(address),
        otherInstance(address),
      ]);
    },
    "signed",
  ],
  [
    "approvals of another entrypoint (an option that only tunes the interpreter)",
    async (repo) => {
      editJson(repo, FILE, (c) => (c.inputs.algorithm.container.entrypoint = "python3 -u $ALGO"));
      await signAll(repo, ID);
      return [WITNESS, PROVIDER].flatMap(({ address }) => [otherVersion(address), otherEntrypoint(address), otherInstance(address)]);
    },
    "signed",
  ],
  [
    "approvals given before the environment's lock changed",
    (repo) => {
      editEnvironment(repo, (environment) => (environment.packages = { format: "pip", lock: "requirements.lock" }), {
        "requirements.lock": "leak==1.0 --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
      });
      return [WITNESS, PROVIDER].flatMap(({ address }) => [otherEnvironment(address), otherInstance(address)]);
    },
    "signed",
  ],
  [
    "approvals given before the cluster profile changed what runs (another role image)",
    (repo) => {
      const pinned = /\n {4}digest: (sha256:[0-9a-f]{64})\n/.exec(readFileSync(join(ROOT, "clusters", "local", "cluster.yaml"), "utf8"))![1];
      editProfile(repo, pinned, `sha256:${"2".repeat(64)}`);
      return [WITNESS, PROVIDER].flatMap(({ address }) => [otherProfile(address), otherRoleImage(address), otherInstance(address)]);
    },
    "signed",
  ],
  [
    "approvals given before the cluster profile changed anything at all (a new allowed repository)",
    (repo) => {
      editProfile(repo, "    - localhost/datomspod/\n", "    - localhost/datomspod/\n    - registry.example.org/\n");
      return [WITNESS, PROVIDER].flatMap(({ address }) => [otherProfile(address)]);
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
          fix: `datomspod approve ${ID} --key <their key>, or an approving review of the pull request by @exchange-notary`,
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
        ...[
          "image",
          "imageDigest",
          "entrypoint",
          "environment",
          "environmentDigest",
          "cluster",
          "clusterProfileDigest",
          "roleImageDigest",
          "instanceDigest",
        ].map((field) => ({ file, path: `$.message.${field}`, message: "is missing", fix: "sign the record again with datomspod" })),
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

    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain(`provider ${PROVIDER.address} approved what runs for ${ID}: ${approvalFile(PROVIDER.address)}\n`);
    expect(result.stdout).toContain('  entrypoint   ["python3","/data/transformations/algorithm"]\n');
    expect(result.stdout).toMatch(/ {2}environment {2}python sha256:[0-9a-f]{64}\n/);
    expect(readFileSync(join(repo, approvalFile(PROVIDER.address)), "utf8")).toBe(committed);
  });
});
