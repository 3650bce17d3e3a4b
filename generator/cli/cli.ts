/**
 * The `datomspod` command line: every command of the table (commands/index.ts), run by the one
 * parser and top-level catch of dispatch.ts.
 */

import type { Command } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { dispatch, helpFor, type Io } from "./dispatch.js";

export type { Io } from "./dispatch.js";

export function helpText(command?: Command): string {
  return helpFor(COMMANDS, command);
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code; never throws. */
export function main(argv: readonly string[], io: Io): Promise<number> {
  return dispatch(COMMANDS, argv, io);
}
