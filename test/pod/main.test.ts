/**
 * The pod image's `datomspod` (dist/generator/pod/main.js, after `npm run build`): the three
 * roles run as new processes with the Job's arguments and load neither ethers nor ajv's compiler
 * nor any other command; any other command is the whole CLI.
 */

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { RUN_ID, compute, makePod, type Pod } from "./roles/pod.js";

const ENTRY = join(PACKAGE_ROOT, "dist", "generator", "pod", "main.js");
const built = existsSync(ENTRY);

/** Runs the entry in a new node process; returns its stdout and every module URL it loaded. */
function runEntry(pod: Pod, argv: string[]): { stdout: string; loaded: string[] } {
  const hook = join(pod.root, "hook.mjs");
  const list = join(pod.root, "loaded.txt");
  writeFileSync(
    hook,
    `import { registerHooks } from "node:module";\nimport { appendFileSync } from "node:fs";\nregisterHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(list)}, url + "\\n"); return next(url, context); } });\n`,
  );
  writeFileSync(list, "");
  const stdout = execFileSync(process.execPath, ["--import", hook, ENTRY, ...argv], { encoding: "utf8", cwd: pod.root });
  return { stdout, loaded: readFileSync(list, "utf8").split("\n").filter(Boolean) };
}

const HEAVY = [
  /\/node_modules\/ethers\//,
  /\/node_modules\/ajv\/dist\/(2020|core|compile)/,
  /\/node_modules\/@octokit\//,
  /\/node_modules\/kubo-rpc-client\//,
  /\/cli\/commands\/(run|compile|index)\.js$/,
];

describe.skipIf(!built)("the pod image's datomspod", () => {
  it("runs datomspace-in, datomspace-out and the oracle, each loading only what it needs", () => {
    const pod = makePod();
    const args = { contract: ["--contract", pod.contract], status: ["--status", pod.status], sealed: ["--sealed", pod.sealed], run: ["--run", RUN_ID] };

    const roleIn = runEntry(pod, [
      "role",
      "datomspace-in",
      ...args.contract,
      "--inputs",
      pod.inputs,
      "--ocean-inputs",
      pod.ocean,
      "--parameters",
      pod.parameters,
      "--algorithm",
      pod.algorithm,
      "--tools",
      pod.tools,
      ...args.status,
      "--supervisor",
      pod.supervisor,
    ]);
    compute(pod);
    const roleOut = runEntry(pod, [
      "role",
      "datomspace-out",
      ...args.contract,
      ...args.run,
      "--outputs",
      pod.outputs,
      "--logs",
      pod.logs,
      ...args.status,
      ...args.sealed,
    ]);
    const oracle = runEntry(pod, ["role", "oracle", ...args.contract, ...args.run, ...args.status, ...args.sealed, "--format", "json"]);

    expect(roleIn.stdout).toBe("datomspace-in: 2 files match the contract; gate open\n");
    expect(roleOut.stdout).toMatch(/^datomspace-out: output policy holds; sealed \d blobs? for 0x/);
    expect(JSON.parse(oracle.stdout).predicate.status.phase).toBe("succeeded");
    for (const role of [roleIn, roleOut, oracle]) expect(role.loaded.filter((url) => HEAVY.some((heavy) => heavy.test(url)))).toEqual([]);
  });

  it("is the whole CLI for any other command", () => {
    const pod = makePod();

    const { stdout } = runEntry(pod, ["--help"]);

    expect(stdout).toContain("datomspod run ID RUN");
    expect(stdout).toContain("datomspod role oracle");
  });
});
