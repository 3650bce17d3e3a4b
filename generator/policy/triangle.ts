/**
 * The OPS-C triangle. A contract's scores (o, p, s) are barycentric coordinates: its point is
 * (o·O + p·P + s·S) / (o + p + s) for the vertices O (openness), P (privacy) and S (security),
 * so each vertex pulls with its score's share of the sum. A contract whose scores are equal sits
 * at the centre; one that is all openness sits on O. The scenario's region bounds each share
 * (min..max percent); it is the triangle clipped by those six half-planes. Pure geometry.
 */

import { AXES, type Axis, type Bounds } from "./scenarios.js";

/** Barycentric coordinates: shares of openness, privacy and security, summing to 1. */
export type Barycentric = Readonly<Record<Axis, number>>;

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** Each score's share of the sum of the three, or undefined when all are 0 (no point). */
export function shares(scores: Readonly<Record<Axis, number>>): Barycentric | undefined {
  const total = AXES.reduce((sum, axis) => sum + scores[axis], 0);
  if (total <= 0) return undefined;
  return { openness: scores.openness / total, privacy: scores.privacy / total, security: scores.security / total };
}

/** The part of the triangle whose shares keep every bound (percent), as a polygon of barycentric points; empty when none does. */
export function regionPolygon(region: Readonly<Record<Axis, Bounds>>): Barycentric[] {
  let polygon: Barycentric[] = [
    { openness: 1, privacy: 0, security: 0 },
    { openness: 0, privacy: 1, security: 0 },
    { openness: 0, privacy: 0, security: 1 },
  ];
  for (const axis of AXES) {
    const { min, max } = region[axis];
    polygon = clip(polygon, (b) => b[axis] - min / 100);
    polygon = clip(polygon, (b) => max / 100 - b[axis]);
  }
  return polygon;
}

/** Sutherland–Hodgman: keeps the part of `polygon` where `inside(b) >= 0` (a linear function). */
function clip(polygon: readonly Barycentric[], inside: (b: Barycentric) => number): Barycentric[] {
  const out: Barycentric[] = [];
  const epsilon = 1e-12;
  polygon.forEach((current, i) => {
    const next = polygon[(i + 1) % polygon.length];
    const a = inside(current);
    const b = inside(next);
    if (a >= -epsilon) out.push(current);
    if (a >= -epsilon !== b >= -epsilon) {
      const t = a / (a - b);
      out.push({
        openness: current.openness + t * (next.openness - current.openness),
        privacy: current.privacy + t * (next.privacy - current.privacy),
        security: current.security + t * (next.security - current.security),
      });
    }
  });
  return out;
}

/** An equilateral triangle of side `side`: O at the top, P bottom left, S bottom right, offset by (x, y). */
export function vertices(side: number, x = 0, y = 0): Readonly<Record<Axis, Point>> {
  const height = (side * Math.sqrt(3)) / 2;
  return {
    openness: { x: x + side / 2, y },
    privacy: { x, y: y + height },
    security: { x: x + side, y: y + height },
  };
}

/** Where barycentric `b` lies in the triangle with the given vertices. */
export function toPoint(b: Barycentric, corners: Readonly<Record<Axis, Point>>): Point {
  return {
    x: AXES.reduce((sum, axis) => sum + b[axis] * corners[axis].x, 0),
    y: AXES.reduce((sum, axis) => sum + b[axis] * corners[axis].y, 0),
  };
}
