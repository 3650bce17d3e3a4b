import { cpSync, readFileSync, readdirSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { canonicalize } from "../../generator/contract/canonical.js";
import { loadContract } from "../../generator/contract/load.js";
import { collectEvidence } from "../../generator/evidence/collect.js";
import { FAKE_RECEIPT } from "./fixtures.js";
import { ROOT, contractJson, readText, tempRepo, writeJson, writeText } from "../helpers/repo.js";

const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

function repoWithInstance(): string {
  const repo = tempRepo(["hospital-stats"]);
  cpSync(join(ROOT, "clusters", "local", "hospital-stats"), join(repo, "clusters", "local", "hospital-stats"), { recursive: true });
  return repo;
}

describe("collectEvidence", () => {
  it("finds every item of the hospital-stats example, by kind, pinned by sha256", () => {
    const repo = repoWithInstance();
    const loaded = loadContract(repo, "hospital-stats");
    const dir = join(repo, "clusters", "local", "hospital-stats");
    const manifests = Object.fromEntries(readdirSync(dir).map((name) => [name, sha256(readFileSync(join(dir, name)))]));

    const { items, unreadable } = collectEvidence(repo, "hospital-stats");

    expect(unreadable).toEqual([]);
    const find = (kind: string): { subject: string; digest: string }[] =>
      items.filter((i) => i.kind === kind).map(({ subject, digest }) => ({ subject, digest }));
    expect(find("contract-hash")).toEqual([{ subject: "contracts/hospital-stats/contract.json", digest: loaded.hash }]);
    expect(find("contract-file")).toEqual([
      { subject: "contracts/hospital-stats/contract.json", digest: sha256(readText(repo, contractJson("hospital-stats"))) },
    ]);
    expect(find("signature").map((s) => s.subject)).toEqual(
      readdirSync(join(repo, "contracts/hospital-stats/signatures"))
        .sort()
        .map((n) => `contracts/hospital-stats/signatures/${n}`),
    );
    expect(find("approval")).toHaveLength(2);
    expect(find("algorithm-code")).toEqual([
      { subject: "contracts/hospital-stats/algorithm/aggregate.py", digest: loaded.contract.inputs.algorithm.code.sha256 },
    ]);
    expect(find("image-digest")).toEqual([
      {
        subject: `localhost/datomspod/python:3.11@${loaded.contract.inputs.algorithm.container.digest}`,
        digest: loaded.contract.inputs.algorithm.container.digest.slice(7),
      },
    ]);
    expect(find("rendered-manifest")).toEqual([{ subject: "clusters/local/hospital-stats/", digest: sha256(canonicalize(manifests)) }]);
    expect(items.every((i) => i.contractId === "hospital-stats" && /^[0-9a-f]{64}$/.test(i.digest))).toBe(true);
  });

  it("turns every output and log a receipt lists into an item of its own", () => {
    const repo = tempRepo(["hospital-stats"]);
    writeJson(repo, "contracts/hospital-stats/receipts/run-1.json", FAKE_RECEIPT);

    const { items } = collectEvidence(repo, "hospital-stats");

    expect(items.filter((i) => ["receipt", "output", "log"].includes(i.kind)).map((i) => [i.kind, i.subject, i.digest.slice(0, 4)])).toEqual([
      ["receipt", "contracts/hospital-stats/receipts/run-1.json", sha256(readText(repo, "contracts/hospital-stats/receipts/run-1.json")).slice(0, 4)],
      ["output", "contracts/hospital-stats/receipts/run-1.json#outputs/aggregates.csv", "1111"],
      ["log", "contracts/hospital-stats/receipts/run-1.json#logs/algorithm.log", "2222"],
    ]);
  });

  it("picks up deletion and settlement records when they appear", () => {
    const repo = tempRepo(["hospital-stats"]);
    writeJson(repo, "contracts/hospital-stats/deletion.json", { deleted: true });
    writeJson(repo, "contracts/hospital-stats/settlement.json", { settled: true });

    const kinds = collectEvidence(repo, "hospital-stats").items.map((i) => i.kind);

    expect(kinds.slice(-2)).toEqual(["deletion", "settlement"]);
  });

  it("pins the file bytes and the signed content apart: white space changes one, not the other", () => {
    const repo = tempRepo(["hospital-stats"]);
    const before = collectEvidence(repo, "hospital-stats").items;
    writeText(repo, contractJson("hospital-stats"), `${readText(repo, contractJson("hospital-stats"))} `);

    const after = collectEvidence(repo, "hospital-stats").items;

    const digest = (items: typeof before, kind: string): string | undefined => items.find((i) => i.kind === kind)?.digest;
    expect(digest(after, "contract-hash")).toBe(digest(before, "contract-hash"));
    expect(digest(after, "contract-file")).not.toBe(digest(before, "contract-file"));
  });

  it("reports what cannot be recomputed instead of failing: a contract that does not parse, a link", () => {
    const repo = tempRepo(["hospital-stats"]);
    writeText(repo, contractJson("hospital-stats"), readText(repo, contractJson("hospital-stats")).replace('"id":', '"id" '));
    const signatures = join(repo, "contracts/hospital-stats/signatures");
    const first = readdirSync(signatures).sort()[0];
    unlinkSync(join(signatures, first));
    symlinkSync("/etc/hostname", join(signatures, first));

    const { items, unreadable } = collectEvidence(repo, "hospital-stats");

    expect(unreadable.map((u) => [u.kind, u.subject, u.issue.message])).toEqual([
      ["contract-hash", "contracts/hospital-stats/contract.json", expect.stringMatching(/^invalid JSON at line \d+ column \d+: expected ':'$/)],
      ["signature", `contracts/hospital-stats/signatures/${first}`, "is a symbolic link"],
    ]);
    expect(items.map((i) => i.kind)).toContain("contract-file");
  });
});
