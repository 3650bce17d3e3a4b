/**
 * The `datomspod` executable loads only the modules of the command it is asked for
 * (generator/cli/commands/lazy.ts), and selects exactly the command the whole table would.
 */

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../generator/cli/commands/index.js";
import { COMMAND_MODULES, commandsFor } from "../../generator/cli/commands/lazy.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { tempDir } from "../helpers/repo.js";

const ENTRY = join(PACKAGE_ROOT, "dist", "generator", "cli", "main.js");

/** Runs the built entry in a new node process; returns its stdout and every module URL it loaded. */
function runEntry(argv: string[]): { stdout: string; loaded: string[] } {
  const dir = tempDir("datomspod-lazy-");
  const hook = join(dir, "hook.mjs");
  const list = join(dir, "loaded.txt");
  writeFileSync(
    hook,
    `import { registerHooks } from "node:module";\nimport { appendFileSync } from "node:fs";\nregisterHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(list)}, url + "\\n"); return next(url, context); } });\n`,
  );
  writeFileSync(list, "");
  const stdout = execFileSync(process.execPath, ["--import", hook, ENTRY, ...argv], { encoding: "utf8", cwd: dir });
  return { stdout, loaded: readFileSync(list, "utf8").split("\n").filter(Boolean) };
}

describe("the command table by first word", () => {
  it.each(COMMANDS.map((command) => [command.name.join(" "), command] as const))("selects %s from its own modules", async (_name, command) => {
    const sameWord = COMMANDS.filter((c) => c.name[0] === command.name[0]);

    const commands = await commandsFor([...command.name, "--help"]);

    expect(COMMAND_MODULES[command.name[0]]).toBeDefined();
    expect(commands).toContain(command);
    // Every command that begins with the same word is there: the longest-prefix choice is the whole table's.
    expect(new Set(commands.filter((c) => c.name[0] === command.name[0]))).toEqual(new Set(sameWord));
  });

  it.each([[[]], [["--help"]], [["nonsense"]], [["contract"]], [["contract", "nonsense"]], [["--repo", "x"]]])("loads the whole table for %j", async (argv) => {
    const commands = await commandsFor(argv);

    expect(commands).toBe(COMMANDS);
  });

  it("skips global options before the command, as the parser does", async () => {
    const commands = await commandsFor(["--repo", "somewhere", "--format=json", "run", "hospital-stats", "run-1"]);

    expect(commands).not.toBe(COMMANDS);
    expect(commands.map((c) => c.name.join(" "))).toEqual(["run"]);
  });
});

describe.skipIf(!existsSync(ENTRY))("the built datomspod", () => {
  it("loads neither the other commands nor their libraries for `run`", () => {
    const { stdout, loaded } = runEntry(["run", "--help"]);

    expect(stdout).toContain("usage: datomspod run ID RUN --key FILE");
    const heavy = [
      /\/node_modules\/@octokit\//,
      /\/node_modules\/kubo-rpc-client\//,
      /\/node_modules\/eciesjs\//,
      /\/cli\/commands\/(index|operator|report|github)\.js$/,
    ];
    expect(loaded.filter((url) => heavy.some((h) => h.test(url)))).toEqual([]);
  });

  it("still lists every command without one", () => {
    const { stdout, loaded } = runEntry(["--help"]);

    for (const command of COMMANDS) expect(stdout).toContain(`datomspod ${command.name.join(" ")}`);
    expect(loaded.some((url) => url.endsWith("/cli/commands/index.js"))).toBe(true);
  });
});
