import { execFileSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { anchorEvidence } from "../../generator/anchor/anchor.js";
import { cli, jsonOut } from "../helpers/cli.js";
import { testWallet } from "../helpers/keys.js";
import { readText, writeJson, writeText } from "../helpers/repo.js";
import { deployTestAnchor, fileChain, tempRepoWithClusters } from "../anchor/chain.js";
import { FAKE_RECEIPT } from "../evidence/fixtures.js";

const getChain = fileChain();
const ID = "hospital-stats";
const RECEIPT = `contracts/${ID}/receipts/run-1.json`;

interface Row {
  status: string;
  kind: string;
  subject: string;
  detail: string;
}

/** A repository copy whose evidence (with a fake receipt) is anchored on the test chain. */
async function anchoredRepo(): Promise<string> {
  const { chain } = getChain();
  const { address } = await deployTestAnchor(chain);
  const repo = tempRepoWithClusters();
  writeJson(repo, RECEIPT, FAKE_RECEIPT);
  await anchorEvidence({ repo, chain, wallet: await testWallet("platform-operator"), ids: [ID], anchorAddress: () => address, confirmations: 1 });
  return repo;
}

async function audit(repo: string): Promise<{ code: number; rows: Row[] }> {
  const result = await cli(repo, "audit", "verify", ID, "--chain", getChain().chain.url, "--format", "json");
  return { code: result.code, rows: jsonOut(result).contracts[0].rows as Row[] };
}

/** Changes exactly one byte of a file: the character `offset` after the first `marker`, to another of its class. */
function changeOneByte(repo: string, file: string, marker: string, offset = 0): void {
  const text = readText(repo, file);
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${marker} not in ${file}`);
  const i = at + marker.length + offset;
  const c = text[i];
  const replacement = /[0-9a-f]/.test(c) ? (c === "1" ? "2" : "1") : /[A-Za-z]/.test(c) ? (c === "a" ? "b" : "a") : c === " " ? "\t" : "_";
  writeText(repo, file, text.slice(0, i) + replacement + text.slice(i + 1));
}

function evidenceFile(repo: string, folder: "anchors" | "batches"): string {
  const name = readdirSync(join(repo, "contracts", ID, "evidence", folder))[0];
  return `contracts/${ID}/evidence/${folder}/${name}`;
}

const notVerified = (rows: Row[]): [string, string, string][] => rows.filter((r) => r.status !== "verified").map((r) => [r.status, r.kind, r.subject]);

describe("datomspod audit verify", () => {
  it("verifies everything right after anchoring, receipt outputs and logs included, and prints a table", async () => {
    const repo = await anchoredRepo();

    const json = await audit(repo);
    const text = await cli(repo, "audit", "verify", ID, "--chain", getChain().chain.url);

    expect(json.code).toBe(0);
    expect(notVerified(json.rows)).toEqual([]);
    expect(json.rows.filter((r) => ["receipt", "output", "log"].includes(r.kind)).map((r) => [r.kind, r.subject])).toEqual([
      ["receipt", RECEIPT],
      ["output", `${RECEIPT}#outputs/aggregates.csv`],
      ["log", `${RECEIPT}#logs/algorithm.log`],
    ]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split("\n");
    expect(lines[0]).toBe(`${ID}: ${json.rows.length} verified, 0 missing, 0 mismatched`);
    expect(lines[1]).toMatch(/^ {2}STATUS {6}KIND +SUBJECT +DETAIL$/);
    expect(lines[2]).toMatch(
      new RegExp(
        `^  verified {4}batch +contracts/${ID}/evidence/batches/[0-9a-f]{64}\\.json  anchored by 0x[0-9a-fA-F]{40} in block \\d+, \\d+ confirmations?$`,
      ),
    );
    expect(lines.at(-2)).toBe(`ok: ${json.rows.length} verified, 0 missing, 0 mismatched on chain 31337`);
  });

  const cases: [string, (repo: string) => void, [string, string, string][]][] = [
    [
      "a byte of contract.json",
      (repo) => changeOneByte(repo, `contracts/${ID}/contract.json`, '"title": "Regional p'),
      [
        ["mismatched", "contract-hash", `contracts/${ID}/contract.json`],
        ["mismatched", "contract-file", `contracts/${ID}/contract.json`],
        // The instance carries the contract, so its template (what approvals pin) changed with it.
        ["mismatched", "instance-template", `clusters/local/${ID}#template`],
      ],
    ],
    [
      "white space in contract.json (the signed content is unchanged)",
      (repo) => changeOneByte(repo, `contracts/${ID}/contract.json`, '"title":'),
      [["mismatched", "contract-file", `contracts/${ID}/contract.json`]],
    ],
    [
      "a byte of a signature",
      (repo) => changeOneByte(repo, `contracts/${ID}/signatures/0x60Fd6BAf0A6224c14E1570DAb1984EEE87A77Bd2.json`, '"signature": "0x', 10),
      [["mismatched", "signature", `contracts/${ID}/signatures/0x60Fd6BAf0A6224c14E1570DAb1984EEE87A77Bd2.json`]],
    ],
    [
      "a byte of the receipt",
      (repo) => changeOneByte(repo, RECEIPT, '"sha256": "', 5),
      [
        ["mismatched", "receipt", RECEIPT],
        ["mismatched", "output", `${RECEIPT}#outputs/aggregates.csv`],
      ],
    ],
    [
      "a byte of a rendered manifest",
      (repo) => changeOneByte(repo, `clusters/local/${ID}/namespace.yaml`, "name: "),
      [["mismatched", "rendered-manifest", `clusters/local/${ID}/`]],
    ],
    [
      "a new file among the rendered manifests",
      (repo) => writeText(repo, `clusters/local/${ID}/x.yaml`, "kind: ConfigMap\n"),
      [["mismatched", "rendered-manifest", `clusters/local/${ID}/`]],
    ],
    [
      "a byte of the algorithm code",
      (repo) => changeOneByte(repo, `contracts/${ID}/algorithm/aggregate.py`, "import"),
      [
        ["mismatched", "algorithm-code", `contracts/${ID}/algorithm/aggregate.py`],
        ["mismatched", "instance-template", `clusters/local/${ID}#template`],
      ],
    ],
  ];
  it.each(cases)("catches %s as mismatched, and nothing else", async (_what, change, expected) => {
    const repo = await anchoredRepo();

    change(repo);
    const { code, rows } = await audit(repo);

    expect(code).toBe(1);
    expect(notVerified(rows)).toEqual(expected);
  });

  it("catches a changed byte of the anchor record (block hash): the batch is mismatched, so its items are not anchored", async () => {
    const repo = await anchoredRepo();
    const file = evidenceFile(repo, "anchors");

    changeOneByte(repo, file, '"blockHash": "0x', 20);
    const { code, rows } = await audit(repo);

    expect(code).toBe(1);
    expect(rows[0]).toMatchObject({
      status: "mismatched",
      kind: "batch",
      detail: expect.stringMatching(
        /^block \d+ is now 0x[0-9a-f]{64}, not the recorded 0x[0-9a-f]{64} \(reorg\); run `datomspod anchor` to record where it is now$/,
      ),
    });
    expect(rows.slice(1).every((r) => r.status === "missing")).toBe(true);
  });

  it.each([
    [
      "its transaction hash",
      '"txHash": "0x',
      3,
      /^transaction 0x[0-9a-f]{64} is not in block \d+ 0x[0-9a-f]{64}; run `datomspod anchor` to record where it is now$/,
    ],
    ["its block number", '"blockNumber": ', 0, /^root anchored in block \d+, but the record says block \d+; run `datomspod anchor` to record where it is now$/],
    ["white space", '"anchorer":', 0, /^anchor record: is not byte-identical to its canonical form \(sorted keys, two-space indent, LF\): it was edited$/],
  ] as const)("catches a changed byte of the anchor record (%s)", async (_what, marker, offset, detail) => {
    const repo = await anchoredRepo();

    changeOneByte(repo, evidenceFile(repo, "anchors"), marker, offset);
    const { code, rows } = await audit(repo);

    expect(code).toBe(1);
    expect(rows[0]).toMatchObject({ status: "mismatched", kind: "batch", detail: expect.stringMatching(detail) });
  });

  it("catches a changed proof step in the batch record as that item mismatched", async () => {
    const repo = await anchoredRepo();

    changeOneByte(repo, evidenceFile(repo, "batches"), '"proof": [\n        "', 7);
    const { code, rows } = await audit(repo);

    expect(code).toBe(1);
    expect(rows.filter((r) => r.status !== "verified").map((r) => [r.status, r.kind, r.detail])).toEqual([
      ["mismatched", "contract-hash", expect.stringMatching(/^in batch [0-9a-f]{12}: its inclusion proof does not lead to the batch root$/)],
    ]);
  });

  it("catches a changed digest in the batch record: the root no longer matches, the batch is mismatched", async () => {
    const repo = await anchoredRepo();

    changeOneByte(repo, evidenceFile(repo, "batches"), '"digest": "', 0);
    const { code, rows } = await audit(repo);

    expect(code).toBe(1);
    expect(rows[0]).toMatchObject({
      status: "mismatched",
      kind: "batch",
      detail: expect.stringMatching(/its items hash to the root [0-9a-f]{64}, not to [0-9a-f]{64}/),
    });
  });

  it("reports an item that is not anchored yet as missing, and a removed record as missing", async () => {
    const repo = await anchoredRepo();

    writeJson(repo, `contracts/${ID}/settlement.json`, { settled: true });
    rmSync(join(repo, RECEIPT));
    const { code, rows } = await audit(repo);

    expect(code).toBe(1);
    expect(rows.filter((r) => r.status !== "verified").map((r) => [r.status, r.kind, r.subject, r.detail.replace(/[0-9a-f]{12}/g, "…")])).toEqual([
      ["missing", "receipt", RECEIPT, expect.stringMatching(/^anchored in batch … \(block \d+\) but gone from the repository$/)],
      ["missing", "output", `${RECEIPT}#outputs/aggregates.csv`, expect.stringMatching(/^anchored in batch … \(block \d+\) but gone from the repository$/)],
      ["missing", "log", `${RECEIPT}#logs/algorithm.log`, expect.stringMatching(/^anchored in batch … \(block \d+\) but gone from the repository$/)],
      ["missing", "settlement", `contracts/${ID}/settlement.json`, "not anchored yet (run `datomspod anchor`)"],
    ]);
  });

  it("verifies a removed rendered instance from git history, and finds one that git never held", async () => {
    const repo = await anchoredRepo();
    const git = (...args: string[]): void => {
      execFileSync("git", ["-C", repo, ...args], {
        stdio: "ignore",
        env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.org", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.org" },
      });
    };
    git("init", "-q");
    git("add", "-A");
    git("commit", "-q", "-m", "anchored");
    rmSync(join(repo, "clusters", "local", ID), { recursive: true });
    git("add", "-A");
    git("commit", "-q", "-m", "instance removed");

    const removed = await audit(repo);
    rmSync(join(repo, ".git"), { recursive: true, force: true });
    const noHistory = await audit(repo);

    expect(removed.code).toBe(0);
    expect(removed.rows.find((r) => r.kind === "rendered-manifest")).toMatchObject({
      status: "verified",
      detail: expect.stringMatching(/^removed from the working tree; recomputed from git commit [0-9a-f]{12} \(batch [0-9a-f]{12}, block \d+\)$/),
    });
    expect(noHistory.code).toBe(1);
    expect(notVerified(noHistory.rows)).toEqual([["missing", "rendered-manifest", `clusters/local/${ID}/`]]);
  });
});
