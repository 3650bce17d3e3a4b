/** A contract's settlement: the business terms, the runs they apply to, and the settlement record when there is one. */

import { html } from "../html.js";
import type { ContractView, SiteView } from "../view.js";
import { actor, commit, hash, notYet, page, status, table } from "./layout.js";

export function settlementPage(view: SiteView, c: ContractView): string {
  const s = c.settlement;
  const e = s.evidence;
  const body = html`<h1>Settlement of ${c.id}</h1>
    ${
      e === undefined
        ? notYet(`Not settled yet: there is no settlement record (contracts/${c.id}/settlement.json).`)
        : html`<p>${s.settled ? "Settled." : "A settlement record exists, but the contract is not settled by it."}</p>
            <dl class="facts">
              <dt>Record</dt>
              <dd><code class="path">${e.subject}</code> ${hash(e.digest)}</dd>
              <dt>Verification</dt>
              <dd>${status(e.status)} ${e.detail}</dd>
              <dt>Anchor</dt>
              <dd>
                ${e.anchor === undefined ? html`<span class="muted">not anchored</span>` : html`tx ${hash(e.anchor.txHash)}, block ${e.anchor.blockNumber}`}
              </dd>
              <dt>Commit</dt>
              <dd>${e.commit === undefined ? html`<span class="muted">none</span>` : commit(e.commit)}</dd>
            </dl>`
    }
    <h2>Business terms</h2>
    <dl class="facts">
      <dt>Currency</dt>
      <dd>${s.currency ?? html`<span class="muted">unknown</span>`}</dd>
      <dt>Billing</dt>
      <dd>${s.billing ?? html`<span class="muted">unknown</span>`}</dd>
      <dt>Runs</dt>
      <dd>${s.runsRan} ran of at most ${s.maxRuns ?? "?"}</dd>
    </dl>
    ${
      s.pricing.length === 0
        ? notYet("No prices in the contract.")
        : table(
            "pricing-caption",
            "Prices per party",
            ["Party", "Kind", "Amount", "Per"],
            s.pricing.map((p) => ({ cells: [actor(p.party), p.kind, `${p.amount} ${s.currency ?? ""}`, p.per] })),
            "pricing",
          )
    }`;
  return page({ title: `Settlement of ${c.id}`, root: "../../", chain: view.chain, contract: c, current: "settlement.html", body });
}
