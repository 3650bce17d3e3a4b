#!/usr/bin/env node
/**
 * The pod image's `datomspod` (/opt/datomspod/bin/datomspod). `datomspod role …`, which the
 * rendered Job runs as datomspace-in, datomspace-out and the oracle, loads the role commands only;
 * any other command loads the whole CLI. The roles run under a quarter of a CPU (their rendered
 * limit), where loading every command's modules (ethers, the IPFS client, octokit, …) cost about
 * 0.8 s of CPU, hence 2–3 s, in each of the three containers.
 */

import { ROLE_COMMANDS } from "../cli/commands/role.js";
import { dispatch } from "../cli/dispatch.js";

const argv = process.argv.slice(2);
const commands = argv[0] === "role" ? ROLE_COMMANDS : (await import("../cli/commands/index.js")).COMMANDS;
process.exitCode = await dispatch(commands, argv, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  now: new Date(),
});
