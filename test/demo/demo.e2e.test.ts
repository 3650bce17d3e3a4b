import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PUBLIC_REASONS } from "../../generator/pod/roles/receipt.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";

const run = promisify(execFile);

describe("npm run demo (the README's main job)", () => {
  it("runs the whole pipeline end to end with the built CLI (the bundle package.json's bin names): a delivered run, anchored, audited, settled and paid through the escrow; a market package reused and revoked", async () => {
    const workspace = mkdtempSync(join(tmpdir(), "datomspod-demo-"));

    try {
      const { stdout } = await run(process.execPath, [join(PACKAGE_ROOT, "dist/bundle/datomspod.js"), "demo", "--workspace", workspace], {
        env: { ...process.env, DATOMSPOD_KEY_PASSWORD: "demo-test-password" },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 600_000,
      });

      expect(stdout).toContain(`run run-1 of hospital-demo: succeeded (${PUBLIC_REASONS.succeeded})`);
      expect(stdout).toContain("pod and volumes removed: yes");
      expect(stdout).toMatch(/^region,patients,mean_age,mean_length_of_stay_days\ncentral,23,58.9,12.17\n/m);
      expect(stdout).toContain("hospital-demo: delivered");
      expect(stdout).toMatch(/hospital-demo: \d+ verified, 0 missing, 0 mismatched/);
      // Settled and paid through the escrow on the local chain; the audit checks the payment transaction.
      expect(stdout).toMatch(/^released: 2\d{3}(\.\d+)? DLD to the payees, \d+(\.\d+)? DLD back to the consumer/m);
      expect(stdout).toContain("hospital-demo: settled");
      expect(stdout).toMatch(/verified\s+settlement\s+contracts\/hospital-demo\/settlement\.json/);
      expect(stdout).toMatch(/verified\s+payment\s+contracts\/hospital-demo\/payments\/release-0x[0-9a-f]{64}\.json#transaction\s+release of settlement/);
      expect(stdout.match(/hospital-demo: \d+ verified, 0 missing, 0 mismatched/g)).toHaveLength(2);
      // The algorithm market: a follow-up study runs the published package on the inherited approvals; a revocation stops its next run.
      expect(stdout).toMatch(/^ {2}approval of provider 0x[0-9a-fA-F]{40} inherited from algorithms\/hospital-aggregates\/1\.0\.0\/approvals\//m);
      expect(stdout).toContain(`run run-1 of hospital-followup: succeeded (${PUBLIC_REASONS.succeeded})`);
      expect(stdout).toMatch(/approvals\/0x[0-9a-fA-F]{40}\.json: was revoked by provider 0x[0-9a-fA-F]{40} at /);
      expect(existsSync(join(workspace, "contracts", "hospital-followup", "receipts", "run-2.json"))).toBe(false);
      expect(existsSync(join(workspace, "clusters", "local", "hospital-followup"))).toBe(false);
      expect(stdout).toMatch(/hospital-followup: \d+ verified, 0 missing, 0 mismatched/);
      expect(stdout).toMatch(/verified\s+revocation\s+algorithms\/hospital-aggregates\/1\.0\.0\/revocations\//);
      expect(
        stdout
          .trimEnd()
          .endsWith(
            `demo complete: the workspace ${workspace} holds the repository it built (git log shows every step)\nweb view: ${workspace}/site/index.html`,
          ),
      ).toBe(true);
      expect(existsSync(join(workspace, "site", "contracts", "hospital-demo", "index.html"))).toBe(true);
      expect(existsSync(join(workspace, "clusters", "local", "hospital-demo"))).toBe(false);
      expect(JSON.parse(readFileSync(join(workspace, "contracts", "hospital-demo", "receipts", "run-1.json"), "utf8")).predicate.deletion.removed).toBe(true);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  }, 600_000);
});
