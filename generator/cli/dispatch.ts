/**
 * The `datomspod` command line. One table of commands, one parser, one top-level catch that maps
 * error classes to exit codes: 0 ok, 1 a check failed, 2 bad usage or input, 3 an outside service
 * failed, 4 internal error. The parser and the catch take the table as an argument, so that the
 * pod's roles (generator/pod/main.ts) run through the same code with only their own commands
 * loaded.
 */

import { parseArgs } from "node:util";
import { DatomspodError, ExitCode, InputError, formatIssue } from "../errors.js";
import { findRepo } from "../repo/layout.js";
import { FORMATS, type Command, type Context, type Format } from "./command.js";

const GLOBAL_OPTIONS = {
  repo: { type: "string" },
  format: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function usageLine(command: Command): string {
  return `datomspod ${command.name.join(" ")}${command.usage ? ` ${command.usage}` : ""}`;
}

export function helpFor(commands: readonly Command[], command?: Command): string {
  if (command !== undefined) {
    return [
      `usage: ${usageLine(command)}`,
      "",
      command.summary,
      ...(command.help ? ["", command.help] : []),
      "",
      "global options: --repo DIR (default: the git root), --format text|json, --help",
      "",
    ].join("\n");
  }
  return [
    "datomspod: use data without handing it over",
    "",
    ...commands.flatMap((c) => [`  ${usageLine(c)}`, `      ${c.summary}`]),
    "",
    "global options: --repo DIR (default: the git root), --format text|json, --help",
    "exit codes: 0 ok, 1 a check failed, 2 bad usage or input, 3 an outside service failed, 4 internal error",
    "",
  ].join("\n");
}

/**
 * The command whose name is the longest prefix of the words, after global options that stand
 * before it (`datomspod --repo DIR contract sign ...`), which are moved behind it.
 */
export function selectCommand(commands: readonly Command[], argv: readonly string[]): { command: Command | undefined; rest: string[]; words: string[] } {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length && /^--(repo|format)(=|$)/.test(argv[i])) {
    const takesValue = !argv[i].includes("=");
    leading.push(...argv.slice(i, i + (takesValue ? 2 : 1)));
    i += takesValue ? 2 : 1;
  }
  const words = argv.slice(i);
  let best: Command | undefined;
  for (const command of commands) {
    if (command.name.every((word, j) => words[j] === word) && (best === undefined || command.name.length > best.name.length)) best = command;
  }
  return { command: best, rest: [...words.slice(best?.name.length ?? 0), ...leading], words };
}

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly cwd: string;
  readonly now: Date;
}

/** Runs `argv` (without node and script) against the table `commands` and returns the exit code; never throws. */
export async function dispatch(commands: readonly Command[], argv: readonly string[], given: Io): Promise<number> {
  let format: Format = "text";
  // A command that answered on stdout before failing keeps its answer as the one JSON document there.
  let answered = false;
  const io: Io = { ...given, stdout: (text) => ((answered = true), given.stdout(text)) };
  try {
    const { command, rest, words } = selectCommand(commands, argv);
    if (command === undefined) {
      const asked = words.length === 0 || words[0] === "--help" || words[0] === "-h" || words[0] === "help";
      (asked ? io.stdout : io.stderr)(helpFor(commands));
      if (asked) return ExitCode.ok;
      throw InputError.of({ file: "command line", path: "$", message: `unknown command ${JSON.stringify(words.join(" "))}`, fix: "see the list above" });
    }
    let parsed;
    try {
      parsed = parseArgs({ args: [...rest], options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    } catch (error) {
      throw InputError.of({ file: "command line", path: "$", message: (error as Error).message, fix: `see \`${usageLine(command)} --help\`` });
    }
    const { values, positionals } = parsed;
    if (values.help === true) {
      io.stdout(helpFor(commands, command));
      return ExitCode.ok;
    }
    const requested = values.format ?? "text";
    if (!(FORMATS as readonly string[]).includes(String(requested))) {
      throw InputError.of({
        file: "command line",
        path: "--format",
        message: `unknown format ${JSON.stringify(requested)}`,
        fix: `use one of ${FORMATS.join(", ")}`,
      });
    }
    format = requested as Format;
    const [min, max] = command.positionals;
    if (positionals.length < min || positionals.length > max) {
      throw InputError.of({
        file: "command line",
        path: "$",
        message: `expected ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? "" : "s"}, got ${positionals.length}`,
        fix: `usage: ${usageLine(command)}`,
      });
    }
    const ctx: Context = {
      repo: findRepo(typeof values.repo === "string" ? values.repo : undefined, io.cwd),
      format,
      now: io.now,
      cwd: io.cwd,
      out: io.stdout,
      err: io.stderr,
      emit: (value, text) => {
        io.stdout(format === "json" ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
      },
    };
    return await command.run(ctx, positionals, values);
  } catch (error) {
    return report(error, format === "json" && answered ? "text" : format, io);
  }
}

function report(error: unknown, format: Format, io: Io): number {
  if (error instanceof DatomspodError) {
    if (format === "json") io.stdout(`${JSON.stringify({ ok: false, error: error.message, issues: error.issues }, null, 2)}\n`);
    const lines =
      error.issues.length === 1 && error.message === formatIssue(error.issues[0])
        ? [`error: ${error.message}`]
        : [`error: ${error.message}`, ...error.issues.map((issue) => `  - ${formatIssue(issue)}`)];
    io.stderr(`${lines.join("\n")}\n`);
    return error.exitCode;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr(`internal error: ${detail}\nThis is a bug in datomspod; please report it with the command you ran.\n`);
  return ExitCode.internal;
}
