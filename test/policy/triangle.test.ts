/** The barycentric mapping of scores into the OPS-C triangle and the scenario's region in it. */

import { describe, expect, it } from "vitest";
import { loadScenarios } from "../../generator/policy/scenarios.js";
import { regionPolygon, shares, toPoint, vertices, type Barycentric } from "../../generator/policy/triangle.js";

const round = (b: Barycentric): number[] => [b.openness, b.privacy, b.security].map((x) => Math.round(x * 1000) / 1000);

describe("OPS-C triangle", () => {
  it("makes each score's share of the sum the point's barycentric coordinate", () => {
    expect(shares({ openness: 34, privacy: 60, security: 90 })).toEqual({ openness: 34 / 184, privacy: 60 / 184, security: 90 / 184 });
    expect(shares({ openness: 0, privacy: 0, security: 0 })).toBeUndefined();
  });

  it("puts equal scores at the centre and a single score on its vertex", () => {
    const corners = vertices(300, 10, 20);

    const centre = toPoint(shares({ openness: 50, privacy: 50, security: 50 })!, corners);
    const onPrivacy = toPoint(shares({ openness: 0, privacy: 80, security: 0 })!, corners);

    expect([Math.round(centre.x * 100) / 100, Math.round(centre.y * 100) / 100]).toEqual([160, Math.round((20 + (2 / 3) * 150 * Math.sqrt(3)) * 100) / 100]);
    expect(onPrivacy).toEqual(corners.privacy);
    expect(corners).toEqual({ openness: { x: 160, y: 20 }, privacy: { x: 10, y: 20 + 150 * Math.sqrt(3) }, security: { x: 310, y: 20 + 150 * Math.sqrt(3) } });
  });

  it("clips the triangle to the medical-research region: openness at most 30%, privacy and security at least 30%", () => {
    const region = loadScenarios().get("medical-research")!.region;

    expect(regionPolygon(region).map(round)).toEqual([
      [0, 0.7, 0.3],
      [0, 0.3, 0.7],
      [0.3, 0.3, 0.4],
      [0.3, 0.4, 0.3],
    ]);
  });

  it("gives the whole triangle for an unbounded region and nothing for an impossible one", () => {
    const all = { min: 0, max: 100 };
    const none = { min: 50, max: 100 };

    expect(regionPolygon({ openness: all, privacy: all, security: all }).map(round)).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(regionPolygon({ openness: none, privacy: none, security: none })).toEqual([]);
  });
});
