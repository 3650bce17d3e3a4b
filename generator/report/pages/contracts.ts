/** The first page: every contract with its state, scenario, OPS-C point, leakage bound and audit. */

import { html, type Html } from "../html.js";
import type { ContractView, SiteView } from "../view.js";
import { bytes, chainLine, page, stateBadge, status, table, type Row } from "./layout.js";
import { worstOfAudit } from "./audit.js";

function point(c: ContractView): Html {
  const o = c.opsc;
  if (o === undefined) return html`<span class="muted">not judged</span>`;
  const [open, priv, sec] = o.axes;
  return html`<span class="point">O ${open?.score ?? 0} · P ${priv?.score ?? 0} · S ${sec?.score ?? 0}</span>
    <span class="muted">(weighted ${o.weighted})</span> ${
      o.pass ? html`<span class="verdict verdict-pass">pass</span>` : html`<span class="verdict verdict-fail">fail</span>`
    }`;
}

function leakage(c: ContractView): Html {
  if (c.leakage === undefined) return html`<span class="muted">not computed yet</span>`;
  return html`${bytes(c.leakage.totalBytes)} <span class="muted">(${c.leakage.maxRuns} runs × ${c.leakage.bytesPerRun} B)</span>`;
}

function row(c: ContractView): Row {
  return {
    data: { state: c.state ?? "unknown" },
    cells: [
      html`<a href="contracts/${c.id}/index.html">${c.id}</a><br /><span class="muted small">${c.title}</span>`,
      stateBadge(c.state),
      c.opsc?.scenario ?? html`<span class="muted">none</span>`,
      point(c),
      leakage(c),
      html`${status(worstOfAudit(c))} <a href="contracts/${c.id}/audit.html" class="small">audit of ${c.id}</a>`,
    ],
  };
}

export function contractsPage(view: SiteView): string {
  const states = Object.entries(view.states).map(([state, n]) => html`<li>${stateBadge(state)} ${n}</li>`);
  const body = html`<h1>Contracts</h1>
    <p>
      ${view.contracts.length} contract${view.contracts.length === 1 ? "" : "s"} in this repository. The life of each: proposed → signed → approved → active ⇄
      ran → delivered → deleted → settled; expired and revoked end it early.
    </p>
    <ul class="inline" aria-label="Contracts by state">
      ${states}
    </ul>
    <p class="notice">${chainLine(view.chain)}</p>
    <div class="filter" hidden>
      <label for="contract-filter">Filter contracts</label>
      <input id="contract-filter" type="search" data-filter="contracts" autocomplete="off" />
    </div>
    ${table(
      "contracts-caption",
      "Every contract: state, OPS-C point (openness · privacy · security), leakage bound and audit",
      ["Contract", "State", "Scenario", "OPS-C point", "Leakage bound", "Audit"],
      view.contracts.map(row),
      "contracts",
    )}`;
  return page({ title: "Contracts", root: "", chain: view.chain, body });
}
