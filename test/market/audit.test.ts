/**
 * Past evidence stays verifiable after a revocation: a contract that uses an algorithm package is
 * anchored (with the package's code, its author's signature and the inherited approvals among the
 * items), the owner revokes, the revocation is anchored in turn, and `audit verify` re-verifies
 * every item against a real chain (anvil). A changed byte of the package's code is caught.
 */

import { appendFileSync, cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { anchorEvidence } from "../../generator/anchor/anchor.js";
import { devWallet } from "../../generator/anchor/anvil.js";
import { TEST_NOW, runCli } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { ROOT, tempRepo } from "../helpers/repo.js";
import { pinnedChain } from "../anchor/chain.js";

const ID = "hospital-stats";
const REF = "hospital-stats@1.0.0";
const LIMITS = join(ROOT, "test", "fixtures", "market", "hospital-stats-limits.json");
const PROVIDER = testKey("hospital-provider");
const CONSUMER = testKey("health-consumer");
const WITNESS = testKey("notary-witness");
const LATER = "2026-11-24T01:00:00Z";

interface Row {
  status: string;
  kind: string;
  subject: string;
}

async function ok(repo: string, argv: string[], now = TEST_NOW): Promise<void> {
  const result = await runCli(argv, { repo, now });
  if (result.code !== 0) throw new Error(`datomspod ${argv.join(" ")} exited ${result.code}: ${result.stderr}`);
}

describe("the evidence of a contract that uses a package", () => {
  it("stays verifiable after the owner revokes, and a changed byte of the package's code is caught", async () => {
    const { chain } = await pinnedChain();
    const repo = tempRepo([ID]);
    cpSync(join(ROOT, "algorithms"), join(repo, "algorithms"), { recursive: true });
    await ok(repo, ["algorithm", "approve", REF, "--key", WITNESS.file, "--limits", LIMITS]);
    await ok(repo, ["algorithm", "use", REF, ID]);
    for (const folder of ["approvals", "algorithm", "signatures", "runs"]) rmSync(join(repo, "contracts", ID, folder), { recursive: true, force: true });
    for (const key of [PROVIDER, CONSUMER, WITNESS]) await ok(repo, ["contract", "sign", ID, "--key", key.file]);
    await ok(repo, ["compile"]);
    const audit = async (): Promise<{ code: number; rows: Row[] }> => {
      const result = await runCli(["audit", "verify", ID, "--chain", chain.url, "--format", "json"], { repo, now: LATER });
      return { code: result.code, rows: (JSON.parse(result.stdout) as { contracts: { rows: Row[] }[] }).contracts[0].rows };
    };

    await anchorEvidence({ repo, chain, wallet: devWallet(0), ids: [ID], confirmations: 1 });
    await ok(repo, ["algorithm", "revoke", REF, "--key", PROVIDER.file, "--reason", "withdrawn"], LATER);
    await anchorEvidence({ repo, chain, wallet: devWallet(0), ids: [ID], confirmations: 1 });
    const verified = await audit();
    appendFileSync(join(repo, "algorithms", "hospital-stats", "1.0.0", "aggregate.py"), "#");
    const tampered = await audit();

    expect(verified.code).toBe(0);
    expect(verified.rows.filter((r) => r.subject.startsWith("algorithms/")).map((r) => [r.status, r.kind])).toEqual([
      ["verified", "signature"],
      ["verified", "approval"],
      ["verified", "approval"],
      ["verified", "algorithm-code"],
      ["verified", "revocation"],
    ]);
    expect(verified.rows.filter((r) => r.status !== "verified")).toEqual([]);
    expect(tampered.code).toBe(1);
    expect(tampered.rows.filter((r) => r.status !== "verified").map((r) => [r.status, r.kind, r.subject])).toContainEqual([
      "mismatched",
      "algorithm-code",
      "algorithms/hospital-stats/1.0.0/aggregate.py",
    ]);
  });
});
