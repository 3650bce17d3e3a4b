/**
 * What the people in a pull request see: the one datomspod comment (found again by its hidden
 * marker and edited in place, never posted anew), the commit statuses `datomspod/approval` and
 * `datomspod/contract-lock`, and who to ask for a review. Pure: the pull request's report in,
 * Markdown and statuses out; byte-identical for the same report.
 */

import { AXES } from "../policy/scenarios.js";
import { shares } from "../policy/triangle.js";
import { contractPassed, leakageText, STAGES, type CheckReport, type ContractCheck } from "../policy/report/check-report.js";
import { renderMarkdown } from "../policy/report/markdown.js";
import type { Verification } from "../signatures/verify.js";
import type { CommitStatus } from "./client.js";
import type { ReviewDecision } from "./approvals.js";

/** The hidden first line by which the comment is found again. */
export const COMMENT_MARKER = "<!-- datomspod:pull-request-status -->";
const STATE_PREFIX = "<!-- datomspod:state ";
export const APPROVAL_CONTEXT = "datomspod/approval";
export const LOCK_CONTEXT = "datomspod/contract-lock";
export const CHECK_CONTEXT = "datomspod/check";
/** GitHub refuses comment bodies over 65,536 characters. */
export const MAX_COMMENT = 65_000;

export interface ContractReport {
  readonly id: string;
  /** The pull request removes the contract. */
  readonly removed: boolean;
  readonly check?: ContractCheck;
  readonly approvals?: Verification;
  readonly decision?: ReviewDecision;
}

export interface Conflict {
  readonly id: string;
  readonly number: number;
  readonly url: string;
}

export interface PullReport {
  readonly number: number;
  readonly headSha: string;
  readonly baseRef: string;
  readonly baseSha: string;
  readonly contracts: readonly ContractReport[];
  /** Tooling paths the pull request changes. */
  readonly tooling: readonly string[];
  /** Contracts an earlier open pull request already proposes. */
  readonly conflicts: readonly Conflict[];
  readonly runUrl?: string;
}

/** An approver still missing: who, for which contract, and how they approve. */
export interface Missing {
  readonly contract: string;
  readonly name: string;
  readonly role: string;
  readonly login?: string;
  /** Why their earlier review does not count, when they reviewed. */
  readonly why?: string;
}

/** What the previous comment recorded, to tell when the state changed. */
export interface CommentState {
  readonly head: string;
  readonly missing: readonly string[];
}

const short = (sha: string): string => sha.slice(0, 7);
/** Text from the pull request (a party's name) as inert Markdown: no table break, no HTML, no @-mention. */
export function plain(text: string): string {
  return text
    .replaceAll("\\", "\\\\")
    .replaceAll("|", "\\|")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll("@", "@\u200b")
    .replace(/[\r\n]+/g, " ");
}
const code = (text: string): string => `\`${text.replaceAll("`", "'")}\``;

/** Every required approver without an approval that counts, in contract and party order. */
export function missingApprovers(report: PullReport): Missing[] {
  const missing: Missing[] = [];
  for (const contract of report.contracts) {
    if (contract.removed || contract.approvals === undefined) continue;
    for (const party of contract.approvals.parties) {
      if (party.status === "valid") continue;
      const decided = contract.decision?.approvers.find((a) => a.party.address === party.address);
      const login = decided?.party.github;
      const why = decided === undefined ? undefined : reviewWhy(decided.status, decided.review?.commitId ?? null, report.headSha);
      missing.push({
        contract: contract.id,
        name: party.name,
        role: party.role,
        ...(login === undefined ? {} : { login }),
        ...(why === undefined ? {} : { why }),
      });
    }
  }
  return missing;
}

function reviewWhy(status: string, commit: string | null, head: string): string | undefined {
  switch (status) {
    case "stale":
      return `approved ${commit === null ? "an earlier commit" : code(short(commit))}, not the head ${code(short(head))}`;
    case "dismissed":
      return "the approval was dismissed";
    case "changes-requested":
      return "requested changes";
    case "approved":
      return "approved the head, but the approval does not cover what runs now (see the approvals problems)";
    default:
      return undefined;
  }
}

/** Pull requests that change the tooling cannot grade themselves, and reviews in them do not approve. */
function toolingBlocks(report: PullReport): boolean {
  return report.tooling.length > 0 && report.contracts.some((c) => !c.removed);
}

function truncate(text: string, max = 140): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The `datomspod/approval` status: exactly who is missing. */
export function approvalStatus(report: PullReport): CommitStatus {
  const base = { context: APPROVAL_CONTEXT, ...(report.runUrl === undefined ? {} : { targetUrl: report.runUrl }) };
  if (toolingBlocks(report))
    return {
      ...base,
      state: "failure",
      description: truncate(`changes tooling (${report.tooling[0]}) and contracts: approvals do not count; split the pull request`),
    };
  const live = report.contracts.filter((c) => !c.removed);
  if (live.length === 0) return { ...base, state: "success", description: "no contract to approve in this pull request" };
  const undetermined = live.filter((c) => c.approvals === undefined || c.approvals.parties.length === 0 || !c.check || c.check.stages.schema.status !== "ok");
  if (undetermined.length > 0)
    return {
      ...base,
      state: "failure",
      description: truncate(`${undetermined.map((c) => c.id).join(", ")}: the contract does not load, so nothing can be approved`),
    };
  const missing = missingApprovers(report);
  if (missing.length > 0) {
    const who = missing.map((m) => `${m.login === undefined ? m.name : `@${m.login}`} (${m.contract})`);
    return { ...base, state: "pending", description: truncate(`missing approval: ${who.join(", ")}`) };
  }
  const blocked = live.filter((c) => c.approvals?.ok !== true);
  if (blocked.length > 0)
    return { ...base, state: "failure", description: truncate(`${blocked.map((c) => c.id).join(", ")}: an approval record does not verify (see the comment)`) };
  const count = live.reduce((n, c) => n + (c.approvals?.parties.length ?? 0), 0);
  return {
    ...base,
    state: "success",
    description: truncate(`approved by all ${count} required approver${count === 1 ? "" : "s"} at ${short(report.headSha)}`),
  };
}

/**
 * The `datomspod/check` status: every stage of every changed contract, with the approving reviews
 * of the head counted (the pull_request check job cannot count them: it has no say over reviews).
 */
export function checkStatus(report: PullReport): CommitStatus {
  const base = { context: CHECK_CONTEXT, ...(report.runUrl === undefined ? {} : { targetUrl: report.runUrl }) };
  const live = report.contracts.filter((c) => !c.removed);
  const failing = live.flatMap((c) => {
    const stages = c.check === undefined ? ["schema"] : STAGES.filter((stage) => c.check!.stages[stage].status !== "ok");
    return stages.length === 0 ? [] : [`${c.id} (${stages.join(", ")})`];
  });
  if (failing.length > 0) return { ...base, state: "failure", description: truncate(`fails: ${failing.join("; ")}`) };
  return {
    ...base,
    state: "success",
    description:
      live.length === 0
        ? "no contract in this pull request"
        : `${live.length === 1 ? "the contract passes" : `all ${live.length} contracts pass`} every stage, approvals by review counted`,
  };
}

/** The `datomspod/contract-lock` status: one open pull request per contract. */
export function lockStatus(report: PullReport): CommitStatus {
  const [first] = report.conflicts;
  if (first === undefined) return { context: LOCK_CONTEXT, state: "success", description: "no other open pull request changes these contracts" };
  return {
    context: LOCK_CONTEXT,
    state: "failure",
    description: truncate(`${first.id} is already proposed in #${first.number}: one open pull request per contract`),
    targetUrl: first.url,
  };
}

/**
 * The OPS-C triangle as text, for a comment that cannot show the SVG: O at the top, P bottom left,
 * S bottom right; `+` the scenario's region, `.` the rest, `@` the contract's point.
 */
export function textTriangle(check: ContractCheck, rows = 11): string[] {
  const result = check.policy;
  if (result === undefined) return [];
  const share = shares(result.scores);
  const region = check.scenario?.region;
  const inRegion = (b: Record<(typeof AXES)[number], number>): boolean =>
    region !== undefined && AXES.every((axis) => b[axis] * 100 >= region[axis].min - 1e-9 && b[axis] * 100 <= region[axis].max + 1e-9);
  const pointRow = share === undefined ? -1 : Math.round((1 - share.openness) * (rows - 1));
  const lower = share === undefined ? 0 : share.privacy + share.security;
  const pointCol = share === undefined || pointRow <= 0 ? 0 : Math.round((lower === 0 ? 0.5 : share.security / lower) * pointRow);
  const width = 2 * rows - 1;
  const lines = [`${" ".repeat(rows - 1)}O ${result.scores.openness}`];
  for (let r = 0; r < rows; r++) {
    const t = rows === 1 ? 0 : r / (rows - 1);
    const cells: string[] = [];
    for (let k = 0; k <= r; k++) {
      const u = r === 0 ? 0.5 : k / r;
      const b = { openness: 1 - t, privacy: t * (1 - u), security: t * u };
      cells.push(r === pointRow && k === pointCol ? "@" : inRegion(b) ? "+" : ".");
    }
    lines.push(`${" ".repeat(rows - 1 - r)}${cells.join(" ")}`.padEnd(width).trimEnd());
  }
  const left = `P ${result.scores.privacy}`;
  const right = `S ${result.scores.security}`;
  lines.push(`${left}${" ".repeat(Math.max(1, width - left.length - right.length))}${right}`);
  return ["```text", ...lines, "```", `\`@\` ${check.id} · \`+\` scenario ${result.scenario}'s region · weighted ${result.weighted}`, ""];
}

/** The leakage bound of the policy result: the most a run, and the whole contract, can let out. */
function leakageLines(check: ContractCheck): string[] {
  return check.policy === undefined ? [] : [`**Leakage bound:** ${leakageText(check.policy)}`, ""];
}

function approvalCell(party: Verification["parties"][number], decision: ReviewDecision | undefined, head: string): string {
  if (party.status === "valid") {
    const ways = [
      ...(party.via?.includes("signature") ? ["signed approval"] : []),
      ...(party.via?.includes("package") ? ["approval of the algorithm package"] : []),
      ...(party.reviews ?? []).map((r) => `review ${r.id} of ${code(short(r.commit))}${r.commit === head ? "" : ` (#${r.pullRequest})`}`),
    ];
    return `✅ ${ways.join(", ") || "approved"}`;
  }
  const decided = decision?.approvers.find((a) => a.party.address === party.address);
  const why = decided === undefined ? undefined : reviewWhy(decided.status, decided.review?.commitId ?? null, head);
  return `${party.status === "invalid" ? "❌ invalid" : "⏳ missing"}${why === undefined ? "" : `: ${why}`}`;
}

/** The next thing to do for one contract, as a command or an action. */
function nextStep(contract: ContractReport, report: PullReport): string {
  const check = contract.check;
  if (check === undefined || check.stages.schema.status !== "ok") return `fix ${code(`contracts/${contract.id}/contract.json`)} (see the problems) and push`;
  const approvals = contract.approvals;
  const unsigned = check.stages.signatures.status !== "ok";
  if (unsigned) return `every party signs: ${code(`datomspod contract sign ${contract.id} --key FILE`)}, and pushes the signature`;
  const missing = missingApprovers({ ...report, contracts: [contract] });
  if (missing.length > 0) {
    const byReview = missing.filter((m) => m.login !== undefined).map((m) => `@${m.login}`);
    const bySignature = missing.filter((m) => m.login === undefined).map((m) => plain(m.name));
    return [
      byReview.length > 0 ? `${byReview.join(", ")}: review and approve this pull request at ${code(short(report.headSha))}` : "",
      bySignature.length > 0 ? `${bySignature.join(", ")}: ${code(`datomspod approve ${contract.id} --key FILE`)} and push` : "",
    ]
      .filter((line) => line !== "")
      .join("; ");
  }
  if (approvals !== undefined && !approvals.ok) return "remove or fix the approval records that do not verify (see the problems)";
  if (!contractPassed(check)) return "fix the problems below and push";
  return "merge: the merge workflow records the approving reviews, compiles the instance and anchors the evidence";
}

function contractSection(contract: ContractReport, report: PullReport): string[] {
  const out = [`### ${contract.id}`, ""];
  if (contract.removed) return [...out, "This pull request removes the contract.", ""];
  const check = contract.check;
  out.push(
    `${check !== undefined && contractPassed(check) ? "✅ passes the check" : "❌ does not pass the check"} · ${code(`contracts/${contract.id}/contract.json`)}`,
    "",
  );
  if (check !== undefined) {
    const mark = { ok: "✅", failed: "❌", skipped: "➖" } as const;
    out.push(
      `| ${STAGES.join(" | ")} |`,
      `| ${STAGES.map(() => ":---:").join(" | ")} |`,
      `| ${STAGES.map((stage) => mark[check.stages[stage].status]).join(" | ")} |`,
      "",
    );
  }
  if (contract.approvals !== undefined && contract.approvals.parties.length > 0) {
    out.push("| approver | role | GitHub | approval |", "| --- | --- | --- | --- |");
    for (const party of contract.approvals.parties) {
      const login = contract.decision?.approvers.find((a) => a.party.address === party.address)?.party.github;
      out.push(
        `| ${plain(party.name)} | ${party.role} | ${login === undefined ? "— (signed approval only)" : `@${login}`} | ${approvalCell(party, contract.decision, report.headSha)} |`,
      );
    }
    out.push("");
  }
  for (const ignored of contract.decision?.ignored ?? []) out.push(`- ⚠️ the approval by @${ignored.review.login} does not count: ${ignored.reason}`);
  if ((contract.decision?.ignored.length ?? 0) > 0) out.push("");
  if (check !== undefined) out.push(...textTriangle(check), ...leakageLines(check));
  out.push(`**Next:** ${nextStep(contract, report)}`, "");
  return out;
}

function headline(report: PullReport): string {
  const live = report.contracts.filter((c) => !c.removed);
  if (report.conflicts.length > 0) return "⛔ blocked by another open pull request";
  if (toolingBlocks(report)) return "⛔ changes datomspod's tooling and contracts together";
  if (live.length === 0) return report.tooling.length > 0 ? "tooling change, no contract" : "no contract changes";
  const failing = live.filter((c) => c.check === undefined || !contractPassed(c.check)).length;
  const missing = missingApprovers(report).length;
  if (failing === 0 && missing === 0) return `✅ ready to merge (${live.length} contract${live.length === 1 ? "" : "s"})`;
  return [
    failing > 0 ? `${failing} contract${failing === 1 ? "" : "s"} failing` : "",
    missing > 0 ? `${missing} approval${missing === 1 ? "" : "s"} missing` : "",
  ]
    .filter((part) => part !== "")
    .join(", ");
}

/** The comment's body: marker, summary, per contract approvers / triangle / leakage / next step, the check report, and the state. */
export function renderComment(report: PullReport, state: CommentState): string {
  const out = [COMMENT_MARKER, `## datomspod: ${headline(report)}`, ""];
  out.push(
    `Head ${code(short(report.headSha))} · checked with datomspod from the base branch ${code(report.baseRef)} (${code(short(report.baseSha))}), never from this pull request.`,
    "",
  );
  for (const conflict of report.conflicts)
    out.push(
      `> ⛔ **${conflict.id}** is already proposed in [#${conflict.number}](${conflict.url}). One open pull request per contract: merge or close that one first.`,
      "",
    );
  if (report.tooling.length > 0) {
    out.push(
      `> ⚠️ This pull request changes datomspod's tooling (${report.tooling.slice(0, 5).map(code).join(", ")}${report.tooling.length > 5 ? ", …" : ""}). It was checked with the base branch's datomspod, so it cannot grade itself; its tooling takes effect on merge.${toolingBlocks(report) ? " Approvals by review do not count in it: propose the contracts in a pull request of their own." : ""}`,
      "",
    );
  }
  for (const contract of report.contracts) out.push(...contractSection(contract, report));
  const checks = report.contracts.flatMap((c) => (c.check === undefined ? [] : [c.check]));
  const full: CheckReport = { contracts: checks };
  // The check report quotes the pull request's text (names in messages): no @-mention may ping anyone from it, no HTML but its own.
  const quoted = renderMarkdown(full, { figure: () => [] })
    .trimEnd()
    .replaceAll("@", "@\u200b")
    .replace(/<(?!\/?(details|summary)>)/g, "&lt;");
  const details = checks.length === 0 ? [] : ["<details><summary>The whole check</summary>", "", quoted, "", "</details>", ""];
  const tail = [`${STATE_PREFIX}${JSON.stringify({ head: state.head, missing: [...state.missing] })} -->`];
  const body = [...out, ...details, ...tail].join("\n");
  if (body.length <= MAX_COMMENT) return `${body}\n`;
  const link = report.runUrl === undefined ? "the job summary" : `[the job summary](${report.runUrl})`;
  return `${[...out, `The whole check is too long for a comment: see ${link}.`, "", ...tail].join("\n")}\n`;
}

/** The state the comment recorded, or undefined when it has none (or not in this form). */
export function commentState(body: string): CommentState | undefined {
  const start = body.lastIndexOf(STATE_PREFIX);
  if (start < 0) return undefined;
  const end = body.indexOf(" -->", start);
  try {
    const value = JSON.parse(body.slice(start + STATE_PREFIX.length, end)) as { head?: unknown; missing?: unknown };
    if (typeof value.head !== "string" || !Array.isArray(value.missing) || !value.missing.every((m) => typeof m === "string")) return undefined;
    return { head: value.head, missing: value.missing };
  } catch {
    return undefined;
  }
}

/** Logins to ask for a review now: the missing ones, less those already missing at the same head. */
export function toNotify(missing: readonly Missing[], previous: CommentState | undefined, head: string): string[] {
  const before = previous !== undefined && previous.head === head ? new Set(previous.missing.map((m) => m.toLowerCase())) : new Set<string>();
  const logins = missing.flatMap((m) => (m.login === undefined ? [] : [m.login]));
  return [...new Set(logins)].filter((login) => !before.has(login.toLowerCase())).sort();
}
