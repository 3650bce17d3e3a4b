/**
 * The workflow run a command is in, as GitHub Actions describes it: GITHUB_EVENT_NAME,
 * GITHUB_EVENT_PATH (the webhook payload as JSON), GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_API_URL,
 * GITHUB_SERVER_URL and GITHUB_RUN_ID. Only the fields datomspod uses are read, each checked; the
 * payload only ever says *which* pull request or commit: reviews, files and states are always read
 * again from the API, never believed from the event.
 */

import { InputError } from "../errors.js";
import { readJsonFile } from "../repo/files.js";
import type { Repository } from "./client.js";
import { parseRepository } from "./octokit.js";

export type WorkflowEvent =
  | { readonly name: "pull_request" | "pull_request_target"; readonly action: string; readonly number: number; readonly headSha: string }
  | { readonly name: "pull_request_review"; readonly action: string; readonly number: number; readonly headSha: string }
  | {
      readonly name: "workflow_run";
      /** The event that ran the workflow this one follows (pull_request_review). */
      readonly workflowEvent: string;
      readonly headSha: string;
      readonly headBranch: string;
      /** owner/name of the head's repository. */
      readonly headRepo: string;
      /** Pull requests GitHub associates (empty for pull requests from forks). */
      readonly pullNumbers: readonly number[];
    }
  | { readonly name: "push"; readonly ref: string; readonly after: string }
  | { readonly name: "repository_dispatch"; readonly action: string; readonly clientPayload: unknown }
  | { readonly name: "schedule" | "workflow_dispatch" };

export interface WorkflowRun {
  readonly event: WorkflowEvent;
  readonly repository: Repository;
  /** The REST API's base URL. */
  readonly apiUrl: string;
  /** This run's page, for links in statuses. */
  readonly runUrl?: string;
}

const SHA = /^[0-9a-f]{40}$/;

type Env = Readonly<Record<string, string | undefined>>;

function need(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === "")
    throw InputError.of({
      file: "environment",
      path: name,
      message: `${name} is not set`,
      fix: "run this inside a GitHub Actions job, or set it as Actions would",
    });
  return value;
}

/** Reads the workflow run from the environment (`env` is process.env in the CLI). */
export function readWorkflowRun(env: Env): WorkflowRun {
  const name = need(env, "GITHUB_EVENT_NAME");
  const path = need(env, "GITHUB_EVENT_PATH");
  const repository = parseRepository(need(env, "GITHUB_REPOSITORY"));
  const payload = readJsonFile(path, path, 25 * 1024 * 1024);
  const server = env["GITHUB_SERVER_URL"] ?? "https://github.com";
  const runId = env["GITHUB_RUN_ID"];
  return {
    event: parseEvent(name, payload, path),
    repository,
    apiUrl: env["GITHUB_API_URL"] ?? "https://api.github.com",
    ...(runId === undefined || !/^[0-9]+$/.test(runId) ? {} : { runUrl: `${server}/${repository.owner}/${repository.name}/actions/runs/${runId}` }),
  };
}

/** The parts of a webhook payload datomspod uses, checked (`file` is where it was read from). */
export function parseEvent(name: string, payload: unknown, file: string): WorkflowEvent {
  const at = (path: string, message: string): never => {
    throw InputError.of({ file, path, message, fix: `the ${name} event payload is not what GitHub sends; run this from the workflow that GitHub starts` });
  };
  const obj = (value: unknown, path: string): Record<string, unknown> =>
    value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : at(path, "is not an object");
  const int = (value: unknown, path: string): number =>
    typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : at(path, "is not a positive integer");
  const sha = (value: unknown, path: string): string => (typeof value === "string" && SHA.test(value) ? value : at(path, "is not a commit sha"));
  const str = (value: unknown, path: string): string => (typeof value === "string" ? value : at(path, "is not a string"));
  const root = obj(payload, "$");
  switch (name) {
    case "pull_request":
    case "pull_request_target":
    case "pull_request_review": {
      const pull = obj(root["pull_request"], "$.pull_request");
      const head = obj(pull["head"], "$.pull_request.head");
      const event = {
        action: str(root["action"], "$.action"),
        number: int(pull["number"], "$.pull_request.number"),
        headSha: sha(head["sha"], "$.pull_request.head.sha"),
      };
      return name === "pull_request_review" ? { name, ...event } : { name, ...event };
    }
    case "workflow_run": {
      const run = obj(root["workflow_run"], "$.workflow_run");
      const pulls = Array.isArray(run["pull_requests"]) ? run["pull_requests"] : [];
      return {
        name,
        workflowEvent: str(run["event"], "$.workflow_run.event"),
        headSha: sha(run["head_sha"], "$.workflow_run.head_sha"),
        headBranch: str(run["head_branch"], "$.workflow_run.head_branch"),
        headRepo: str(obj(run["head_repository"], "$.workflow_run.head_repository")["full_name"], "$.workflow_run.head_repository.full_name"),
        pullNumbers: pulls.map((pull, i) => int(obj(pull, `$.workflow_run.pull_requests[${i}]`)["number"], `$.workflow_run.pull_requests[${i}].number`)),
      };
    }
    case "push":
      return { name, ref: str(root["ref"], "$.ref"), after: sha(root["after"], "$.after") };
    case "repository_dispatch":
      return { name, action: str(root["action"], "$.action"), clientPayload: root["client_payload"] };
    case "schedule":
    case "workflow_dispatch":
      return { name };
    default:
      throw InputError.of({
        file: "environment",
        path: "GITHUB_EVENT_NAME",
        message: `datomspod does not handle the event ${JSON.stringify(name)}`,
        fix: "run it on pull_request, pull_request_target, pull_request_review, workflow_run, push, repository_dispatch, schedule or workflow_dispatch",
      });
  }
}
