/**
 * The shape of a CLI command and the context it runs in. Commands get the clock, the repository and
 * the output streams from here; they never read process state themselves.
 */

import type { ParseArgsConfig } from "node:util";

export const FORMATS = ["text", "json"] as const;
export type Format = (typeof FORMATS)[number];

export interface Context {
  readonly repo: string;
  readonly format: Format;
  readonly now: Date;
  readonly cwd: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Prints `value` as JSON with --format json, or `text` otherwise. */
  readonly emit: (value: unknown, text: string) => void;
}

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  /** Words that select the command, e.g. ["contract", "sign"]. */
  readonly name: readonly string[];
  readonly summary: string;
  /** Usage after the command name, e.g. "ID --key FILE". */
  readonly usage: string;
  /** More lines of help. */
  readonly help?: string;
  readonly options?: Options;
  /** Number of positional arguments: [min, max]. */
  readonly positionals: readonly [number, number];
  run(ctx: Context, args: readonly string[], values: Values): Promise<number> | number;
}
