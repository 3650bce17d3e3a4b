/**
 * What an entrypoint may be: an interpreter the environment declares, options from a short list
 * that cannot run code of their own, `$ALGO` (the approved code), then arguments for the
 * algorithm. It is split on spaces and run without a shell, so there is no quoting and no
 * expansion other than `$ALGO`. Anything that would make the interpreter run something other
 * than the approved code — inline code (`-c`, `-e`, `--eval`, `-p`), preloaded modules
 * (`--require`, `--import`, `--loader`), a module (`-m` outside the environment's list), standard
 * input, or an option this list does not know — is refused, with the reason. Pure.
 */

import type { Environment, Interpreter } from "./environment.js";

export const ALGO = "$ALGO";
/** Where the approved code is in the computing container. */
export const ALGO_PATH = "/data/transformations/algorithm";

export interface EntrypointProblem {
  readonly message: string;
  readonly fix: string;
}

export type ParsedEntrypoint =
  { readonly argv: readonly string[]; readonly problems: readonly [] } | { readonly argv?: undefined; readonly problems: readonly EntrypointProblem[] };

/** Python options that only change how the interpreter runs (buffering, warnings, optimisation, isolation). */
const PYTHON_FLAGS = new Set(["-u", "-B", "-O", "-OO", "-E", "-I", "-s", "-S", "-b", "-bb", "-q"]);
/** Python options with a value, as `-W VALUE`, `-WVALUE`, `-X VALUE` or `-XVALUE`. */
const PYTHON_VALUE_OPTIONS = new Set(["-W", "-X"]);
const OPTION_VALUE = /^[A-Za-z0-9_=.:,/+-]{1,100}$/;
/** Node options that only tune the runtime. */
const NODE_FLAGS = new Set([
  "--enable-source-maps",
  "--no-warnings",
  "--no-deprecation",
  "--trace-warnings",
  "--trace-uncaught",
  "--jitless",
  "--experimental-vm-modules",
]);
const NODE_VALUE_FLAGS =
  /^--(max-old-space-size|max-semi-space-size|stack-size)=[0-9]{1,7}$|^--unhandled-rejections=(strict|warn|none|throw|warn-with-error-code)$/;

/** Options named in refusals, with what they would do. */
const RUNS_OTHER_CODE: Record<string, string> = {
  "-c": "runs the program given on the command line instead of the approved code",
  "-e": "evaluates the script given on the command line",
  "--eval": "evaluates the script given on the command line",
  "-p": "evaluates and prints the script given on the command line",
  "--print": "evaluates and prints the script given on the command line",
  "-r": "preloads another module before the approved code",
  "--require": "preloads another module before the approved code",
  "--import": "preloads another module before the approved code",
  "--loader": "loads the code through another module",
  "--experimental-loader": "loads the code through another module",
  "-i": "reads a program from standard input",
  "--interactive": "reads a program from standard input",
  "-": "reads a program from standard input",
  "--input-type": "changes how inline code is read",
  "--env-file": "sets the environment from a file of its own",
  "-m": "runs a module instead of the approved code",
  "-x": "skips the first line of the source",
};

function refusal(word: string, interpreter: Interpreter): EntrypointProblem {
  const name = word.replace(/=.*$/, "");
  const what = RUNS_OTHER_CODE[name] ?? RUNS_OTHER_CODE[name.slice(0, 2)];
  if (name === "-m" && interpreter.language === "python") {
    const modules = interpreter.modules ?? [];
    return {
      message: `${JSON.stringify(word)} runs a module that environment does not list for ${interpreter.command}`,
      fix:
        modules.length > 0 ? `use one of: ${modules.map((m) => `-m ${m}`).join(", ")}` : `write ${interpreter.command} $ALGO: the approved code is what runs`,
    };
  }
  return {
    message:
      what === undefined
        ? `option ${JSON.stringify(word)} is not one ${interpreter.command} may be given before $ALGO`
        : `option ${JSON.stringify(word)} ${what}: only the approved code may run`,
    fix: `write ${interpreter.command} [options that only tune the runtime] $ALGO [arguments for the algorithm]; allowed options: ${allowedOptions(interpreter)}`,
  };
}

function allowedOptions(interpreter: Interpreter): string {
  if (interpreter.language === "node") return [...NODE_FLAGS, "--max-old-space-size=N", "--stack-size=N", "--unhandled-rejections=MODE"].join(" ");
  const modules = (interpreter.modules ?? []).map((m) => `-m ${m}`);
  return [...PYTHON_FLAGS, "-W ARG", "-X OPTION", ...modules].join(" ");
}

/** How many words option `word` (at argv[i]) takes, or a problem when it is not allowed. */
function optionLength(words: readonly string[], i: number, interpreter: Interpreter): number | EntrypointProblem {
  const word = words[i];
  if (interpreter.language === "node") return NODE_FLAGS.has(word) || NODE_VALUE_FLAGS.test(word) ? 1 : refusal(word, interpreter);
  if (PYTHON_FLAGS.has(word)) return 1;
  const head = word.slice(0, 2);
  if (PYTHON_VALUE_OPTIONS.has(head)) {
    const value = word.length > 2 ? word.slice(2) : words[i + 1];
    if (value === undefined || !OPTION_VALUE.test(value) || value === ALGO)
      return { message: `option ${head} needs a value of letters, digits and =.:,/+-_`, fix: `e.g. ${head === "-W" ? "-W ignore" : "-X utf8"}` };
    return word.length > 2 ? 1 : 2;
  }
  if (word === "-m") {
    const module = words[i + 1];
    if (module !== undefined && (interpreter.modules ?? []).includes(module)) return 2;
  }
  return refusal(word, interpreter);
}

/**
 * Parses `entrypoint` against the environment's interpreters; on success, the argv with `$ALGO`
 * replaced by ALGO_PATH.
 */
export function parseEntrypoint(entrypoint: string, environment: Pick<Environment, "name" | "definition">): ParsedEntrypoint {
  if (/["'`\\]/.test(entrypoint))
    return {
      problems: [
        {
          message: "contains quotes or backslashes; it is split on spaces and run without a shell",
          fix: "write the command as plain words, e.g. python3 $ALGO",
        },
      ],
    };
  const words = entrypoint.split(" ").filter((word) => word !== "");
  const interpreters = environment.definition.interpreters;
  const interpreter = interpreters.find((i) => i.command === words[0]);
  if (interpreter === undefined) {
    return {
      problems: [
        {
          message: `starts with ${JSON.stringify(words[0] ?? "")}, which is not an interpreter the environment ${environment.name} declares`,
          fix: `start with one of ${interpreters.map((i) => i.command).join(", ")}, e.g. ${interpreters[0]?.command ?? "python3"} $ALGO`,
        },
      ],
    };
  }
  const algoAt = words.indexOf(ALGO);
  const inside = words.find((word) => word !== ALGO && word.includes(ALGO));
  const twice = words.lastIndexOf(ALGO) !== algoAt;
  if (algoAt < 0 || inside !== undefined || twice) {
    const message =
      inside !== undefined
        ? `uses $ALGO inside ${JSON.stringify(inside)}`
        : twice
          ? "names $ALGO more than once"
          : "has no $ALGO as a word of its own: the approved code would not be what runs";
    return { problems: [{ message, fix: `write ${interpreter.command} $ALGO [arguments], with $ALGO once, alone` }] };
  }
  for (let i = 1; i < algoAt;) {
    const length = optionLength(words, i, interpreter);
    if (typeof length !== "number") return { problems: [length] };
    if (i + length > algoAt)
      return { problems: [{ message: `option ${JSON.stringify(words[i])} takes $ALGO as its value`, fix: `write ${interpreter.command} $ALGO` }] };
    i += length;
  }
  return { argv: words.map((word) => (word === ALGO ? ALGO_PATH : word)), problems: [] };
}
