/** A contract's audit: every evidence item and batch against the chain, each mismatch highlighted. */

import { html, type Html } from "../html.js";
import { VERIFICATIONS, worst, type AuditRowView, type ContractView, type EvidenceView, type SiteView, type Verification } from "../view.js";
import { fullHash, hash, page, status, table, type Row } from "./layout.js";

/** The worst status of a contract's audit (not checked without a chain). */
export function worstOfAudit(c: ContractView): Verification {
  if (!c.audit.checked) return "not-checked";
  return worst(c.audit.rows.map((r) => r.status)) ?? "verified";
}

function anchorCell(root: string | undefined, blockNumber: number | undefined, txHash: string | undefined): Html {
  if (root === undefined) return html`<span class="muted">none</span>`;
  return html`${hash(root)}${blockNumber === undefined ? "" : html`<br />block ${blockNumber}`}${txHash === undefined ? "" : html`<br />tx ${hash(txHash)}`}`;
}

function auditRow(r: AuditRowView): Row {
  return {
    status: r.status,
    cells: [html`<code class="path">${r.subject}</code>`, status(r.status), r.kind, fullHash(r.digest), anchorCell(r.root, r.blockNumber, r.txHash), r.detail],
  };
}

function uncheckedRow(e: EvidenceView): Row {
  return {
    status: e.status,
    cells: [
      html`<code class="path">${e.subject}</code>`,
      status(e.status),
      e.kind,
      fullHash(e.digest),
      anchorCell(e.anchor?.root, e.anchor?.blockNumber, e.anchor?.txHash),
      e.detail,
    ],
  };
}

export function auditPage(view: SiteView, c: ContractView): string {
  const a = c.audit;
  const counts = VERIFICATIONS.filter((v) => a.counts[v] > 0).map((v) => html`<li>${status(v)} ${a.counts[v]}</li>`);
  const problems = a.rows.filter((r) => r.status !== "verified");
  const summary = !a.checked
    ? html`<p class="notice warn" role="note">
        <strong>The anchors were not checked</strong>: ${a.reason ?? "no chain"}. The rows below say what was committed and recorded; none is claimed verified.
      </p>`
    : a.ok === true
      ? html`<p class="notice ok">
          Every item and batch verified: recomputed from the repository, proved into its batch, the batch root anchored as recorded.
        </p>`
      : html`<p class="notice bad" role="alert">
            <strong>${problems.length} row${problems.length === 1 ? "" : "s"} not verified</strong>: ${problems.filter((r) => r.status === "mismatched").length}
            mismatched, ${problems.filter((r) => r.status === "missing").length} missing. They are highlighted below and listed first here:
          </p>
          <ul class="problems">
            ${problems.map((r) => html`<li>${status(r.status)} <code class="path">${r.subject}</code> (${r.kind}): ${r.detail}</li>`)}
          </ul>`;
  const body = html`<h1>Audit of ${c.id}</h1>
    <p>
      What <code>datomspod audit verify</code> finds: each evidence item recomputed from the repository (and removed renderings from git history) and checked
      against the batch roots anchored on chain; each batch record checked on its own and against the chain.
    </p>
    ${summary}
    <ul class="inline" aria-label="Counts">
      ${counts}
    </ul>
    <div class="filter" hidden>
      <input id="only-problems" type="checkbox" data-filter="problems" />
      <label for="only-problems">Show only rows that are not verified</label>
    </div>
    ${table(
      "audit-caption",
      a.checked ? "Batches first, then every evidence item in the order of the contract's life" : "Evidence as committed (not checked against a chain)",
      ["Subject", "Status", "Kind", "sha256 now", "Anchor", "Detail"],
      a.checked ? a.rows.map(auditRow) : a.unchecked.map(uncheckedRow),
      "audit",
    )}
    <h2>Evidence kinds</h2>
    <p>Every kind of evidence this version of datomspod collects, and the step of the timeline it belongs to.</p>
    <ul class="kinds">
      ${view.kinds.map((k) => html`<li><code>${k.kind}</code> → ${k.step}</li>`)}
    </ul>`;
  return page({ title: `Audit of ${c.id}`, root: "../../", chain: view.chain, contract: c, current: "audit.html", body });
}
