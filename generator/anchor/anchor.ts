/**
 * `datomspod anchor`: anchors every evidence item that is not anchored yet, one transaction per
 * batch (one batch per contract and run of the command), and keeps the records in the repository.
 *
 * Only where the contract says, by whom the contract says: the contract pins its chain
 * (`chainId`), its anchor contract (`evidence.anchor`) and who may anchor (`evidence.anchorers`),
 * and every party signed that. Another chain, another anchor contract (`--anchor-address`, a
 * cluster profile's `chain.anchorAddress`) or a key that is not a named anchorer is refused.
 *
 * History only grows. The batches of a contract form a chain, on chain and in the repository:
 * each names the root before it. Before anything is sent, the contract's history is read from the
 * anchor contract; a root the repository does not account for (its evidence folder was deleted or
 * rolled back, or someone anchored behind the parties' backs) stops the command with the fix
 * "restore contracts/<id>/evidence from git" — so a deleted ack or receipt cannot be re-anchored
 * into a new, shorter history.
 *
 * It is idempotent and resumable. Before anything is sent the batch record is written; a root
 * already on chain is recorded, not sent again. A recorded anchor that the chain no longer has
 * (a reorg, a reset chain) is sent again, in chain order; one that moved to another block is
 * re-recorded. A file that changed after it was anchored is refused, not anchored a second time:
 * `datomspod audit verify` shows it.
 */

import { rmSync } from "node:fs";
import { getAddress, type TransactionReceipt, type Wallet } from "ethers";
import { InputError, ServiceError, VerdictError, type Issue } from "../errors.js";
import { loadContract, type LoadedContract } from "../contract/load.js";
import { LOCAL_ANCHOR } from "../contract/templates.js";
import { gatherFacts } from "../lifecycle/facts.js";
import { buildBatch, checkBatch, contractIdHash, signBatch, ZERO_ROOT, type BatchRecord } from "../evidence/batch.js";
import { collectEvidence, repoPath } from "../evidence/collect.js";
import { BATCH_KINDS, isMutableKind, itemKey, subjectKey, type EvidenceItem } from "../evidence/items.js";
import { ANCHOR_RECORD_VERSION, batchFile, evidenceDir, readStoredEvidence, writeAnchor, writeBatch, type AnchorRecord } from "../evidence/store.js";
import { reconcile, type CheckedBatch, type ContractPins } from "./check.js";
import { ANCHOR_INTERFACE, decodeRevert, findAnchoredLog, sendAndConfirm, type AnchoredLog, type Chain, type SendHooks } from "./chain.js";
import { readChainHistory, type ChainHistory } from "./history.js";

export type BatchAction = "anchored" | "re-sent" | "recorded" | "up-to-date";

export interface BatchOutcome {
  readonly contractId: string;
  readonly root: string;
  readonly kind: BatchRecord["kind"];
  readonly size: number;
  /** The batch's place in the contract's chain, from 1. */
  readonly sequence: number;
  readonly action: BatchAction;
  readonly txHash: string;
  readonly blockNumber: number;
  /** Gas of the transaction this run sent, when it sent one. */
  readonly gasUsed?: number;
}

export interface RefusedItem extends EvidenceItem {
  readonly reason: string;
}

export interface AnchorReport {
  readonly chainId: number;
  readonly anchorer: string;
  readonly batches: readonly BatchOutcome[];
  /** Contracts left alone: a draft, or (when every contract is anchored) one this key or chain is not for. */
  readonly skipped: readonly { readonly contractId: string; readonly reason: string }[];
  readonly refused: readonly RefusedItem[];
  /** Transactions sent by this run. */
  readonly transactions: number;
  readonly gasUsed: number;
}

export interface AnchorRunOptions {
  readonly repo: string;
  readonly chain: Chain;
  readonly wallet: Wallet;
  /** Contracts to anchor. */
  readonly ids: readonly string[];
  /**
   * Whether the user named the contracts. Then a contract of another chain, or whose anchorers
   * do not include the key, is an error; otherwise (every contract of the repository) it is skipped.
   */
  readonly named?: boolean;
  /** --anchor-address: must be the contract's own (evidence.anchor.address) when given. */
  readonly anchorAddress?: string;
  /** chain.anchorAddress of a cluster profile, when it names one: must be the contract's own. */
  readonly profileAnchorAddress?: (cluster: string) => string | undefined;
  /** How the chain is named in messages (e.g. "the local chain"). */
  readonly chainName?: string;
  readonly confirmations: number;
  readonly hooks?: SendHooks;
  /** Why an item must not be anchored (e.g. `renderingGuard`), or undefined. */
  readonly refuse?: (item: EvidenceItem) => string | undefined;
  /**
   * The clock of the lifecycle (ms since the epoch). When given, a contract that is still a draft
   * (not signed by every party) is skipped: it may still change, and a changed record is refused.
   */
  readonly now?: number;
  /** Blocks per eth_getLogs request when the history is read. */
  readonly logPageBlocks?: number;
}

/** Anchors the evidence of `ids`; see the module comment. */
export async function anchorEvidence(options: AnchorRunOptions): Promise<AnchorReport> {
  const { repo, chain, wallet } = options;
  const anchorer = getAddress(wallet.address);
  const chainName = options.chainName ?? chain.url;
  const batches: BatchOutcome[] = [];
  const refused: RefusedItem[] = [];
  const skipped: { contractId: string; reason: string }[] = [];
  let transactions = 0;
  let gasUsed = 0;

  for (const id of options.ids) {
    const loaded = loadContract(repo, id);
    const pins: ContractPins = {
      chainId: loaded.contract.chainId,
      address: loaded.contract.evidence.anchor.address,
      anchorers: loaded.contract.evidence.anchorers,
    };
    const skip = checkPins(loaded, pins);
    if (skip !== undefined) {
      skipped.push({ contractId: id, reason: skip });
      continue;
    }
    if (options.now !== undefined && gatherFacts(repo, loaded, options.now).state === "proposed") {
      skipped.push({ contractId: id, reason: "a draft: not signed by every party yet" });
      continue;
    }

    const stored = readStoredEvidence(repo, id);
    const broken: Issue[] = stored.strays.map((file) => ({ file, path: "$", message: "is not named <root>.json", fix: "remove it" }));
    for (const record of [...stored.batches, ...stored.anchors.values()]) {
      for (const problem of record.problems)
        broken.push({
          file: record.file,
          path: "$",
          message: problem,
          fix: "restore it from git (git checkout -- FILE); `datomspod audit verify` shows what changed",
        });
    }
    const checked: CheckedBatch[] = [];
    for (const record of stored.batches) {
      if (record.value === undefined) continue;
      const check = checkBatch(record.value, id);
      for (const problem of [...check.problems, ...[...check.itemProblems.values()].map((p) => `an item ${p}`)]) {
        broken.push({ file: record.file, path: "$", message: problem, fix: "restore it from git (git checkout -- FILE)" });
      }
      checked.push({ batch: record.value, signers: check.signers });
    }
    if (broken.length > 0) throw InputError.many(`the evidence records of ${id} are damaged; nothing was anchored for it`, broken);

    // What the chain already holds for this contract, and how the repository accounts for it.
    const history = await readHistory(loaded, pins);
    const anchors = new Map<string, AnchorRecord>();
    for (const [root, record] of stored.anchors) if (record.value !== undefined) anchors.set(root, record.value);
    const reconciled = reconcile(pins, history, checked, anchors);
    const unaccounted = reconciled.roots.filter((r) => r.batch === undefined);
    if (unaccounted.length > 0) {
      const dir = repoPath(repo, evidenceDir(repo, id));
      throw new VerdictError(
        `the anchor contract ${pins.address} holds ${unaccounted.length} root${unaccounted.length === 1 ? "" : "s"} of ${id} that the repository does not account for; nothing was anchored for it`,
        unaccounted.map(({ onChain: root }) => ({
          file: dir,
          path: "$",
          message: `root ${root.root} (number ${root.sequence} of the contract, block ${root.blockNumber}, anchored by ${root.anchorer}${pins.anchorers.includes(root.anchorer) ? "" : ", not one of evidence.anchorers"}) has no batch record here`,
          fix: `restore ${dir} from git (git checkout -- ${dir}); a root that no commit holds was anchored behind the parties' backs: \`datomspod audit verify\` reports it, and the anchor contract's owner revokes that anchorer`,
        })),
      );
    }
    const contradictions = reconciled.batches.flatMap((b) =>
      b.problems.map((problem) => ({
        file: repoPath(repo, batchFile(repo, id, b.batch.root)),
        path: "$",
        message: problem,
        fix: `restore ${repoPath(repo, evidenceDir(repo, id))} from git; \`datomspod audit verify\` shows what differs`,
      })),
    );
    if (contradictions.length > 0)
      throw new VerdictError(`the evidence records of ${id} contradict its history on chain; nothing was anchored for it`, contradictions);

    // Batches recorded before, in chain order: up to date, re-recorded where they are now, or sent again.
    let head = ZERO_ROOT;
    for (const entry of reconciled.batches) {
      if (entry.state === "anchored") batches.push(outcome(entry.batch, "up-to-date", entry.onChain!.txHash, entry.onChain!.blockNumber));
      else if (entry.state === "stale") batches.push(recordLog(entry.batch, entry.onChain!));
      else batches.push(await send(entry.batch, entry.state === "lost" ? "re-sent" : "anchored", false));
      head = entry.batch.root;
    }

    // What is not in any batch yet becomes the next batch, after the head.
    const collected = collectEvidence(repo, id);
    const valid = checked.map((c) => c.batch);
    const covered = new Set(valid.flatMap((batch) => batch.items.map((item) => itemKey(item))));
    const anchoredDigests = new Map<string, string>();
    for (const batch of valid) for (const item of batch.items) anchoredDigests.set(subjectKey(item), item.digest);
    const fresh: EvidenceItem[] = [];
    for (const item of collected.items) {
      if (covered.has(itemKey(item))) continue;
      const before = anchoredDigests.get(subjectKey(item));
      if (before !== undefined && !isMutableKind(item.kind)) {
        refused.push({ ...item, reason: `changed after it was anchored (sha256 was ${before}); restore it, a ${item.kind} is written once` });
        continue;
      }
      const reason = options.refuse?.(item);
      if (reason !== undefined) {
        refused.push({ ...item, reason });
        continue;
      }
      fresh.push(item);
    }
    for (const item of collected.unreadable) refused.push({ kind: item.kind, contractId: id, subject: item.subject, digest: "", reason: item.issue.message });
    if (fresh.length === 0) continue;

    const link = { previousRoot: head, sequence: reconciled.batches.length + 1, anchor: { chainId: pins.chainId, address: getAddress(pins.address) } };
    const batch = await buildBatch(id, fresh, link, wallet);
    writeBatch(repo, batch);
    batches.push(await send(batch, "anchored", true));
  }

  return { chainId: chain.chainId, anchorer, batches, skipped, refused, transactions, gasUsed };

  /** Throws (or, for contracts nobody named, returns why to skip) when this chain, key or address is not the contract's. */
  function checkPins(loaded: LoadedContract, pins: ContractPins): string | undefined {
    const { id, file, contract } = loaded;
    if (pins.chainId !== chain.chainId) {
      if (!options.named) return `bound to chain ${pins.chainId}, not ${chainName} (chain ${chain.chainId})`;
      throw InputError.of({
        file,
        path: "$.chainId",
        message: `the contract is bound to chain ${pins.chainId}, but ${chainName} is chain ${chain.chainId}`,
        fix: `anchor on the contract's chain: pass --chain with an RPC URL of chain ${pins.chainId}`,
      });
    }
    const pinned = getAddress(pins.address);
    if (options.anchorAddress !== undefined && getAddress(options.anchorAddress) !== pinned) {
      throw InputError.of({
        file: "command line",
        path: "--anchor-address",
        message: `names the anchor contract ${getAddress(options.anchorAddress)}, but ${id} pins its evidence to ${pinned} (evidence.anchor.address in ${file}, signed by every party)`,
        fix: "drop --anchor-address: a contract's evidence goes only to the anchor contract it pins; moving it takes a new contract every party signs",
      });
    }
    const profiled = options.profileAnchorAddress?.(contract.cluster);
    if (profiled !== undefined && profiled !== pinned) {
      throw InputError.of({
        file: `clusters/${contract.cluster}/cluster.yaml`,
        path: "$.chain.anchorAddress",
        message: `names the anchor contract ${profiled}, but ${id} pins its evidence to ${pinned} (evidence.anchor.address in ${file})`,
        fix: `set chain.anchorAddress to ${pinned} or remove it: the contract's pin, which every party signed, decides`,
      });
    }
    if (!pins.anchorers.some((a) => getAddress(a) === anchorer)) {
      if (!options.named) return `${anchorer} is not one of its anchorers (evidence.anchorers)`;
      throw InputError.of({
        file: "--key",
        path: "$",
        message: `${anchorer} is not one of the anchorers of ${id} (evidence.anchorers in ${file}: ${pins.anchorers.join(", ")})`,
        fix: "anchor with the key of an anchorer the contract names; naming another takes a new contract every party signs",
      });
    }
    return undefined;
  }

  async function readHistory(loaded: LoadedContract, pins: ContractPins): Promise<ChainHistory> {
    const history = await readChainHistory(chain, {
      address: pins.address,
      contractId: loaded.id,
      fromBlock: loaded.contract.evidence.anchor.fromBlock,
      pageBlocks: options.logPageBlocks,
    });
    if (history.code !== "anchor") {
      throw InputError.of({
        file: loaded.file,
        path: "$.evidence.anchor.address",
        message: `${history.problems[0]} (${chainName})`,
        fix:
          history.code === "none"
            ? `anchor on the chain where the contract's anchor contract lives (--chain with its RPC URL); the local chain holds only its own anchor contract, ${LOCAL_ANCHOR.address}`
            : "the contract pins an address that is not a datomspod anchor contract: the parties sign a new contract",
      });
    }
    if (history.problems.length > 0)
      throw new ServiceError(`the history of ${loaded.id} read from ${chainName} does not add up: ${history.problems.join("; ")}`, [
        {
          file: chain.url,
          path: "$",
          message: history.problems.join("; "),
          fix: "run the command again (the chain may have changed while it was read); if it persists, use another node of the chain",
        },
      ]);
    return history;
  }

  function recordLog(batch: BatchRecord, log: AnchoredLog): BatchOutcome {
    writeRecord(batch, log.txHash, log.blockNumber, log.blockHash, log.anchorer);
    return outcome(batch, "recorded", log.txHash, log.blockNumber);
  }

  async function send(batch: BatchRecord, action: BatchAction, fresh: boolean): Promise<BatchOutcome> {
    // The envelope is signed by the account that anchors: sign it again if another key anchors now.
    if (!checkBatch(batch, batch.contractId).signers.includes(anchorer)) {
      batch = await signBatch(batch, wallet);
      writeBatch(repo, batch);
    }
    const address = batch.anchor.address;
    const data = ANCHOR_INTERFACE.encodeFunctionData("anchor", [
      `0x${batch.root}`,
      contractIdHash(batch.contractId),
      `0x${batch.previousRoot}`,
      BATCH_KINDS[batch.kind],
      batch.size,
    ]);
    let receipt: TransactionReceipt;
    let txHash: string;
    try {
      ({ txHash, receipt } = await sendAndConfirm(chain, wallet, { to: address, data }, options.confirmations, options.hooks));
    } catch (error) {
      const revert = decodeRevert(error);
      if (revert === undefined) throw error;
      if (revert.name === "Anchor__Duplicate") {
        const log = await findAnchoredLog(chain, address, batch.root, Number(revert.args[1]));
        if (log === undefined)
          throw new ServiceError(`root ${batch.root} is anchored in block ${String(revert.args[1])} but ${chain.url} returns no Anchored event for it`);
        return recordLog(batch, log);
      }
      if (revert.name === "Anchor__NotHead") {
        // Another anchorer moved the head since the history was read: this batch was never anchored.
        if (fresh) rmSync(batchFile(repo, batch.contractId, batch.root), { force: true });
        throw new VerdictError(`the head of ${batch.contractId} moved while anchoring: it is ${String(revert.args[2]).slice(2)}, not ${batch.previousRoot}`, [
          {
            file: repoPath(repo, evidenceDir(repo, batch.contractId)),
            path: "$",
            message: `another anchorer anchored root ${String(revert.args[2]).slice(2)} of ${batch.contractId} meanwhile`,
            fix: "bring its evidence records into this repository (git pull), then run `datomspod anchor` again",
          },
        ]);
      }
      throw revertError(revert, address);
    }
    transactions++;
    gasUsed += Number(receipt.gasUsed);
    writeRecord(batch, txHash, receipt.blockNumber, receipt.blockHash, anchorer);
    return { ...outcome(batch, action, txHash, receipt.blockNumber), gasUsed: Number(receipt.gasUsed) };
  }

  function writeRecord(batch: BatchRecord, txHash: string, blockNumber: number, blockHash: string, by: string): void {
    const record: AnchorRecord = {
      version: ANCHOR_RECORD_VERSION,
      root: batch.root,
      chainId: chain.chainId,
      contract: getAddress(batch.anchor.address),
      txHash,
      blockNumber,
      blockHash,
      anchorer: by,
    };
    writeAnchor(repo, batch.contractId, record);
  }

  function revertError(revert: { name: string; args: readonly unknown[] }, address: string): Error {
    if (revert.name === "Anchor__Unauthorised") {
      return InputError.of({
        file: "--key",
        path: "$",
        message: `${anchorer} is not an authorised anchorer of the anchor contract ${address} on chain ${chain.chainId} (Anchor__Unauthorised)`,
        fix: `the contract's owner authorises it with \`datomspod anchor authorise ${anchorer}\`, or pass the key of an authorised anchorer`,
      });
    }
    return new ServiceError(`the anchor contract ${address} refused the transaction: ${revert.name}(${revert.args.map(String).join(", ")})`);
  }
}

function outcome(batch: BatchRecord, action: BatchAction, txHash: string, blockNumber: number): BatchOutcome {
  return { contractId: batch.contractId, root: batch.root, kind: batch.kind, size: batch.size, sequence: batch.sequence, action, txHash, blockNumber };
}
