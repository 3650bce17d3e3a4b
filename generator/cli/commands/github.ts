/**
 * The pull-request flow's commands, run by the workflows in .github/workflows/ (or by hand with
 * GITHUB_TOKEN and GITHUB_REPOSITORY set). The token is read from the environment only, never
 * from the command line, and never printed.
 */

import { existsSync, lstatSync } from "node:fs";
import { join, resolve } from "node:path";
import { InputError, VerdictError, formatIssue } from "../../errors.js";
import { loadContract } from "../../contract/load.js";
import { display, readJsonFile, readRegularFile, writeFileAtomic } from "../../repo/files.js";
import { assertContractId, listContractIds } from "../../repo/layout.js";
import type { GitHubClient } from "../../github/client.js";
import { createGitHubClient, parseRepository } from "../../github/octokit.js";
import { readWorkflowRun, type WorkflowRun } from "../../github/event.js";
import { prStatus } from "../../github/pr-status.js";
import { recordReviews } from "../../github/record.js";
import { auditReviews } from "../../github/audit.js";
import { CODEOWNERS_FILE } from "../../github/changes.js";
import { renderCodeowners, type OwnedContract } from "../../github/codeowners.js";
import { RECEIPT_EVENT_TYPE, receiveReceipt } from "../../github/receipt.js";
import type { Command, Context, Values } from "../command.js";
import { stringOption } from "../options.js";

const SHA = /^[0-9a-f]{40}$/;

type Env = Readonly<Record<string, string | undefined>>;

/** The workflow run, when the command runs in one (GITHUB_EVENT_PATH set). */
function workflowRun(env: Env): WorkflowRun | undefined {
  return env["GITHUB_EVENT_PATH"] === undefined ? undefined : readWorkflowRun(env);
}

/** The API client for GITHUB_REPOSITORY (or --repository) with GITHUB_TOKEN. */
export function clientFrom(env: Env, values: Values, run?: WorkflowRun): GitHubClient {
  const named = stringOption(values, "repository");
  const fromEnv = env["GITHUB_REPOSITORY"];
  const repository =
    named !== undefined
      ? parseRepository(named, "--repository")
      : (run?.repository ?? (fromEnv === undefined || fromEnv === "" ? undefined : parseRepository(fromEnv)));
  if (repository === undefined)
    throw InputError.of({
      file: "environment",
      path: "GITHUB_REPOSITORY",
      message: "no repository",
      fix: "set GITHUB_REPOSITORY or pass --repository owner/name",
    });
  const token = env["GITHUB_TOKEN"];
  if (token === undefined || token === "")
    throw InputError.of({
      file: "environment",
      path: "GITHUB_TOKEN",
      message: "GITHUB_TOKEN is not set",
      fix: "pass the workflow's token: env: GITHUB_TOKEN: ${{ github.token }}",
    });
  return createGitHubClient({ repository, token, baseUrl: run?.apiUrl ?? env["GITHUB_API_URL"] ?? "https://api.github.com" });
}

function positiveInt(values: Values, name: string): number | undefined {
  const value = stringOption(values, name);
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(value))
    throw InputError.of({ file: "command line", path: `--${name}`, message: `${JSON.stringify(value)} is not a number`, fix: `pass --${name} N` });
  return Number(value);
}

function shaOption(values: Values, name: string): string | undefined {
  const value = stringOption(values, name);
  if (value !== undefined && !SHA.test(value))
    throw InputError.of({
      file: "command line",
      path: `--${name}`,
      message: `${JSON.stringify(value)} is not a full commit sha`,
      fix: "pass the 40-hex-digit sha",
    });
  return value;
}

/** The pull request a workflow run is about. */
async function pullNumberOf(run: WorkflowRun | undefined, client: GitHubClient): Promise<number> {
  const event = run?.event;
  if (event === undefined)
    throw InputError.of({ file: "command line", path: "--pr", message: "no pull request named", fix: "pass --pr N, or run it in a pull request's workflow" });
  switch (event.name) {
    case "pull_request":
    case "pull_request_target":
    case "pull_request_review":
      return event.number;
    case "workflow_run": {
      if (event.pullNumbers[0] !== undefined) return event.pullNumbers[0];
      // GitHub leaves pull_requests empty for pull requests from forks: find it by its head.
      const open = await client.listOpenPulls();
      const found = open.find((pull) => pull.headRepo?.toLowerCase() === event.headRepo.toLowerCase() && pull.headRef === event.headBranch);
      if (found === undefined)
        throw InputError.of({
          file: "GITHUB_EVENT_PATH",
          path: "$.workflow_run",
          message: `no open pull request has the head ${event.headRepo}:${event.headBranch}`,
          fix: "nothing to report: it was closed",
        });
      return found.number;
    }
    default:
      throw InputError.of({ file: "GITHUB_EVENT_PATH", path: "$", message: `a ${event.name} event is about no pull request`, fix: "pass --pr N" });
  }
}

export const githubPrStatus: Command = {
  name: ["github", "pr-status"],
  summary: "recompute a pull request's approvals and check; update its one comment, its statuses, and ask missing approvers",
  usage: "[--pr N] [--head-sha SHA] [--repository OWNER/NAME] [--dry-run]",
  help: [
    "Run by the base branch's datomspod with --repo pointing at the pull request's head checkout (data only: nothing in it is executed).",
    "Counts approving reviews of the head commit by the parties' GitHub logins as approvals, edits the comment marked",
    `<!-- datomspod:pull-request-status --> (or creates it), sets the commit statuses datomspod/approval and datomspod/contract-lock,`,
    "and requests reviews from approvers newly missing. --head-sha: the commit checked out; when the pull request moved on, nothing is posted.",
    "--dry-run prints the comment and statuses without posting. Needs GITHUB_TOKEN; GITHUB_REPOSITORY and GITHUB_EVENT_PATH as Actions sets them.",
  ].join("\n"),
  options: { pr: { type: "string" }, "head-sha": { type: "string" }, repository: { type: "string" }, "dry-run": { type: "boolean" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const run = workflowRun(process.env);
    const client = clientFrom(process.env, values, run);
    const number = positiveInt(values, "pr") ?? (await pullNumberOf(run, client));
    const headSha = shaOption(values, "head-sha");
    const result = await prStatus({
      repo: ctx.repo,
      client,
      number,
      now: ctx.now,
      ...(headSha === undefined ? {} : { headSha }),
      ...(run?.runUrl === undefined ? {} : { runUrl: run.runUrl }),
      dryRun: values["dry-run"] === true,
    });
    const summary = {
      pullRequest: number,
      head: result.report.headSha,
      skipped: result.skipped ?? null,
      comment: result.comment,
      statuses: result.statuses,
      notified: result.notified,
      contracts: result.report.contracts.map((c) => ({ id: c.id, removed: c.removed, approvals: c.approvals?.parties ?? [] })),
      body: result.body,
    };
    const lines =
      result.skipped !== undefined
        ? [result.skipped]
        : [
            result.body.trimEnd(),
            "",
            `comment: ${result.comment}`,
            ...result.statuses.map((s) => `status ${s.context}: ${s.state}: ${s.description}`),
            result.notified.length > 0 ? `review requested from: ${result.notified.map((l) => `@${l}`).join(", ")}` : "no one newly asked for a review",
          ];
    ctx.emit(summary, lines.join("\n"));
    return 0;
  },
};

export const githubRecordReviews: Command = {
  name: ["github", "record-reviews"],
  summary: "write the approving reviews of the pull request merged as SHA into contracts/<id>/reviews/ (push to main)",
  usage: "[--sha SHA] [--repository OWNER/NAME]",
  help: "SHA defaults to the push event's commit (GITHUB_SHA). Records are written once and anchored by the next `datomspod anchor`.",
  options: { sha: { type: "string" }, repository: { type: "string" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const run = workflowRun(process.env);
    const client = clientFrom(process.env, values, run);
    const sha = shaOption(values, "sha") ?? (run?.event.name === "push" ? run.event.after : undefined) ?? process.env["GITHUB_SHA"];
    if (sha === undefined || !SHA.test(sha))
      throw InputError.of({ file: "command line", path: "--sha", message: "no commit named", fix: "pass --sha SHA of the merge commit on main" });
    const result = await recordReviews(ctx.repo, client, sha);
    const lines = [
      result.pulls.length === 0
        ? `${sha.slice(0, 7)} is the merge of no pull request: nothing to record`
        : `merged: ${result.pulls.map((n) => `#${n}`).join(", ")}`,
      ...result.recorded.map((r) => `${r.written ? "wrote  " : "kept   "} ${r.file} (review ${r.reviewId} by @${r.login} of #${r.pullRequest})`),
      ...result.skipped.map((issue) => `skipped: ${formatIssue(issue)}`),
    ];
    ctx.emit(result, lines.join("\n"));
    return 0;
  },
};

export const githubReceiveReceipt: Command = {
  name: ["github", "receive-receipt"],
  summary: `write the receipt a cluster's operator sent (repository_dispatch ${RECEIPT_EVENT_TYPE}) when one of the contract's runners signed it`,
  usage: "[--payload FILE]",
  help: "Reads the client payload {contract, run, receipt, signature} from the event (GITHUB_EVENT_PATH) or from --payload FILE.",
  options: { payload: { type: "string" } },
  positionals: [0, 0],
  run(ctx, _args, values) {
    const file = stringOption(values, "payload");
    let payload: unknown;
    let source: string;
    if (file !== undefined) {
      const path = resolve(ctx.cwd, file);
      payload = readJsonFile(path, file, 256 * 1024);
      source = file;
    } else {
      const run = workflowRun(process.env);
      if (run?.event.name !== "repository_dispatch")
        throw InputError.of({
          file: "environment",
          path: "GITHUB_EVENT_NAME",
          message: "not a repository_dispatch event",
          fix: "pass --payload FILE, or run it on repository_dispatch",
        });
      if (run.event.action !== RECEIPT_EVENT_TYPE)
        throw InputError.of({
          file: "GITHUB_EVENT_PATH",
          path: "$.action",
          message: `is ${JSON.stringify(run.event.action)}`,
          fix: `send the event type ${RECEIPT_EVENT_TYPE}`,
        });
      payload = run.event.clientPayload;
      source = "client_payload";
    }
    const received = receiveReceipt(ctx.repo, payload, ctx.now, source);
    ctx.emit(received, received.files.map((f) => `wrote ${f}`).join("\n"));
    return 0;
  },
};

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Every contract's parties and cluster, for CODEOWNERS (a contract that does not load has no owners). */
function ownedContracts(repo: string): OwnedContract[] {
  return listContractIds(repo).map((id) => {
    try {
      return { id, contract: loadContract(repo, id).contract };
    } catch (error) {
      if (error instanceof InputError) return { id };
      throw error;
    }
  });
}

export const githubCodeowners: Command = {
  name: ["github", "codeowners"],
  summary: "generate .github/CODEOWNERS so each contract's folder needs its data owners' review (--check: drift, exit 1)",
  usage: "[--check]",
  options: { check: { type: "boolean" } },
  positionals: [0, 0],
  run(ctx, _args, values) {
    const path = join(ctx.repo, CODEOWNERS_FILE);
    const existing = existsSync(path) || isLink(path) ? readRegularFile(path, CODEOWNERS_FILE, 256 * 1024).toString("utf8") : undefined;
    const text = renderCodeowners(ownedContracts(ctx.repo), existing);
    const file = display(ctx.repo, path);
    if (values["check"] === true) {
      if (existing !== text)
        throw new VerdictError(`${file} is not what the contracts give`, [
          { file, path: "$", message: "differs from the generated CODEOWNERS", fix: "run `datomspod github codeowners` and commit the file" },
        ]);
      ctx.emit({ file, upToDate: true }, `${file} is up to date`);
      return 0;
    }
    if (existing !== text) writeFileAtomic(path, text);
    ctx.emit({ file, changed: existing !== text }, existing === text ? `${file} is up to date` : `wrote ${file}`);
    return 0;
  },
};

export const auditReviewsCommand: Command = {
  name: ["audit", "reviews"],
  summary: "re-check every committed review record against the GitHub API (needs GITHUB_TOKEN)",
  usage: "[ID...] [--repository OWNER/NAME]",
  help: "Verified when GitHub still says the review is APPROVED, by that login and user id, of that commit, and the pull request was merged at it. Exit 1 on any mismatch.",
  options: { repository: { type: "string" } },
  positionals: [0, 64],
  async run(ctx: Context, ids, values) {
    ids.forEach((id) => assertContractId(id));
    const client = clientFrom(process.env, values, workflowRun(process.env));
    const rows = await auditReviews(ctx.repo, client, ids);
    const lines =
      rows.length === 0 ? ["no review records"] : rows.map((r) => `${r.status.padEnd(10)} ${r.file}${r.problems.map((p) => `\n           ${p}`).join("")}`);
    ctx.emit({ ok: rows.every((r) => r.status === "verified"), reviews: rows }, lines.join("\n"));
    const bad = rows.filter((r) => r.status !== "verified");
    if (bad.length > 0)
      throw new VerdictError(
        `${bad.length} review record${bad.length === 1 ? "" : "s"} GitHub does not confirm`,
        bad.map((r) => ({ file: r.file, path: "$", message: r.problems.join("; "), fix: "remove the record; the owner approves again (datomspod approve)" })),
      );
    return 0;
  },
};
