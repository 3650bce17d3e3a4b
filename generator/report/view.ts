/**
 * The view model of the web view: repository facts, audit rows and the check report in, plain JSON
 * out (what every page renders, and what the site writes as view.json). Pure: no clock, no files,
 * no chain; the same input gives the same view, so the same repository and chain give the same site.
 *
 * Everything the data model may not have yet is optional here and shown as "not yet": the leakage
 * bound of the OPS-C result, the settlement record, a runner's signature on a receipt. Evidence kinds
 * are taken as data (EVIDENCE_KINDS and the batch stage of a kind), so a new kind shows up on the
 * timeline and in the audit without a change here.
 */

import { findParty } from "../contract/rules.js";
import type { LoadedContract } from "../contract/load.js";
import type { Issue } from "../errors.js";
import type { CollectedEvidence } from "../evidence/collect.js";
import { EVIDENCE_KINDS, batchKindOf, type BatchKind, type EvidenceKind } from "../evidence/items.js";
import type { StoredEvidence } from "../evidence/store.js";
import type { ContractFacts } from "../lifecycle/facts.js";
import { STATES, type LifecycleState } from "../lifecycle/state.js";
import { STAGES, contractPassed, findingsOf, sharePercent, type ContractCheck } from "../policy/report/check-report.js";
import { renderSvg } from "../policy/report/svg.js";
import type { PolicyResult } from "../policy/result.js";
import { AXES, type Axis } from "../policy/scenarios.js";
import { AUDIT_STATUSES, type AuditRow, type AuditStatus, type ContractAudit } from "../audit/verify.js";
import type { Receipt } from "../pod/roles/receipt.js";

// ---------------------------------------------------------------------------------------------
// Input: what the edges gathered through the project's own functions.

/** One commit, as `git log` gives it. */
export interface CommitInfo {
  readonly hash: string;
  /** Author date, ISO 8601 with offset (git's %aI). */
  readonly date: string;
  readonly author: string;
  readonly subject: string;
  /** The pull request the commit came from, when its subject or a merge commit names one. */
  readonly pr?: number;
}

/** Commits per repository path (files, and folders with a trailing slash), newest first. */
export type History = ReadonlyMap<string, readonly CommitInfo[]>;

/** A runner's signature on a receipt (not in the data model yet: always undefined for now). */
export interface ReceiptSignature {
  readonly signer: string;
  readonly valid: boolean;
  readonly file: string;
}

export interface ReceiptSource {
  readonly runId: string;
  readonly file: string;
  /** The receipt, when it was read (readRunReceipt); undefined with `issues` otherwise. */
  readonly receipt?: Receipt;
  readonly issues: readonly Issue[];
  readonly signature?: ReceiptSignature;
}

export interface ContractSource {
  readonly id: string;
  readonly check: ContractCheck;
  /** Undefined when the contract does not load (the check's schema stage says why). */
  readonly loaded?: LoadedContract;
  readonly facts?: ContractFacts;
  readonly evidence: CollectedEvidence;
  readonly stored: StoredEvidence;
  /** The audit against the chain; undefined when the chain was not checked. */
  readonly audit?: ContractAudit;
  readonly receipts: readonly ReceiptSource[];
  /** Verified acknowledgements: run id → the recipient who signed. */
  readonly acks: ReadonlyMap<string, string>;
  /** The mode of the contract's cluster profile. */
  readonly mode?: "local" | "self-built" | "delegated";
}

export type ChainSource = { readonly checked: true; readonly chainId: number; readonly label: string } | { readonly checked: false; readonly reason: string };

export interface ReportInput {
  readonly contracts: readonly ContractSource[];
  readonly chain: ChainSource;
  readonly history: History;
  /** Whether the repository has git history at all. */
  readonly git: boolean;
}

// ---------------------------------------------------------------------------------------------
// Output: the view.

export const TIMELINE_STEPS = ["proposed", "signed", "approved", "active", "ran", "delivered", "deleted", "settled"] as const;
export type TimelineStep = (typeof TIMELINE_STEPS)[number];

/** An audit status, or "not-checked" when the chain was not reached. */
export type Verification = AuditStatus | "not-checked";
export const VERIFICATIONS: readonly Verification[] = [...AUDIT_STATUSES, "not-checked"];

export interface CommitView extends CommitInfo {
  readonly short: string;
}

export interface ActorView {
  readonly name: string;
  readonly address?: string;
  readonly role?: string;
  /** For signers: whether their record verified. */
  readonly status?: "valid" | "missing" | "invalid";
}

export interface AnchorView {
  readonly root: string;
  readonly txHash: string;
  readonly blockNumber: number;
  readonly chainId: number;
  readonly contract: string;
}

export interface EvidenceView {
  readonly kind: string;
  readonly subject: string;
  readonly digest?: string;
  readonly commit?: CommitView;
  readonly anchor?: AnchorView;
  readonly status: Verification;
  readonly detail: string;
}

export interface StepView {
  readonly step: TimelineStep;
  readonly reached: boolean;
  readonly current: boolean;
  readonly who: readonly ActorView[];
  /** When the step was completed (the newest fact of it), ISO 8601. */
  readonly when?: string;
  readonly commits: readonly CommitView[];
  readonly evidence: readonly EvidenceView[];
  /** The worst verification of the step's evidence. */
  readonly status?: Verification;
  readonly note?: string;
}

export interface FactorView {
  readonly id: string;
  readonly title: string;
  readonly value: string;
  readonly points: number;
  readonly max: number;
}

export interface AxisView {
  readonly axis: Axis;
  readonly score: number;
  /** Percent of the three scores' sum ("33.3"), undefined when all are 0. */
  readonly share?: string;
  readonly minimum: { readonly min: number; readonly ok: boolean };
  readonly region: { readonly min: number; readonly max: number; readonly ok: boolean };
  readonly factors: readonly FactorView[];
  /** Points this axis could still gain (Σ max − points). */
  readonly headroom: number;
}

export interface FindingView {
  readonly level: "error" | "warning";
  readonly rule: string;
  readonly stage: string;
  readonly message: string;
  readonly file: string;
  readonly path: string;
  readonly fix?: string;
  readonly resource?: string;
}

export interface LeakageView {
  readonly bytesPerRun: number;
  readonly maxRuns: number;
  readonly totalBytes: number;
}

export interface OpscView {
  readonly scenario: string;
  readonly scenarioTitle?: string;
  readonly weighted: number;
  readonly pass: boolean;
  readonly insideRegion: boolean;
  readonly axes: readonly AxisView[];
  /** Sentences: what would move the point, and where. */
  readonly moves: readonly string[];
  /** The triangle (generator/policy/report/svg.ts). */
  readonly svg?: string;
}

export interface StageView {
  readonly stage: string;
  readonly status: "ok" | "failed" | "skipped";
  readonly issues: number;
}

export interface OutputView {
  readonly name: string;
  readonly kind: string;
  /** Bytes, as the receipt gives them (sealed, later bucketed). */
  readonly size?: number;
  readonly sha256: string;
  readonly uri?: string;
  readonly status: Verification;
}

export interface ReceiptView {
  readonly file: string;
  readonly phase: string;
  readonly reason: string;
  readonly startedAt: string | null;
  /** Usage as the receipt publishes it: each rounded up to a power of two (the exact values are sealed for the data owners). */
  readonly durationSeconds: number | null;
  readonly cpuSeconds: number | null;
  readonly peakMemoryMiB: number | null;
  readonly inputsVerified: boolean;
  readonly policyOk: boolean;
  /** The output policy's rules the run broke (names only). */
  readonly brokenRules: readonly string[];
  readonly delivery: string;
  readonly sealedFor: readonly ActorView[];
  readonly outputs: readonly OutputView[];
  /** The pod and its volumes removed after the run (the runner's deletion evidence). */
  readonly podRemoved?: boolean;
  readonly signature?: { readonly signer: ActorView; readonly valid: boolean; readonly file: string };
}

export interface RunView {
  readonly id: string;
  readonly requested: boolean;
  readonly requestedBy?: ActorView;
  readonly parameters?: string;
  readonly receipt?: ReceiptView;
  readonly receiptIssues: readonly FindingView[];
  readonly acknowledged: boolean;
  readonly acknowledgedBy?: ActorView;
  readonly evidence: readonly EvidenceView[];
}

export interface AuditRowView {
  readonly status: AuditStatus;
  readonly kind: string;
  readonly subject: string;
  readonly digest?: string;
  readonly root?: string;
  readonly blockNumber?: number;
  readonly txHash?: string;
  readonly detail: string;
}

export interface AuditView {
  readonly checked: boolean;
  readonly ok?: boolean;
  readonly reason?: string;
  readonly counts: Readonly<Record<Verification, number>>;
  readonly rows: readonly AuditRowView[];
  /** Without a chain: the evidence as committed, each "not-checked". */
  readonly unchecked: readonly EvidenceView[];
}

export interface PriceView {
  readonly party: ActorView;
  readonly kind: string;
  readonly amount: string;
  readonly per: string;
}

export interface SettlementView {
  readonly settled: boolean;
  readonly evidence?: EvidenceView;
  readonly currency?: string;
  readonly billing?: string;
  readonly maxRuns?: number;
  readonly runsRan: number;
  readonly pricing: readonly PriceView[];
}

export interface ContractView {
  readonly id: string;
  readonly title: string;
  readonly state?: LifecycleState;
  /** expired or revoked: the life ended early. */
  readonly endedEarly: boolean;
  readonly file: string;
  readonly hash?: string;
  readonly chainId?: number;
  readonly cluster?: string;
  readonly mode?: string;
  readonly validity?: { readonly notBefore: string; readonly notAfter: string };
  readonly parties: readonly ActorView[];
  /** Where the evidence is anchored and who may anchor it and sign receipts (the contract's `evidence`). */
  readonly evidenceSetup?: {
    readonly anchor: string;
    readonly fromBlock: number;
    readonly anchorers: readonly ActorView[];
    readonly runners: readonly ActorView[];
  };
  readonly checkPassed: boolean;
  readonly stages: readonly StageView[];
  readonly findings: readonly FindingView[];
  readonly issues: readonly FindingView[];
  readonly opsc?: OpscView;
  readonly leakage?: LeakageView;
  readonly timeline: readonly StepView[];
  readonly runs: readonly RunView[];
  readonly audit: AuditView;
  readonly settlement: SettlementView;
}

export interface SiteView {
  readonly chain: ChainSource;
  readonly git: boolean;
  readonly contracts: readonly ContractView[];
  readonly states: Readonly<Partial<Record<LifecycleState, number>>>;
  /** Every evidence kind and the timeline step it belongs to (data-driven from EVIDENCE_KINDS). */
  readonly kinds: readonly { readonly kind: string; readonly step: TimelineStep }[];
}

// ---------------------------------------------------------------------------------------------

/** The step of the timeline an evidence kind evidences; kinds not named here go by their batch stage. */
const STEP_OF_KIND: Partial<Record<EvidenceKind, TimelineStep>> = {
  "contract-hash": "proposed",
  "contract-file": "proposed",
  signature: "signed",
  approval: "approved",
  "algorithm-code": "approved",
  "image-digest": "approved",
  "rendered-manifest": "active",
  "run-request": "active",
  receipt: "ran",
  output: "ran",
  log: "ran",
  release: "delivered",
  ack: "delivered",
  revocation: "deleted",
  deletion: "deleted",
  settlement: "settled",
};

const STEP_OF_STAGE: Record<BatchKind, TimelineStep> = { agreement: "approved", instance: "active", run: "ran", deletion: "deleted", settlement: "settled" };

export function stepOfKind(kind: EvidenceKind): TimelineStep {
  return STEP_OF_KIND[kind] ?? STEP_OF_STAGE[batchKindOf([{ kind, contractId: "", subject: "", digest: "" }])];
}

/** Worst first: what a step or a page shows when its items disagree. */
const SEVERITY: Record<Verification, number> = { mismatched: 3, missing: 2, "not-checked": 1, verified: 0 };

export function worst(statuses: readonly Verification[]): Verification | undefined {
  let found: Verification | undefined;
  for (const status of statuses) if (found === undefined || SEVERITY[status] > SEVERITY[found]) found = status;
  return found;
}

function commitView(commit: CommitInfo): CommitView {
  return { ...commit, short: commit.hash.slice(0, 12) };
}

/** The subject's repository path: a file, a folder (trailing slash), or the receipt a `#name` subject is in. */
function subjectPath(subject: string): string | undefined {
  if (subject.startsWith("ipfs://") || subject.includes("@sha256:")) return undefined;
  return subject.split("#")[0];
}

function newestDate(dates: readonly (string | undefined | null)[]): string | undefined {
  let found: string | undefined;
  for (const date of dates) if (date && (found === undefined || Date.parse(date) > Date.parse(found))) found = date;
  return found;
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/**
 * The leakage bound of an OPS-C result: bytes per run × max runs. The policy does not compute it yet;
 * when its result gains `leakage` ({bytesPerRun, maxRuns[, totalBytes]}), it shows here.
 */
export function leakageOf(result: PolicyResult | undefined): LeakageView | undefined {
  const leakage = (result as { leakage?: unknown } | undefined)?.leakage;
  if (leakage === null || typeof leakage !== "object") return undefined;
  const { bytesPerRun, maxRuns, totalBytes } = leakage as Record<string, unknown>;
  if (typeof bytesPerRun !== "number" || typeof maxRuns !== "number") return undefined;
  return { bytesPerRun, maxRuns, totalBytes: typeof totalBytes === "number" ? totalBytes : bytesPerRun * maxRuns };
}

const AXIS_NAMES: Record<Axis, string> = { openness: "Openness", privacy: "Privacy", security: "Security" };

function opscView(check: ContractCheck): OpscView | undefined {
  const result = check.policy;
  if (result === undefined) return undefined;
  const axes: AxisView[] = AXES.map((axis) => {
    const factors = result.factors[axis].map((f) => ({ id: f.id, title: f.title, value: formatValue(f.value), points: f.points, max: f.max }));
    return {
      axis,
      score: result.scores[axis],
      share: sharePercent(result, axis),
      minimum: { min: result.minimums[axis].min, ok: result.minimums[axis].ok },
      region: result.region[axis],
      factors,
      headroom: factors.reduce((sum, f) => sum + f.max - f.points, 0),
    };
  });
  const moves: string[] = [];
  for (const a of axes) {
    if (!a.minimum.ok)
      moves.push(`${AXIS_NAMES[a.axis]} ${a.score} is below the scenario's minimum ${a.minimum.min}: it needs ${a.minimum.min - a.score} more points.`);
    if (!a.region.ok)
      moves.push(
        `${AXIS_NAMES[a.axis]} is ${a.share ?? "0"}% of the scores' sum, outside the ${a.region.min}–${a.region.max}% the scenario accepts: rebalance the three scores.`,
      );
  }
  for (const a of axes) {
    const open = a.factors.filter((f) => f.points < f.max).sort((x, y) => y.max - y.points - (x.max - x.points) || (x.id < y.id ? -1 : 1));
    if (open.length === 0) {
      moves.push(`${AXIS_NAMES[a.axis]} has every point its factors give (${a.score}).`);
      continue;
    }
    const list = open.map((f) => `${f.title} (+${f.max - f.points})`).join(", ");
    const others = axes.filter((b) => b.axis !== a.axis).reduce((sum, b) => sum + b.score, 0);
    // The most this score may reach with the others unchanged and its share within the region's maximum.
    const room = a.region.max >= 100 ? Number.POSITIVE_INFINITY : Math.floor((a.region.max * others) / (100 - a.region.max)) - a.score;
    const cap =
      room < a.headroom
        ? room > 0
          ? `; inside the scenario's region only +${room} of them (it caps ${a.axis} at ${a.region.max}% of the sum)`
          : `; but any gain leaves the scenario's region (it caps ${a.axis} at ${a.region.max}% of the sum)`
        : "";
    moves.push(`${AXIS_NAMES[a.axis]} could gain up to ${a.headroom} points, which moves the point towards ${AXIS_NAMES[a.axis]}${cap}: ${list}.`);
  }
  return {
    scenario: result.scenario,
    ...(check.scenario?.title === undefined ? {} : { scenarioTitle: check.scenario.title }),
    weighted: result.weighted,
    pass: result.pass,
    insideRegion: result.inside_region,
    axes,
    moves,
    svg: renderSvg(check),
  };
}

function findingView(f: ReturnType<typeof findingsOf>[number]): FindingView {
  return {
    level: f.level,
    rule: f.ruleId,
    stage: f.stage,
    message: f.message,
    file: f.file,
    path: f.path,
    ...(f.fix === undefined ? {} : { fix: f.fix }),
    ...(f.resource === undefined ? {} : { resource: f.resource }),
  };
}

function issueView(issue: Issue, stage: string): FindingView {
  return {
    level: "error",
    rule: `datomspod/${stage}`,
    stage,
    message: issue.message,
    file: issue.file,
    path: issue.path || "$",
    ...(issue.fix ? { fix: issue.fix } : {}),
  };
}

interface Lookup {
  /** The party with that address, by name and role (or the bare address). */
  readonly actor: (address: string | undefined) => ActorView | undefined;
}

function key(kind: string, subject: string): string {
  return `${kind}\u0000${subject}`;
}

/** Every evidence item of the contract with its commit, anchor and verification. */
function evidenceViews(source: ContractSource, input: ReportInput): EvidenceView[] {
  const rows = new Map<string, AuditRow>();
  for (const row of source.audit?.rows ?? []) if (row.kind !== "batch") rows.set(key(row.kind, row.subject), row);
  const anchored = new Map<string, { digest: string; anchor?: AnchorView }[]>();
  for (const batch of source.stored.batches) {
    const record = source.stored.anchors.get(batch.root)?.value;
    const anchor =
      record === undefined
        ? undefined
        : { root: batch.root, txHash: record.txHash, blockNumber: record.blockNumber, chainId: record.chainId, contract: record.contract };
    for (const item of batch.value?.items ?? []) {
      const k = key(item.kind, item.subject);
      anchored.set(k, [...(anchored.get(k) ?? []), { digest: item.digest, ...(anchor === undefined ? {} : { anchor }) }]);
    }
  }
  const subjects = new Map<string, { kind: string; subject: string; digest?: string }>();
  for (const item of source.evidence.items) subjects.set(key(item.kind, item.subject), item);
  for (const item of source.evidence.unreadable) subjects.set(key(item.kind, item.subject), { kind: item.kind, subject: item.subject });
  for (const row of rows.values()) if (!subjects.has(key(row.kind, row.subject))) subjects.set(key(row.kind, row.subject), row);
  const order = (kind: string): number => (EVIDENCE_KINDS as readonly string[]).indexOf(kind);
  const sorted = [...subjects.values()].sort((a, b) => order(a.kind) - order(b.kind) || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  const reason = input.chain.checked ? "" : input.chain.reason;
  return sorted.map(({ kind, subject, digest }) => {
    const row = rows.get(key(kind, subject));
    const batches = anchored.get(key(kind, subject)) ?? [];
    const match = batches.find((b) => b.digest === (row?.digest ?? digest)) ?? batches.at(-1);
    const anchor = row?.root !== undefined ? (batches.find((b) => b.anchor?.root === row.root)?.anchor ?? match?.anchor) : match?.anchor;
    const path = subjectPath(subject);
    const commits = path === undefined ? undefined : input.history.get(path);
    const status: Verification = row?.status ?? "not-checked";
    const detail =
      row?.detail ??
      (anchor === undefined
        ? `not anchored yet; the anchors were not checked (${reason})`
        : `recorded in batch ${anchor.root.slice(0, 12)}, tx ${anchor.txHash.slice(0, 12)}…, block ${anchor.blockNumber}; not checked against the chain (${reason})`);
    return {
      kind,
      subject,
      ...((row?.digest ?? digest) === undefined ? {} : { digest: row?.digest ?? digest }),
      ...(commits?.[0] === undefined ? {} : { commit: commitView(commits[0]) }),
      ...(anchor === undefined ? {} : { anchor }),
      status,
      detail,
    };
  });
}

function uniqueCommits(evidence: readonly EvidenceView[]): CommitView[] {
  const seen = new Map<string, CommitView>();
  for (const item of evidence) if (item.commit !== undefined && !seen.has(item.commit.hash)) seen.set(item.commit.hash, item.commit);
  return [...seen.values()].sort((a, b) => Date.parse(a.date) - Date.parse(b.date) || (a.hash < b.hash ? -1 : 1));
}

function reachedSteps(state: LifecycleState | undefined, facts: ContractFacts | undefined): Set<TimelineStep> {
  const reached = new Set<TimelineStep>(["proposed"]);
  if (state === undefined || facts === undefined) return reached;
  const linear = (TIMELINE_STEPS as readonly string[]).indexOf(state);
  if (linear >= 0) {
    for (const step of TIMELINE_STEPS.slice(0, linear + 1)) reached.add(step);
    return reached;
  }
  // Expired or revoked: what happened before the end.
  if (facts.facts.signed) reached.add("signed");
  if (facts.facts.signed && facts.facts.approved) reached.add("approved");
  if (facts.facts.runs.some((r) => r.requested)) reached.add("active");
  if (facts.facts.runs.some((r) => r.receipt)) reached.add("ran");
  return reached;
}

function timeline(source: ContractSource, input: ReportInput, evidence: readonly EvidenceView[], lookup: Lookup): StepView[] {
  const { facts, loaded } = source;
  const state = facts?.state;
  const reached = reachedSteps(state, facts);
  const contractPath = source.check.file;
  const byStep = new Map<TimelineStep, EvidenceView[]>();
  for (const item of evidence) {
    const step = (EVIDENCE_KINDS as readonly string[]).includes(item.kind) ? stepOfKind(item.kind as EvidenceKind) : "ran";
    byStep.set(step, [...(byStep.get(step) ?? []), item]);
  }
  const receipts = source.receipts.filter((r) => r.receipt !== undefined);
  const instanceCommits = loaded === undefined ? undefined : input.history.get(`clusters/${loaded.contract.cluster}/${loaded.id}/`);
  return TIMELINE_STEPS.map((step) => {
    const items = byStep.get(step) ?? [];
    const commits = uniqueCommits(items);
    let who: ActorView[] = [];
    let when = newestDate(commits.map((c) => c.date));
    let note: string | undefined;
    switch (step) {
      case "proposed": {
        const first = input.history.get(contractPath)?.at(-1);
        if (first !== undefined) {
          who = [{ name: first.author, role: "commit author" }];
          when = first.date;
          if (!commits.some((c) => c.hash === first.hash)) commits.unshift(commitView(first));
        } else note = input.git ? "the contract file has no commit yet" : "no git history: who proposed it, and when, is not recorded";
        break;
      }
      case "signed":
        who = (facts?.agreements.parties ?? []).map((p) => ({ name: p.name, address: p.address, role: p.role, status: p.status }));
        break;
      case "approved":
        who = (facts?.approvals.parties ?? []).map((p) => ({ name: p.name, address: p.address, role: p.role, status: p.status }));
        break;
      case "active":
        who = uniqueActors((facts?.runRequests ?? []).map((r) => lookup.actor(r.signer)));
        if (reached.has("active") && facts?.runRequests.length === 0) note = "within the validity window; no run requested yet";
        break;
      case "ran":
        who = uniqueActors(receipts.map((r) => (r.signature === undefined ? undefined : lookup.actor(r.signature.signer))));
        if (receipts.length > 0 && who.length === 0) {
          who = uniqueActors([...(loaded?.contract.parties ?? [])].filter((p) => p.role === "operator").map((p) => lookup.actor(p.address)));
          note = "receipts are not signed by a runner yet (unsigned receipts)";
        }
        when = newestDate([when, ...receipts.map((r) => r.receipt?.predicate.startedAt)]) ?? when;
        break;
      case "delivered":
        who = uniqueActors([...source.acks.values()].map((a) => lookup.actor(a)));
        break;
      case "deleted": {
        const removed = instanceCommits !== undefined && !evidence.some((e) => e.kind === "rendered-manifest" && e.digest !== undefined);
        if (removed && instanceCommits[0] !== undefined && reached.has("delivered")) {
          note = `the instance folder was removed in commit ${instanceCommits[0].hash.slice(0, 12)} (which deletes the pod in a cluster)${
            reached.has("deleted") ? "" : "; no deletion record yet"
          }`;
          if (!commits.some((c) => c.hash === instanceCommits[0].hash)) commits.push(commitView(instanceCommits[0]));
          if (!reached.has("deleted")) when = undefined;
          else {
            // The removal commit is what deletes the instance: its author did it, at its time.
            when = instanceCommits[0].date;
            who = [{ name: instanceCommits[0].author, role: "commit author" }];
          }
        }
        break;
      }
      case "settled":
        if (!reached.has("settled")) note = "not settled yet";
        break;
    }
    if (step !== "proposed" && step !== "deleted" && commits.length > 0 && who.length === 0) {
      const authors = [...new Set(commits.map((c) => c.author))];
      who = authors.map((name) => ({ name, role: "commit author" }));
    }
    const status = worst(items.map((i) => i.status));
    return {
      step,
      reached: reached.has(step),
      current: state === step,
      who,
      ...(reached.has(step) && when !== undefined ? { when } : {}),
      commits,
      evidence: items,
      ...(status === undefined ? {} : { status }),
      ...(note === undefined ? {} : { note }),
    };
  });
}

function uniqueActors(actors: readonly (ActorView | undefined)[]): ActorView[] {
  const seen = new Map<string, ActorView>();
  for (const actor of actors) if (actor !== undefined) seen.set(actor.address ?? actor.name, actor);
  return [...seen.values()];
}

function runsView(source: ContractSource, evidence: readonly EvidenceView[], lookup: Lookup): RunView[] {
  const facts = source.facts;
  if (facts === undefined) return [];
  return facts.facts.runs.map((run) => {
    const request = facts.runRequests.find((r) => r.id === run.id);
    const read = source.receipts.find((r) => r.runId === run.id);
    const receipt = read?.receipt;
    const ackBy = source.acks.get(run.id);
    const files = [`runs/${run.id}.json`, `receipts/${run.id}.json`, `releases/${run.id}.json`, `acks/${run.id}.json`].map(
      (f) => `contracts/${source.id}/${f}`,
    );
    const items = evidence.filter((e) => files.some((f) => e.subject === f || e.subject.startsWith(`${f}#`)));
    return {
      id: run.id,
      requested: run.requested,
      ...(request === undefined ? {} : { requestedBy: lookup.actor(request.signer), parameters: JSON.stringify(request.parameters) }),
      ...(receipt === undefined || read === undefined ? {} : { receipt: receiptView(read, receipt, items, lookup) }),
      receiptIssues: (read?.issues ?? []).map((i) => issueView(i, "receipt")),
      acknowledged: run.acknowledged,
      ...(ackBy === undefined ? {} : { acknowledgedBy: lookup.actor(ackBy) }),
      evidence: items,
    };
  });
}

function receiptView(read: ReceiptSource, receipt: Receipt, items: readonly EvidenceView[], lookup: Lookup): ReceiptView {
  const p = receipt.predicate;
  const deletion = p.deletion as { removed?: unknown } | null;
  return {
    file: read.file,
    phase: p.status.phase,
    reason: p.status.reason,
    startedAt: p.startedAt,
    durationSeconds: p.usage.durationSeconds,
    cpuSeconds: p.usage.cpuSeconds,
    peakMemoryMiB: p.usage.peakMemoryMiB,
    inputsVerified: p.inputs.verified,
    policyOk: p.outputs.policy.ok,
    brokenRules: p.outputs.policy.rules,
    delivery: p.outputs.delivery,
    sealedFor: p.outputs.sealedFor.map((a) => lookup.actor(a) ?? { name: a, address: a }),
    outputs: receipt.subject.map((s) => {
      const item = items.find((i) => i.subject === `${read.file}#${s.name}`);
      return {
        name: s.name,
        kind: s.annotations?.kind ?? "output",
        ...(typeof s.annotations?.size === "number" ? { size: s.annotations.size } : {}),
        sha256: s.digest.sha256,
        ...(s.uri === undefined ? {} : { uri: s.uri }),
        status: item?.status ?? "not-checked",
      };
    }),
    ...(deletion !== null && typeof deletion === "object" && typeof deletion.removed === "boolean" ? { podRemoved: deletion.removed } : {}),
    ...(read.signature === undefined
      ? {}
      : {
          signature: {
            signer: lookup.actor(read.signature.signer) ?? { name: read.signature.signer },
            valid: read.signature.valid,
            file: read.signature.file,
          },
        }),
  };
}

function auditView(source: ContractSource, input: ReportInput, evidence: readonly EvidenceView[]): AuditView {
  const counts = Object.fromEntries(VERIFICATIONS.map((s) => [s, 0])) as Record<Verification, number>;
  if (source.audit === undefined) {
    counts["not-checked"] = evidence.length;
    return { checked: false, reason: input.chain.checked ? "the audit did not run" : input.chain.reason, counts, rows: [], unchecked: evidence };
  }
  const tx = new Map<string, string>();
  for (const [root, record] of source.stored.anchors) if (record.value !== undefined) tx.set(root, record.value.txHash);
  const rows = [...source.audit.rows.filter((r) => r.kind === "batch"), ...source.audit.rows.filter((r) => r.kind !== "batch")].map((r) => {
    counts[r.status]++;
    const root = r.root ?? (r.kind === "batch" ? r.digest : undefined);
    const txHash = root === undefined ? undefined : tx.get(root);
    return {
      status: r.status,
      kind: r.kind,
      subject: r.subject,
      ...(r.digest === undefined ? {} : { digest: r.digest }),
      ...(r.root === undefined ? {} : { root: r.root }),
      ...(r.blockNumber === undefined ? {} : { blockNumber: r.blockNumber }),
      ...(txHash === undefined ? {} : { txHash }),
      detail: r.detail,
    };
  });
  return { checked: true, ok: source.audit.ok, counts, rows, unchecked: [] };
}

function settlementView(source: ContractSource, evidence: readonly EvidenceView[], lookup: Lookup): SettlementView {
  const item = evidence.find((e) => e.kind === "settlement");
  const business = source.loaded?.contract.business;
  return {
    settled: source.facts?.state === "settled",
    ...(item === undefined ? {} : { evidence: item }),
    ...(business === undefined ? {} : { currency: business.currency.symbol, billing: business.billing, maxRuns: business.maxRuns }),
    runsRan: source.facts?.facts.runs.filter((r) => r.receipt).length ?? 0,
    pricing: (business?.pricing ?? []).map((p) => ({ party: lookup.actor(p.party) ?? { name: p.party }, kind: p.kind, amount: p.amount, per: p.per })),
  };
}

function contractView(source: ContractSource, input: ReportInput): ContractView {
  const { check, loaded, facts } = source;
  const contract = loaded?.contract;
  const lookup: Lookup = {
    actor(address) {
      if (address === undefined) return undefined;
      const party = contract === undefined ? undefined : findParty(contract, address);
      return party === undefined ? { name: address, address } : { name: party.name ?? party.address, address: party.address, role: party.role };
    },
  };
  const evidence = evidenceViews(source, input);
  const state = facts?.state;
  return {
    id: source.id,
    title: contract?.title ?? source.id,
    ...(state === undefined ? {} : { state }),
    endedEarly: state === "expired" || state === "revoked",
    file: check.file,
    ...(loaded === undefined ? {} : { hash: loaded.hash }),
    ...(contract === undefined
      ? {}
      : {
          chainId: contract.chainId,
          cluster: contract.cluster,
          validity: { notBefore: contract.business.validity.notBefore, notAfter: contract.business.validity.notAfter },
        }),
    ...(source.mode === undefined ? {} : { mode: source.mode }),
    parties: (contract?.parties ?? []).map((p) => ({ name: p.name ?? p.address, address: p.address, role: p.role })),
    ...(contract?.evidence === undefined
      ? {}
      : {
          evidenceSetup: {
            anchor: contract.evidence.anchor.address,
            fromBlock: contract.evidence.anchor.fromBlock,
            anchorers: contract.evidence.anchorers.map((a) => lookup.actor(a) ?? { name: a, address: a }),
            runners: contract.evidence.runners.map((a) => lookup.actor(a) ?? { name: a, address: a }),
          },
        }),
    checkPassed: contractPassed(check),
    stages: STAGES.map((stage) => ({ stage, status: check.stages[stage].status, issues: check.stages[stage].issues.length })),
    findings: findingsOf(check).map(findingView),
    issues: (facts?.issues ?? []).map((i) => issueView(i, "lifecycle")),
    ...(opscView(check) === undefined ? {} : { opsc: opscView(check) }),
    ...(leakageOf(check.policy) === undefined ? {} : { leakage: leakageOf(check.policy) }),
    timeline: timeline(source, input, evidence, lookup),
    runs: runsView(source, evidence, lookup),
    audit: auditView(source, input, evidence),
    settlement: settlementView(source, evidence, lookup),
  };
}

/** The whole site's view. */
export function buildSiteView(input: ReportInput): SiteView {
  const contracts = [...input.contracts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((c) => contractView(c, input));
  const states: Partial<Record<LifecycleState, number>> = {};
  for (const state of STATES) {
    const n = contracts.filter((c) => c.state === state).length;
    if (n > 0) states[state] = n;
  }
  return {
    chain: input.chain,
    git: input.git,
    contracts,
    states,
    kinds: EVIDENCE_KINDS.map((kind) => ({ kind, step: stepOfKind(kind) })),
  };
}
