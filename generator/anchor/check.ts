/**
 * Compares a contract's evidence records with its history on chain (pure): which on-chain root each
 * batch record accounts for, which roots nothing accounts for, and where a record, the contract's
 * pins and the chain disagree. `datomspod anchor` uses it to decide what to send or re-record and
 * what to refuse; `datomspod audit verify` turns it into rows.
 *
 *   anchored  the batch's root is on chain where its anchor record says (block, hash, transaction)
 *   stale     on chain, but not where the record says (a reorg moved it) or without a record
 *   lost      the record says anchored, the chain does not have it (a reorg, a reset chain)
 *   unsent    no record and not on chain (the transaction never went through)
 */

import { getAddress } from "ethers";
import { BATCH_KINDS } from "../evidence/items.js";
import { ZERO_ROOT, type BatchRecord } from "../evidence/batch.js";
import type { AnchorRecord } from "../evidence/store.js";
import type { ChainHistory, RootOnChain } from "./history.js";

/** What the parties signed about where the contract's evidence goes. */
export interface ContractPins {
  readonly chainId: number;
  /** evidence.anchor.address */
  readonly address: string;
  /** evidence.anchorers */
  readonly anchorers: readonly string[];
}

export type BatchState = "anchored" | "stale" | "lost" | "unsent";

export interface CheckedBatch {
  readonly batch: BatchRecord;
  /** Addresses whose DSSE signatures of the batch's statement verified. */
  readonly signers: readonly string[];
}

export interface BatchReconciliation {
  readonly batch: BatchRecord;
  readonly state: BatchState;
  /** The root's event, when it is on chain. */
  readonly onChain?: RootOnChain;
  readonly record?: AnchorRecord;
  /** Where the batch, its anchor record, the contract's pins and the chain disagree. */
  readonly problems: readonly string[];
}

export interface RootReconciliation {
  readonly onChain: RootOnChain;
  /** The batch record that accounts for the root, if any. */
  readonly batch?: BatchRecord;
  readonly problems: readonly string[];
}

export interface Reconciliation {
  /** Every root on chain, oldest first. */
  readonly roots: readonly RootReconciliation[];
  /** Every batch record, in the order of their sequence numbers. */
  readonly batches: readonly BatchReconciliation[];
}

const short = (hex: string): string => hex.slice(0, 12);

/** Reconciles the valid batch records (and their anchor records) of a contract with its history. */
export function reconcile(
  pins: ContractPins,
  history: ChainHistory,
  checked: readonly CheckedBatch[],
  anchors: ReadonlyMap<string, AnchorRecord>,
): Reconciliation {
  const anchorers = new Set(pins.anchorers.map((a) => getAddress(a)));
  const pinnedAddress = getAddress(pins.address);
  const byRoot = new Map(checked.map((c) => [c.batch.root, c]));
  const onChain = new Map(history.roots.map((root) => [root.root, root]));

  const roots: RootReconciliation[] = history.roots.map((root) => {
    const problems: string[] = [];
    const found = byRoot.get(root.root);
    if (found === undefined) problems.push("no batch record in the repository accounts for it");
    if (!anchorers.has(root.anchorer)) problems.push(`anchored by ${root.anchorer}, which is not one of the contract's anchorers (evidence.anchorers)`);
    if (found !== undefined && disagreements(found, root).length > 0) problems.push(`its batch record disagrees with the chain`);
    return { onChain: root, ...(found === undefined ? {} : { batch: found.batch }), problems };
  });

  const ordered = [...checked].sort((a, b) => a.batch.sequence - b.batch.sequence || (a.batch.root < b.batch.root ? -1 : 1));
  const batches: BatchReconciliation[] = ordered.map((current, i) => {
    const { batch } = current;
    const problems: string[] = [];
    const record = anchors.get(batch.root);
    const root = onChain.get(batch.root);

    if (batch.anchor.chainId !== pins.chainId || batch.anchor.address !== pinnedAddress)
      problems.push(
        `names anchor contract ${batch.anchor.address} on chain ${batch.anchor.chainId}, but the contract pins ${pinnedAddress} on chain ${pins.chainId}`,
      );
    if (record !== undefined && (record.chainId !== pins.chainId || getAddress(record.contract) !== pinnedAddress))
      problems.push(`its anchor record names ${record.contract} on chain ${record.chainId}, but the contract pins ${pinnedAddress} on chain ${pins.chainId}`);

    // The repository's own chain: 1, 2, … each after the one before.
    const before = ordered[i - 1]?.batch;
    if (before !== undefined && before.sequence === batch.sequence)
      problems.push(`claims place ${batch.sequence} in the contract's chain, as batch ${short(before.root)} does`);
    else if (batch.sequence !== i + 1)
      problems.push(`claims place ${batch.sequence} in the contract's chain, but the repository holds ${i} batch${i === 1 ? "" : "es"} before it`);
    else if (batch.previousRoot !== (before?.root ?? ZERO_ROOT))
      problems.push(
        `names the previous root ${short(batch.previousRoot)}, but the batch before it in the repository is ${before === undefined ? "none" : short(before.root)}`,
      );

    if (root !== undefined) {
      problems.push(...disagreements(current, root));
      if (record !== undefined && getAddress(record.anchorer) !== root.anchorer)
        problems.push(`its anchor record names anchorer ${record.anchorer}, the chain ${root.anchorer}`);
      const stale = record === undefined || record.blockNumber !== root.blockNumber || record.blockHash !== root.blockHash || record.txHash !== root.txHash;
      return { batch, state: stale ? "stale" : "anchored", onChain: root, ...(record === undefined ? {} : { record }), problems };
    }
    const holder = history.roots[batch.sequence - 1];
    if (holder !== undefined) problems.push(`its place ${batch.sequence} in the contract's chain is held on chain by root ${short(holder.root)}`);
    return { batch, state: record === undefined ? "unsent" : "lost", ...(record === undefined ? {} : { record }), problems };
  });

  return { roots, batches };
}

/** Where a batch record and the chain's event of its root disagree. */
function disagreements({ batch, signers }: CheckedBatch, root: RootOnChain): string[] {
  const problems: string[] = [];
  if (batch.previousRoot !== root.previousRoot) problems.push(`names the previous root ${short(batch.previousRoot)}, the chain ${short(root.previousRoot)}`);
  if (batch.sequence !== root.sequence) problems.push(`claims place ${batch.sequence} in the contract's chain, the chain says ${root.sequence}`);
  if (BATCH_KINDS[batch.kind] !== root.kind) problems.push(`is of kind ${BATCH_KINDS[batch.kind]}, the chain says ${root.kind}`);
  if (batch.size !== root.batchSize) problems.push(`has ${batch.size} items, the chain says ${root.batchSize}`);
  if (!signers.includes(root.anchorer)) problems.push(`its statement is signed by ${signers.join(", ") || "nobody"}, but ${root.anchorer} anchored the root`);
  return problems;
}
