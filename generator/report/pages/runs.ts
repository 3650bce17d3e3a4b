/** A contract's runs: request, receipt (status, usage), sealed outputs by size (never contents), delivery. */

import { html, type Html } from "../html.js";
import type { ContractView, RunView, SiteView } from "../view.js";
import { actor, actors, bytes, hash, notYet, page, status, table, time } from "./layout.js";

/** A published usage value: at most this much (rounded up to a power of two), or not metered. */
function upTo(value: number | null, unit: string): Html {
  return value === null ? html`<span class="muted">${unit}: not metered</span>` : html`≤ ${value} ${unit}`;
}

function run(r: RunView): Html {
  const receipt = r.receipt;
  return html`<section class="run" aria-labelledby="run-${r.id}">
    <h2 id="run-${r.id}">Run ${r.id}</h2>
    <dl class="facts">
      <dt>Requested by</dt>
      <dd>${r.requestedBy === undefined ? html`<span class="muted">no valid request</span>` : actor(r.requestedBy)}</dd>
      <dt>Parameters</dt>
      <dd>${r.parameters === undefined ? html`<span class="muted">none</span>` : html`<code>${r.parameters}</code>`}</dd>
      <dt>Status</dt>
      <dd>
        ${receipt === undefined ? html`<span class="muted">not run yet</span>` : html`<span class="phase phase-${receipt.phase}">${receipt.phase}</span>: ${receipt.reason}`}
      </dd>
      ${
        receipt === undefined
          ? ""
          : html`<dt>Receipt</dt>
              <dd>
                <code class="path">${receipt.file}</code> ${
                  receipt.signature === undefined
                    ? html`<span class="muted">(not signed by a runner yet)</span>`
                    : html`signed by ${actor(receipt.signature.signer)} ${receipt.signature.valid ? "(valid)" : html`<strong>(invalid)</strong>`}`
                }
              </dd>
              <dt>Started</dt>
              <dd>${time(receipt.startedAt)}</dd>
              <dt>Usage</dt>
              <dd>
                ${upTo(receipt.durationSeconds, "s wall clock")}, ${upTo(receipt.cpuSeconds, "CPU s")}, ${upTo(receipt.peakMemoryMiB, "MiB peak memory")}
                <span class="muted">(rounded up to powers of two; the exact values are sealed for the data owners)</span>
              </dd>
              <dt>Inputs re-hashed</dt>
              <dd>${receipt.inputsVerified ? "yes, every file matched the contract" : html`<strong>no</strong>`}</dd>
              <dt>Output policy</dt>
              <dd>${receipt.policyOk ? "kept" : html`<strong>broken</strong>: ${receipt.brokenRules.join(", ")}`}</dd>
              <dt>Sealed for</dt>
              <dd>${actors(receipt.sealedFor)}</dd>
              <dt>Delivery</dt>
              <dd>${receipt.delivery}</dd>
              <dt>Pod removed</dt>
              <dd>
                ${receipt.podRemoved === undefined ? html`<span class="muted">not recorded</span>` : receipt.podRemoved ? "yes" : html`<strong>no</strong>`}
              </dd>`
      }
      <dt>Acknowledged</dt>
      <dd>${r.acknowledgedBy === undefined ? html`<span class="muted">not yet</span>` : html`by ${actor(r.acknowledgedBy)}`}</dd>
    </dl>
    ${
      receipt === undefined || receipt.outputs.length === 0
        ? ""
        : table(
            `outputs-${r.id}`,
            html`Sealed outputs of run ${r.id}: sizes as the receipt gives them; contents never leave sealed`,
            ["Name", "Kind", "Size (sealed)", "sha256 of the ciphertext", "Verification"],
            receipt.outputs.map((o) => ({
              status: o.status,
              cells: [html`<code class="path">${o.name}</code>`, o.kind, bytes(o.size), hash(o.sha256), status(o.status)],
            })),
            "outputs",
          )
    }
    ${
      r.receiptIssues.length === 0
        ? ""
        : html`<ul class="problems">
            ${r.receiptIssues.map((i) => html`<li><code class="path">${i.file}</code> ${i.path}: ${i.message}</li>`)}
          </ul>`
    }
  </section> `;
}

export function runsPage(view: SiteView, c: ContractView): string {
  const body = html`<h1>Runs of ${c.id}</h1>
    <p>
      Each run the consumer requested, what its receipt says, and whether its outputs were delivered. Outputs are shown by size and digest only: they are sealed
      to their recipients.
    </p>
    ${c.runs.length === 0 ? notYet("No run requested yet.") : c.runs.map(run)}`;
  return page({ title: `Runs of ${c.id}`, root: "../../", chain: view.chain, contract: c, current: "runs.html", body });
}
