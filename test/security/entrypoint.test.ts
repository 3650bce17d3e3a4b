/**
 * The entrypoint cannot carry a program of its own. The attack of the issue: `python3 -c exec(...)
 * $ALGO`, no quotes, no spaces, passed check and delivered the whole input while the approved code
 * never ran. Now such an entrypoint cannot be approved, approvals of another entrypoint do not
 * count, and compile, check and run all refuse it — whatever the interpreter and option spelling.
 */

import { cpSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { signAll } from "../helpers/records.js";
import { ROOT, contractJson, editJson, tempRepo } from "../helpers/repo.js";

const ID = "hospital-stats";
const PROVIDER = testKey("hospital-provider");

const READ_ALL = "exec(open(chr(47)+chr(100)+chr(97)+chr(116)+chr(97)+chr(47)+chr(105)+chr(110)+chr(112)+chr(117)+chr(116)+chr(115)).read())";

describe("an entrypoint that runs a program of its own", () => {
  it.each([
    [`python3 -c ${READ_ALL} $ALGO`, 'option "-c" runs the program given on the command line instead of the approved code'],
    [`python3 -Bc ${READ_ALL} $ALGO`, 'option "-Bc" is not one python3 may be given before $ALGO'],
    ["python3 -m runpy $ALGO", '"-m" runs a module that environment does not list for python3'],
    ["python3 -i $ALGO", 'option "-i" reads a program from standard input'],
    ["python3.11 -X importtime -W ignore -I -c 1 $ALGO", 'option "-c" runs the program given on the command line'],
    ["sh -c python3 $ALGO", 'starts with "sh", which is not an interpreter the environment python declares'],
    ["env python3 $ALGO", 'starts with "env", which is not an interpreter the environment python declares'],
  ])("%s: cannot be approved, old approvals do not count, compile and run refuse", async (entrypoint, message) => {
    const repo = tempRepo([ID]);
    const approvals = join(repo, "contracts", ID, "approvals");
    const before = join(repo, "approvals-before");
    cpSync(approvals, before, { recursive: true });
    editJson(repo, contractJson(ID), (c) => (c.inputs.algorithm.container.entrypoint = entrypoint));
    await signAll(repo, ID);

    const approve = await cli(repo, "approve", ID, "--key", PROVIDER.file);
    cpSync(before, approvals, { recursive: true });
    const status = await cli(repo, "contract", "status", ID, "--format", "json");
    const check = await cli(repo, "check", ID, "--format", "json");
    const compile = await cli(repo, "compile");
    const run = await cli(repo, "run", ID, "run-1", "--key", PROVIDER.file);

    expect(approve.code).toBe(2);
    expect(approve.stderr).toContain(`contracts/${ID}/contract.json $.inputs.algorithm.container.entrypoint: ${message}`);
    expect(JSON.parse(status.stdout).state).toBe("signed");
    expect(check.code).toBe(1);
    expect(JSON.stringify(JSON.parse(check.stdout).contracts[0].stages.approvals)).toContain(message.replaceAll('"', '\\"'));
    expect(compile.stdout).toMatch(/skipped {2}hospital-stats +signed/);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`contract ${ID} is signed; only an active contract runs`);
  });

  it("the committed example runs what its owners approved: python3 $ALGO", async () => {
    const repo = tempRepo([ID]);
    cpSync(join(ROOT, "environments"), join(repo, "environments"), { recursive: true });

    const typed = await cli(repo, "contract", "typed-data", ID, "--approval");

    expect(JSON.parse(typed.stdout).message.entrypoint).toBe('["python3","/data/transformations/algorithm"]');
  });
});
