/**
 * Runs the `datomspod` command line in-process (generator/cli/main.ts) against a repository, with a
 * fixed clock and the test keys' password, and captures what it prints and its exit code.
 */

import { expect } from "vitest";
import { formatIssue } from "../../generator/errors.js";
import { main } from "../../generator/cli/main.js";
import { PASSWORD_ENV } from "../../generator/signatures/keys.js";
import { TEST_PASSWORD } from "./keys.js";

/** The clock of every test unless a test says otherwise: both example contracts are active then. */
export const TEST_NOW = "2026-11-24T00:00:00Z";

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Prepends `--repo REPO` unless undefined. */
  readonly repo?: string;
  readonly now?: string;
  readonly cwd?: string;
  /** The keystore password in DATOMSPOD_KEY_PASSWORD (default: the test keys' password). */
  readonly password?: string;
}

export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const saved = process.env[PASSWORD_ENV];
  process.env[PASSWORD_ENV] = options.password ?? TEST_PASSWORD;
  try {
    const code = await main(options.repo === undefined ? argv : ["--repo", options.repo, ...argv], {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      cwd: options.cwd ?? options.repo ?? process.cwd(),
      now: new Date(options.now ?? TEST_NOW),
    });
    return { code, stdout, stderr };
  } finally {
    if (saved === undefined) delete process.env[PASSWORD_ENV];
    else process.env[PASSWORD_ENV] = saved;
  }
}

/** Runs a command in `repo`. */
export function cli(repo: string, ...argv: string[]): Promise<CliResult> {
  return runCli(argv, { repo });
}

/** Parses stdout of a `--format json` run. */
export function jsonOut<T = any>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}

export interface ExpectedIssue {
  readonly file: string;
  readonly path: string;
  readonly message: string;
  readonly fix: string;
}

/**
 * Runs `argv` with --format json and as text and asserts the exit code, the exact issues (file,
 * JSON path, message, fix) of the JSON answer, and that the text answer prints each of them.
 */
export async function expectIssues(repo: string, argv: readonly string[], code: number, issues: readonly ExpectedIssue[]): Promise<void> {
  const json = await runCli([...argv, "--format", "json"], { repo });
  const text = await runCli(argv, { repo });

  expect({ code: json.code, issues: jsonOut<{ issues?: unknown }>(json).issues }).toEqual({ code, issues });
  expect(text.code).toBe(code);
  for (const issue of issues) {
    expect(issue.fix.length, `${issue.file} ${issue.path}: no fix`).toBeGreaterThan(0);
    expect(text.stdout + text.stderr).toContain(formatIssue(issue));
  }
}
