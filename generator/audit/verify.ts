/**
 * `datomspod audit verify`: checks a contract's whole history against the chain the parties
 * signed, and recomputes every evidence item from the repository.
 *
 *   1. the chain: the contract, signed by every party, pins its chain id, anchor contract (address
 *      and deployment block), anchorers and runners; every root that anchor contract holds for the
 *      contract id is read (events from the pinned block on) and must form one unbroken chain, be
 *      anchored by a named anchorer, and be accounted for by a batch record of the repository;
 *   2. the batches: each record on its own (tree, proofs, DSSE envelope, byte-exact form, its place
 *      in the repository's chain of batches) and against the chain (its root, previous root, place,
 *      kind, size and signer as on chain; its anchor record where the chain has it; a reorg);
 *   3. the items: each current sha256 must be in a verified batch; an anchored value that is no
 *      longer current must be recomputable from git history; a receipt must carry a runner's
 *      signature (receipt-signatures/<run>.json) by one of evidence.runners.
 *
 * One row per on-chain root and per batch and item: verified, missing or mismatched.
 *
 *   verified    holds: anchored as recorded, current or recomputed from git, accounted for
 *   missing     not anchored (yet, or any more: a lost anchor), or anchored but gone from the repository
 *   mismatched  differs from what was anchored, or a record contradicts itself, the contract or the chain
 */

import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { getAddress } from "ethers";
import { formatIssue, InputError } from "../errors.js";
import { loadContract, type LoadedContract } from "../contract/load.js";
import { requiredApprovers } from "../contract/rules.js";
import { checkBatch, toItem, ZERO_ROOT } from "../evidence/batch.js";
import { collectEvidence } from "../evidence/collect.js";
import { compareItems, isMutableKind, subjectKey, type EvidenceItem, type EvidenceKind } from "../evidence/items.js";
import { readStoredEvidence, type AnchorRecord } from "../evidence/store.js";
import { receiptSignatureFile, verifyReceiptSignature } from "../lifecycle/facts.js";
import { display, readJsonFile } from "../repo/files.js";
import { listRecordFiles } from "../repo/layout.js";
import { verifyRecord } from "../signatures/records.js";
import { toBytes32 } from "../signatures/typed-data.js";
import { verifyAgreements } from "../signatures/verify.js";
import { reconcile, type BatchReconciliation, type CheckedBatch } from "../anchor/check.js";
import type { Chain } from "../anchor/chain.js";
import { readChainHistory, type ChainHistory } from "../anchor/history.js";
import { historicalApprovals, historicalDirectoryDigests, historicalFiles, historicalProfiles, isGitRepo, type HistoricalProfile } from "./history.js";

export const AUDIT_STATUSES = ["verified", "missing", "mismatched"] as const;
export type AuditStatus = (typeof AUDIT_STATUSES)[number];

/** An evidence kind; "batch" for a batch record and its anchor; "chain" for the contract's history on chain. */
export type AuditRowKind = EvidenceKind | "batch" | "chain";

export interface AuditRow {
  readonly contractId: string;
  readonly status: AuditStatus;
  readonly kind: AuditRowKind;
  /** The item's subject; the batch record's path; the anchor contract (and `#n` for its n-th root of the contract). */
  readonly subject: string;
  /** The current sha256 (items), or the root (batches, roots). */
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
  /** The contract's chain id, when it is not the chain audited against (nothing could be checked on chain). */
  readonly otherChain?: number;
  /** The contract's history as read from the chain. */
  readonly history?: ChainHistory;
}

export interface AuditOptions {
  /** Blocks per eth_getLogs request. */
  readonly logPageBlocks?: number;
}

interface Anchored {
  readonly digest: string;
  readonly root: string;
  readonly blockNumber: number;
}

const short = (hex: string): string => hex.slice(0, 12);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Audits contract `id` of `repo` against `chain`; see the module comment. */
export async function auditContract(repo: string, id: string, chain: Chain, options: AuditOptions = {}): Promise<ContractAudit> {
  const rows: AuditRow[] = [];
  const stored = readStoredEvidence(repo, id);
  const contractFile = `contracts/${id}/contract.json`;

  // 1. What the parties pinned, and what the chain holds under it.
  let loaded: LoadedContract | undefined;
  let history: ChainHistory | undefined;
  let otherChain: number | undefined;
  /** Why the batches cannot be checked against the chain, if they cannot. */
  let unchecked: string | undefined;
  try {
    loaded = loadContract(repo, id);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    unchecked = "the contract does not load, so where its evidence is anchored is unknown";
    const gone = !existsSync(join(repo, "contracts", id));
    rows.push({
      contractId: id,
      status: "mismatched",
      kind: "chain",
      subject: contractFile,
      detail: gone
        ? `the contract's folder is gone from the working tree, but git history holds it (a contract is never removed): restore it with git checkout <commit> -- contracts/${id}`
        : `${unchecked}: ${issuesText(error)}`,
    });
  }
  if (loaded !== undefined) {
    const { contract } = loaded;
    const address = getAddress(contract.evidence.anchor.address);
    if (contract.chainId !== chain.chainId) {
      otherChain = contract.chainId;
      unchecked = `the contract is bound to chain ${contract.chainId}, but the chain read is chain ${chain.chainId}`;
      rows.push({
        contractId: id,
        status: "missing",
        kind: "chain",
        subject: address,
        detail: `${unchecked}: audit it with --chain of chain ${contract.chainId}`,
      });
    } else {
      history = await readChainHistory(chain, { address, contractId: id, fromBlock: contract.evidence.anchor.fromBlock, pageBlocks: options.logPageBlocks });
      const problems = [...history.problems];
      const agreements = verifyAgreements(repo, loaded);
      if (!agreements.ok)
        problems.unshift(
          `the contract is not signed by every party, so the chain, anchor contract, anchorers and runners it names are not agreed (${agreements.issues.map((i) => i.message).join("; ")})`,
        );
      if (history.code !== "anchor") unchecked = history.problems[0];
      rows.push({
        contractId: id,
        status: problems.length > 0 ? "mismatched" : "verified",
        kind: "chain",
        subject: address,
        detail:
          problems.length > 0
            ? problems.join("; ")
            : `the anchor contract the parties signed (chain ${chain.chainId}), read from block ${history.fromBlock} to ${history.toBlock}: ${plural(history.roots.length, "root")} of the contract${history.roots.length > 0 ? `, head ${short(history.head)}` : ""}`,
      });
    }
  }

  // 2. Batch records: each on its own, then against the chain.
  for (const file of stored.strays)
    rows.push({ contractId: id, status: "mismatched", kind: "batch", subject: file, detail: "is not named <root>.json: not a datomspod evidence record" });
  /** Items anchored under verified roots, by subject. */
  const anchored = new Map<string, Anchored[]>();
  /** Items of batches that did not verify, by subject (to explain why an item is missing). */
  const unconfirmed = new Map<string, string>();
  /** Items whose own proof failed, by subject. */
  const badProofs = new Map<string, string>();

  const checked: (CheckedBatch & { file: string; itemProblems: ReadonlyMap<number, string> })[] = [];
  const damaged = new Map<string, string>();
  for (const stored1 of stored.batches) {
    const batch = stored1.value;
    const problems = [...stored1.problems];
    const check = batch === undefined ? undefined : checkBatch(batch, id);
    problems.push(...(check?.problems ?? []));
    if (batch === undefined || problems.length > 0) {
      rows.push({ contractId: id, status: "mismatched", kind: "batch", subject: stored1.file, digest: stored1.root, detail: problems.join("; ") });
      damaged.set(stored1.root, stored1.file);
      if (batch !== undefined) for (const item of batch.items) unconfirmed.set(subjectKey(item), `its batch ${short(batch.root)} does not verify`);
      continue;
    }
    checked.push({ batch, signers: check!.signers, file: stored1.file, itemProblems: check!.itemProblems });
  }
  const anchorRecords = new Map<string, AnchorRecord>();
  for (const [root, record] of stored.anchors) {
    if (record.value !== undefined && record.problems.length === 0) anchorRecords.set(root, record.value);
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

  const reconciled =
    loaded !== undefined && history !== undefined && unchecked === undefined
      ? reconcile(
          { chainId: loaded.contract.chainId, address: loaded.contract.evidence.anchor.address, anchorers: loaded.contract.evidence.anchorers },
          history,
          checked,
          anchorRecords,
        )
      : undefined;

  // The contract's roots on chain, in order: each accounted for by a batch, or not.
  for (const { onChain: root, batch, problems } of reconciled?.roots ?? []) {
    const shown =
      batch === undefined && damaged.has(root.root) ? [`its batch record ${damaged.get(root.root)!} does not verify`, ...problems.slice(1)] : problems;
    rows.push({
      contractId: id,
      status: shown.length > 0 ? "mismatched" : "verified",
      kind: "chain",
      subject: `${getAddress(loaded!.contract.evidence.anchor.address)}#${root.sequence}`,
      digest: root.root,
      blockNumber: root.blockNumber,
      detail:
        shown.length > 0
          ? `root ${short(root.root)} (block ${root.blockNumber}, by ${root.anchorer}): ${shown.join("; ")}`
          : `root ${short(root.root)} anchored by ${root.anchorer} in block ${root.blockNumber} after ${root.previousRoot === ZERO_ROOT ? "none (the first)" : short(root.previousRoot)}: batch ${checked.find((c) => c.batch.root === root.root)!.file}`,
    });
  }

  const verdicts = new Map((reconciled?.batches ?? []).map((b) => [b.batch.root, b]));
  for (const { batch, file, itemProblems } of checked) {
    const recordProblems = stored.anchors.get(batch.root)?.problems ?? [];
    const verdict = batchVerdict(verdicts.get(batch.root), recordProblems, unchecked, history?.toBlock ?? 0, chain.chainId);
    const record = anchorRecords.get(batch.root);
    rows.push({
      contractId: id,
      status: verdict.status,
      kind: "batch",
      subject: file,
      digest: batch.root,
      blockNumber: record?.blockNumber,
      detail: verdict.detail,
    });
    for (const [index, item] of batch.items.entries()) {
      const key = subjectKey(item);
      const problem = itemProblems.get(index);
      if (problem !== undefined) badProofs.set(key, `in batch ${short(batch.root)}: ${problem}`);
      else if (verdict.status === "verified")
        anchored.set(key, [
          ...(anchored.get(key) ?? []),
          { digest: item.digest, root: batch.root, blockNumber: verdicts.get(batch.root)!.onChain!.blockNumber },
        ]);
      else unconfirmed.set(key, `its batch ${short(batch.root)} is not anchored: ${verdict.detail}`);
    }
  }

  // 3. Items: recomputed now, or from git history; receipts with their runner's signature.
  const current = collectEvidence(repo, id);
  const currentBySubject = new Map(current.items.map((item) => [subjectKey(item), item]));
  const unreadable = new Map(current.unreadable.map((u) => [subjectKey(u), u]));
  const subjects = new Map<string, Pick<EvidenceItem, "kind" | "subject">>();
  for (const item of current.items) subjects.set(subjectKey(item), item);
  for (const u of current.unreadable) subjects.set(subjectKey(u), u);
  for (const stored1 of stored.batches) for (const item of stored1.value?.items ?? []) subjects.set(subjectKey(item), item);
  const signatureProblems = loaded === undefined ? new Map<string, string>() : receiptSignatureProblems(repo, loaded);
  for (const subject of signatureProblems.keys()) subjects.set(subjectKey({ kind: "receipt-signature", subject }), { kind: "receipt-signature", subject });

  const past = pastValues(repo, loaded);
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
    const signature = kind === "receipt-signature" ? signatureProblems.get(subject) : undefined;
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
      const others = [...new Map(was.filter((a) => a.digest !== now.digest).map((a) => [a.digest, a])).values()];
      if (match !== undefined && others.length > 0 && !isMutableKind(kind)) {
        rows.push(
          row(
            "mismatched",
            `a ${kind} is written once, but other values were anchored too (sha256 ${others.map((a) => short(a.digest)).join(", ")}): it was changed after anchoring`,
            match,
          ),
        );
      } else if (match !== undefined) {
        const lost = await unaccounted(kind, subject, others);
        if (lost.length > 0)
          rows.push(row("missing", `${earlierText(kind, lost)}; current value in batch ${short(match.root)}, block ${match.blockNumber}`, match));
        else if (signature !== undefined) rows.push(row("mismatched", signature, match));
        else {
          const earlier = others.length > 0 ? `; ${plural(others.length, "earlier value")} anchored too, each accounted for by git history` : "";
          rows.push(row("verified", `in batch ${short(match.root)}, block ${match.blockNumber}${earlier}`, match));
        }
      } else if (was.length > 0) {
        const last = was[was.length - 1];
        rows.push(
          row(
            "mismatched",
            `sha256 is ${short(now.digest)}…, anchored was ${short(last.digest)}… (batch ${short(last.root)}, block ${last.blockNumber})`,
            last,
          ),
        );
      } else if (signature !== undefined) {
        rows.push(row("mismatched", `${signature}; and not anchored`));
      } else {
        rows.push(row("missing", unconfirmed.get(key) ?? "not anchored yet (run `datomspod anchor`)"));
      }
      continue;
    }
    // Anchored (or claimed, or required) but not in the working tree.
    if (signature !== undefined && was.length === 0) {
      rows.push(row("missing", signature));
      continue;
    }
    if (was.length === 0) {
      rows.push(row("missing", unconfirmed.get(key) ?? "gone from the repository"));
      continue;
    }
    if (past.removable(kind)) {
      const values = [...new Map(was.map((a) => [a.digest, a])).values()];
      const lost = await unaccounted(kind, subject, values);
      if (lost.length === 0) {
        const found = values[values.length - 1];
        rows.push({
          ...row(
            "verified",
            `removed from the working tree; ${await past.describe(kind, subject, found.digest)} (batch ${short(found.root)}, block ${found.blockNumber})`,
            found,
          ),
          digest: found.digest,
        });
      } else rows.push(row("missing", `anchored, but neither in the working tree nor recomputable: ${earlierText(kind, lost)}`, lost[0]));
      continue;
    }
    rows.push(row("missing", `anchored in batch ${short(was[0].root)} (block ${was[0].blockNumber}) but gone from the repository`, was[0]));
  }

  /** The anchored values of a subject that git history does not account for. */
  async function unaccounted(kind: EvidenceKind, subject: string, values: readonly Anchored[]): Promise<Anchored[]> {
    const out: Anchored[] = [];
    for (const value of values) if (!(await past.has(kind, subject, value.digest))) out.push(value);
    return out;
  }

  function earlierText(kind: EvidenceKind, values: readonly Anchored[]): string {
    const what = values.map((a) => `sha256 ${short(a.digest)}… (batch ${short(a.root)}, block ${a.blockNumber})`).join(", ");
    return `${values.length === 1 ? "an anchored value" : "anchored values"} ${what} ${past.why(kind)}`;
  }

  return {
    contractId: id,
    ok: rows.every((r) => r.status === "verified"),
    rows,
    ...(otherChain === undefined ? {} : { otherChain }),
    ...(history === undefined ? {} : { history }),
  };
}

function issuesText(error: InputError): string {
  return error.issues.length > 0 ? error.issues.map(formatIssue).join("; ") : error.message;
}

/** The row of one batch record, from how it reconciles with the chain. */
function batchVerdict(
  verdict: BatchReconciliation | undefined,
  recordProblems: readonly string[],
  unchecked: string | undefined,
  head: number,
  chainId: number,
): { status: AuditStatus; detail: string } {
  if (recordProblems.length > 0) return { status: "mismatched", detail: `anchor record: ${recordProblems.join("; ")}` };
  if (verdict === undefined) return { status: "missing", detail: `not checked against the chain: ${unchecked ?? "no history"}` };
  if (verdict.problems.length > 0) return { status: "mismatched", detail: verdict.problems.join("; ") };
  const { onChain, record, batch } = verdict;
  switch (verdict.state) {
    case "anchored": {
      const confirmations = head - onChain!.blockNumber + 1;
      return {
        status: "verified",
        detail: `anchored by ${onChain!.anchorer} in block ${onChain!.blockNumber}, ${plural(confirmations, "confirmation")}, number ${batch.sequence} of the contract`,
      };
    }
    case "stale": {
      const where =
        record === undefined
          ? `anchored in block ${onChain!.blockNumber} (transaction ${onChain!.txHash}) but has no anchor record`
          : record.blockNumber !== onChain!.blockNumber
            ? `root anchored in block ${onChain!.blockNumber}, but the record says block ${record.blockNumber}`
            : record.blockHash !== onChain!.blockHash
              ? `block ${record.blockNumber} is now ${onChain!.blockHash}, not the recorded ${record.blockHash} (reorg)`
              : `transaction ${record.txHash} is not in block ${record.blockNumber} ${record.blockHash}`;
      return { status: "mismatched", detail: `${where}; run \`datomspod anchor\` to record where it is now` };
    }
    case "lost":
      return {
        status: "missing",
        detail: `root not anchored on chain ${chainId} (the recorded transaction ${record!.txHash} in block ${record!.blockNumber} is gone: a reorg or a reset chain); run \`datomspod anchor\` to send it again`,
      };
    case "unsent":
      return { status: "missing", detail: "not anchored: no anchor record (run `datomspod anchor`)" };
  }
}

/**
 * Why each receipt does not count as signed by a runner, by the subject of its signature record
 * (contracts/<id>/receipt-signatures/<run>.json): a missing, forged or non-runner signature.
 */
function receiptSignatureProblems(repo: string, loaded: LoadedContract): Map<string, string> {
  const problems = new Map<string, string>();
  const dir = join(loaded.dir, "receipts");
  for (const name of listRecordFiles(dir).json) {
    const runId = basename(name, ".json");
    const path = join(dir, name);
    let receipt: unknown;
    try {
      receipt = readJsonFile(path, display(repo, path), 64 * 1024);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      continue; // the receipt's own row says it cannot be read
    }
    const issues = verifyReceiptSignature(repo, loaded, runId, receipt);
    if (issues.length > 0)
      problems.set(
        display(repo, receiptSignatureFile(loaded.dir, runId)),
        `does not vouch for the receipt of run ${runId}: ${issues.map((i) => (i.path === "$" ? i.message : `${i.path} ${i.message}`)).join("; ")}`,
      );
  }
  return problems;
}

/** Earlier values of renewable subjects, recomputed from git history (see ./history.ts). */
function pastValues(repo: string, loaded: LoadedContract | undefined) {
  let gitRepo: Promise<boolean> | undefined;
  const cache = new Map<string, Promise<Map<string, string>>>();
  let profiles: Promise<HistoricalProfile[]> | undefined;
  const cluster = loaded?.contract.cluster;

  /** digest → where git history has it, for a subject. */
  function known(kind: EvidenceKind, subject: string): Promise<Map<string, string>> {
    const key = subjectKey({ kind, subject });
    let found = cache.get(key);
    if (found === undefined) {
      found = (async () => {
        gitRepo ??= isGitRepo(repo);
        if (!(await gitRepo)) return new Map<string, string>();
        switch (kind) {
          case "rendered-manifest":
          case "environment":
            return mapValues(await historicalDirectoryDigests(repo, subject.replace(/\/$/, "")), (commit) => `recomputed from git commit ${short(commit)}`);
          case "approval":
            return new Map([...(await historicalFiles(repo, subject))].map(([digest, { commit }]) => [digest, `recomputed from git commit ${short(commit)}`]));
          case "cluster-profile":
          case "role-image": {
            if (cluster === undefined) return new Map<string, string>();
            profiles ??= historicalProfiles(repo, cluster);
            const out = new Map<string, string>();
            for (const profile of await profiles) {
              if (kind === "cluster-profile" && subject === `clusters/${cluster}/cluster.yaml` && !out.has(profile.digest))
                out.set(profile.digest, `recomputed from git commit ${short(profile.commit)}`);
              if (kind === "role-image" && subject === profile.roleImage && !out.has(subject.replace(/^.*@sha256:/, "")))
                out.set(subject.replace(/^.*@sha256:/, ""), `pinned by clusters/${cluster}/cluster.yaml in git commit ${short(profile.commit)}`);
            }
            return out;
          }
          case "instance-template":
            return loaded === undefined ? new Map<string, string>() : approvedTemplates(repo, loaded);
          default:
            return new Map<string, string>();
        }
      })();
      cache.set(key, found);
    }
    return found;
  }

  return {
    /** Whether a subject of `kind` may leave the working tree (a removed instance, a role image the profile no longer pins). */
    removable: (kind: EvidenceKind): boolean => kind === "rendered-manifest" || kind === "role-image",
    has: async (kind: EvidenceKind, subject: string, digest: string): Promise<boolean> => isMutableKind(kind) && (await known(kind, subject)).has(digest),
    describe: async (kind: EvidenceKind, subject: string, digest: string): Promise<string> => (await known(kind, subject)).get(digest) ?? "",
    why: (kind: EvidenceKind): string =>
      kind === "instance-template"
        ? "is signed by no committed approval of a data owner"
        : isMutableKind(kind)
          ? "is in no commit of git history"
          : "cannot change: it is written once",
  };
}

function mapValues(map: ReadonlyMap<string, string>, fn: (value: string) => string): Map<string, string> {
  return new Map([...map].map(([key, value]) => [key, fn(value)]));
}

/** Instance digests that a committed approval of a required approver signed: digest → where. */
async function approvedTemplates(repo: string, loaded: LoadedContract): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const approvers = new Set(requiredApprovers(loaded.contract).map((p) => p.address));
  for (const { commit, name, value } of await historicalApprovals(repo, loaded.id)) {
    const record = value as { signer?: unknown; message?: Record<string, unknown> } | null;
    const message = record?.message;
    if (message === undefined || typeof message !== "object" || typeof message["instanceDigest"] !== "string") continue;
    if (typeof record?.signer !== "string" || !approvers.has(record.signer)) continue;
    if (String(message["contractHash"]).toLowerCase() !== toBytes32(loaded.hash).toLowerCase()) continue;
    const file = `contracts/${loaded.id}/approvals/${name}`;
    const issues = verifyRecord(
      value,
      { kind: "approval", contractId: loaded.id, chainId: loaded.contract.chainId, message: message as Record<string, string> },
      file,
    );
    if (issues.length > 0) continue;
    const digest = message["instanceDigest"].replace(/^0x/, "").toLowerCase();
    if (!out.has(digest)) out.set(digest, `approved by ${record.signer} in ${file} of git commit ${short(commit)}`);
  }
  return out;
}
