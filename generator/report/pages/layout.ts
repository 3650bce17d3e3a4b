/**
 * The page shell every page shares (landmarks, skip link, navigation, the content security policy
 * that forbids every load from elsewhere) and the small pieces pages are made of: status badges,
 * hashes, times, people, byte counts, commits.
 */

import { html, trusted, type Html } from "../html.js";
import type { ActorView, ChainSource, CommitView, ContractView, Verification } from "../view.js";

/** Nothing from elsewhere: styles, scripts and images only from the site itself; no forms, no frames. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-src 'none'; connect-src 'none'";

export const PRODUCT = "datomspod";
export const PRODUCT_ZH = "数悦坊";

/** The Chinese names of the deployment modes, where the seed gives them. */
const MODE_ZH: Record<string, string> = { "self-built": "自主型", delegated: "委托型" };

export const CONTRACT_PAGES = [
  { file: "index.html", label: "Timeline" },
  { file: "opsc.html", label: "OPS-C" },
  { file: "runs.html", label: "Runs" },
  { file: "audit.html", label: "Audit" },
  { file: "settlement.html", label: "Settlement" },
] as const;
export type ContractPage = (typeof CONTRACT_PAGES)[number]["file"];

export interface PageOptions {
  readonly title: string;
  /** Relative path from the page to the site's root, "" or "../../". */
  readonly root: string;
  readonly chain: ChainSource;
  readonly contract?: ContractView;
  readonly current?: ContractPage;
  readonly body: Html;
}

export function page(options: PageOptions): string {
  const { root, contract } = options;
  const crumbs =
    contract === undefined ? [] : [html`<li><a href="${root}index.html">All contracts</a></li>`, html`<li aria-current="page">${contract.id}</li>`];
  const nav =
    contract === undefined
      ? undefined
      : html`<nav class="tabs" aria-label="Contract ${contract.id}">
          <ul>
            ${CONTRACT_PAGES.map((p) =>
              p.file === options.current
                ? html` <li><a href="${p.file}" aria-current="page">${p.label}</a></li> `
                : html` <li><a href="${p.file}">${p.label}</a></li> `,
            )}
          </ul>
        </nav>`;
  const doc = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}" />
        <meta name="referrer" content="no-referrer" />
        <meta name="color-scheme" content="light" />
        <title>${options.title} · ${PRODUCT}</title>
        <link rel="stylesheet" href="${root}assets/site.css" />
        <script src="${root}assets/site.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to the content</a>
        <header class="site">
          <p class="brand">
            <a href="${root}index.html">${PRODUCT} <span lang="zh">${PRODUCT_ZH}</span></a>
          </p>
          <p class="tagline">Use data without handing it over: every contract's life, evidence and OPS-C standing (read only).</p>
        </header>
        ${
          crumbs.length === 0
            ? ""
            : html`<nav class="crumbs" aria-label="Breadcrumb">
                <ol>
                  ${crumbs}
                </ol>
              </nav> `
        }${nav ?? ""}
        <main id="main" tabindex="-1">${options.body}</main>
        <footer class="site">
          <p>${chainLine(options.chain)}</p>
          <p>
            Generated from the repository's files, its git history and the chain; nothing on this site was loaded from elsewhere. Lifecycle states are derived,
            never stored.
          </p>
        </footer>
      </body>
    </html> `;
  return doc.html;
}

export function chainLine(chain: ChainSource): Html {
  return chain.checked
    ? html`Anchors checked against chain ${chain.chainId} (${chain.label}).`
    : html`<strong>The anchors were not checked against a chain</strong>: ${chain.reason}. No item is shown as verified.`;
}

const STATUS_TEXT: Record<Verification, { icon: string; text: string }> = {
  verified: { icon: "✓", text: "verified" },
  missing: { icon: "?", text: "missing" },
  mismatched: { icon: "✗", text: "mismatched" },
  "not-checked": { icon: "–", text: "not checked" },
};

export function status(value: Verification): Html {
  const s = STATUS_TEXT[value];
  return html`<span class="status status-${value}"><span aria-hidden="true">${s.icon}</span> ${s.text}</span>`;
}

export function stateBadge(state: string | undefined): Html {
  return state === undefined ? html`<span class="state state-unknown">unknown</span>` : html`<span class="state state-${state}">${state}</span>`;
}

export function hash(value: string | undefined, length = 12): Html {
  if (value === undefined) return html`<span class="muted">none</span>`;
  const shown = value.length > length + 2 ? `${value.slice(0, length)}…` : value;
  return html`<code class="hash" title="${value}">${shown}</code>`;
}

export function fullHash(value: string | undefined): Html {
  return value === undefined ? html`<span class="muted">none</span>` : html`<code class="hash full">${value}</code>`;
}

/** A time in UTC, minutes precision (the datetime attribute keeps the fact as given). */
export function time(iso: string | null | undefined): Html {
  if (iso === null || iso === undefined) return html`<span class="muted">not recorded</span>`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return html`${iso}`;
  return html`<time datetime="${iso}">${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC</time>`;
}

export function actor(a: ActorView): Html {
  return html`<span class="actor"
    >${a.name}${a.role === undefined ? "" : html` <span class="role">(${a.role})</span>`}${
      a.address === undefined || a.address === a.name ? "" : html` ${hash(a.address, 10)}`
    }${a.status === undefined ? "" : html` <span class="sig sig-${a.status}">${a.status === "valid" ? "signed" : a.status}</span>`}</span
  >`;
}

export function actors(list: readonly ActorView[]): Html {
  return list.length === 0
    ? html`<span class="muted">nobody yet</span>`
    : html`<ul class="plain">
        ${list.map((a) => html`<li>${actor(a)}</li>`)}
      </ul>`;
}

export function bytes(n: number | null | undefined): Html {
  if (n === null || n === undefined) return html`<span class="muted">not recorded</span>`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = "";
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return html`${String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",")} B${unit === "" ? "" : ` (${value.toFixed(1)} ${unit})`}`;
}

export function commit(c: CommitView): Html {
  return html`<span class="commit"
    >${hash(c.hash)} ${time(c.date)} ${c.author}: ${c.subject}${c.pr === undefined ? "" : html` <span class="pr">(PR #${c.pr})</span>`}</span
  >`;
}

export function mode(value: string | undefined): Html {
  if (value === undefined) return html`<span class="muted">unknown</span>`;
  const zh = MODE_ZH[value];
  return zh === undefined ? html`${value}` : html`${value} (<span lang="zh">${zh}</span>)`;
}

/** A row of a table: its first cell is the row's header. */
export interface Row {
  readonly cells: readonly (Html | string | number)[];
  /** A verification status: rows that are not verified are highlighted. */
  readonly status?: string;
  /** Extra data-* attributes (e.g. the state, for the filter). */
  readonly data?: Readonly<Record<string, string>>;
}

/**
 * A table in a keyboard-scrollable region, so a wide table never widens the page; on a narrow
 * screen each row becomes a card whose cells carry their column's name (data-label).
 */
export function table(id: string, caption: Html | string, head: readonly string[], rows: readonly Row[], className: string): Html {
  const body = rows.map((row) => {
    const problem = row.status !== undefined && row.status !== "verified" && row.status !== "not-checked";
    const attrs = [
      problem ? html` class="problem problem-${row.status}"` : "",
      row.status === undefined ? "" : html` data-status="${row.status}"`,
      Object.entries(row.data ?? {}).map(([k, v]) => html` data-${k}="${v}"`),
    ];
    const cells = row.cells.map((cell, i) =>
      i === 0 ? html`<th scope="row" data-label="${head[0] ?? ""}">${cell}</th>` : html`<td data-label="${head[i] ?? ""}">${cell}</td>`,
    );
    return html`<tr${attrs}>${cells}</tr>\n`;
  });
  return html`<div class="table-wrap" role="region" aria-labelledby="${id}" tabindex="0">
    <table class="stack ${className}">
      <caption id="${id}">
        ${caption}
      </caption>
      <thead>
        <tr>
          ${head.map((h) => html`<th scope="col">${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${body}
      </tbody>
    </table>
  </div>`;
}

export function notYet(text: string): Html {
  return html`<p class="not-yet"><span aria-hidden="true">○</span> ${text}</p>`;
}

/** The SVG triangle is the policy report's own, trusted markup. */
export function svg(markup: string): Html {
  return trusted(markup);
}
