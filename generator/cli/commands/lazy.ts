/**
 * Which modules hold the commands a command line can name, by its first word, so that the
 * `datomspod` executable loads one command's modules instead of all 56 commands' (ethers' wallet,
 * octokit, the IPFS client, the report server, …): `datomspod run` then starts about 0.25 s of CPU
 * sooner. The table of every command stays commands/index.ts (help, in-process callers); a line
 * this table does not settle (no word, an unknown word, a word whose modules hold no command of
 * that name) loads that whole table, so the answer is always the one it would give.
 */

import { selectCommand } from "../dispatch.js";
import type { Command } from "../command.js";

type Loader = () => Promise<Record<string, unknown>>;

const LOADERS = {
  algorithm: () => import("./algorithm.js"),
  anchor: () => import("./anchor.js"),
  audit: () => import("./audit.js"),
  check: () => import("./check.js"),
  cluster: () => import("./cluster.js"),
  compile: () => import("./compile.js"),
  contract: () => import("./contract.js"),
  data: () => import("./data.js"),
  delivery: () => import("./delivery.js"),
  demo: () => import("./demo.js"),
  env: () => import("./env.js"),
  escrow: () => import("./escrow.js"),
  github: () => import("./github.js"),
  images: () => import("./images.js"),
  keys: () => import("./keys.js"),
  operator: () => import("./operator.js"),
  report: () => import("./report.js"),
  request: () => import("./request.js"),
  role: () => import("./role.js"),
  run: () => import("./run.js"),
  settle: () => import("./settle.js"),
} as const satisfies Record<string, Loader>;

/** The modules whose commands begin with a word (`audit reviews` lives with the GitHub commands). */
export const COMMAND_MODULES: Readonly<Record<string, readonly (keyof typeof LOADERS)[]>> = {
  ack: ["delivery"],
  algorithm: ["algorithm"],
  anchor: ["anchor"],
  approve: ["contract"],
  audit: ["audit", "github"],
  check: ["check"],
  cluster: ["cluster"],
  compile: ["compile"],
  contract: ["contract"],
  data: ["data"],
  demo: ["demo"],
  env: ["env"],
  escrow: ["escrow"],
  fetch: ["delivery"],
  github: ["github"],
  images: ["images"],
  keys: ["keys"],
  operator: ["operator"],
  release: ["delivery"],
  report: ["report"],
  request: ["request"],
  role: ["role"],
  run: ["run"],
  serve: ["report"],
  settle: ["settle"],
};

function isCommand(value: unknown): value is Command {
  if (value === null || typeof value !== "object") return false;
  const candidate = value as Partial<Command>;
  return Array.isArray(candidate.name) && typeof candidate.run === "function";
}

/**
 * The commands to dispatch `argv` (without node and script) against: those of the modules its
 * first word names when one of them is the command the whole table would select, else the whole
 * table.
 */
export async function commandsFor(argv: readonly string[]): Promise<readonly Command[]> {
  const { words } = selectCommand([], argv);
  const modules = Object.hasOwn(COMMAND_MODULES, words[0] ?? "") ? COMMAND_MODULES[words[0] ?? ""] : undefined;
  if (modules !== undefined) {
    const loaded = await Promise.all(modules.map((module) => LOADERS[module]()));
    const commands = loaded.flatMap((exports) => Object.values(exports).filter(isCommand));
    if (selectCommand(commands, argv).command !== undefined) return commands;
  }
  return (await import("./index.js")).COMMANDS;
}
