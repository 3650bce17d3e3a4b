/**
 * Error classes and the exit codes they map to. The CLI's single top-level catch turns these
 * into `process.exitCode`; nothing else in the code base decides an exit code.
 */

export const ExitCode = {
  ok: 0,
  verdict: 1,
  input: 2,
  service: 3,
  internal: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** One finding: which file, where inside it (a JSON path like `$.inputs.data[0].did`), what is wrong and how to fix it. */
export interface Issue {
  readonly file: string;
  readonly path: string;
  readonly message: string;
  readonly fix?: string;
}

export function formatIssue(issue: Issue): string {
  const where = issue.path && issue.path !== "$" ? `${issue.file} ${issue.path}` : issue.file;
  return issue.fix ? `${where}: ${issue.message} (fix: ${issue.fix})` : `${where}: ${issue.message}`;
}

export abstract class DatomspodError extends Error {
  abstract readonly exitCode: ExitCode;
  readonly issues: readonly Issue[];

  constructor(message: string, issues: readonly Issue[] = []) {
    super(message);
    this.name = new.target.name;
    this.issues = issues;
  }
}

/** Bad usage or an input that cannot be read or does not validate: exit 2. */
export class InputError extends DatomspodError {
  readonly exitCode = ExitCode.input;

  static of(issue: Issue): InputError {
    return new InputError(formatIssue(issue), [issue]);
  }

  static many(summary: string, issues: readonly Issue[]): InputError {
    return new InputError(summary, issues);
  }
}

/** A check ran and its verdict is "no" (signature, approval, policy, drift): exit 1. */
export class VerdictError extends DatomspodError {
  readonly exitCode = ExitCode.verdict;
}

/** An outside system (podman, a chain RPC, IPFS) failed: exit 3. */
export class ServiceError extends DatomspodError {
  readonly exitCode = ExitCode.service;
}
