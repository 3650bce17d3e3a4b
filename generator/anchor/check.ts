/**
 * Checks a batch's anchor record against the chain: the root is anchored by the anchor contract with
 * the batch's contract-id hash, kind and size; the recorded transaction is in the recorded block,
 * and that block is still the chain's block at that height (a reorg replaces it). Used by
 * `datomspod anchor` (what to send or refresh) and `datomspod audit verify` (what holds).
 */

import { getAddress } from "ethers";
import { BATCH_KINDS } from "../evidence/items.js";
import { contractIdHash, type BatchRecord } from "../evidence/batch.js";
import type { AnchorRecord } from "../evidence/store.js";
import { ANCHOR_INTERFACE, readAnchor, type Chain, type OnChainAnchor } from "./chain.js";

export type AnchorState =
  /** The record matches the chain. */
  | "valid"
  /** The record names another chain id than the one connected. */
  | "other-chain"
  /** There is no contract code at the recorded address. */
  | "no-code"
  /** The root is not anchored on this chain (never sent, dropped, or removed by a reorg). */
  | "lost"
  /** The root is anchored, but not in the recorded transaction or block (re-sent, or a reorg moved it). */
  | "stale"
  /** The root is anchored with other facts than the batch's (contract, kind, size or anchorer). */
  | "conflict";

export interface AnchorCheck {
  readonly state: AnchorState;
  readonly detail: string;
  readonly onChain?: OnChainAnchor;
  /** Confirmations of the recorded block, when valid. */
  readonly confirmations?: number;
}

/** What the chain says about `batch` anchored at `address` (without an anchor record). */
export async function checkRoot(chain: Chain, address: string, batch: BatchRecord): Promise<{ onChain?: OnChainAnchor; conflict?: string }> {
  const onChain = await readAnchor(chain, address, batch.root);
  if (onChain === undefined) return {};
  const problems: string[] = [];
  if (onChain.contractIdHash !== contractIdHash(batch.contractId)) problems.push(`contract-id hash ${onChain.contractIdHash}`);
  if (onChain.kind !== BATCH_KINDS[batch.kind]) problems.push(`kind ${onChain.kind}`);
  if (onChain.batchSize !== batch.size) problems.push(`batch size ${onChain.batchSize}`);
  return problems.length > 0 ? { onChain, conflict: `the root is anchored with ${problems.join(", ")}, which is not this batch` } : { onChain };
}

export async function checkAnchor(chain: Chain, batch: BatchRecord, record: AnchorRecord): Promise<AnchorCheck> {
  if (record.chainId !== chain.chainId)
    return { state: "other-chain", detail: `anchored on chain ${record.chainId}, but ${chain.url} is chain ${chain.chainId}` };
  const code = await chain.call("eth_getCode", () => chain.provider.getCode(record.contract));
  if (code === "0x") return { state: "no-code", detail: `no anchor contract code at ${record.contract} on chain ${chain.chainId}` };

  const { onChain, conflict } = await checkRoot(chain, record.contract, batch);
  if (onChain === undefined)
    return {
      state: "lost",
      detail: `root not anchored on chain ${chain.chainId} (the recorded transaction ${record.txHash} in block ${record.blockNumber} is gone: a reorg or a reset chain)`,
    };
  if (conflict !== undefined) return { state: "conflict", detail: conflict, onChain };
  if (onChain.blockNumber !== record.blockNumber)
    return { state: "stale", detail: `root anchored in block ${onChain.blockNumber}, but the record says block ${record.blockNumber}`, onChain };

  const block = await chain.call("eth_getBlockByNumber", () => chain.provider.getBlock(record.blockNumber));
  if (block === null || block.hash !== record.blockHash) {
    return { state: "stale", detail: `block ${record.blockNumber} is now ${block?.hash ?? "missing"}, not the recorded ${record.blockHash} (reorg)`, onChain };
  }
  const receipt = await chain.call("eth_getTransactionReceipt", () => chain.provider.getTransactionReceipt(record.txHash));
  if (receipt === null || receipt.blockHash !== record.blockHash)
    return { state: "stale", detail: `transaction ${record.txHash} is not in block ${record.blockNumber} ${record.blockHash}`, onChain };
  const topic = ANCHOR_INTERFACE.getEvent("Anchored")!.topicHash;
  const logged = receipt.logs.some(
    (log) => getAddress(log.address) === getAddress(record.contract) && log.topics[0] === topic && log.topics[1] === `0x${batch.root}`,
  );
  if (!logged) return { state: "conflict", detail: `transaction ${record.txHash} did not anchor this root`, onChain };
  if (getAddress(record.anchorer) !== onChain.anchorer)
    return { state: "conflict", detail: `the record names anchorer ${record.anchorer}, the chain ${onChain.anchorer}`, onChain };

  const head = await chain.call("eth_blockNumber", () => chain.provider.getBlockNumber());
  const confirmations = head - record.blockNumber + 1;
  return { state: "valid", detail: `block ${record.blockNumber}, ${confirmations} confirmation${confirmations === 1 ? "" : "s"}`, onChain, confirmations };
}
