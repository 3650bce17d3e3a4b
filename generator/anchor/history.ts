/**
 * A contract's history on chain: every `Anchored` event the pinned anchor contract emitted for the
 * contract id, from the block the contract pins (evidence.anchor.fromBlock) to the chain's head,
 * read with eth_getLogs in bounded block ranges, and what the anchor contract says now (its head
 * and count for the contract id). Both `datomspod anchor` (what is already there) and
 * `datomspod audit verify` (is all of it accounted for) read history through here.
 *
 * What must hold on chain, and is reported as a problem otherwise:
 *   - the code at the address is a datomspod Anchor build (other code could emit any events);
 *   - the roots form one chain: sequence 1, 2, … and each names the one before (the first: zero),
 *     so no root is hidden before fromBlock and none was skipped by the node that answered;
 *   - headOf / countOf at the block read up to are the last root and the number of roots;
 *   - each root's anchorer was authorised when it anchored (the AnchorerAuthorised / AnchorerRevoked
 *     events replayed from the deployment on; with the deployment before fromBlock the verified
 *     code, which refuses unauthorised callers, is what vouches for it).
 */

import { getAddress } from "ethers";
import { contractIdHash, ZERO_ROOT } from "../evidence/batch.js";
import { ANCHOR_INTERFACE, anchorCodeAt, parseAnchoredLog, readHead, type AnchoredLog, type Chain } from "./chain.js";

/** Blocks per eth_getLogs request (public endpoints commonly allow 2,000 to 10,000). */
export const DEFAULT_LOG_PAGE_BLOCKS = 2000;

export interface HistoryQuery {
  /** The anchor contract the data usage contract pins. */
  readonly address: string;
  readonly contractId: string;
  /** The block to read from (evidence.anchor.fromBlock). */
  readonly fromBlock: number;
  readonly pageBlocks?: number;
}

export interface RootOnChain extends AnchoredLog {
  /**
   * Whether the anchorer was authorised on the anchor contract at that point of the chain, by the
   * replayed authorisation events; undefined when the deployment is before fromBlock (not replayed).
   */
  readonly authorised: boolean | undefined;
  /** The owner who authorised the anchorer, when replayed. */
  readonly authorisedBy?: string;
}

export interface ChainHistory {
  readonly address: string;
  readonly contractIdHash: string;
  readonly fromBlock: number;
  /** The chain's head when it was read: the history is complete up to this block. */
  readonly toBlock: number;
  /** What is at the address: nothing, a known Anchor build, or other code. */
  readonly code: "none" | "anchor" | { readonly other: string };
  /** The block of the anchor contract's deployment, when it is at or after fromBlock. */
  readonly deployedAt?: number;
  /** The contract's roots, oldest first. */
  readonly roots: readonly RootOnChain[];
  /** headOf(contractIdHash) at toBlock, hex without prefix (ZERO_ROOT before the first root). */
  readonly head: string;
  /** countOf(contractIdHash) at toBlock. */
  readonly count: number;
  /** What does not hold on chain; empty when the history is complete and consistent. */
  readonly problems: readonly string[];
  /** eth_getLogs requests made. */
  readonly logRequests: number;
}

const TOPICS = {
  anchored: ANCHOR_INTERFACE.getEvent("Anchored")!.topicHash,
  authorised: ANCHOR_INTERFACE.getEvent("AnchorerAuthorised")!.topicHash,
  revoked: ANCHOR_INTERFACE.getEvent("AnchorerRevoked")!.topicHash,
  ownership: ANCHOR_INTERFACE.getEvent("OwnershipTransferred")!.topicHash,
};
const ZERO_TOPIC = `0x${"0".repeat(64)}`;

function topicAddress(topic: string): string {
  return getAddress(`0x${topic.slice(26)}`);
}

interface AdminEvent {
  readonly blockNumber: number;
  readonly logIndex: number;
  readonly kind: "authorised" | "revoked" | "deployed";
  readonly account: string;
  readonly by: string;
}

const byPosition = (a: { blockNumber: number; logIndex: number }, b: { blockNumber: number; logIndex: number }): number =>
  a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;

/** Reads the history of `query.contractId` on the anchor contract at `query.address`. */
export async function readChainHistory(chain: Chain, query: HistoryQuery): Promise<ChainHistory> {
  const idHash = contractIdHash(query.contractId);
  const address = getAddress(query.address);
  const pageBlocks = Math.max(1, query.pageBlocks ?? DEFAULT_LOG_PAGE_BLOCKS);
  const toBlock = await chain.call("eth_blockNumber", () => chain.provider.getBlockNumber());
  const base = { address, contractIdHash: idHash, fromBlock: query.fromBlock, toBlock };
  const code = await anchorCodeAt(chain, address, toBlock);
  if (code !== "anchor") {
    const problem =
      code === "none"
        ? `there is no contract code at ${address} on chain ${chain.chainId}`
        : `the code at ${address} (keccak256 ${code.other}) is not a datomspod Anchor contract, so its events prove nothing`;
    return { ...base, code, roots: [], head: ZERO_ROOT, count: 0, problems: [problem], logRequests: 0 };
  }

  const anchored: AnchoredLog[] = [];
  const admin: AdminEvent[] = [];
  let logRequests = 0;
  for (let from = query.fromBlock; from <= toBlock; from += pageBlocks) {
    const to = Math.min(toBlock, from + pageBlocks - 1);
    const roots = await chain.call("eth_getLogs", () =>
      chain.provider.getLogs({ address, topics: [TOPICS.anchored, null, idHash], fromBlock: from, toBlock: to }),
    );
    const admins = await chain.call("eth_getLogs", () =>
      chain.provider.getLogs({ address, topics: [[TOPICS.authorised, TOPICS.revoked, TOPICS.ownership]], fromBlock: from, toBlock: to }),
    );
    logRequests += 2;
    for (const log of roots) anchored.push(parseAnchoredLog(log));
    for (const log of admins) {
      const [topic, first, second] = log.topics;
      const position = { blockNumber: log.blockNumber, logIndex: log.index };
      if (topic === TOPICS.authorised) admin.push({ ...position, kind: "authorised", account: topicAddress(first), by: topicAddress(second) });
      else if (topic === TOPICS.revoked) admin.push({ ...position, kind: "revoked", account: topicAddress(first), by: topicAddress(second) });
      else if (first === ZERO_TOPIC) admin.push({ ...position, kind: "deployed", account: topicAddress(second), by: topicAddress(second) });
    }
  }
  anchored.sort(byPosition);
  admin.sort(byPosition);

  // Replay who was authorised at each root, when the deployment is in range.
  const deployment = admin.find((event) => event.kind === "deployed");
  const authorisedNow = new Map<string, string>();
  const roots: RootOnChain[] = [];
  let next = 0;
  for (const log of anchored) {
    while (next < admin.length && byPosition(admin[next], log) < 0) {
      const event = admin[next++];
      if (event.kind === "authorised") authorisedNow.set(event.account, event.by);
      else if (event.kind === "revoked") authorisedNow.delete(event.account);
    }
    const by = authorisedNow.get(log.anchorer);
    roots.push({ ...log, authorised: deployment === undefined ? undefined : by !== undefined, ...(by === undefined ? {} : { authorisedBy: by }) });
  }

  const problems: string[] = [];
  roots.forEach((root, i) => {
    const previous = i === 0 ? ZERO_ROOT : roots[i - 1].root;
    if (root.sequence !== i + 1)
      problems.push(
        i === 0
          ? `the first root read from block ${query.fromBlock} on (${root.root}) is number ${root.sequence} of the contract: roots before it are not read`
          : `root ${root.root} is number ${root.sequence}, but follows number ${roots[i - 1].sequence}: a root is missing from the node's answer`,
      );
    else if (root.previousRoot !== previous) problems.push(`root ${root.root} names the previous root ${root.previousRoot}, not ${previous}`);
    if (root.authorised === false) problems.push(`root ${root.root} was anchored by ${root.anchorer}, which was not an authorised anchorer then`);
  });
  const { head, count } = await readHead(chain, address, idHash, toBlock);
  const last = roots.at(-1);
  if (count !== roots.length)
    problems.push(
      `the anchor contract counts ${count} root${count === 1 ? "" : "s"} for the contract, but ${roots.length} were read from block ${query.fromBlock} on`,
    );
  else if (head.slice(2) !== (last?.root ?? ZERO_ROOT)) problems.push(`the anchor contract's head is ${head.slice(2)}, not the last root read`);

  return {
    ...base,
    code,
    ...(deployment === undefined ? {} : { deployedAt: deployment.blockNumber }),
    roots,
    head: head.slice(2),
    count,
    problems,
    logRequests,
  };
}
