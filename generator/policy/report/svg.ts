/**
 * An SVG of the OPS-C triangle for one contract: vertices Openness (top), Privacy (bottom left)
 * and Security (bottom right) labelled with the scores, grid lines at 25/50/75% shares, the
 * scenario's acceptable region shaded, and the contract's point (its barycentric coordinates:
 * each score's share of the sum; see ../triangle.ts), green when the contract passes, red when
 * not. Fixed size, numbers rounded to two decimals: byte-identical for the same input.
 */

import { AXES, type Axis } from "../scenarios.js";
import { regionPolygon, shares, toPoint, vertices, type Point } from "../triangle.js";
import { bytesText, contractPassed, leakageText, type ContractCheck } from "./check-report.js";

const WIDTH = 480;
const HEIGHT = 440;
const SIDE = 340;
const LEFT = (WIDTH - SIDE) / 2;
const TOP = 70;
const NAMES: Record<Axis, string> = { openness: "Openness", privacy: "Privacy", security: "Security" };

function num(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return String(rounded === 0 ? 0 : rounded);
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

function points(list: readonly Point[]): string {
  return list.map((p) => `${num(p.x)},${num(p.y)}`).join(" ");
}

/** The SVG for a contract the policy judged; undefined when the policy did not run. */
export function renderSvg(check: ContractCheck): string | undefined {
  const result = check.policy;
  if (result === undefined) return undefined;
  const corners = vertices(SIDE, LEFT, TOP);
  const passed = contractPassed(check);
  const colour = passed ? "#2e7d32" : "#c62828";
  const share = shares(result.scores);
  const summary = AXES.map((axis) => `${NAMES[axis]} ${result.scores[axis]}`).join(", ");
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="title desc" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `  <title id="title">OPS-C triangle of contract ${escapeXml(check.id)} (scenario ${escapeXml(result.scenario)})</title>`,
    `  <desc id="desc">${escapeXml(summary)}; weighted ${result.weighted}; ${result.inside_region ? "inside" : "outside"} the scenario's region; leakage bound ${escapeXml(leakageText(result))}; ${passed ? "passes" : "fails"}.</desc>`,
    `  <rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `  <text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(check.id)}</text>`,
    `  <text x="${WIDTH / 2}" y="40" text-anchor="middle" fill="#555555">scenario ${escapeXml(result.scenario)}</text>`,
  ];
  const grid: string[] = [];
  for (const axis of AXES) {
    const [a, b] = AXES.filter((other) => other !== axis) as [Axis, Axis];
    for (const t of [0.25, 0.5, 0.75]) {
      const from = toPoint({ ...{ openness: 0, privacy: 0, security: 0 }, [axis]: t, [a]: 1 - t }, corners);
      const to = toPoint({ ...{ openness: 0, privacy: 0, security: 0 }, [axis]: t, [b]: 1 - t }, corners);
      grid.push(`    <line x1="${num(from.x)}" y1="${num(from.y)}" x2="${num(to.x)}" y2="${num(to.y)}"/>`);
    }
  }
  out.push(`  <g stroke="#e0e0e0" stroke-width="1">`, ...grid, `  </g>`);
  const region = check.scenario === undefined ? [] : regionPolygon(check.scenario.region).map((b) => toPoint(b, corners));
  if (region.length >= 3) {
    out.push(
      `  <polygon points="${points(region)}" fill="#2e7d32" fill-opacity="0.15" stroke="#2e7d32" stroke-width="1.5" stroke-dasharray="5 3"><title>acceptable region of scenario ${escapeXml(result.scenario)}</title></polygon>`,
    );
  }
  out.push(`  <polygon points="${points(AXES.map((axis) => corners[axis]))}" fill="none" stroke="#333333" stroke-width="2"/>`);
  const label = (axis: Axis, dx: number, dy: number, anchor: string): string =>
    `  <text x="${num(corners[axis].x + dx)}" y="${num(corners[axis].y + dy)}" text-anchor="${anchor}"><tspan font-weight="bold">${NAMES[axis]}</tspan> ${result.scores[axis]}</text>`;
  out.push(label("openness", 0, -10, "middle"), label("privacy", -6, 22, "start"), label("security", 6, 22, "end"));
  if (share !== undefined) {
    const point = toPoint(share, corners);
    const tip = AXES.map((axis) => `${NAMES[axis]} ${result.scores[axis]} (${num(100 * share[axis])}%)`).join(", ");
    out.push(
      `  <circle cx="${num(point.x)}" cy="${num(point.y)}" r="7" fill="${colour}" stroke="#ffffff" stroke-width="2"><title>${escapeXml(tip)}</title></circle>`,
    );
  }
  const verdict = passed ? "pass" : "fail";
  out.push(
    `  <text x="${WIDTH / 2}" y="${HEIGHT - 16}" text-anchor="middle"><tspan fill="#555555">weighted ${result.weighted} · ${result.inside_region ? "inside" : "outside"} region · leaks ≤ ${result.leakage.boundBytes === null ? "unknown" : bytesText(result.leakage.boundBytes)} ·</tspan> <tspan fill="${colour}" font-weight="bold">${verdict}</tspan></text>`,
    `</svg>`,
  );
  return `${out.join("\n")}\n`;
}
