/**
 * Accessibility checks that need no browser: the palette's contrast (WCAG 2.2 relative luminance,
 * AA 4.5:1 for text), landmarks, heading order, labels and languages of every generated page.
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { packageFile } from "../../generator/repo/package-root.js";
import { readAssets, renderSite } from "../../generator/report/site.js";
import { generateSite } from "../../generator/report/generate.js";
import { tempRepoWithClusters } from "../anchor/chain.js";
import { TEST_NOW } from "../helpers/cli.js";

const CSS = readFileSync(packageFile("generator", "report", "assets", "site.css"), "utf8");

function palette(): Map<string, string> {
  const root = /:root\s*{([^}]*)}/.exec(CSS)?.[1] ?? "";
  return new Map([...root.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6});/g)].map((m) => [m[1], m[2]]));
}

/** WCAG 2.2 relative luminance of an sRGB colour #rrggbb. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Every text colour on every background the stylesheet puts it on. */
const PAIRS: [string, string][] = [
  ["fg", "bg"],
  ["muted", "bg"],
  ["link", "bg"],
  ["link-visited", "bg"],
  ["fg", "panel"],
  ["muted", "panel"],
  ["link", "panel"],
  ["header-fg", "header-bg"],
  ["ok-fg", "ok-bg"],
  ["missing-fg", "missing-bg"],
  ["bad-fg", "bad-bg"],
  ["none-fg", "none-bg"],
  ["current-fg", "current-bg"],
  ["link", "current-bg"],
  ["header-fg", "header-bg"],
  ["link", "bad-bg"],
];

describe("the palette", () => {
  it("is all defined", () => {
    const colours = palette();

    for (const [fg, bg] of PAIRS) expect([colours.has(fg), colours.has(bg)], `--${fg} on --${bg}`).toEqual([true, true]);
  });

  it.each(PAIRS)("--%s on --%s has a contrast of at least 4.5:1 (WCAG AA)", (fg, bg) => {
    const colours = palette();

    expect(contrast(colours.get(fg)!, colours.get(bg)!)).toBeGreaterThanOrEqual(4.5);
  });

  it("the focus outline stands out against the page (3:1, WCAG non-text contrast)", () => {
    const colours = palette();

    expect(contrast(colours.get("focus")!, colours.get("bg")!)).toBeGreaterThanOrEqual(3);
  });

  it("computes WCAG ratios right: black on white is 21:1, equal colours 1:1", () => {
    expect(contrast("#000000", "#ffffff")).toBeCloseTo(21, 5);
    expect(contrast("#777777", "#777777")).toBe(1);
  });
});

describe("every page", () => {
  it("has lang, a title, landmarks, one h1, no skipped heading level, labelled controls and regions, zh on Chinese", async () => {
    const repo = tempRepoWithClusters();
    const { files } = await generateSite(repo, [], new Date(TEST_NOW), "none");

    const pages = [...files].filter(([name]) => name.endsWith(".html"));

    expect(pages.length).toBe(11);
    for (const [name, text] of pages) {
      const at = `in ${name}`;
      expect(text, at).toMatch(/^<!doctype html>\s*<html lang="en">/);
      expect(text, at).toMatch(/<title>[^<]+ · datomspod<\/title>/);
      for (const landmark of ['<header class="site">', '<main id="main"', '<footer class="site">', '<a class="skip" href="#main">'])
        expect(text, at).toContain(landmark);
      expect(text.match(/<h1[ >]/g), at).toHaveLength(1);
      const levels = [...text.matchAll(/<h([1-6])[ >]/g)].map((m) => Number(m[1]));
      levels.forEach((level, i) => expect(level - (levels[i - 1] ?? 0), `${at}: heading h${level} after h${levels[i - 1]}`).toBeLessThanOrEqual(1));
      for (const input of text.matchAll(/<input id="([^"]+)"/g)) expect(text, at).toContain(`<label for="${input[1]}">`);
      for (const region of text.matchAll(/role="region" aria-labelledby="([^"]+)"/g)) expect(text, at).toContain(`id="${region[1]}"`);
      for (const han of text.matchAll(/[\u4e00-\u9fff]+/g)) expect(text.slice(0, han.index), `${at}: ${han[0]}`).toMatch(/<span lang="zh">$/);
      expect(text, at).not.toMatch(/(src|href)="(https?:)?\/\//);
    }
  });

  it("the stylesheet and script load nothing from elsewhere", () => {
    const { "site.css": css, "site.js": js } = readAssets();

    expect(css).not.toMatch(/url\(|@import/);
    expect(js).not.toMatch(/fetch\(|XMLHttpRequest|import\(|localStorage|WebSocket/);
    expect(renderSite).toBeTypeOf("function");
  });
});
