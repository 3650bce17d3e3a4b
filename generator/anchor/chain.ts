/**
 * The chain seam: a JSON-RPC endpoint (ethers v6 JsonRpcProvider) and the anchor contract on it.
 * Every call is retried with exponential backoff when the RPC fails (connection refused, time-out,
 * server error); a revert is never retried: it is decoded with the contract's ABI into a message.
 * Sending signs the transaction locally first, so broadcasting again after a failure sends the very
 * same transaction (same hash), never a second one.
 */

import {
  Contract,
  Interface,
  JsonRpcProvider,
  Network,
  Transaction,
  getAddress,
  isError,
  keccak256,
  toBeHex,
  type Log,
  type TransactionReceipt,
  type Wallet,
} from "ethers";
import { InputError, ServiceError, VerdictError } from "../errors.js";
import { ANCHOR_ABI, ANCHOR_BYTECODE, ANCHOR_DEPLOYED_BYTECODE } from "./artifact.js";

export interface RetryPolicy {
  /** Tries per call, the first included. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, initialDelayMs: 250, maxDelayMs: 4000 };

export interface ChainOptions {
  readonly retry?: RetryPolicy;
  /** How often to poll for a receipt or new blocks. */
  readonly pollMs?: number;
  /** How long to wait for confirmations before giving up. */
  readonly confirmTimeoutMs?: number;
  /** Local development chain: mine the blocks that confirmations wait for (anvil_mine). */
  readonly mineForConfirmations?: boolean;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface Chain {
  readonly url: string;
  readonly chainId: number;
  readonly provider: JsonRpcProvider;
  readonly options: Required<Omit<ChainOptions, "sleep">> & { sleep: (ms: number) => Promise<void> };
  /** Runs an RPC call, retrying with backoff when the endpoint fails. */
  call<T>(what: string, fn: () => Promise<T>): Promise<T>;
  close(): void;
}

export const ANCHOR_INTERFACE = new Interface(ANCHOR_ABI);

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Errors that are answers, not failures of the endpoint: retrying cannot change them. */
function isPermanent(error: unknown): boolean {
  return (
    isError(error, "CALL_EXCEPTION") ||
    isError(error, "INVALID_ARGUMENT") ||
    isError(error, "INSUFFICIENT_FUNDS") ||
    isError(error, "NONCE_EXPIRED") ||
    isError(error, "REPLACEMENT_UNDERPRICED") ||
    isError(error, "BAD_DATA") ||
    isError(error, "UNSUPPORTED_OPERATION") ||
    error instanceof InputError ||
    error instanceof VerdictError
  );
}

function describeError(error: unknown): string {
  if (error instanceof Error) return (error as { shortMessage?: string }).shortMessage ?? error.message.split("\n")[0];
  return String(error);
}

async function rawChainId(url: string): Promise<number> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const body = (await response.json()) as { result?: string; error?: { message?: string } };
  if (typeof body.result !== "string") throw new Error(body.error?.message ?? "no chain id in the answer");
  return Number(BigInt(body.result));
}

/** Connects to a JSON-RPC endpoint and reads its chain id (retrying while it does not answer). */
export async function connectChain(url: string, options: ChainOptions = {}): Promise<Chain> {
  if (!/^https?:\/\//.test(url)) {
    throw InputError.of({
      file: "command line",
      path: "--chain",
      message: `${JSON.stringify(url)} is not an http(s) JSON-RPC URL`,
      fix: "pass --chain local or --chain http://HOST:PORT",
    });
  }
  const resolved = {
    retry: options.retry ?? DEFAULT_RETRY,
    pollMs: options.pollMs ?? 250,
    confirmTimeoutMs: options.confirmTimeoutMs ?? 10 * 60_000,
    mineForConfirmations: options.mineForConfirmations ?? false,
    sleep: options.sleep ?? realSleep,
  };
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    let delay = resolved.retry.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (isPermanent(error)) throw error;
        if (attempt >= resolved.retry.attempts) {
          throw new ServiceError(`the chain RPC ${url} failed ${attempt} times (${what}): ${describeError(error)}`, [
            {
              file: url,
              path: "$",
              message: `${what} failed: ${describeError(error)}`,
              fix: "check that the node is running and reachable, then run the command again (it resumes where it stopped and never anchors a root twice)",
            },
          ]);
        }
        await resolved.sleep(delay);
        delay = Math.min(delay * 2, resolved.retry.maxDelayMs);
      }
    }
  };
  const chainId = await call("eth_chainId", () => rawChainId(url));
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: Network.from(chainId), cacheTimeout: -1, batchMaxCount: 1 });
  return { url, chainId, provider, options: resolved, call, close: () => provider.destroy() };
}

/** Throws unless the chain has code at `address`. */
export async function assertAnchorCode(chain: Chain, address: string, source: string): Promise<void> {
  const code = await chain.call("eth_getCode", () => chain.provider.getCode(address));
  if (code === "0x" || code === "") {
    throw InputError.of({
      file: source,
      path: "$",
      message: `there is no contract code at ${address} on chain ${chain.chainId} (${chain.url})`,
      fix: "check --chain and the anchor contract address; on a new chain deploy one with `datomspod anchor deploy`",
    });
  }
}

/**
 * keccak256 of the runtime code of every datomspod Anchor build whose history the audit can read
 * (the current one: generator/anchor/anchor-artifact.json). Code at a pinned address that is not one
 * of these could emit any events it likes, so it is not trusted.
 */
export const KNOWN_ANCHOR_CODE_HASHES: readonly string[] = [keccak256(ANCHOR_DEPLOYED_BYTECODE)];

/** What is at `address`: nothing, a known Anchor build, or other code (keccak256 of it). */
export async function anchorCodeAt(chain: Chain, address: string, blockTag?: number): Promise<"none" | "anchor" | { other: string }> {
  const code = await chain.call("eth_getCode", () => chain.provider.getCode(address, blockTag));
  if (code === "0x" || code === "") return "none";
  const hash = keccak256(code);
  return KNOWN_ANCHOR_CODE_HASHES.includes(hash) ? "anchor" : { other: hash };
}

/** What the anchor contract knows about a root. */
export interface OnChainAnchor {
  readonly contractIdHash: string;
  /** The contract's head before this root, 0x-prefixed (zero for its first root). */
  readonly previousRoot: string;
  readonly kind: number;
  readonly batchSize: number;
  readonly blockNumber: number;
  readonly anchorer: string;
}

export function anchorContract(chain: Chain, address: string, runner?: Wallet): Contract {
  return new Contract(address, ANCHOR_INTERFACE, runner ?? chain.provider);
}

/** The record of `root` on chain, or undefined when it is not anchored (at `blockTag`, default the latest block). */
export async function readAnchor(chain: Chain, address: string, root: string, blockTag?: number): Promise<OnChainAnchor | undefined> {
  const contract = anchorContract(chain, address);
  const record = (await chain.call("anchorOf", () => contract.getFunction("anchorOf").staticCall(`0x${root}`, { blockTag }))) as {
    contractIdHash: string;
    previousRoot: string;
    kind: bigint;
    batchSize: bigint;
    blockNumber: bigint;
    anchorer: string;
  };
  if (record.blockNumber === 0n) return undefined;
  return {
    contractIdHash: record.contractIdHash,
    previousRoot: record.previousRoot,
    kind: Number(record.kind),
    batchSize: Number(record.batchSize),
    blockNumber: Number(record.blockNumber),
    anchorer: getAddress(record.anchorer),
  };
}

/** A contract's newest root (0x-prefixed, zero before its first) and how many roots it has, at `blockTag`. */
export async function readHead(chain: Chain, address: string, contractIdHash: string, blockTag?: number): Promise<{ head: string; count: number }> {
  const contract = anchorContract(chain, address);
  const head = (await chain.call("headOf", () => contract.getFunction("headOf").staticCall(contractIdHash, { blockTag }))) as string;
  const count = (await chain.call("countOf", () => contract.getFunction("countOf").staticCall(contractIdHash, { blockTag }))) as bigint;
  return { head, count: Number(count) };
}

export async function isAnchorer(chain: Chain, address: string, account: string): Promise<boolean> {
  const contract = anchorContract(chain, address);
  return (await chain.call("isAnchorer", () => contract.getFunction("isAnchorer").staticCall(account))) as boolean;
}

/** An `Anchored` event as the chain returns it. */
export interface AnchoredLog {
  /** The root, hex without prefix. */
  readonly root: string;
  readonly contractIdHash: string;
  readonly anchorer: string;
  /** The previous root, hex without prefix (64 zeros for a contract's first root). */
  readonly previousRoot: string;
  readonly sequence: number;
  readonly kind: number;
  readonly batchSize: number;
  readonly txHash: string;
  readonly blockNumber: number;
  readonly blockHash: string;
  readonly logIndex: number;
}

/** Decodes an `Anchored` log of the anchor contract. */
export function parseAnchoredLog(log: Log): AnchoredLog {
  const parsed = ANCHOR_INTERFACE.parseLog(log);
  if (parsed === null || parsed.name !== "Anchored") throw new ServiceError(`log ${log.index} of transaction ${log.transactionHash} is not an Anchored event`);
  return {
    root: String(parsed.args[0]).slice(2),
    contractIdHash: String(parsed.args[1]),
    anchorer: getAddress(String(parsed.args[2])),
    previousRoot: String(parsed.args[3]).slice(2),
    sequence: Number(parsed.args[4]),
    kind: Number(parsed.args[5]),
    batchSize: Number(parsed.args[6]),
    txHash: log.transactionHash,
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    logIndex: log.index,
  };
}

/** The Anchored event of `root` in block `blockNumber`, or undefined. */
export async function findAnchoredLog(chain: Chain, address: string, root: string, blockNumber: number): Promise<AnchoredLog | undefined> {
  const topic = ANCHOR_INTERFACE.getEvent("Anchored")!.topicHash;
  const logs = await chain.call("eth_getLogs", () =>
    chain.provider.getLogs({ address, topics: [topic, `0x${root}`], fromBlock: blockNumber, toBlock: blockNumber }),
  );
  const log = logs[0];
  return log === undefined ? undefined : parseAnchoredLog(log);
}

/** Turns a revert into a message naming the contract's custom error, or undefined when it is no revert. */
export function decodeRevert(error: unknown): { name: string; args: readonly unknown[] } | undefined {
  if (!isError(error, "CALL_EXCEPTION")) return undefined;
  const data = error.data ?? (error as { info?: { error?: { data?: string } } }).info?.error?.data;
  if (typeof data !== "string" || data === "0x") return { name: "revert", args: [error.reason ?? "no reason"] };
  const parsed = ANCHOR_INTERFACE.parseError(data);
  return parsed ? { name: parsed.name, args: [...parsed.args] } : { name: "revert", args: [data] };
}

export interface SendHooks {
  /** Called once the signed transaction was handed to the node, before confirmations are awaited. */
  readonly onBroadcast?: (txHash: string) => void | Promise<void>;
}

export interface Sent {
  readonly txHash: string;
  readonly receipt: TransactionReceipt;
}

/**
 * Signs `tx` with `wallet`, broadcasts it (again, if the endpoint failed: same bytes, same hash)
 * and waits until it has `confirmations` confirmations. A revert found while estimating gas is
 * thrown as it came (decode it with `decodeRevert`).
 */
export async function sendAndConfirm(
  chain: Chain,
  wallet: Wallet,
  tx: { to?: string; data: string },
  confirmations: number,
  hooks: SendHooks = {},
): Promise<Sent> {
  const signer = wallet.connect(chain.provider);
  const prepared = await chain.call("prepare transaction", () => signer.populateTransaction({ ...tx, chainId: chain.chainId }));
  const raw = await signer.signTransaction(prepared);
  const txHash = Transaction.from(raw).hash!;
  await chain.call("eth_sendRawTransaction", async () => {
    try {
      await chain.provider.broadcastTransaction(raw);
    } catch (error) {
      // Sent before (the endpoint failed after accepting it): fine when the node knows it.
      if ((await chain.provider.getTransaction(txHash)) !== null) return;
      throw error;
    }
  });
  await hooks.onBroadcast?.(txHash);
  const receipt = await waitForConfirmations(chain, txHash, confirmations);
  return { txHash, receipt };
}

/** Polls until `txHash` has `confirmations` confirmations; fails when it is dropped or times out. */
export async function waitForConfirmations(chain: Chain, txHash: string, confirmations: number): Promise<TransactionReceipt> {
  const { pollMs, confirmTimeoutMs, mineForConfirmations, sleep } = chain.options;
  const started = Date.now();
  let unknownPolls = 0;
  for (;;) {
    const receipt = await chain.call("eth_getTransactionReceipt", () => chain.provider.getTransactionReceipt(txHash));
    if (receipt !== null) {
      if (receipt.status !== 1)
        throw new ServiceError(`transaction ${txHash} reverted in block ${receipt.blockNumber}`, [
          { file: chain.url, path: "$", message: `transaction ${txHash} reverted`, fix: "run the command again; it checks the chain before sending" },
        ]);
      const head = await chain.call("eth_blockNumber", () => chain.provider.getBlockNumber());
      const have = head - receipt.blockNumber + 1;
      if (have >= confirmations) return receipt;
      if (mineForConfirmations) await chain.call("anvil_mine", () => chain.provider.send("anvil_mine", [toBeHex(confirmations - have)]));
    } else if ((await chain.call("eth_getTransactionByHash", () => chain.provider.getTransaction(txHash))) === null && ++unknownPolls >= 3) {
      throw new ServiceError(`transaction ${txHash} was dropped by ${chain.url}`, [
        {
          file: chain.url,
          path: "$",
          message: `transaction ${txHash} is neither mined nor pending`,
          fix: "run the command again; it sends what is not anchored yet",
        },
      ]);
    }
    if (Date.now() - started > confirmTimeoutMs) {
      throw new ServiceError(`transaction ${txHash} did not reach ${confirmations} confirmations in ${Math.round(confirmTimeoutMs / 1000)} s`, [
        {
          file: chain.url,
          path: "$",
          message: `waiting for ${confirmations} confirmations of ${txHash} timed out`,
          fix: "run the command again later; an anchored root is recognised and not sent twice",
        },
      ]);
    }
    await sleep(pollMs);
  }
}

/** Deploys the anchor contract owned by `owner` (default: the deployer). */
export async function deployAnchor(
  chain: Chain,
  wallet: Wallet,
  owner: string,
  confirmations: number,
  hooks: SendHooks = {},
): Promise<{ address: string; txHash: string; blockNumber: number; blockHash: string }> {
  const data = ANCHOR_BYTECODE + ANCHOR_INTERFACE.encodeDeploy([owner]).slice(2);
  const { txHash, receipt } = await sendAndConfirm(chain, wallet, { data }, confirmations, hooks);
  if (receipt.contractAddress === null) throw new ServiceError(`deployment ${txHash} created no contract`);
  return { address: getAddress(receipt.contractAddress), txHash, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash };
}
