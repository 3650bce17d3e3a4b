/**
 * A contract's overview and timeline: proposed → signed → approved → active → ran → delivered →
 * deleted → settled, each step with who did it, when, its evidence items, their anchor transaction
 * and verification, and the commits (and pull requests) that made it.
 */

import { html, type Html } from "../html.js";
import type { ContractView, EvidenceView, SiteView, StepView } from "../view.js";
import { actors, commit, hash, mode, notYet, page, stateBadge, status, table, time, type Row } from "./layout.js";

const STEP_TEXT: Record<string, string> = {
  proposed: "The contract is written and proposed in a pull request.",
  signed: "Every party signs the contract's canonical hash (EIP-712).",
  approved: "Each data owner and the witness approve exactly what will execute: the code, the images, the entrypoint, the environment and the instance.",
  active: "Within its validity window; the consumer requests runs; the instance is rendered.",
  ran: "A run played the pod: inputs re-hashed, no network, outputs sealed; the receipt says what it produced.",
  delivered: "Every run's outputs were fetched and acknowledged by a recipient.",
  deleted: "The instance is removed and the deletion recorded.",
  settled: "The parties are paid as the business terms say; the settlement is recorded.",
};

function evidenceRow(e: EvidenceView): Row {
  return {
    status: e.status,
    cells: [
      html`<code class="path">${e.subject}</code>`,
      e.kind,
      hash(e.digest),
      e.anchor === undefined
        ? html`<span class="muted">not anchored</span>`
        : html`tx ${hash(e.anchor.txHash)}<br />block ${e.anchor.blockNumber}, chain ${e.anchor.chainId}`,
      status(e.status),
      e.commit === undefined ? html`<span class="muted">none</span>` : hash(e.commit.hash),
    ],
  };
}

function step(s: StepView, index: number): Html {
  const state = s.current ? "current" : s.reached ? "done" : "pending";
  const label = s.current ? "current state" : s.reached ? "reached" : "not yet";
  const id = `step-${s.step}`;
  return html`<li class="step step-${state}" id="${id}">
    <h3>
      <span class="step-number" aria-hidden="true">${index + 1}</span> ${s.step}
      <span class="step-label">${label}</span>${s.status === undefined ? "" : html` ${status(s.status)}`}
    </h3>
    <p class="muted">${STEP_TEXT[s.step] ?? ""}</p>
    ${
      s.reached || s.evidence.length > 0
        ? html`<dl class="facts">
            <dt>Who</dt>
            <dd>${actors(s.who)}</dd>
            <dt>When</dt>
            <dd>${s.when === undefined ? html`<span class="muted">not recorded</span>` : time(s.when)}</dd>
            <dt>Commits</dt>
            <dd>
              ${
                s.commits.length === 0
                  ? html`<span class="muted">none</span>`
                  : html`<ul class="plain">
                      ${s.commits.map((c) => html`<li>${commit(c)}</li>`)}
                    </ul>`
              }
            </dd>
          </dl>`
        : notYet("Not reached yet.")
    }
    ${s.note === undefined ? "" : html`<p class="note">${s.note}</p>`}
    ${
      s.evidence.length === 0
        ? ""
        : table(
            `${id}-evidence`,
            html`Evidence of step ${s.step}`,
            ["Subject", "Kind", "sha256", "Anchor", "Verification", "Commit"],
            s.evidence.map(evidenceRow),
            "evidence",
          )
    }
  </li> `;
}

export function timelinePage(view: SiteView, c: ContractView): string {
  const failing = c.findings.filter((f) => f.level === "error");
  const body = html`<h1>${c.id}</h1>
    <p class="lead">${c.title}</p>
    <dl class="summary">
      <dt>State</dt>
      <dd>${stateBadge(c.state)}${c.endedEarly ? html` <span class="note">the life ended early</span>` : ""}</dd>
      <dt>Contract hash</dt>
      <dd>${hash(c.hash, 16)}</dd>
      <dt>Chain</dt>
      <dd>${c.chainId ?? html`<span class="muted">unknown</span>`}</dd>
      <dt>Cluster</dt>
      <dd>${c.cluster ?? html`<span class="muted">unknown</span>`}, mode ${mode(c.mode)}</dd>
      <dt>Validity</dt>
      <dd>${c.validity === undefined ? html`<span class="muted">unknown</span>` : html`${time(c.validity.notBefore)} to ${time(c.validity.notAfter)}`}</dd>
      <dt>Check</dt>
      <dd>
        ${c.checkPassed ? html`<span class="verdict verdict-pass">pass</span>` : html`<span class="verdict verdict-fail">fail</span>`}
        <span class="muted">(${c.stages.map((s) => `${s.stage} ${s.status}`).join(", ")})</span>
      </dd>
    </dl>
    ${
      c.evidenceSetup === undefined
        ? ""
        : html`<h2>Evidence</h2>
            <dl class="facts">
              <dt>Anchor contract</dt>
              <dd>${hash(c.evidenceSetup.anchor, 14)} from block ${c.evidenceSetup.fromBlock}</dd>
              <dt>Anchorers</dt>
              <dd>${actors(c.evidenceSetup.anchorers)}</dd>
              <dt>Runners</dt>
              <dd>${actors(c.evidenceSetup.runners)}</dd>
            </dl>`
    }
    <h2>Parties</h2>
    ${actors(c.parties)}
    ${
      failing.length === 0 && c.issues.length === 0
        ? ""
        : html`<h2>Problems</h2>
            <ul class="problems">
              ${[...failing, ...c.issues].map((f) => html`<li><code class="path">${f.file}</code> ${f.path === "$" ? "" : html`<code>${f.path}</code>`}: ${f.message}${f.fix === undefined ? "" : html` <span class="fix">(fix: ${f.fix})</span>`}</li>`)}
            </ul>`
    }
    <h2>Timeline</h2>
    <ol class="timeline">
      ${c.timeline.map(step)}
    </ol>`;
  return page({ title: c.id, root: "../../", chain: view.chain, contract: c, current: "index.html", body });
}
