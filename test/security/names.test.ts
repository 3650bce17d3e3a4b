/**
 * The Job of a run, and so its pod (podman plays it under the Job's name and names its containers
 * and volumes after it; the Job controller names pods `<job>-<5 random>`), says which contract and
 * run it is: `<contract>-<run>-<spec hash>`, a DNS-1123 label of at most 57 characters. Attacked
 * with the longest ids, ids that begin alike, ids whose cut would end in '-', and ids that run
 * into each other (`a-b` + `c` against `a` + `b-c`).
 */

import { cpSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { JOB_NAME_MAX, LABEL_MAX, jobName } from "../../generator/compile/names.js";
import { CONTRACT_ID_MAX, RUN_ID_MAX } from "../../generator/repo/layout.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { HOSPITAL, KEYS, cli, editContract, tempRepo } from "../compile/repo.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HASH = "356a2b00";

describe("jobName", () => {
  it.each([
    ["hospital-stats", "run-1", "hospital-stats-run-1-356a2b00"],
    ["a", "1", "a-1-356a2b00"],
    // 57 characters exactly: not cut.
    ["c".repeat(57 - 2 - 5 - 8), "run-1", `${"c".repeat(42)}-run-1-356a2b00`],
    // The longest ids: the contract id is cut to what is left, the run id and the hash stay whole.
    ["c".repeat(CONTRACT_ID_MAX), "r".repeat(RUN_ID_MAX), `${"c".repeat(57 - 20 - 8 - 2)}-${"r".repeat(20)}-356a2b00`],
    // A cut that would end in '-' drops it.
    [`${"a".repeat(26)}-bcdefghijklmn`, "r".repeat(RUN_ID_MAX), `${"a".repeat(26)}-${"r".repeat(20)}-356a2b00`],
  ])("%s, %s → %s", (contract, run, name) => {
    expect(jobName(contract, run, HASH)).toBe(name);
  });

  it("is always a DNS-1123 label of at most 57 characters that keeps the run id and the hash, for every length of either id", () => {
    const names: string[] = [];
    for (let c = 1; c <= CONTRACT_ID_MAX; c += 1) {
      for (let r = 1; r <= RUN_ID_MAX; r += 1) {
        // Ids made of parts, so a cut can fall on a '-'.
        const contract = `x${"-ab".repeat(Math.ceil(c / 3))}`.slice(0, c).replace(/-$/, "z");
        const run = `r${"-9".repeat(r)}`.slice(0, r).replace(/-$/, "1");
        const name = jobName(contract, run, HASH);
        names.push(name);
        expect(name.length, name).toBeLessThanOrEqual(JOB_NAME_MAX);
        expect(name, name).toMatch(DNS_LABEL);
        expect(name.endsWith(`-${run}-${HASH}`), name).toBe(true);
        expect(contract.startsWith(name.slice(0, name.length - run.length - HASH.length - 2)), name).toBe(true);
      }
    }
    // The Job controller's pod name, <job>-<5 random>, keeps the whole Job name within a label.
    expect(Math.max(...names.map((n) => n.length)) + 6).toBeLessThanOrEqual(LABEL_MAX);
  });
});

/** A copy of the hospital-stats contract under another id, signed, approved and with run `run` requested. */
async function copyContract(repo: string, id: string, run: string): Promise<void> {
  mkdirSync(join(repo, "contracts", id), { recursive: true });
  cpSync(join(PACKAGE_ROOT, "contracts", HOSPITAL.id, "contract.json"), join(repo, "contracts", id, "contract.json"));
  cpSync(join(PACKAGE_ROOT, "contracts", HOSPITAL.id, "algorithm"), join(repo, "contracts", id, "algorithm"), { recursive: true });
  await editContract(repo, id, (c) => (c.id = id), HOSPITAL.signers, HOSPITAL.approvers);
  const requested = await cli(repo, "request", id, run, "--key", join(KEYS, "health-consumer.json"));
  if (requested.code !== 0) throw new Error(requested.stderr);
}

/** The Job of each rendered instance in clusters/local/: contract id → [file, Job name, its labels]. */
function jobs(repo: string, ids: readonly string[]): Record<string, [string, string, Record<string, string>]> {
  return Object.fromEntries(
    ids.map((id) => {
      const dir = join(repo, "clusters", "local", id);
      const file = readdirSync(dir).find((name) => name.startsWith("job-"))!;
      const job = parse(readFileSync(join(dir, file), "utf8")) as { metadata: { name: string; labels: Record<string, string> } };
      return [id, [file, job.metadata.name, job.metadata.labels]];
    }),
  );
}

describe("Job names through `datomspod compile`", () => {
  it("two contracts of 40 characters that differ only at the end, and ids that run into each other, get Jobs that differ and say whose they are", async () => {
    const repo = tempRepo();
    const prefix = "regional-hospital-admissions-2025-q";
    const [a, b] = [`${prefix}1-pub`, `${prefix}2-pub`];
    const [c, d] = ["ward-a", "ward"];
    // 40 + 18 + hash: too long, so the contract ids are cut, at a '-' here.
    const run = "request-2026-11-24";
    await copyContract(repo, a, run);
    await copyContract(repo, b, run);
    await copyContract(repo, c, "run-1");
    await copyContract(repo, d, "a-run-1");

    const compiled = await cli(repo, "compile");

    expect(compiled.code, compiled.stdout + compiled.stderr).toBe(0);
    const found = jobs(repo, [a, b, c, d]);
    for (const [id, [file, name, labels]] of Object.entries(found)) {
      expect(file).toBe(`job-${name}.yaml`);
      expect(name.length).toBeLessThanOrEqual(JOB_NAME_MAX);
      expect(name).toMatch(DNS_LABEL);
      expect(labels).toMatchObject({ "datomspod.io/contract": id });
      expect(name).toMatch(new RegExp(`-${labels["datomspod.io/run"]}-[0-9a-f]{8}$`));
    }
    // Cut to the same 28 characters (29, less the '-' it would end in), the long ids still differ: by the hash, which covers both ids.
    expect(found[a][1]).toMatch(/^regional-hospital-admissions-request-2026-11-24-[0-9a-f]{8}$/);
    expect(found[b][1]).toMatch(/^regional-hospital-admissions-request-2026-11-24-[0-9a-f]{8}$/);
    expect(found[a][1]).not.toBe(found[b][1]);
    // ward-a + run-1 against ward + a-run-1: the same words, different Jobs.
    expect(found[c][1]).toMatch(/^ward-a-run-1-[0-9a-f]{8}$/);
    expect(found[d][1]).toMatch(/^ward-a-run-1-[0-9a-f]{8}$/);
    expect(found[c][1]).not.toBe(found[d][1]);
  });
});
