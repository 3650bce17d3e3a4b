import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AT, BANK, HOSPITAL, cli, editContract, readJson, tempRepo, writeJson } from "../compile/repo.js";

describe("datomspod check", () => {
  it("passes both example contracts through every stage", async () => {
    const repo = tempRepo();

    const result = await cli(repo, "check", "--at", AT, "--format", "json");

    const report = JSON.parse(result.stdout);
    expect(result.code).toBe(0);
    expect(report.contracts.map((c: any) => [c.id, Object.values(c.stages).map((s: any) => s.status)])).toEqual([
      ["bank-credit-model", ["ok", "ok", "ok", "ok", "ok", "ok"]],
      ["hospital-stats", ["ok", "ok", "ok", "ok", "ok", "ok"]],
    ]);
    expect(report.contracts.map((c: any) => c.policy.scores)).toEqual([
      { openness: 58, privacy: 50, security: 95 },
      { openness: 34, privacy: 60, security: 90 },
    ]);
  });

  it("skips the later stages of a contract whose schema fails, and exits 1", async () => {
    const repo = tempRepo();
    const path = join(repo, "contracts", "hospital-stats", "contract.json");
    const contract = readJson(path);
    delete (contract as any).outputs.policy;
    writeJson(path, contract);

    const result = await cli(repo, "check", "hospital-stats", "--at", AT, "--format", "json");

    const [check] = JSON.parse(result.stdout).contracts;
    expect(result.code).toBe(1);
    expect(check.stages).toMatchObject({
      schema: { status: "failed" },
      signatures: { status: "skipped" },
      policy: { status: "skipped" },
      kubernetes: { status: "skipped" },
    });
    expect(check.stages.schema.issues[0]).toMatchObject({ file: "contracts/hospital-stats/contract.json", path: "$.outputs.policy" });
  });

  it("judges an unsigned proposal (a pull request) by its OPS-C scores and reports the missing signatures", async () => {
    const repo = tempRepo();
    rmSync(join(repo, "contracts", "hospital-stats", "signatures"), { recursive: true });
    rmSync(join(repo, "contracts", "hospital-stats", "approvals"), { recursive: true });
    rmSync(join(repo, "contracts", "hospital-stats", "runs"), { recursive: true });

    const result = await cli(repo, "check", "hospital-stats", "--at", AT, "--format", "json");

    const [check] = JSON.parse(result.stdout).contracts;
    expect(result.code).toBe(1);
    expect(check.stages.signatures.status).toBe("failed");
    expect(check.stages.compile.status).toBe("ok");
    expect([...new Set(check.policy.deny.map((d: any) => d.rule))].sort()).toEqual(["approvals", "signatures"]);
    expect(check.policy.scores).toEqual({ openness: 34, privacy: 60, security: expect.any(Number) });
  });

  it("fails the policy stage of a contract whose outputs are raw records in a medical scenario", async () => {
    const repo = tempRepo();
    await editContract(
      repo,
      HOSPITAL.id,
      (c) => {
        c.outputs.kinds = ["aggregates", "raw-records"];
        c.outputs.policy.noRawRecords = false;
      },
      HOSPITAL.signers,
      HOSPITAL.approvers,
    );

    const result = await cli(repo, "check", "hospital-stats", "--at", AT, "--format", "json");

    const [check] = JSON.parse(result.stdout).contracts;
    expect(result.code).toBe(1);
    expect(check.stages.policy.status).toBe("failed");
    expect(check.policy.deny.map((d: any) => d.rule)).toContain("raw-records");
  });

  it("reports a contract on an unknown cluster: no approval can count, and it does not compile", async () => {
    const repo = tempRepo();
    await editContract(repo, BANK.id, (c) => (c.cluster = "elsewhere"), BANK.signers, []);

    const result = await cli(repo, "check", "bank-credit-model", "--at", AT, "--format", "json");

    const [check] = JSON.parse(result.stdout).contracts;
    expect(result.code).toBe(1);
    expect(check.stages.approvals.status).toBe("failed");
    expect(check.stages.compile.issues[0].message).toBe("no cluster profile clusters/elsewhere/cluster.yaml");
    expect(check.stages.policy.status).toBe("skipped");
  });

  it("writes the Markdown PR comment, the SARIF log and one SVG triangle per contract", async () => {
    const repo = tempRepo();

    const markdown = await cli(repo, "check", "--at", AT, "--report", "markdown", "--svg-dir", join(repo, "opsc"));
    const sarif = await cli(repo, "check", "--at", AT, "--report", "sarif");

    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toContain("## datomspod check: all 2 contracts pass");
    expect(markdown.stdout).toContain(`![OPS-C triangle of hospital-stats](${join(repo, "opsc")}/hospital-stats.svg)`);
    expect(readFileSync(join(repo, "opsc", "hospital-stats.svg"), "utf8")).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(existsSync(join(repo, "opsc", "bank-credit-model.svg"))).toBe(true);
    expect(JSON.parse(sarif.stdout).version).toBe("2.1.0");
  });

  it("fails the policy stage of a contract with an unknown scenario and still checks the others", async () => {
    const repo = tempRepo();
    await editContract(repo, HOSPITAL.id, (c) => (c.opsc.scenario = "no-such-scenario"), HOSPITAL.signers, HOSPITAL.approvers);

    const result = await cli(repo, "check", "--at", AT, "--format", "json");

    const [bank, hospital] = JSON.parse(result.stdout).contracts;
    expect(result.code).toBe(1);
    expect(bank.stages.policy.status).toBe("ok");
    expect(hospital.stages.policy.status).toBe("failed");
    expect(hospital.stages.policy.issues[0]).toMatchObject({ file: "contracts/hospital-stats/contract.json", path: "$.opsc.scenario" });
  });

  it("refuses an unknown contract id or report format with exit 2", async () => {
    const repo = tempRepo();

    const unknown = await cli(repo, "check", "nope", "--at", AT);
    const format = await cli(repo, "check", "--report", "pdf", "--at", AT);

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("contracts/nope/contract.json: no such contract (fix: use one of bank-credit-model, hospital-stats)");
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('command line --report: unknown report "pdf" (fix: use one of text, json, sarif, markdown)');
  });

  it("denies a contract checked after its validity window ended", async () => {
    const repo = tempRepo();

    const result = await cli(repo, "check", "hospital-stats", "--at", "2029-01-01T00:00:00Z", "--format", "json");

    const [check] = JSON.parse(result.stdout).contracts;
    expect(result.code).toBe(1);
    expect(check.policy.deny.map((d: any) => d.rule)).toContain("validity");
  });
});
