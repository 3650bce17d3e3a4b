/** A contract's OPS-C standing: the triangle, the three scores and their factors, and what would move the point. */

import { html, type Html } from "../html.js";
import type { AxisView, ContractView, SiteView } from "../view.js";
import { bytes, notYet, page, svg, table } from "./layout.js";

const NAMES: Record<string, string> = { openness: "Openness", privacy: "Privacy", security: "Security" };

function axisTable(a: AxisView): Html {
  return table(
    `factors-${a.axis}`,
    html`${NAMES[a.axis]}: ${a.score} of 100 from these factors`,
    ["Factor", "Value", "Points", "Could gain"],
    a.factors.map((f) => ({
      cells: [
        html`${f.title} <code class="small">${f.id}</code>`,
        f.value,
        `${f.points} / ${f.max}`,
        f.points < f.max ? `+${f.max - f.points}` : html`<span class="muted">full</span>`,
      ],
    })),
    "factors",
  );
}

export function opscPage(view: SiteView, c: ContractView): string {
  const o = c.opsc;
  let body: Html;
  if (o === undefined) {
    body = html`<h1>OPS-C of ${c.id}</h1>
      ${notYet("The OPS-C policy did not judge this contract: an earlier stage of the check failed (see the timeline's problems).")}`;
  } else {
    const rows = o.axes.map((a) => ({
      cells: [
        NAMES[a.axis] ?? a.axis,
        a.score,
        a.share === undefined ? "–" : `${a.share}%`,
        html`${a.minimum.min} ${a.minimum.ok ? html`<span class="verdict verdict-pass">met</span>` : html`<span class="verdict verdict-fail">not met</span>`}`,
        html`${a.region.min}–${a.region.max}%
        ${a.region.ok ? html`<span class="verdict verdict-pass">inside</span>` : html`<span class="verdict verdict-fail">outside</span>`}`,
      ],
    }));
    const denies = c.findings.filter((f) => f.stage === "policy");
    body = html`<h1>OPS-C of ${c.id}</h1>
      <p>
        Openness (what the consumer obtains), privacy (the people in the data) and security (isolation and integrity) pull against each other; the contract is a
        point in that triangle, each score pulling with its share of the sum. Scenario
        <strong>${o.scenarioTitle ?? o.scenario}</strong> (<code>${o.scenario}</code>) accepts the shaded region and sets a minimum per score.
      </p>
      <p class="verdict-line">
        ${o.pass ? html`<span class="verdict verdict-pass">pass</span>` : html`<span class="verdict verdict-fail">fail</span>`} weighted ${o.weighted},
        ${o.insideRegion ? "inside" : "outside"} the region.
      </p>
      <figure class="triangle">
        ${o.svg === undefined ? notYet("no triangle") : svg(o.svg)}
        <figcaption>
          The OPS-C triangle of ${c.id}: the dot is the contract, the dashed shape the region of scenario ${o.scenario}.
          <a href="opsc.svg">The triangle as an SVG file</a>.
        </figcaption>
      </figure>
      ${table("scores-caption", "Scores, shares, minimums and the region", ["Axis", "Score", "Share", "Minimum", "Region"], rows, "scores")}
      <h2>Leakage bound</h2>
      ${
        c.leakage === undefined
          ? notYet("Not computed yet: the OPS-C result does not give a leakage bound (bytes per run × max runs) in this version.")
          : html`<p>At most ${bytes(c.leakage.totalBytes)} can leave: ${bytes(c.leakage.bytesPerRun)} per run × ${c.leakage.maxRuns} runs.</p>`
      }
      <h2>Why the point is where it is</h2>
      ${o.axes.map(axisTable)}
      <h2>What would move it</h2>
      <ul>
        ${o.moves.map((m) => html`<li>${m}</li>`)}
      </ul>
      ${
        denies.length === 0
          ? html`<p>No hard deny and no warning.</p>`
          : html`<h2>Denies and warnings</h2>
              <ul class="problems">
                ${denies.map((f) => html`<li><span class="verdict ${f.level === "error" ? "verdict-fail" : "verdict-warn"}">${f.level}</span> <code>${f.rule}</code>: ${f.message}${f.fix === undefined ? "" : html` <span class="fix">(fix: ${f.fix})</span>`}</li>`)}
              </ul>`
      }`;
  }
  return page({ title: `OPS-C of ${c.id}`, root: "../../", chain: view.chain, contract: c, current: "opsc.html", body });
}
