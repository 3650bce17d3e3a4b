/**
 * The static site: every page of the view, the triangle SVGs, the one CSS and one script, and the
 * view itself as view.json. Pure (`renderSite`) apart from reading the shipped assets and writing the
 * files (`writeSite`, sorted, atomic); the same view gives byte-identical files.
 */

import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { InputError } from "../errors.js";
import { stableJsonText } from "../evidence/store.js";
import { writeFileAtomic } from "../repo/files.js";
import { packageFile } from "../repo/package-root.js";
import { auditPage } from "./pages/audit.js";
import { contractsPage } from "./pages/contracts.js";
import { opscPage } from "./pages/opsc.js";
import { runsPage } from "./pages/runs.js";
import { settlementPage } from "./pages/settlement.js";
import { timelinePage } from "./pages/timeline.js";
import type { SiteView } from "./view.js";

export const ASSET_FILES = ["site.css", "site.js"] as const;
/** The file that marks a folder as a datomspod site (and holds the view). */
export const VIEW_FILE = "view.json";

export type Assets = Readonly<Record<(typeof ASSET_FILES)[number], string>>;

/** The shipped CSS and script (generator/report/assets/). */
export function readAssets(): Assets {
  const read = (name: string): string => readFileSync(packageFile("generator", "report", "assets", name), "utf8");
  return { "site.css": read("site.css"), "site.js": read("site.js") };
}

/** Every file of the site: relative path (forward slashes) → content, in sorted order. */
export function renderSite(view: SiteView, assets: Assets): Map<string, string> {
  const files = new Map<string, string>();
  files.set("index.html", contractsPage(view));
  for (const c of view.contracts) {
    const dir = `contracts/${c.id}`;
    files.set(`${dir}/index.html`, timelinePage(view, c));
    files.set(`${dir}/opsc.html`, opscPage(view, c));
    files.set(`${dir}/runs.html`, runsPage(view, c));
    files.set(`${dir}/audit.html`, auditPage(view, c));
    files.set(`${dir}/settlement.html`, settlementPage(view, c));
    if (c.opsc?.svg !== undefined) files.set(`${dir}/opsc.svg`, c.opsc.svg);
  }
  for (const name of ASSET_FILES) files.set(`assets/${name}`, assets[name]);
  files.set(VIEW_FILE, stableJsonText(view));
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Removes the folders under `dir` that hold no file (pages of contracts that are gone). */
function removeEmptyFolders(dir: string): void {
  const folders = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort((a, b) => b.length - a.length);
  for (const folder of folders) if (readdirSync(folder).length === 0) rmSync(folder, { recursive: true });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"));
}

/**
 * Writes the site into `dir`: a new or empty folder, or an earlier site (it has view.json), whose
 * files that are no longer part of the site are removed. Any other folder is refused.
 */
export function writeSite(dir: string, files: ReadonlyMap<string, string>, shown = dir): void {
  if (existsSync(dir)) {
    const present = listFiles(dir);
    if (present.length > 0 && !present.includes(VIEW_FILE))
      throw InputError.of({
        file: shown,
        path: "--html",
        message: "is a folder that holds other files, not a datomspod site",
        fix: "choose a new or empty folder (or one an earlier `datomspod report --html` wrote)",
      });
    for (const name of present) if (!files.has(name)) rmSync(join(dir, name), { force: true });
    removeEmptyFolders(dir);
  }
  for (const [name, content] of files) writeFileAtomic(join(dir, ...name.split("/")), content);
}
