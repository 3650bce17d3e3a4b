/**
 * The run receipt: an in-toto Statement v1 whose subjects are the sealed blobs (sha256 of the
 * ciphertext, ipfs:// URI) and whose predicate (`https://datomspod.io/receipt/v1`) says what ran on
 * what, how it ended, what it used and for whom the outputs are sealed. Built by a pure function
 * from what the roles wrote; written with sorted keys (RFC 8785 member order), so equal facts give
 * equal bytes. `instance` and `deletion` are null in the pod and filled by the runner.
 */

import { canonicalize } from "../../contract/canonical.js";
import { InputError, type Issue } from "../../errors.js";
import type { Contract } from "../../contract/types.generated.js";
import type { PublicPolicy, SealKey, SealedManifest } from "../../seal/manifest.js";
import { publicUsage, type PublicUsage } from "../../seal/public.js";
import type { ComputingStatus } from "./computing.js";
import type { CheckedFile, Failure, Verdict } from "./datomspace-in.js";
import { runUsage } from "./usage.js";

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const RECEIPT_PREDICATE_TYPE = "https://datomspod.io/receipt/v1";

export const PHASES = ["succeeded", "failed", "rejected", "policy-violation"] as const;
export type Phase = (typeof PHASES)[number];

export interface ReceiptSubject {
  readonly name: string;
  readonly digest: { readonly sha256: string };
  readonly uri: string;
  readonly annotations: { readonly kind: string; readonly key: SealKey; readonly size: number };
}

/** How a run ended, in full: what the sealed report and the runner know; the receipt shows the phase only. */
export interface RunStatus {
  readonly phase: Phase;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly oomKilled: boolean;
  readonly deadlineExceeded: boolean;
  readonly reason: string;
}

export interface ReceiptPredicate {
  readonly contract: { readonly id: string; readonly hash: string };
  readonly run: { readonly id: string; readonly parametersHash: string | null };
  readonly algorithm: { readonly did: string; readonly codeSha256: string; readonly image: string; readonly imageDigest: string };
  readonly inputs: { readonly verified: boolean; readonly checked: readonly CheckedFile[]; readonly failures: readonly Failure[] };
  /** The phase, and a reason that says nothing the algorithm chose (public.ts). */
  readonly status: PublicStatus;
  /** Rounded up to powers of two; the exact values are in the report sealed for the data owners. */
  readonly usage: PublicUsage;
  /** When the algorithm started (to the second; when it ended is the algorithm's choice, and sealed). */
  readonly startedAt: string | null;
  readonly outputs: {
    readonly delivery: string;
    readonly ownerReview: boolean;
    readonly policy: PublicPolicy;
    readonly sealedFor: readonly string[];
    readonly wrappedKeys: Readonly<Record<string, string>>;
    readonly ownerKeys: Readonly<Record<string, string>>;
    readonly encryption: SealedManifest["encryption"] | null;
  };
  /** The rendered instance the run came from (filled by the runner). */
  readonly instance: unknown;
  /** Evidence that the pod and its scratch volumes were removed (filled by the runner). */
  readonly deletion: unknown;
}

export interface Receipt {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: readonly ReceiptSubject[];
  readonly predicateType: typeof RECEIPT_PREDICATE_TYPE;
  readonly predicate: ReceiptPredicate;
}

export interface ReceiptFacts {
  readonly contract: Contract;
  readonly contractHash: string;
  readonly runId: string;
  /** datomspace-in's verdict, and whether its gate exists; undefined when it left none. */
  readonly verdict: Verdict | undefined;
  readonly gate: boolean;
  readonly computing: ComputingStatus | undefined;
  readonly manifest: SealedManifest | undefined;
  /** Why the computing status is not used although one may exist (e.g. the supervisor did not write it); it then counts as absent. */
  readonly computingDistrusted?: string;
}

export interface PublicStatus {
  readonly phase: Phase;
  readonly reason: string;
}

/** The public reason of each phase the algorithm can reach: fixed text. */
export const PUBLIC_REASONS: Readonly<Record<Exclude<Phase, "rejected">, string>> = {
  succeeded: "the algorithm exited with code 0 and what it left keeps to the output policy",
  failed: "the algorithm or the sealing did not complete; how is in the report sealed for the data owners",
  "policy-violation": "what the algorithm left breaks the output policy; only the data owners can open the sealed report and the log",
};

/** The status as the receipt shows it: the phase, the verification failure of a rejected run (the algorithm never ran), fixed text otherwise. */
export function publicStatus(status: RunStatus): PublicStatus {
  if (status.phase === "rejected") return { phase: "rejected", reason: status.reason };
  return { phase: status.phase, reason: PUBLIC_REASONS[status.phase] };
}

function firstFailure(failures: readonly Failure[]): string {
  const first = failures[0];
  if (first === undefined) return "the inputs were not verified";
  const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : "";
  return `${first.file} (${first.path}) ${first.message}${more}`;
}

/** How the algorithm ended, from the supervisor's status (undefined: none, or not evidence). */
export function algorithmStatus(contract: Contract, c: ComputingStatus | undefined, distrusted?: string): { phase: Phase; reason: string } {
  if (c === undefined) return { phase: "failed", reason: distrusted ?? "the computing container left no status" };
  if (c.state === "not-started") return { phase: "failed", reason: `the algorithm was not started: ${c.error ?? "no reason given"}` };
  if (c.deadlineExceeded) return { phase: "failed", reason: `stopped at the deadline of ${contract.inputs.compute.maxDurationSeconds} s` };
  if (c.oomKilled) return { phase: "failed", reason: `killed for running out of memory (limit ${contract.inputs.compute.memory})` };
  if (c.state === "signaled") return { phase: "failed", reason: `killed by ${c.signal ?? "a signal"}` };
  if (c.state === "exited" && c.exitCode === 0) return { phase: "succeeded", reason: "the algorithm exited with code 0" };
  if (c.state === "exited" && c.exitCode !== null) return { phase: "failed", reason: `the algorithm exited with code ${c.exitCode}` };
  return { phase: "failed", reason: `the supervisor did not finish (state ${c.state ?? "unknown"})` };
}

/** How the run ended, from the roles' records, most serious first. */
export function runStatus(facts: ReceiptFacts): RunStatus {
  const c = facts.computingDistrusted === undefined ? facts.computing : undefined;
  const base = { exitCode: c?.exitCode ?? null, signal: c?.signal ?? null, oomKilled: c?.oomKilled ?? false, deadlineExceeded: c?.deadlineExceeded ?? false };
  const verdict = facts.verdict;
  if (verdict === undefined)
    return { ...base, phase: "rejected", reason: "datomspace-in left no verdict: the code and inputs were not verified, the algorithm did not run" };
  if (!verdict.ok)
    return { ...base, phase: "rejected", reason: `verification failed before the run: ${firstFailure(verdict.failures)}; the algorithm did not run` };
  if (!facts.gate) return { ...base, phase: "rejected", reason: "the gate file is missing although the verdict is ok; the algorithm did not run" };

  const computed = algorithmStatus(facts.contract, c, facts.computingDistrusted);
  const m = facts.manifest;
  if (m === undefined) return { ...base, phase: "failed", reason: `${computed.reason}; datomspace-out left no manifest, nothing was sealed` };
  if (m.error !== null) return { ...base, phase: "failed", reason: `${computed.reason}; ${m.error}` };
  if (!m.policy.ok) {
    return {
      ...base,
      phase: "policy-violation",
      reason: `what the algorithm left breaks the output policy (${m.policy.rules.join(", ")}); ${computed.reason}`,
    };
  }
  return { ...base, ...computed };
}

/** The receipt of a run (pure). */
export function buildReceipt(facts: ReceiptFacts): Receipt {
  const { contract, manifest, verdict } = facts;
  const c = facts.computingDistrusted === undefined ? facts.computing : undefined;
  const algorithm = contract.inputs.algorithm;
  const subject: ReceiptSubject[] = (manifest?.files ?? []).map((file) => ({
    name: file.name,
    digest: { sha256: file.ciphertextSha256 },
    uri: `ipfs://${file.cid}`,
    annotations: { kind: file.kind, key: file.key, size: file.size },
  }));
  return {
    _type: STATEMENT_TYPE,
    subject,
    predicateType: RECEIPT_PREDICATE_TYPE,
    predicate: {
      contract: { id: contract.id, hash: facts.contractHash },
      run: { id: facts.runId, parametersHash: verdict?.parametersHash ?? null },
      algorithm: {
        did: algorithm.did,
        codeSha256: algorithm.code.sha256,
        image: `${algorithm.container.image}:${algorithm.container.tag}`,
        imageDigest: algorithm.container.digest,
      },
      inputs: { verified: verdict?.ok === true && facts.gate, checked: verdict?.checked ?? [], failures: verdict?.failures ?? [] },
      status: publicStatus(runStatus(facts)),
      usage: publicUsage(c === undefined ? undefined : runUsage(contract, c, manifest)),
      startedAt: c?.startedAt === null || c?.startedAt === undefined ? null : `${c.startedAt.slice(0, 19)}Z`,
      outputs: {
        delivery: contract.outputs.delivery.kind,
        ownerReview: contract.outputs.policy.ownerReview,
        policy: manifest === undefined ? { ok: false, rules: [] } : { ok: manifest.policy.ok, rules: manifest.policy.rules },
        sealedFor: manifest?.sealedFor ?? [],
        wrappedKeys: manifest?.wrappedKeys ?? {},
        ownerKeys: manifest?.ownerKeys ?? {},
        encryption: manifest === undefined || manifest.files.length === 0 ? null : manifest.encryption,
      },
      instance: null,
      deletion: null,
    },
  };
}

/** The receipt as written: members in RFC 8785 order, two-space indent, LF, trailing newline. */
export function receiptText(receipt: unknown): string {
  return `${JSON.stringify(JSON.parse(canonicalize(receipt)), null, 2)}\n`;
}

/**
 * The receipt with what only the runner knows: the rendered instance it ran (e.g. the manifest
 * digest as the evidence computes it, the Job file) and the deletion evidence.
 */
export function completeReceipt(receipt: Receipt, added: { instance?: unknown; deletion?: unknown }): Receipt {
  return {
    ...receipt,
    predicate: { ...receipt.predicate, instance: added.instance ?? receipt.predicate.instance, deletion: added.deletion ?? receipt.predicate.deletion },
  };
}

/** Checks that a parsed document is a datomspod receipt (the parts delivery relies on); returns every problem. */
export function receiptIssues(value: unknown, file: string): Issue[] {
  const fix = "use the receipt the run wrote; it is not edited by hand";
  const issues: Issue[] = [];
  const add = (path: string, message: string): void => {
    issues.push({ file, path, message, fix });
  };
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [{ file, path: "$", message: "is not a JSON object", fix }];
  const r = value as Record<string, unknown>;
  if (r["_type"] !== STATEMENT_TYPE) add("$._type", `is not ${STATEMENT_TYPE}`);
  if (r["predicateType"] !== RECEIPT_PREDICATE_TYPE) add("$.predicateType", `is not ${RECEIPT_PREDICATE_TYPE}`);
  if (!Array.isArray(r["subject"])) add("$.subject", "is not a list");
  else {
    r["subject"].forEach((s: unknown, i: number) => {
      const subject = (s ?? {}) as Record<string, unknown>;
      const digest = (subject["digest"] ?? {}) as Record<string, unknown>;
      if (typeof subject["name"] !== "string") add(`$.subject[${i}].name`, "is not a string");
      if (typeof digest["sha256"] !== "string" || !/^[0-9a-f]{64}$/.test(digest["sha256"]))
        add(`$.subject[${i}].digest.sha256`, "is not a lower-case hex sha256");
      if (typeof subject["uri"] !== "string" || !/^ipfs:\/\/b[a-z2-7]{20,}$/.test(subject["uri"])) add(`$.subject[${i}].uri`, "is not ipfs://<CIDv1>");
    });
  }
  const p = r["predicate"] as Record<string, unknown> | undefined;
  if (p === undefined || p === null || typeof p !== "object") add("$.predicate", "is missing");
  else {
    const contract = (p["contract"] ?? {}) as Record<string, unknown>;
    const run = (p["run"] ?? {}) as Record<string, unknown>;
    const outputs = (p["outputs"] ?? {}) as Record<string, unknown>;
    if (typeof contract["id"] !== "string" || typeof contract["hash"] !== "string") add("$.predicate.contract", "is not {id, hash}");
    if (typeof run["id"] !== "string") add("$.predicate.run.id", "is not a string");
    if (outputs["wrappedKeys"] === null || typeof outputs["wrappedKeys"] !== "object" || Array.isArray(outputs["wrappedKeys"]))
      add("$.predicate.outputs.wrappedKeys", "is not an object");
    if (!Array.isArray(outputs["sealedFor"])) add("$.predicate.outputs.sealedFor", "is not a list");
    if (
      outputs["ownerKeys"] !== undefined &&
      (outputs["ownerKeys"] === null || typeof outputs["ownerKeys"] !== "object" || Array.isArray(outputs["ownerKeys"]))
    )
      add("$.predicate.outputs.ownerKeys", "is not an object");
  }
  return issues;
}

export function asReceipt(value: unknown, file: string): Receipt {
  const issues = receiptIssues(value, file);
  if (issues.length > 0) throw InputError.many(`${file}: not a datomspod receipt`, issues);
  return value as Receipt;
}
