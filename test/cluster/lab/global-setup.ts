/**
 * vitest globalSetup of the cluster suite: one lab for all test files (up before the first, down
 * after the last). Tests get its description through `inject("lab")` (see context.ts). When the lab
 * cannot start at all (no root, no control-plane binaries), every test is skipped with the reason.
 *
 * DATOMSPOD_LAB_KEEP=1 leaves the lab up after the run (stop it with `npm run lab -- down`).
 */

import type { TestProject } from "vitest/node";
import type { ProvidedLab } from "./context.js";
import { labDown, labUp } from "./lab.js";

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let provided: ProvidedLab;
  try {
    const info = await labUp({ log });
    provided = { info };
  } catch (error) {
    provided = { unavailable: (error as Error).message };
    log(`lab: NOT RUNNING, every cluster test is skipped: ${provided.unavailable}`);
  }
  project.provide("lab", provided);
  return async () => {
    if (provided.info === undefined) return;
    if (process.env.DATOMSPOD_LAB_KEEP === "1") {
      log(`lab: left up (DATOMSPOD_LAB_KEEP=1) in ${provided.info.dir}; KUBECONFIG=${provided.info.adminKubeconfig}; stop it with \`npm run lab -- down\``);
      return;
    }
    await labDown({ dir: provided.info.dir, log });
  };
}
