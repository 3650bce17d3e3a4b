/**
 * `datomspod anchor`: anchors every evidence item that is not anchored yet, one transaction per
 * batch (one batch per contract and run of the command), and keeps the records in the repository.
 *
 * It is idempotent and resumable. Before anything is sent the batch record is written; a root is
 * looked up on chain before it is sent, so a batch whose transaction went through while the RPC
 * failed is recorded, not sent again. A recorded anchor that the chain no longer has (a reorg, a
 * reset chain) is sent again; one that moved to another block is re-recorded. A file that changed
 * after it was anchored is refused, not anchored a second time: `datomspod audit verify` shows it.
 */

import { getAddress, type TransactionReceipt, type Wallet } from "ethers";
import { InputError, ServiceError, type Issue } from "../errors.js";
import { loadContract } from "../contract/load.js";
import { gatherFacts } from "../lifecycle/facts.js";
import { buildBatch, checkBatch, contractIdHash, signBatch, type BatchRecord } from "../evidence/batch.js";
import { collectEvidence, repoPath } from "../evidence/collect.js";
import { BATCH_KINDS, isMutableKind, itemKey, subjectKey, type EvidenceItem } from "../evidence/items.js";
import { ANCHOR_RECORD_VERSION, batchFile, readStoredEvidence, writeAnchor, writeBatch, type AnchorRecord } from "../evidence/store.js";
import { checkAnchor, checkRoot } from "./check.js";
import { ANCHOR_INTERFACE, assertAnchorCode, decodeRevert, findAnchoredLog, sendAndConfirm, type Chain, type SendHooks } from "./chain.js";

export type BatchAction = "anchored" | "re-sent" | "recorded" | "up-to-date";

export interface BatchOutcome {
  readonly contractId: string;
  readonly root: string;
  readonly kind: BatchRecord["kind"];
  readonly size: number;
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
  /** Contracts left alone: a draft is not anchored until every party has signed it. */
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
  /** The anchor contract for a contract's cluster. */
  readonly anchorAddress: (cluster: string) => string;
  readonly confirmations: number;
  readonly hooks?: SendHooks;
  /** Why an item must not be anchored (e.g. `renderingGuard`), or undefined. */
  readonly refuse?: (item: EvidenceItem) => string | undefined;
  /**
   * The clock of the lifecycle (ms since the epoch). When given, a contract that is still a draft
   * (not signed by every party) is skipped: it may still change, and a changed record is refused.
   */
  readonly now?: number;
}

/** Anchors the evidence of `ids`; see the module comment. */
export async function anchorEvidence(options: AnchorRunOptions): Promise<AnchorReport> {
  const { repo, chain, wallet } = options;
  const anchorer = getAddress(wallet.address);
  const checkedCode = new Set<string>();
  const batches: BatchOutcome[] = [];
  const refused: RefusedItem[] = [];
  const skipped: { contractId: string; reason: string }[] = [];
  let transactions = 0;
  let gasUsed = 0;

  for (const id of options.ids) {
    const loaded = loadContract(repo, id);
    if (loaded.contract.chainId !== chain.chainId) {
      throw InputError.of({
        file: loaded.file,
        path: "$.chainId",
        message: `the contract is bound to chain ${loaded.contract.chainId}, but ${chain.url} is chain ${chain.chainId}`,
        fix: `anchor on the contract's chain: pass --chain with an RPC URL of chain ${loaded.contract.chainId}`,
      });
    }
    if (options.now !== undefined && gatherFacts(repo, loaded, options.now).state === "proposed") {
      skipped.push({ contractId: id, reason: "a draft: not signed by every party yet" });
      continue;
    }
    const address = options.anchorAddress(loaded.contract.cluster);
    if (!checkedCode.has(address)) {
      await assertAnchorCode(chain, address, "--anchor-address");
      checkedCode.add(address);
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
    const valid: BatchRecord[] = [];
    for (const record of stored.batches) {
      if (record.value === undefined) continue;
      const check = checkBatch(record.value, id);
      for (const problem of [...check.problems, ...[...check.itemProblems.values()].map((p) => `an item ${p}`)]) {
        broken.push({ file: record.file, path: "$", message: problem, fix: "restore it from git (git checkout -- FILE)" });
      }
      valid.push(record.value);
    }
    if (broken.length > 0) throw InputError.many(`the evidence records of ${id} are damaged; nothing was anchored for it`, broken);

    // Batches recorded before: check each against the chain; re-send or re-record what is off.
    for (const batch of valid) {
      const record = stored.anchors.get(batch.root)?.value;
      const outcome = await settleBatch(batch, record, address);
      batches.push(outcome);
    }

    // What is not in any batch yet becomes the next batch.
    const collected = collectEvidence(repo, id);
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

    const batch = await buildBatch(id, fresh, wallet);
    writeBatch(repo, batch);
    batches.push(await send(batch, address, "anchored"));
  }

  return { chainId: chain.chainId, anchorer, batches, skipped, refused, transactions, gasUsed };

  async function settleBatch(batch: BatchRecord, record: AnchorRecord | undefined, address: string): Promise<BatchOutcome> {
    if (record !== undefined) {
      const check = await checkAnchor(chain, batch, record);
      switch (check.state) {
        case "valid":
          return outcome(batch, "up-to-date", record.txHash, record.blockNumber);
        case "other-chain":
          throw InputError.of({
            file: repoPath(repo, batchFile(repo, batch.contractId, batch.root)),
            path: "$",
            message: check.detail,
            fix: `pass --chain with an RPC URL of chain ${record.chainId}`,
          });
        case "conflict":
          throw new ServiceError(`the chain contradicts the anchor record of ${batch.root}: ${check.detail}`, [
            {
              file: repoPath(repo, batchFile(repo, batch.contractId, batch.root)),
              path: "$",
              message: check.detail,
              fix: "check that --chain and the anchor contract are the ones the record names",
            },
          ]);
        case "stale":
          return await recordFromChain(batch, address, check.onChain!.blockNumber);
        case "lost":
        case "no-code":
          break;
      }
    } else {
      const { onChain, conflict } = await checkRoot(chain, address, batch);
      if (conflict !== undefined) throw new ServiceError(`root ${batch.root} of ${batch.contractId}: ${conflict}`);
      if (onChain !== undefined) return await recordFromChain(batch, address, onChain.blockNumber);
    }
    return await send(batch, address, record === undefined ? "anchored" : "re-sent");
  }

  async function recordFromChain(batch: BatchRecord, address: string, blockNumber: number): Promise<BatchOutcome> {
    const log = await findAnchoredLog(chain, address, batch.root, blockNumber);
    if (log === undefined) throw new ServiceError(`root ${batch.root} is anchored in block ${blockNumber} but ${chain.url} returns no Anchored event for it`);
    writeRecord(batch, address, log.txHash, log.blockNumber, log.blockHash, log.anchorer);
    return outcome(batch, "recorded", log.txHash, log.blockNumber);
  }

  async function send(batch: BatchRecord, address: string, action: BatchAction): Promise<BatchOutcome> {
    // The envelope is signed by the account that anchors: sign it again if another key anchors now.
    if (!checkBatch(batch, batch.contractId).signers.includes(anchorer)) {
      batch = await signBatch(batch, wallet);
      writeBatch(repo, batch);
    }
    const data = ANCHOR_INTERFACE.encodeFunctionData("anchor", [`0x${batch.root}`, contractIdHash(batch.contractId), BATCH_KINDS[batch.kind], batch.size]);
    let receipt: TransactionReceipt;
    let txHash: string;
    try {
      ({ txHash, receipt } = await sendAndConfirm(chain, wallet, { to: address, data }, options.confirmations, options.hooks));
    } catch (error) {
      const revert = decodeRevert(error);
      if (revert === undefined) throw error;
      if (revert.name === "Anchor__Duplicate") return await recordFromChain(batch, address, Number(revert.args[1]));
      throw revertError(revert, address);
    }
    transactions++;
    gasUsed += Number(receipt.gasUsed);
    writeRecord(batch, address, txHash, receipt.blockNumber, receipt.blockHash, anchorer);
    return { ...outcome(batch, action, txHash, receipt.blockNumber), gasUsed: Number(receipt.gasUsed) };
  }

  function writeRecord(batch: BatchRecord, address: string, txHash: string, blockNumber: number, blockHash: string, by: string): void {
    const record: AnchorRecord = {
      version: ANCHOR_RECORD_VERSION,
      root: batch.root,
      chainId: chain.chainId,
      contract: getAddress(address),
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
  return { contractId: batch.contractId, root: batch.root, kind: batch.kind, size: batch.size, action, txHash, blockNumber };
}
