/**
 * `datomspod audit verify`: recomputes every evidence item of a contract from the repository,
 * checks every batch record on its own (tree, proofs, DSSE envelope, byte-exact form) and against
 * the chain (root anchored with the batch's facts, recorded transaction in the recorded block, block
 * still canonical), and gives one row per item and per batch: verified, missing or mismatched.
 *
 *   verified    the item's current sha256 is in a batch whose root is anchored as recorded
 *   missing     not anchored (yet, or any more: a lost anchor), or anchored but gone from the repository
 *   mismatched  differs from what was anchored, or a record contradicts itself or the chain
 */

import { getAddress } from "ethers";
import { checkBatch, toItem, type BatchRecord } from "../evidence/batch.js";
import { collectEvidence } from "../evidence/collect.js";
import { compareItems, isMutableKind, subjectKey, type EvidenceItem, type EvidenceKind } from "../evidence/items.js";
import { readStoredEvidence, type AnchorRecord } from "../evidence/store.js";
import { checkAnchor, type AnchorCheck } from "../anchor/check.js";
import type { Chain } from "../anchor/chain.js";
import { historicalDirectoryDigests, isGitRepo } from "./history.js";

export const AUDIT_STATUSES = ["verified", "missing", "mismatched"] as const;
export type AuditStatus = (typeof AUDIT_STATUSES)[number];

export interface AuditRow {
  readonly contractId: string;
  readonly status: AuditStatus;
  /** An evidence kind, or "batch" for a batch record and its anchor. */
  readonly kind: EvidenceKind | "batch";
  /** The item's subject, or the batch record's path. */
  readonly subject: string;
  /** The current sha256 (items), or the root (batches). */
  readonly digest?: string;
  /** The batch root the item is anchored under. */
  readonly root?: string;
  readonly blockNumber?: number;
  readonly detail: string;
}

export interface ContractAudit {
  readonly contractId: string;
  readonly ok: boolean;
  readonly rows: readonly AuditRow[];
  /** How each anchor record fared on the chain, by root. */
  readonly anchors: ReadonlyMap<string, AnchorCheck>;
}

interface Anchored {
  readonly digest: string;
  readonly root: string;
  readonly blockNumber: number;
}

const short = (hex: string): string => hex.slice(0, 12);

/** Audits contract `id` of `repo` against `chain`. */
export async function auditContract(repo: string, id: string, chain: Chain): Promise<ContractAudit> {
  const rows: AuditRow[] = [];
  const checks = new Map<string, AnchorCheck>();
  const stored = readStoredEvidence(repo, id);
  for (const file of stored.strays)
    rows.push({ contractId: id, status: "mismatched", kind: "batch", subject: file, detail: "is not named <root>.json: not a datomspod evidence record" });

  /** Items anchored under valid, verified roots, by subject. */
  const anchored = new Map<string, Anchored[]>();
  /** Items of batches that did not verify, by subject (to explain why an item is missing). */
  const unconfirmed = new Map<string, string>();
  /** Items whose own proof failed, by subject. */
  const badProofs = new Map<string, string>();

  for (const stored1 of stored.batches) {
    const batch = stored1.value;
    const record = stored.anchors.get(stored1.root);
    const problems = [...stored1.problems];
    let check: BatchCheck | undefined;
    if (batch !== undefined) {
      check = checkBatch(batch, id);
      problems.push(...check.problems);
    }
    if (batch === undefined || problems.length > 0) {
      rows.push({ contractId: id, status: "mismatched", kind: "batch", subject: stored1.file, digest: stored1.root, detail: problems.join("; ") });
      if (batch !== undefined) for (const item of batch.items) unconfirmed.set(subjectKey(item), `its batch ${short(batch.root)} does not verify`);
      continue;
    }
    const verdict = await checkBatchAnchor(chain, batch, record?.value, record?.problems ?? [], check!.signers);
    if (record?.value !== undefined) checks.set(batch.root, verdict.check ?? { state: "lost", detail: verdict.detail });
    rows.push({
      contractId: id,
      status: verdict.status,
      kind: "batch",
      subject: stored1.file,
      digest: batch.root,
      blockNumber: record?.value?.blockNumber,
      detail: verdict.detail,
    });
    for (const [index, item] of batch.items.entries()) {
      const key = subjectKey(item);
      const problem = check!.itemProblems.get(index);
      if (problem !== undefined) badProofs.set(key, `in batch ${short(batch.root)}: ${problem}`);
      else if (verdict.status === "verified")
        anchored.set(key, [...(anchored.get(key) ?? []), { digest: item.digest, root: batch.root, blockNumber: record!.value!.blockNumber }]);
      else unconfirmed.set(key, `its batch ${short(batch.root)} is not anchored: ${verdict.detail}`);
    }
  }
  for (const [root, record] of stored.anchors) {
    if (!stored.batches.some((b) => b.root === root))
      rows.push({
        contractId: id,
        status: "mismatched",
        kind: "batch",
        subject: record.file,
        digest: root,
        detail: "an anchor record without its batch record",
      });
  }

  const current = collectEvidence(repo, id);
  const currentBySubject = new Map(current.items.map((item) => [subjectKey(item), item]));
  const unreadable = new Map(current.unreadable.map((u) => [subjectKey(u), u]));
  const subjects = new Map<string, Pick<EvidenceItem, "kind" | "subject">>();
  for (const item of current.items) subjects.set(subjectKey(item), item);
  for (const u of current.unreadable) subjects.set(subjectKey(u), u);
  for (const stored1 of stored.batches) for (const item of stored1.value?.items ?? []) subjects.set(subjectKey(item), item);

  let gitRepo: boolean | undefined;
  const ordered = [...subjects.values()].sort((a, b) => compareItems(toItem(id, { ...a, digest: "" }), toItem(id, { ...b, digest: "" })));
  for (const { kind, subject } of ordered) {
    const key = subjectKey({ kind, subject });
    const now = currentBySubject.get(key);
    const was = anchored.get(key) ?? [];
    const row = (status: AuditStatus, detail: string, at?: Anchored): AuditRow => ({
      contractId: id,
      status,
      kind,
      subject,
      digest: now?.digest,
      root: at?.root,
      blockNumber: at?.blockNumber,
      detail,
    });
    const broken = unreadable.get(key);
    if (broken !== undefined) {
      rows.push(row("mismatched", `cannot be recomputed: ${broken.issue.message}`));
      continue;
    }
    if (badProofs.has(key) && was.length === 0) {
      rows.push(row("mismatched", badProofs.get(key)!));
      continue;
    }
    if (now !== undefined) {
      const match = was.find((a) => a.digest === now.digest);
      const others = [...new Set(was.filter((a) => a.digest !== now.digest).map((a) => a.digest))];
      if (match !== undefined && (others.length === 0 || isMutableKind(kind))) {
        const earlier = others.length > 0 ? `; ${others.length} earlier value${others.length === 1 ? "" : "s"} anchored too` : "";
        rows.push(row("verified", `in batch ${short(match.root)}, block ${match.blockNumber}${earlier}`, match));
      } else if (match !== undefined) {
        rows.push(
          row(
            "mismatched",
            `a ${kind} is written once, but other values were anchored too (sha256 ${others.map(short).join(", ")}): it was changed after anchoring`,
            match,
          ),
        );
      } else if (was.length > 0) {
        const last = was[was.length - 1];
        rows.push(
          row(
            "mismatched",
            `sha256 is ${short(now.digest)}…, anchored was ${short(last.digest)}… (batch ${short(last.root)}, block ${last.blockNumber})`,
            last,
          ),
        );
      } else {
        rows.push(row("missing", unconfirmed.get(key) ?? "not anchored yet (run `datomspod anchor`)"));
      }
      continue;
    }
    // Anchored (or claimed) but not in the working tree.
    if (was.length === 0) {
      rows.push(row("missing", unconfirmed.get(key) ?? "gone from the repository"));
      continue;
    }
    if (kind === "rendered-manifest") {
      gitRepo ??= await isGitRepo(repo);
      const history = gitRepo ? await historicalDirectoryDigests(repo, subject.replace(/\/$/, "")) : new Map<string, string>();
      const found = was.find((a) => history.has(a.digest));
      if (found !== undefined) {
        rows.push({
          ...row(
            "verified",
            `removed from the working tree; recomputed from git commit ${history.get(found.digest)!.slice(0, 12)} (batch ${short(found.root)}, block ${found.blockNumber})`,
            found,
          ),
          digest: found.digest,
        });
      } else {
        rows.push(
          row(
            "missing",
            gitRepo
              ? "anchored, but neither in the working tree nor in git history"
              : "anchored, but not in the working tree (and no git history to recompute it from)",
            was[0],
          ),
        );
      }
      continue;
    }
    rows.push(row("missing", `anchored in batch ${short(was[0].root)} (block ${was[0].blockNumber}) but gone from the repository`, was[0]));
  }

  return { contractId: id, ok: rows.every((r) => r.status === "verified"), rows, anchors: checks };
}

type BatchCheck = ReturnType<typeof checkBatch>;

async function checkBatchAnchor(
  chain: Chain,
  batch: BatchRecord,
  record: AnchorRecord | undefined,
  recordProblems: readonly string[],
  signers: readonly string[],
): Promise<{ status: AuditStatus; detail: string; check?: AnchorCheck }> {
  if (recordProblems.length > 0) return { status: "mismatched", detail: `anchor record: ${recordProblems.join("; ")}` };
  if (record === undefined) return { status: "missing", detail: "not anchored: no anchor record (run `datomspod anchor`)" };
  const check = await checkAnchor(chain, batch, record);
  switch (check.state) {
    case "valid": {
      const anchorer = check.onChain!.anchorer;
      if (!signers.includes(getAddress(anchorer)))
        return { status: "mismatched", detail: `the statement is signed by ${signers.join(", ") || "nobody"}, but ${anchorer} anchored the root`, check };
      return { status: "verified", detail: `anchored by ${anchorer} in ${check.detail}`, check };
    }
    case "lost":
      return { status: "missing", detail: `${check.detail}; run \`datomspod anchor\` to send it again`, check };
    case "other-chain":
    case "no-code":
      return { status: "missing", detail: check.detail, check };
    case "stale":
      return { status: "mismatched", detail: `${check.detail}; run \`datomspod anchor\` to record where it is now`, check };
    case "conflict":
      return { status: "mismatched", detail: check.detail, check };
  }
}
