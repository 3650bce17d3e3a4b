/**
 * Who changed what, when: the commits of every file under contracts/ and clusters/, from one
 * `git log` (through the audit stage's read-only git seam), with the pull request each came from
 * when its subject ("… (#12)") or a merge commit ("Merge pull request #12 from …") names one.
 */

import { git } from "../audit/exec.js";
import type { CommitInfo, History } from "./view.js";

const RECORD = "\u001e";
const FIELD = "\u001f";

/** The pull request a commit subject names: a squash merge "(#12)" or a merge "Merge pull request #12". */
export function prNumber(subject: string): number | undefined {
  const match = /^Merge pull request #(\d+)\b/.exec(subject) ?? /\(#(\d+)\)\s*$/.exec(subject);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Parses `git log --format=<RS>%H<US>%aI<US>%an<US>%s --name-only`: commits per path, newest first,
 * each folder of a path too (with a trailing slash).
 */
export function parseLog(text: string, prOf: ReadonlyMap<string, number> = new Map()): Map<string, CommitInfo[]> {
  const history = new Map<string, CommitInfo[]>();
  const add = (path: string, commit: CommitInfo): void => {
    const list = history.get(path);
    if (list === undefined) history.set(path, [commit]);
    else if (list.at(-1)?.hash !== commit.hash) list.push(commit);
  };
  for (const record of text.split(RECORD)) {
    if (record.trim() === "") continue;
    const [header = "", ...names] = record.split("\n");
    const [hash = "", date = "", author = "", subject = ""] = header.split(FIELD);
    if (!/^[0-9a-f]{40,64}$/.test(hash)) continue;
    const pr = prNumber(subject) ?? prOf.get(hash);
    const commit: CommitInfo = { hash, date, author, subject, ...(pr === undefined ? {} : { pr }) };
    for (const name of names.filter(Boolean)) {
      add(name, commit);
      const parts = name.split("/");
      for (let i = 1; i < parts.length; i++) add(`${parts.slice(0, i).join("/")}/`, commit);
    }
  }
  return history;
}

/** Commits of merged pull requests: each commit a merge "Merge pull request #N" brought in → N. */
async function mergedPullRequests(repo: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const merges = await git(repo, ["log", "--merges", `--format=%H${FIELD}%P${FIELD}%s`]);
  if (!merges.ok) return found;
  for (const line of merges.stdout.toString("utf8").split("\n")) {
    const [, parents = "", subject = ""] = line.split(FIELD);
    const pr = prNumber(subject);
    const [first, second] = parents.split(" ");
    if (pr === undefined || first === undefined || second === undefined) continue;
    const brought = await git(repo, ["rev-list", second, `^${first}`]);
    if (!brought.ok) continue;
    for (const hash of brought.stdout.toString("utf8").split("\n").filter(Boolean)) if (!found.has(hash)) found.set(hash, pr);
  }
  return found;
}

/** The history of contracts/ and clusters/ in `repo`; `git: false` when it is not a git repository. */
export async function readHistory(repo: string): Promise<{ git: boolean; history: History }> {
  const inside = await git(repo, ["rev-parse", "--is-inside-work-tree"]);
  if (!inside.ok || inside.stdout.toString("utf8").trim() !== "true") return { git: false, history: new Map() };
  const log = await git(repo, [
    "-c",
    "core.quotePath=false",
    "log",
    "--relative",
    `--format=${RECORD}%H${FIELD}%aI${FIELD}%an${FIELD}%s`,
    "--name-only",
    "--",
    "contracts",
    "clusters",
  ]);
  if (!log.ok) return { git: true, history: new Map() };
  return { git: true, history: parseLog(log.stdout.toString("utf8"), await mergedPullRequests(repo)) };
}
