/**
 * What a cluster test file gets from the suite's lab (global-setup.ts): its description, an API
 * client, and `needs(ctx, …pieces)`, which skips the running test with the exact reason (shown in
 * the report) when a piece it needs is not running.
 */

import { inject, type TestContext } from "vitest";
import { labKube, type LabInfo } from "./lab.js";
import type { Kube } from "./kube.js";
import type { Piece } from "./tools.js";

export interface ProvidedLab {
  readonly info?: LabInfo;
  /** The lab was already running (DATOMSPOD_LAB_REUSE=1) and must be left as it is. */
  readonly shared?: boolean;
  /** Why the lab did not start. */
  readonly unavailable?: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    lab: ProvidedLab;
  }
}

export function providedLab(): ProvidedLab {
  return inject("lab");
}

/** Why `piece` is not running, or undefined when it is. */
export function notRunning(lab: ProvidedLab, piece: Piece): string | undefined {
  if (lab.info === undefined) return `the lab did not start: ${lab.unavailable ?? "unknown reason"}`;
  if (lab.info.running.includes(piece)) return undefined;
  return lab.info.skipped[piece] ?? "not running";
}

/** The lab's description; skips the test (saying what was not run and why) unless every piece runs. */
export function needs(ctx: TestContext, ...pieces: Piece[]): LabInfo {
  const lab = providedLab();
  for (const piece of ["control-plane" as const, ...pieces]) {
    const reason = notRunning(lab, piece);
    if (reason !== undefined) {
      const note = `NOT RUN: the lab's ${piece} is not running (${reason})`;
      console.warn(`${ctx.task.name}: ${note}`);
      ctx.skip(note);
    }
  }
  return lab.info!;
}

let client: Kube | undefined;

/** One API client per test file (admin). */
export function kube(info: LabInfo): Kube {
  client ??= labKube(info);
  return client;
}
