/**
 * The payment rows of `datomspod audit verify`: each escrow transaction recorded in
 * contracts/<id>/payments/ checked against the chain. The transaction succeeded, is in the recorded
 * block, that block is still the chain's (no reorg), it was sent by the recorded account, and the
 * escrow named in the contract emitted the recorded event for this contract's deposit with the
 * recorded amounts; a release paid exactly the settlement in the repository. (The records' bytes
 * are evidence items like any other: their own rows come from the anchored batches.)
 */

import { getAddress, type Log } from "ethers";
import type { Chain } from "../anchor/chain.js";
import { loadContract } from "../contract/load.js";
import { InputError } from "../errors.js";
import { ESCROW_INTERFACE } from "../escrow/artifact.js";
import { readPaymentRecords, type PaymentRecord } from "../escrow/records.js";
import { settlementHash } from "../settle/price.js";
import { settlementPath } from "../settle/verify.js";
import { display, readJsonFile } from "../repo/files.js";
import type { AuditRow, AuditStatus } from "./verify.js";

const EVENTS: Record<PaymentRecord["kind"], { name: string; amount: string }> = {
  deposit: { name: "Deposited", amount: "amount" },
  "top-up": { name: "Deposited", amount: "amount" },
  release: { name: "Released", amount: "paid" },
  refund: { name: "Refunded", amount: "amount" },
};

/** One row per payment record of contract `id`: its transaction checked against `chain`. */
export async function auditPayments(repo: string, id: string, chain: Chain): Promise<AuditRow[]> {
  let loaded;
  try {
    loaded = loadContract(repo, id);
  } catch (error) {
    if (error instanceof InputError) return [];
    throw error;
  }
  const { payments, issues } = readPaymentRecords(repo, loaded);
  const rows: AuditRow[] = issues.map((issue) => ({ contractId: id, status: "mismatched", kind: "payment", subject: issue.file, detail: issue.message }));
  let current: string | undefined;
  try {
    current = settlementHash(readJsonFile(settlementPath(loaded), display(repo, settlementPath(loaded))));
  } catch {
    current = undefined;
  }
  for (const { file, record } of payments) {
    const row = (status: AuditStatus, detail: string): AuditRow => ({
      contractId: id,
      status,
      kind: "payment",
      subject: `${file}#transaction`,
      digest: record.txHash.slice(2),
      blockNumber: record.blockNumber,
      detail,
    });
    rows.push(await checkPayment(chain, record, current, row));
  }
  return rows;
}

async function checkPayment(
  chain: Chain,
  record: PaymentRecord,
  settlement: string | undefined,
  row: (status: AuditStatus, detail: string) => AuditRow,
): Promise<AuditRow> {
  if (record.chainId !== chain.chainId) return row("missing", `sent on chain ${record.chainId}, but ${chain.url} is chain ${chain.chainId}`);
  const receipt = await chain.call("eth_getTransactionReceipt", () => chain.provider.getTransactionReceipt(record.txHash));
  if (receipt === null) return row("missing", `transaction ${record.txHash} is not on chain ${chain.chainId} (a reorg or a reset chain)`);
  if (receipt.status !== 1) return row("mismatched", `transaction ${record.txHash} reverted`);
  if (receipt.blockNumber !== record.blockNumber || receipt.blockHash !== record.blockHash)
    return row(
      "mismatched",
      `transaction ${record.txHash} is in block ${receipt.blockNumber} ${receipt.blockHash}, the record says ${record.blockNumber} ${record.blockHash}`,
    );
  const block = await chain.call("eth_getBlockByNumber", () => chain.provider.getBlock(record.blockNumber));
  if (block?.hash !== record.blockHash) return row("mismatched", `block ${record.blockNumber} is now ${block?.hash ?? "missing"} (reorg)`);
  if (getAddress(receipt.from) !== getAddress(record.from)) return row("mismatched", `sent by ${receipt.from}, the record says ${record.from}`);
  const event = EVENTS[record.kind];
  const topic = ESCROW_INTERFACE.getEvent(event.name)!.topicHash;
  const log = receipt.logs.find((l: Log) => getAddress(l.address) === getAddress(record.escrow) && l.topics[0] === topic && l.topics[1] === record.escrowId);
  if (log === undefined)
    return row("mismatched", `transaction ${record.txHash} emitted no ${event.name} of deposit ${record.escrowId} by the escrow ${record.escrow}`);
  const args = ESCROW_INTERFACE.parseLog(log)!.args;
  const amount = args.getValue(event.amount) as bigint;
  if (amount.toString() !== record.amount) return row("mismatched", `the escrow's ${event.name} says ${amount}, the record ${record.amount}`);
  const head = await chain.call("eth_blockNumber", () => chain.provider.getBlockNumber());
  const where = `tx ${record.txHash}, block ${record.blockNumber}, ${head - record.blockNumber + 1} confirmation${head === record.blockNumber ? "" : "s"}`;
  if (record.kind === "release") {
    const paid = (args.getValue("settlementHash") as string).slice(2);
    const refunded = args.getValue("refunded") as bigint;
    if (paid !== record.settlementHash || refunded.toString() !== record.refunded)
      return row(
        "mismatched",
        `the escrow released settlement ${paid} with ${refunded} back, the record says ${record.settlementHash} with ${record.refunded}`,
      );
    if (paid !== settlement)
      return row("mismatched", `the escrow paid settlement ${paid}, but contracts/${record.contractId}/settlement.json is ${settlement ?? "missing"}`);
    return row("verified", `release of settlement ${paid.slice(0, 12)}…: ${record.amount} to the payees, ${record.refunded} back to the consumer; ${where}`);
  }
  return row("verified", `${record.kind} of ${record.amount} into the escrow ${record.escrow}; ${where}`);
}
