/**
 * vitest globalSetup of the cluster suite: one lab for all test files (up before the first, down
 * after the last). Tests get its description through `inject("lab")` (see context.ts). When the lab
 * cannot start at all (no root, no control-plane binaries), every test is skipped with the reason.
 *
 * DATOMSPOD_LAB_KEEP=1 leaves the lab up after the run (stop it with `npm run lab -- down`).
 * DATOMSPOD_LAB_REUSE=1 uses the lab already running in the lab folder (DATOMSPOD_LAB_DIR, or
 * `npm run lab -- up`'s default) and leaves it running: for working on cluster tests without paying
 * for `up` each time. Tests that would stop the shared lab (recovery.test.ts) are skipped then.
 */

import type { TestProject } from "vitest/node";
import type { ProvidedLab } from "./context.js";
import { defaultLabDir, labDown, labUp, readLabInfo, tcpOpen } from "./lab.js";

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let provided: ProvidedLab;
  if (process.env.DATOMSPOD_LAB_REUSE === "1") {
    const info = readLabInfo(defaultLabDir());
    const port = info === undefined ? undefined : Number(new URL(info.server).port);
    if (info === undefined || port === undefined || !(await tcpOpen(port))) {
      provided = { unavailable: `DATOMSPOD_LAB_REUSE=1 but no lab answers in ${defaultLabDir()} (start one: npm run lab -- up)` };
      log(`lab: NOT RUNNING, every cluster test is skipped: ${provided.unavailable}`);
    } else {
      provided = { info, shared: true };
      log(`lab: reusing the running lab in ${info.dir} (DATOMSPOD_LAB_REUSE=1); it stays up`);
    }
    project.provide("lab", provided);
    return () => Promise.resolve();
  }
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
