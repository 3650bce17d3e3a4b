/**
 * Slow (podman, anvil, Chromium): the web view of a repository the demo built, driven in Debian's
 * Chromium (headless, playwright-core). The contracts page lists the demo contract with its state;
 * the timeline shows each step with who, when, evidence and anchor transaction; the keyboard reaches
 * every link; a changed byte of the receipt shows as mismatched and highlighted; no page scrolls
 * sideways on a phone; `datomspod serve` serves the same pages. Pages load nothing but their own files.
 *
 * Screenshots: written to the test's own folder; with UPDATE_SCREENSHOTS=1 to docs/screenshots/
 * (the README and docs/web-view.md show them). DATOMSPOD_WEB_DEMO=DIR copies a workspace an earlier
 * `datomspod demo --workspace DIR` built instead of running the demo (for working on the pages).
 */

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { podmanMissing } from "../run/podman.js";
import { chromiumMissing, launchChromium, type LaunchedBrowser } from "./browser.js";

const run = promisify(execFile);

// What the functions run inside the page use (the project's TypeScript has no DOM library).
declare const document: { activeElement: { getAttribute(name: string): string | null } | null; documentElement: { scrollWidth: number }; body: unknown };
declare const window: { innerWidth: number };
declare function getComputedStyle(element: unknown): { backgroundColor: string; marginTop: string };
const MAIN = join(PACKAGE_ROOT, "dist", "generator", "cli", "main.js");
const ID = "hospital-demo";
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
const REACHED = ["proposed", "signed", "approved", "active", "ran", "delivered", "deleted", "settled"];

const missing = chromiumMissing() ?? (await podmanMissing());
if (missing !== undefined) console.warn(`SKIPPED browser tests of the web view: ${missing}`);

describe.skipIf(missing !== undefined)("the web view in Chromium, over a repository the demo built", () => {
  let workspace: string;
  let shots: string;
  let launched: LaunchedBrowser;
  const site = (): string => join(workspace, "site");
  const url = (path: string): string => pathToFileURL(join(site(), path)).href;

  /** A new page that records every request and error: anything but file:// is a failure. */
  async function open(path: string, viewport = DESKTOP): Promise<{ page: Page; requests: string[]; errors: string[] }> {
    const page = await launched.context.newPage();
    await page.setViewportSize(viewport);
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    page.on("pageerror", (error) => errors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.goto(url(path));
    return { page, requests, errors };
  }

  async function shot(page: Page, name: string, fullPage = false): Promise<void> {
    await page.screenshot({ path: join(shots, name), fullPage });
  }

  async function report(): Promise<string> {
    const { stdout } = await run(process.execPath, [MAIN, "report", "--repo", workspace, "--html", site(), "--chain", "local"], { timeout: 120_000 });
    return stdout;
  }

  beforeAll(async () => {
    workspace = mkdtempSync(join(tmpdir(), "datomspod-web-"));
    shots = process.env["UPDATE_SCREENSHOTS"] === "1" ? join(PACKAGE_ROOT, "docs", "screenshots") : join(workspace, "screenshots");
    mkdirSync(shots, { recursive: true });
    const earlier = process.env["DATOMSPOD_WEB_DEMO"];
    if (earlier !== undefined) {
      cpSync(earlier, workspace, { recursive: true });
      await report();
    } else {
      const demo = await run(process.execPath, [MAIN, "demo", "--workspace", workspace], {
        env: { ...process.env, DATOMSPOD_KEY_PASSWORD: "web-view-test-password" },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 600_000,
      }).catch((error: unknown) => {
        const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
        throw new Error(`the demo failed:\n${stdout.slice(-3000)}\n${stderr.slice(-2000)}`);
      });
      expect(demo.stdout.trimEnd().endsWith(`web view: ${join(workspace, "site", "index.html")}`)).toBe(true);
    }
    launched = await launchChromium();
  }, 660_000);

  afterAll(async () => {
    await launched?.close();
    if (workspace !== undefined) rmSync(workspace, { recursive: true, force: true });
  });

  it("lists the demo contract with its state, and loads nothing but its own files", async () => {
    const { page, requests, errors } = await open("index.html");

    const row = page.locator("table.contracts tbody tr", { has: page.locator(`a[href="contracts/${ID}/index.html"]`) });

    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator(".state").innerText()).toBe("settled");
    expect(await row.innerText()).toContain("medical-research");
    expect(await row.locator(".status").innerText()).toContain("verified");
    expect(await page.locator("#contract-filter").isVisible()).toBe(true);
    expect(requests.filter((r) => !r.startsWith("file://"))).toEqual([]);
    expect(errors).toEqual([]);
    await shot(page, "contracts.png");
    await page.close();
  });

  it("the timeline shows every step, through settled, with who, when, its evidence and anchor transaction", async () => {
    const { page, errors } = await open(`contracts/${ID}/index.html`);

    for (const step of REACHED) {
      const item = page.locator(`li#step-${step}`);
      const text = await item.innerText();
      expect(await item.getAttribute("class"), step).toMatch(step === "settled" ? /step-current/ : /step-done/);
      expect(text, step).not.toContain("nobody yet");
      expect(await item.locator("dd time").count(), `${step}: when`).toBeGreaterThan(0);
      expect(text, `${step}: commit`).toMatch(/[0-9a-f]{12}… .* UTC datomspod demo: /);
      // Locally the pod's removal is in the receipt; a deletion record of its own comes from a cluster's operator.
      if (step === "deleted") continue;
      expect(await item.locator("table.evidence tbody tr").count(), `${step}: evidence`).toBeGreaterThan(0);
      expect(text, `${step}: anchor`).toMatch(/tx 0x[0-9a-f]{10}…\s+block \d+, chain 31337/);
      expect(text, `${step}: verification`).toContain("verified");
    }
    expect(await page.locator("li#step-signed").innerText()).toMatch(/Riverside General Hospital[\s\S]*Public Health Institute[\s\S]*Data Exchange Notary/);
    expect(await page.locator("li#step-deleted").innerText()).toMatch(/the instance folder was removed in commit [0-9a-f]{12}/);
    expect(errors).toEqual([]);
    await shot(page, "timeline.png");
    await page.setViewportSize(PHONE);
    await shot(page, "timeline-phone.png");
    await page.close();
  });

  it("the keyboard reaches every link, the skip link first", async () => {
    const { page } = await open(`contracts/${ID}/index.html`);
    const links = await page.locator("a[href]").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    const focusable = await page.locator("a[href], [tabindex='0'], input:not([hidden])").count();

    const reached: (string | null)[] = [];
    for (let i = 0; i < focusable + 5; i++) {
      await page.keyboard.press("Tab");
      reached.push(await page.evaluate(() => document.activeElement?.getAttribute("href") ?? null));
    }

    expect(reached[0]).toBe("#main");
    expect(new Set(reached.filter((href) => href !== null))).toEqual(new Set(links));
    await page.keyboard.press("Shift+Tab");
    await page.close();
  });

  it("no page scrolls sideways on a phone", async () => {
    for (const path of ["index.html", ...["index", "opsc", "runs", "audit", "settlement"].map((p) => `contracts/${ID}/${p}.html`)]) {
      const { page, errors } = await open(path, PHONE);

      const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);

      expect(widths[0], path).toBeLessThanOrEqual(widths[1]);
      expect(errors, path).toEqual([]);
      if (path.endsWith("opsc.html")) await shot(page, "opsc-phone.png");
      await page.close();
    }
    const { page } = await open(`contracts/${ID}/opsc.html`);
    expect(await page.locator("figure.triangle svg > title").textContent()).toContain(`OPS-C triangle of contract ${ID}`);
    await shot(page, "opsc.png");
    await page.close();
  });

  it("serve: the same pages on 127.0.0.1, re-verified per request", async () => {
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [MAIN, "serve", "--repo", workspace, "--port", "0", "--chain", "local"], { stdio: ["ignore", "pipe", "pipe"] });
      const served = await new Promise<string>((resolve, reject) => {
        let out = "";
        child!.stdout!.on("data", (chunk: Buffer) => {
          out += chunk.toString("utf8");
          const match = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (match) resolve(match[1]);
        });
        child!.once("exit", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
      const page = await launched.context.newPage();

      await page.goto(`${served}contracts/${ID}/runs.html`);

      expect(await page.locator("h1").innerText()).toBe(`Runs of ${ID}`);
      expect(await page.locator(".phase").first().innerText()).toBe("succeeded");
      expect(await page.evaluate(() => getComputedStyle(document.body).marginTop)).toBe("0px");
      await shot(page, "runs.png");
      await page.close();
    } finally {
      child?.kill("SIGTERM");
    }
  });

  it("a changed byte of the receipt shows as mismatched on the audit page, highlighted", async () => {
    const receipt = join(workspace, "contracts", ID, "receipts", "run-1.json");
    const text = readFileSync(receipt, "utf8");
    const at = text.indexOf('"succeeded"') + 1;
    writeFileSync(receipt, `${text.slice(0, at)}S${text.slice(at + 1)}`);

    const stdout = await report();
    const { page, errors } = await open(`contracts/${ID}/audit.html`);
    const row = page.locator("table.audit tbody tr", { has: page.locator(`code:text-is("contracts/${ID}/receipts/run-1.json")`) });

    expect(stdout).toContain("anchors checked against chain 31337");
    expect(await row.getAttribute("class")).toBe("problem problem-mismatched");
    expect(await row.locator(".status").innerText()).toContain("mismatched");
    expect(await row.evaluate((tr) => getComputedStyle(tr).backgroundColor)).toBe("rgb(253, 231, 231)");
    expect(await page.locator('[role="alert"]').innerText()).toMatch(/^\d+ rows? not verified/);
    expect(await page.locator("ul.problems").innerText()).toContain(`contracts/${ID}/receipts/run-1.json`);
    // The receipt, and the runner's signature over it, no longer match.
    expect(await page.locator("table.audit tbody tr.problem-mismatched").count()).toBe(2);
    await page.check("#only-problems");
    expect(await page.locator("table.audit tbody tr:visible").count()).toBe(await page.locator("table.audit tbody tr:not([data-status='verified'])").count());
    expect(errors).toEqual([]);
    await page.uncheck("#only-problems");
    await shot(page, "audit-mismatched.png");
    await page.close();
  });
});
