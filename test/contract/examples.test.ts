/**
 * The example contracts in contracts/: each one verifies, is active on 2026-11-24, and signing a
 * copy again with the TEST-ONLY keys gives byte-identical signature and approval files (so
 * `npm run examples` is deterministic and the committed signatures are what the keys produce).
 */

import { readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { approveAll, signAll } from "../helpers/records.js";
import { ROOT, exampleIds, tempRepo } from "../helpers/repo.js";

const IDS = exampleIds();

function filesOf(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((name) => [name, readFileSync(join(dir, name), "utf8")]),
  );
}

describe("the example contracts", () => {
  it("are at least two", () => {
    expect(IDS.length).toBeGreaterThanOrEqual(2);
  });

  describe.each(IDS.map((id) => [id]))("%s", (id) => {
    it("verifies: every party signed it validly", async () => {
      const repo = tempRepo([id]);

      const result = await cli(repo, "contract", "verify", id);

      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    });

    it("is active on 2026-11-24 without any issue", async () => {
      const repo = tempRepo([id]);

      const result = await cli(repo, "contract", "status", id, "--at", "2026-11-24T00:00:00Z");

      expect(result).toEqual({ code: 0, stdout: `${id}: active\n`, stderr: "" });
    });

    it("signed and approved again with the test keys gives byte-identical files", async () => {
      const repo = tempRepo([id]);
      const dir = join(repo, "contracts", id);
      rmSync(join(dir, "signatures"), { recursive: true });
      rmSync(join(dir, "approvals"), { recursive: true });

      await signAll(repo, id);
      await approveAll(repo, id);

      expect(filesOf(join(dir, "signatures"))).toEqual(filesOf(join(ROOT, "contracts", id, "signatures")));
      expect(filesOf(join(dir, "approvals"))).toEqual(filesOf(join(ROOT, "contracts", id, "approvals")));
    });
  });
});
