/**
 * The algorithm market end to end through the CLI, on a copy of the hospital-stats example: the
 * committed package hospital-stats@1.0.0 (published by its author, approved by the hospital for its
 * admissions table), the witness approving it too, the contract using it by digest — and every
 * way around it: out-of-limit contracts, expiry, revocation and a replayed approval, a tampered or
 * extended package, a forged author, an approval for another dataset or chain, edited limits.
 */

import { createHash } from "node:crypto";
import { appendFileSync, cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collectEvidence } from "../../generator/evidence/collect.js";
import { signRecord } from "../../generator/signatures/records.js";
import { algorithmDomainId } from "../../generator/signatures/typed-data.js";
import { TEST_NOW, runCli, type CliResult } from "../helpers/cli.js";
import { testKey, testWallet } from "../helpers/keys.js";
import { ROOT, contractJson, editJson, readJson, tempRepo } from "../helpers/repo.js";

const REF = "hospital-stats@1.0.0";
const PACKAGE = "algorithms/hospital-stats/1.0.0";
const ID = "hospital-stats";
const LIMITS = join(ROOT, "test", "fixtures", "market", "hospital-stats-limits.json");
const PROVIDER = testKey("hospital-provider");
const CONSUMER = testKey("health-consumer");
const WITNESS = testKey("notary-witness");
const HOUR = 3_600_000;

function at(offsetHours: number): string {
  return new Date(Date.parse(TEST_NOW) + offsetHours * HOUR).toISOString().replace(".000Z", "Z");
}

async function dp(repo: string, argv: string[], now = TEST_NOW): Promise<CliResult> {
  return runCli(argv, { repo, now });
}

async function ok(repo: string, ...argv: string[]): Promise<CliResult> {
  const result = await dp(repo, argv);
  if (result.code !== 0) throw new Error(`datomspod ${argv.join(" ")} exited ${result.code}: ${result.stderr}`);
  return result;
}

/** Every party signs the contract as it now is, and the consumer requests run-1. */
async function signAndRequest(repo: string): Promise<void> {
  rmSync(join(repo, "contracts", ID, "signatures"), { recursive: true, force: true });
  rmSync(join(repo, "contracts", ID, "runs"), { recursive: true, force: true });
  for (const key of [PROVIDER, CONSUMER, WITNESS]) await ok(repo, "contract", "sign", ID, "--key", key.file);
  await ok(repo, "request", ID, "run-1", "--key", CONSUMER.file, "--param", "groupBy=region");
}

/**
 * The example repository with the contract turned into a user of the package: the code and the
 * per-contract approvals removed, the witness approving the package as the hospital already did.
 */
async function marketRepo(options: { witness?: boolean } = {}): Promise<string> {
  const repo = tempRepo([ID]);
  cpSync(join(ROOT, "algorithms"), join(repo, "algorithms"), { recursive: true });
  if (options.witness !== false) await ok(repo, "algorithm", "approve", REF, "--key", WITNESS.file, "--limits", LIMITS);
  await ok(repo, "algorithm", "use", REF, ID);
  for (const folder of ["approvals", "algorithm"]) rmSync(join(repo, "contracts", ID, folder), { recursive: true, force: true });
  await signAndRequest(repo);
  return repo;
}

interface CheckIssue {
  file: string;
  path: string;
  message: string;
}

async function check(repo: string, now = TEST_NOW): Promise<{ code: number; issues: CheckIssue[] }> {
  const result = await dp(repo, ["check", ID, "--format", "json", "--at", now], now);
  const report = JSON.parse(result.stdout) as { contracts: { stages: Record<string, { status: string; issues: CheckIssue[] }> }[] };
  return { code: result.code, issues: Object.values(report.contracts[0].stages).flatMap((stage) => stage.issues) };
}

describe("the committed example package", () => {
  it("is published by its author and approved by the hospital for its admissions table", async () => {
    const repo = tempRepo([ID]);
    cpSync(join(ROOT, "algorithms"), join(repo, "algorithms"), { recursive: true });

    const shown = await dp(repo, ["algorithm", "show", REF, "--format", "json"]);
    const listed = await dp(repo, ["algorithm", "list", "--format", "json"]);

    const show = JSON.parse(shown.stdout);
    expect(show.problems).toEqual([]);
    expect(show.notCounted).toEqual([]);
    expect(Object.keys(show.files)).toEqual(["README.md", "aggregate.py", "algorithm.json", "parameters.schema.json"]);
    expect(show.approvals.map((a: { signer: string; state: string }) => [a.signer, a.state])).toEqual([[PROVIDER.address, "valid"]]);
    expect(readFileSync(join(ROOT, PACKAGE, "aggregate.py"))).toEqual(readFileSync(join(ROOT, "contracts", ID, "algorithm", "aggregate.py")));
    expect(JSON.parse(listed.stdout).packages).toEqual([
      { package: REF, author: CONSUMER.address, digest: show.digest, published: true, approvals: 1, revoked: 0, problems: [] },
    ]);
  });
});

describe("a contract that uses a package inherits the owners' approvals", () => {
  it("passes the check with no approval of its own, and compile renders the package's code", async () => {
    const repo = await marketRepo();

    const checked = await check(repo);
    const status = await ok(repo, "contract", "status", ID);
    await ok(repo, "compile");

    expect(checked).toEqual({ code: 0, issues: [] });
    expect(existsSync(join(repo, "contracts", ID, "approvals"))).toBe(false);
    expect(existsSync(join(repo, "contracts", ID, "algorithm"))).toBe(false);
    expect(status.stdout).toBe(
      [
        `${ID}: active`,
        `  approval of provider ${PROVIDER.address} inherited from ${PACKAGE}/approvals/${PROVIDER.address}.json`,
        `  approval of witness ${WITNESS.address} inherited from ${PACKAGE}/approvals/${WITNESS.address}.json`,
        "",
      ].join("\n"),
    );
    const code = readFileSync(join(ROOT, PACKAGE, "aggregate.py"), "utf8");
    const rendered = readdirSync(join(repo, "clusters", "local", ID)).map((name) => readFileSync(join(repo, "clusters", "local", ID, name), "utf8"));
    expect(rendered.some((yaml) => yaml.includes(code.split("\n")[0]) && yaml.includes('k = int(params["minGroupSize"])'))).toBe(true);
  });

  it("a party who approved neither the package nor the contract is still missing", async () => {
    const repo = await marketRepo({ witness: false });

    const checked = await check(repo);

    expect(checked.code).toBe(1);
    expect(checked.issues).toEqual([
      expect.objectContaining({ file: `contracts/${ID}/approvals/${WITNESS.address}.json`, message: "no approval by witness Data Exchange Notary" }),
    ]);
  });
});

describe("a contract names a package wholly or not at all", () => {
  it.each([
    [
      "a package without its code entry",
      (c: any) => (c.inputs.algorithm.code = { path: "algorithm/aggregate.py", sha256: c.inputs.algorithm.code.sha256, size: c.inputs.algorithm.code.size }),
      "$.inputs.algorithm.code",
    ],
    ["a package file without a package", (c: any) => delete c.inputs.algorithm.package, "$.inputs.algorithm.code.packageFile"],
  ])("%s is refused", async (_name, edit, path) => {
    const repo = await marketRepo();
    editJson(repo, contractJson(ID), edit);

    const checked = await check(repo);

    expect(checked.code).toBe(1);
    expect(checked.issues).toContainEqual(expect.objectContaining({ file: `contracts/${ID}/contract.json`, path }));
  });

  it("a run request with parameters the package's schema does not take does not count", async () => {
    const repo = await marketRepo();
    editJson(repo, contractJson(ID), (c) =>
      c.inputs.algorithm.consumerParameters.push({ name: "label", type: "text", label: "Label", required: false, default: "x" }),
    );
    await signAndRequest(repo);

    const status = JSON.parse((await dp(repo, ["contract", "status", ID, "--format", "json"])).stdout);

    expect(status.issues).toContainEqual(
      expect.objectContaining({
        file: `contracts/${ID}/runs/run-1.json`,
        message: expect.stringContaining(`(the parameters ${PACKAGE}/parameters.schema.json allows)`),
      }),
    );
    expect(status.runs).toEqual([]);
  });

  it("an approval dated after the time it is judged at does not count yet", async () => {
    const repo = await marketRepo();
    await dp(repo, ["algorithm", "approve", REF, "--key", PROVIDER.file, "--limits", LIMITS], at(48));

    const checked = await check(repo, at(1));

    expect(checked.issues.map((i) => i.message)).toContain(
      `the approval of provider ${PROVIDER.address} (${PACKAGE}/approvals/${PROVIDER.address}.json) is dated ${at(48)}, after the time it is judged at`,
    );
  });
});

describe("pull requests", () => {
  it("the package's folder is owned by the owners of the contracts that use it (a removed revocation needs their review)", async () => {
    const repo = await marketRepo();

    await ok(repo, "github", "codeowners");

    expect(readFileSync(join(repo, ".github", "CODEOWNERS"), "utf8")).toContain(`\n/algorithms/hospital-stats/1.0.0/ @exchange-notary @riverside-data\n`);
  });
});

describe("evidence", () => {
  it("pins the package's code, its author's signature and the parties' approvals and revocations of it", async () => {
    const repo = await marketRepo();
    await dp(repo, ["algorithm", "revoke", REF, "--key", PROVIDER.file], at(1));
    const sha = (file: string): string =>
      createHash("sha256")
        .update(readFileSync(join(repo, file)))
        .digest("hex");
    const revocation = `${PACKAGE}/revocations/${PROVIDER.address}.${at(1).replace(/[-:]/g, "")}.json`;

    const items = collectEvidence(repo, ID).items.filter((item) => item.subject.startsWith("algorithms/"));

    expect(items.map(({ kind, subject, digest }) => ({ kind, subject, digest }))).toEqual([
      { kind: "signature", subject: `${PACKAGE}/author.json`, digest: sha(`${PACKAGE}/author.json`) },
      { kind: "approval", subject: `${PACKAGE}/approvals/${WITNESS.address}.json`, digest: sha(`${PACKAGE}/approvals/${WITNESS.address}.json`) },
      { kind: "approval", subject: `${PACKAGE}/approvals/${PROVIDER.address}.json`, digest: sha(`${PACKAGE}/approvals/${PROVIDER.address}.json`) },
      { kind: "algorithm-code", subject: `${PACKAGE}/aggregate.py`, digest: sha(`${PACKAGE}/aggregate.py`) },
      { kind: "revocation", subject: revocation, digest: sha(revocation) },
    ]);
  });
});

describe("outside the approved limits a contract is refused, naming the field", () => {
  it.each([
    [
      "a parameter below the approved minimum",
      (c: any) => (c.inputs.algorithm.parameters.minGroupSize = 10 - 5),
      "$.inputs.algorithm.parameters.minGroupSize",
      "is 5, outside",
    ],
    ["another scenario", (c: any) => (c.opsc.scenario = "credit-scoring"), "$.opsc.scenario", '"credit-scoring" is not a scenario of'],
    ["another dataset", (c: any) => (c.inputs.data[0].did = `did:op:${"ab".repeat(32)}`), "$.inputs.data[0].did", "is not among the datasets of"],
    [
      "a consumer choice the approval does not allow",
      (c: any) => {
        c.inputs.algorithm.consumerParameters[0].options.push({ age: "Age" });
      },
      "$.inputs.algorithm.consumerParameters[0]",
      'a consumer may choose "age"',
    ],
  ])("%s", async (_name, edit, path, message) => {
    const repo = await marketRepo();
    editJson(repo, contractJson(ID), edit);
    await signAndRequest(repo).catch(() => undefined);

    const checked = await check(repo);

    expect(checked.code).toBe(1);
    const found = checked.issues.filter((issue) => issue.path === path && issue.message.includes(message));
    expect(found.map((issue) => issue.file)).toContain(`contracts/${ID}/contract.json`);
    expect(found.map((issue) => issue.message).join("\n")).toContain(`${PACKAGE}/approvals/`);
  });

  it("once the approval's validity ends, so does the inherited approval (the contract itself is still valid)", async () => {
    const repo = await marketRepo();

    const before = await check(repo, "2027-10-30T00:00:00Z");
    const after = await check(repo, "2027-11-01T00:00:00Z");

    expect(before.code).toBe(0);
    expect(after.code).toBe(1);
    expect(after.issues.map((i) => i.message)).toContain(
      `the approval of provider ${PROVIDER.address} (${PACKAGE}/approvals/${PROVIDER.address}.json) expired on 2027-10-31T00:00:00Z`,
    );
  });
});

describe("a revocation stops every future check, compile and run", () => {
  it("and neither the old approval nor one edited to look newer counts again; a new approval does", async () => {
    const repo = await marketRepo();
    await ok(repo, "compile");
    const approvalFile = join(repo, PACKAGE, "approvals", `${PROVIDER.address}.json`);
    const oldApproval = readFileSync(approvalFile);

    const revoked = await dp(repo, ["algorithm", "revoke", REF, "--key", PROVIDER.file, "--reason", "the review found a leak"], at(1));
    const checked = await check(repo, at(2));
    const compiled = await dp(repo, ["compile"], at(2));
    const ran = await dp(repo, ["run", ID, "run-1", "--key", PROVIDER.file], at(2));
    writeFileSync(approvalFile, oldApproval);
    const replayed = await check(repo, at(2));
    editJson(repo, `${PACKAGE}/approvals/${PROVIDER.address}.json`, (record) => (record.message.approvedAt = at(3)));
    const forgedTime = await check(repo, at(4));
    const renewed = await dp(repo, ["algorithm", "approve", REF, "--key", PROVIDER.file, "--limits", LIMITS], at(5));
    const again = await check(repo, at(6));
    await dp(repo, ["algorithm", "revoke", REF, "--key", PROVIDER.file], at(7));
    const revokedAgain = await check(repo, at(8));

    expect(revoked.code).toBe(0);
    expect(checked.code).toBe(1);
    expect(checked.issues).toContainEqual(
      expect.objectContaining({
        file: `${PACKAGE}/approvals/${PROVIDER.address}.json`,
        message: expect.stringContaining(
          `was revoked by provider ${PROVIDER.address} at ${at(1)} (${PACKAGE}/revocations/${PROVIDER.address}.${at(1).replace(/[-:]/g, "")}.json: the review found a leak)`,
        ),
      }),
    );
    expect(compiled.stdout).toContain("no instance in this state");
    expect(existsSync(join(repo, "clusters", "local", ID))).toBe(false);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain("was revoked by provider");
    expect(replayed.issues.map((i) => i.message).join("\n")).toContain("was revoked by provider");
    expect(forgedTime.code).toBe(1);
    expect(forgedTime.issues).toContainEqual(expect.objectContaining({ path: "$.signature", message: expect.stringContaining("recovers to") }));
    expect(renewed.code).toBe(0);
    expect(again).toEqual({ code: 0, issues: [] });
    expect(readdirSync(join(repo, PACKAGE, "revocations"))).toHaveLength(2);
    expect(revokedAgain.code).toBe(1);
  });
});

describe("attacks on the package and its approvals", () => {
  it.each([
    ["a changed code file", (repo: string) => appendFileSync(join(repo, PACKAGE, "aggregate.py"), "\nprint(open('/data/inputs/x').read())\n")],
    ["an added file", (repo: string) => writeFileSync(join(repo, PACKAGE, "sitecustomize.py"), "import os\n")],
    ["a changed parameter schema", (repo: string) => editJson(repo, `${PACKAGE}/parameters.schema.json`, (s) => (s.properties.minGroupSize.minimum = 1))],
  ])("%s: the package digest no longer matches, nothing is rendered", async (_name, tamper) => {
    const repo = await marketRepo();
    tamper(repo);

    const checked = await check(repo);
    const compiled = await dp(repo, ["compile"]);

    expect(checked.code).toBe(1);
    expect(checked.issues).toContainEqual(
      expect.objectContaining({
        file: `contracts/${ID}/contract.json`,
        path: "$.inputs.algorithm.package.digest",
        message: expect.stringContaining(`but the files of ${PACKAGE}/ give sha256:`),
      }),
    );
    expect(compiled.stdout).toContain("no instance in this state");
    expect(existsSync(join(repo, "clusters", "local", ID))).toBe(false);
  });

  it("a forged author signature, or the package signed by someone other than its author, is refused", async () => {
    const repo = await marketRepo();
    const author = readJson<any>(repo, `${PACKAGE}/author.json`);
    const other = await testWallet("model-vendor");
    const byOther = await signRecord(other, "package", algorithmDomainId("hospital-stats", "1.0.0"), 31337, author.message);

    writeFileSync(join(repo, PACKAGE, "author.json"), `${JSON.stringify({ ...byOther, signer: author.signer }, null, 2)}\n`);
    const forged = await check(repo);
    writeFileSync(join(repo, PACKAGE, "author.json"), `${JSON.stringify(byOther, null, 2)}\n`);
    const notAuthor = await check(repo);
    const publish = await dp(repo, ["algorithm", "publish", REF, "--key", testKey("model-vendor").file]);

    expect(forged.code).toBe(1);
    expect(forged.issues).toContainEqual(
      expect.objectContaining({ file: `${PACKAGE}/author.json`, path: "$.signature", message: expect.stringContaining("recovers to") }),
    );
    expect(notAuthor.issues).toContainEqual(
      expect.objectContaining({ file: `${PACKAGE}/author.json`, path: "$.signer", message: expect.stringContaining(`not the author ${CONSUMER.address}`) }),
    );
    expect(publish.code).toBe(2);
    expect(publish.stderr).toContain(`is not the author ${CONSUMER.address} of ${REF}`);
  });

  it("an approval of one version, copied into another, counts for nothing there", async () => {
    const repo = await marketRepo();
    const next = "algorithms/hospital-stats/1.0.1";
    cpSync(join(repo, PACKAGE), join(repo, next), { recursive: true });
    rmSync(join(repo, next, "author.json"));
    editJson(repo, `${next}/algorithm.json`, (m) => (m.version = "1.0.1"));
    await ok(repo, "algorithm", "publish", "hospital-stats@1.0.1", "--key", CONSUMER.file);
    await ok(repo, "algorithm", "use", "hospital-stats@1.0.1", ID);
    await signAndRequest(repo);

    const shown = JSON.parse((await dp(repo, ["algorithm", "show", "hospital-stats@1.0.1", "--format", "json"])).stdout);
    const checked = await check(repo);

    expect(shown.approvals).toEqual([]);
    expect(shown.notCounted).toContainEqual(expect.objectContaining({ path: "$.message.package", message: "was signed for another algorithm package" }));
    expect(checked.code).toBe(1);
    expect(checked.issues).toContainEqual(expect.objectContaining({ file: `${next}/approvals/${PROVIDER.address}.json`, path: "$.message.package" }));
  });

  it("an approval for another dataset does not cover this contract's", async () => {
    const repo = await marketRepo();
    const limits = JSON.parse(readFileSync(LIMITS, "utf8"));
    const other = join(repo, "other-limits.json");
    writeFileSync(other, JSON.stringify({ ...limits, datasets: [`did:op:${"cd".repeat(32)}`] }));

    await ok(repo, "algorithm", "approve", REF, "--key", PROVIDER.file, "--limits", other);
    const checked = await check(repo);

    expect(checked.code).toBe(1);
    expect(checked.issues).toContainEqual(
      expect.objectContaining({
        file: `contracts/${ID}/contract.json`,
        path: "$.inputs.data[0].did",
        message: expect.stringContaining("is not among the datasets of the approval of provider"),
      }),
    );
  });

  it.each([
    [
      "signed for another chain",
      async (repo: string) => ok(repo, "algorithm", "approve", REF, "--key", PROVIDER.file, "--limits", LIMITS, "--chain-id", "1"),
      "$.chainId",
      "was signed for chain 1",
    ],
    [
      "its limits widened after signing",
      (repo: string) => Promise.resolve(editJson(repo, `${PACKAGE}/approvals/${PROVIDER.address}.json`, (r) => (r.limits.parameters.minGroupSize.minimum = 1))),
      "$.message.limitsHash",
      "does not match the limits in the file",
    ],
    [
      "copied under another owner's name",
      (repo: string) =>
        Promise.resolve(cpSync(join(repo, PACKAGE, "approvals", `${PROVIDER.address}.json`), join(repo, PACKAGE, "approvals", `${WITNESS.address}.json`))),
      "$.signer",
      "does not match the signer",
    ],
  ])("an approval %s counts for nothing", async (_name, attack, path, message) => {
    const repo = await marketRepo();
    await attack(repo);

    const checked = await check(repo);

    expect(checked.code).toBe(1);
    expect(checked.issues).toContainEqual(expect.objectContaining({ path, message: expect.stringContaining(message) }));
  });
});

describe("authoring a package", () => {
  it("new scaffolds it, publish signs it, and a published version cannot change", async () => {
    const repo = tempRepo([ID]);
    const code = join(ROOT, "contracts", ID, "algorithm", "aggregate.py");

    const created = await dp(repo, ["algorithm", "new", "stats@0.1.0", "--code", code, "--environment", "python", "--author", CONSUMER.address.toLowerCase()]);
    const unsigned = JSON.parse((await dp(repo, ["algorithm", "list", "--format", "json"])).stdout);
    const published = await dp(repo, ["algorithm", "publish", "stats@0.1.0", "--key", CONSUMER.file]);
    const listed = JSON.parse((await dp(repo, ["algorithm", "list", "--format", "json"])).stdout);
    appendFileSync(join(repo, "algorithms", "stats", "0.1.0", "README.md"), "\nchanged\n");
    const republished = await dp(repo, ["algorithm", "publish", "stats@0.1.0", "--key", CONSUMER.file]);
    const again = await dp(repo, ["algorithm", "new", "stats@0.1.0", "--code", code, "--environment", "python", "--author", CONSUMER.address]);

    expect(created.code).toBe(0);
    expect(readJson(repo, "algorithms/stats/0.1.0/algorithm.json")).toMatchObject({
      author: CONSUMER.address,
      entrypoint: "python3 $ALGO",
      code: "aggregate.py",
    });
    expect(unsigned.packages[0]).toMatchObject({ package: "stats@0.1.0", published: false });
    expect(published.code).toBe(0);
    expect(listed.packages[0]).toMatchObject({ package: "stats@0.1.0", published: true, problems: [] });
    expect(republished.code).toBe(2);
    expect(republished.stderr).toContain("was published with other contents; a published version never changes");
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exists");
  });

  it("takes the author as a keystore file (its address, no password), and names --author when it is neither that nor an address", async () => {
    const repo = tempRepo([ID]);
    const code = join(ROOT, "contracts", ID, "algorithm", "aggregate.py");

    const byKeystore = await dp(repo, ["algorithm", "new", "stats@0.2.0", "--code", code, "--environment", "python", "--author", CONSUMER.file]);
    const wrong = await dp(repo, ["algorithm", "new", "stats@0.3.0", "--code", code, "--environment", "python", "--author", "the-institute"]);

    expect(byKeystore.code).toBe(0);
    expect(readJson(repo, "algorithms/stats/0.2.0/algorithm.json")).toMatchObject({ author: CONSUMER.address });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--author: "the-institute" is neither an Ethereum address nor a keystore file');
    expect(existsSync(join(repo, "algorithms", "stats", "0.3.0"))).toBe(false);
  });
});
