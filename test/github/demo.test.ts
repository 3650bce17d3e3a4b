/**
 * `npm run demo:github` keeps working: it replays a pull request's life against the recorded API
 * (test/github/demo.mjs, run on the built dist/ as a reader runs it) and shows each step's outcome.
 */

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/repo.js";

describe("demo:github", () => {
  it("shows the comment created once and edited in place, the stale approval, the records and the audit", () => {
    const out = execFileSync(process.execPath, [join(ROOT, "test", "github", "demo.mjs")], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });

    const lines = out.split("\n");
    expect(lines.filter((line) => line.startsWith("━━ ")).length).toBe(6);
    expect(lines.filter((line) => line.startsWith("  comment created")).length).toBe(1);
    expect(lines.filter((line) => line.startsWith("  comment edited in place (#900)")).length).toBe(3);
    expect(out).toContain("⏳ missing: approved `a1a1a1a`, not the head `b2b2b2b`");
    expect(out).toContain("status datomspod/approval on b2b2b2b: success — approved by all 2 required approvers at b2b2b2b");
    expect(out).toContain("wrote   contracts/hospital-stats/reviews/81.json (review 81 by @riverside-data of #12)");
    expect(out).toContain("  hospital-stats: active");
    expect(out).toMatch(/verified {3}contracts\/hospital-stats\/reviews\/82\.json/);
    expect(out).not.toContain("ghs_demo-token-not-real");
  });
});
