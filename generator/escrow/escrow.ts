/**
 * The escrow seam: the contract's terms as the escrow holds them, and deposit, status, release,
 * refund and withdrawal through the chain (generator/anchor/chain.ts: retried RPC, transactions
 * signed locally). Before anything is sent the escrow's code is checked to be exactly the compiled
 * Escrow.sol, the deposit's terms to be the contract's, and a release's digest as the escrow
 * computes it to be the one every party signed. Each transaction sent is recorded in
 * contracts/<id>/payments/.
 */

import { Contract, concat, getAddress, isError, keccak256, toUtf8Bytes, type Log, type TransactionReceipt, type Wallet } from "ethers";
import type { LoadedContract } from "../contract/load.js";
import { parseTimestamp, partiesWithRole } from "../contract/rules.js";
import { toSmallestUnit } from "../contract/money.js";
import { InputError, ServiceError, VerdictError, type Issue } from "../errors.js";
import { sendAndConfirm, type Chain } from "../anchor/chain.js";
import { CREATE2_DEPLOYER, CREATE2_SALT, ESCROW, ESCROW_INTERFACE, LOCAL_TOKEN, LOCAL_TOKEN_INTERFACE, type CompiledContract } from "./artifact.js";
import { PAYMENT_RECORD_VERSION, escrowIdOf, writePaymentRecord, type PaymentKind, type PaymentRecord } from "./records.js";

export { escrowIdOf };

export const DEPOSIT_STATUSES = ["none", "open", "released", "refunded"] as const;
export type DepositStatus = (typeof DEPOSIT_STATUSES)[number];

/** The contract's terms as the escrow records them at deposit. */
export interface EscrowTerms {
  readonly escrow: string;
  readonly contractHash: string;
  readonly contractId: string;
  readonly token: string;
  readonly cap: bigint;
  readonly expiry: number;
  readonly parties: readonly string[];
  readonly consumer: string;
  readonly escrowId: string;
}

export interface OnChainDeposit {
  readonly status: DepositStatus;
  readonly consumer: string;
  readonly expiry: number;
  readonly token: string;
  readonly cap: bigint;
  readonly amount: bigint;
  readonly contractIdHash: string;
  readonly parties: readonly string[];
}

/** The escrow terms of a contract; throws naming the field when it has no escrow. */
export function escrowTerms(loaded: LoadedContract): EscrowTerms {
  const { contract } = loaded;
  const escrow = contract.business.escrow;
  if (escrow === undefined || contract.business.currency.token === undefined)
    throw InputError.of({
      file: loaded.file,
      path: "$.business.escrow",
      message: "the contract has no escrow (or no token), so nothing is paid on chain",
      fix: "add business.escrow {address, cap, expiry} and business.currency.token; every party signs the contract again",
    });
  const consumer = partiesWithRole(contract, "consumer")[0].address;
  const contractHash = `0x${loaded.hash}`;
  return {
    escrow: getAddress(escrow.address),
    contractHash,
    contractId: contract.id,
    token: getAddress(contract.business.currency.token),
    cap: toSmallestUnit(escrow.cap, contract.business.currency.decimals) ?? 0n,
    expiry: Math.floor((parseTimestamp(escrow.expiry) ?? 0) / 1000),
    parties: contract.parties.map((party) => getAddress(party.address)),
    consumer: getAddress(consumer),
    escrowId: escrowIdOf(contractHash, consumer),
  };
}

/** What differs between the deposit on chain and the contract's terms (empty: they match). */
export function termsMismatches(deposit: OnChainDeposit, terms: EscrowTerms): string[] {
  const problems: string[] = [];
  if (deposit.consumer !== terms.consumer) problems.push(`consumer ${deposit.consumer}, the contract's is ${terms.consumer}`);
  if (deposit.token !== terms.token) problems.push(`token ${deposit.token}, the contract's is ${terms.token}`);
  if (deposit.cap !== terms.cap) problems.push(`cap ${deposit.cap}, the contract's is ${terms.cap}`);
  if (deposit.expiry !== terms.expiry) problems.push(`expiry ${deposit.expiry}, the contract's is ${terms.expiry}`);
  if (deposit.contractIdHash !== keccak256(toUtf8Bytes(terms.contractId))) problems.push("the contract id hash is another contract's");
  if (deposit.parties.join(",") !== terms.parties.join(","))
    problems.push(`parties ${deposit.parties.join(", ")}, the contract's are ${terms.parties.join(", ")}`);
  return problems;
}

/** Turns a revert of the escrow or its token into `{name, args}`, or undefined when it is none. */
export function decodeEscrowRevert(error: unknown): { name: string; args: readonly unknown[] } | undefined {
  if (!isError(error, "CALL_EXCEPTION")) return undefined;
  const data = error.data ?? (error as { info?: { error?: { data?: string } } }).info?.error?.data;
  if (typeof data !== "string" || data === "0x") return { name: "revert", args: [error.reason ?? "no reason"] };
  const parsed = ESCROW_INTERFACE.parseError(data) ?? LOCAL_TOKEN_INTERFACE.parseError(data);
  return parsed ? { name: parsed.name, args: [...parsed.args] } : { name: "revert", args: [data] };
}

/** Sends a transaction to the escrow or token; a revert becomes a VerdictError naming the custom error. */
async function send(
  chain: Chain,
  wallet: Wallet,
  to: string,
  data: string,
  confirmations: number,
  what: string,
): Promise<{ txHash: string; receipt: TransactionReceipt }> {
  try {
    return await sendAndConfirm(chain, wallet, { to, data }, confirmations);
  } catch (error) {
    const revert = decodeEscrowRevert(error);
    if (revert === undefined) throw error;
    const text = `${revert.name}(${revert.args.map(String).join(", ")})`;
    throw new VerdictError(`${what} was refused by ${to}: ${text}`, [
      { file: to, path: "$", message: `${what} reverted with ${text}`, fix: REVERT_FIXES[revert.name] ?? "see `datomspod escrow status`" },
    ]);
  }
}

const REVERT_FIXES: Record<string, string> = {
  Escrow__AboveCap: "deposit at most the cap minus what is deposited (datomspod escrow status shows both)",
  Escrow__AlreadyOpened: "top up the open deposit instead (datomspod escrow deposit does when one is open)",
  Escrow__Expired: "the escrow has expired: nothing can be added or released; anyone can refund it to the consumer",
  Escrow__NotExpired: "wait for the expiry, or release a settlement every party signed",
  Escrow__InvalidSignature: "every party recorded at deposit signs exactly this settlement (datomspod settle ID --key FILE)",
  Escrow__NothingOwed: "nothing is owed to this account in this token",
  ERC20InsufficientBalance: "the consumer needs that much of the token",
};

/** The compiled contract's code is at its CREATE2 address; deploys it there through the CREATE2 deployer when `deploy`. */
export async function ensureCode(chain: Chain, compiled: CompiledContract, wallet: Wallet | undefined, source: Issue): Promise<void> {
  const code = await chain.call("eth_getCode", () => chain.provider.getCode(compiled.address));
  if (code === compiled.deployedBytecode) return;
  if (code !== "0x" && code !== "")
    throw new VerdictError(`${compiled.address} holds other code than datomspod's compiled contract`, [
      {
        ...source,
        message: `${compiled.address} on chain ${chain.chainId} holds other code than the compiled ${source.message}`,
        fix: "name the address `datomspod escrow deploy` prints",
      },
    ]);
  if (wallet === undefined)
    throw InputError.of({
      ...source,
      message: `there is no ${source.message} at ${compiled.address} on chain ${chain.chainId}`,
      fix: "deploy it: datomspod escrow deploy --chain URL --key FILE",
    });
  const deployer = await chain.call("eth_getCode", () => chain.provider.getCode(CREATE2_DEPLOYER));
  if (deployer === "0x" || deployer === "")
    throw InputError.of({
      file: chain.url,
      path: "$",
      message: `chain ${chain.chainId} has no deterministic CREATE2 deployer at ${CREATE2_DEPLOYER}`,
      fix: "deploy that deployer first (it is on most public chains and on anvil); its address makes the escrow's address a function of its code",
    });
  await sendAndConfirm(chain, wallet, { to: CREATE2_DEPLOYER, data: concat([CREATE2_SALT, compiled.bytecode]) }, 1);
  const deployed = await chain.call("eth_getCode", () => chain.provider.getCode(compiled.address));
  if (deployed !== compiled.deployedBytecode) throw new ServiceError(`deploying ${source.message} to ${compiled.address} left other code there`);
}

/** The escrow at the contract's address must be exactly the compiled Escrow.sol. */
export async function assertEscrow(chain: Chain, loaded: LoadedContract, terms: EscrowTerms): Promise<void> {
  if (terms.escrow !== ESCROW.address) {
    throw new VerdictError(`the contract's escrow ${terms.escrow} is not datomspod's escrow ${ESCROW.address}`, [
      {
        file: loaded.file,
        path: "$.business.escrow.address",
        message: `is ${terms.escrow}, but the compiled Escrow.sol lives at ${ESCROW.address} (its CREATE2 address)`,
        fix: `name ${ESCROW.address}; every party signs the contract again`,
      },
    ]);
  }
  await ensureCode(chain, ESCROW, undefined, { file: loaded.file, path: "$.business.escrow.address", message: "escrow" });
  if (loaded.contract.chainId !== chain.chainId)
    throw InputError.of({
      file: loaded.file,
      path: "$.chainId",
      message: `the contract is bound to chain ${loaded.contract.chainId}, but ${chain.url} is chain ${chain.chainId}`,
      fix: `pass --chain with an RPC URL of chain ${loaded.contract.chainId}`,
    });
}

function escrowContract(chain: Chain, address: string): Contract {
  return new Contract(address, ESCROW_INTERFACE, chain.provider);
}

export async function readDeposit(chain: Chain, terms: EscrowTerms): Promise<OnChainDeposit> {
  const raw = (await chain.call("depositOf", () => escrowContract(chain, terms.escrow).getFunction("depositOf").staticCall(terms.escrowId))) as {
    consumer: string;
    expiry: bigint;
    status: bigint;
    token: string;
    cap: bigint;
    amount: bigint;
    contractIdHash: string;
    parties: string[];
  };
  return {
    status: DEPOSIT_STATUSES[Number(raw.status)] ?? "none",
    consumer: getAddress(raw.consumer),
    expiry: Number(raw.expiry),
    token: getAddress(raw.token),
    cap: raw.cap,
    amount: raw.amount,
    contractIdHash: raw.contractIdHash,
    parties: raw.parties.map((party) => getAddress(party)),
  };
}

export async function owedTo(chain: Chain, terms: EscrowTerms, account: string): Promise<bigint> {
  return (await chain.call("owed", () => escrowContract(chain, terms.escrow).getFunction("owed").staticCall(terms.token, account))) as bigint;
}

async function erc20(chain: Chain, token: string, method: "balanceOf" | "decimals" | "allowance", ...args: string[]): Promise<bigint> {
  const contract = new Contract(token, LOCAL_TOKEN_INTERFACE, chain.provider);
  return BigInt((await chain.call(method, () => contract.getFunction(method).staticCall(...args))) as bigint | number);
}

/** The chain's time: the latest block's timestamp. */
export async function chainTime(chain: Chain): Promise<number> {
  const block = await chain.call("eth_getBlockByNumber", () => chain.provider.getBlock("latest"));
  return block?.timestamp ?? 0;
}

function record(
  kind: PaymentKind,
  chain: Chain,
  loaded: LoadedContract,
  terms: EscrowTerms,
  from: string,
  sent: { txHash: string; receipt: TransactionReceipt },
  amount: bigint,
  extra: { settlementHash?: string; refunded?: bigint } = {},
): PaymentRecord {
  return {
    version: PAYMENT_RECORD_VERSION,
    kind,
    contractId: loaded.id,
    contractHash: loaded.hash,
    chainId: chain.chainId,
    escrow: terms.escrow,
    escrowId: terms.escrowId,
    token: terms.token,
    consumer: terms.consumer,
    from: getAddress(from),
    txHash: sent.txHash,
    blockNumber: sent.receipt.blockNumber,
    blockHash: sent.receipt.blockHash,
    amount: amount.toString(),
    settlementHash: extra.settlementHash ?? null,
    refunded: extra.refunded === undefined ? null : extra.refunded.toString(),
  };
}

/** A uint field of the escrow's event in a receipt; the transaction must have emitted it. */
function eventAmount(receipt: TransactionReceipt, address: string, name: string, field: string): bigint {
  const topic = ESCROW_INTERFACE.getEvent(name)!.topicHash;
  const log = receipt.logs.find((l: Log) => getAddress(l.address) === getAddress(address) && l.topics[0] === topic);
  const value: unknown = log === undefined ? undefined : ESCROW_INTERFACE.parseLog(log)?.args.getValue(field);
  if (typeof value !== "bigint") throw new ServiceError(`transaction ${receipt.hash} emitted no ${name} event of the escrow ${address}`);
  return value;
}

export interface EscrowAction {
  readonly chain: Chain;
  readonly wallet: Wallet;
  readonly loaded: LoadedContract;
  readonly confirmations: number;
  /** The local chain: the local token is minted to the consumer when it has too little. */
  readonly local: boolean;
}

/** The consumer deposits `amount` (default: up to the cap) against the contract: approve, then deposit or top up. */
export async function deposit(action: EscrowAction, amount?: bigint): Promise<{ record: PaymentRecord; file: string; deposit: OnChainDeposit }> {
  const { chain, wallet, loaded } = action;
  const terms = escrowTerms(loaded);
  await assertEscrow(chain, loaded, terms);
  const sender = getAddress(wallet.address);
  if (sender !== terms.consumer)
    throw InputError.of({
      file: "--key",
      path: "$",
      message: `${sender} is not the consumer of ${loaded.id} (${terms.consumer})`,
      fix: "the consumer deposits: pass its key",
    });
  const now = await chainTime(chain);
  if (now >= terms.expiry) throw new VerdictError(`the escrow of ${loaded.id} expired at ${loaded.contract.business.escrow!.expiry}`, []);
  const before = await readDeposit(chain, terms);
  if (before.status === "released" || before.status === "refunded")
    throw new VerdictError(`the deposit of ${loaded.id} was ${before.status}; a contract is settled once`, [
      { file: loaded.file, path: "$.business.escrow", message: `the deposit is ${before.status}`, fix: "nothing more can be deposited against this contract" },
    ]);
  if (before.status === "open") {
    const mismatches = termsMismatches(before, terms);
    if (mismatches.length > 0) throw new VerdictError(`the open deposit of ${loaded.id} has other terms than the contract: ${mismatches.join("; ")}`, []);
  }
  const room = terms.cap - before.amount;
  const wanted = amount ?? room;
  if (wanted <= 0n)
    throw InputError.of({
      file: "--amount",
      path: "$",
      message: `nothing to deposit: ${before.amount} of the cap ${terms.cap} is deposited`,
      fix: "the deposit is full",
    });
  const decimals = await erc20(chain, terms.token, "decimals");
  if (Number(decimals) !== loaded.contract.business.currency.decimals)
    throw new VerdictError(`the token ${terms.token} has ${decimals} decimals, the contract says ${loaded.contract.business.currency.decimals}`, [
      {
        file: loaded.file,
        path: "$.business.currency.decimals",
        message: `is not the token's decimals() ${decimals}`,
        fix: "fix the contract; every party signs it again",
      },
    ]);
  if (action.local && terms.token === LOCAL_TOKEN.address) {
    const balance = await erc20(chain, terms.token, "balanceOf", sender);
    if (balance < wanted)
      await send(
        chain,
        wallet,
        terms.token,
        LOCAL_TOKEN_INTERFACE.encodeFunctionData("mint", [sender, wanted - balance]),
        action.confirmations,
        "minting the local token",
      );
  }
  const allowance = await erc20(chain, terms.token, "allowance", sender, terms.escrow);
  if (allowance < wanted)
    await send(
      chain,
      wallet,
      terms.token,
      LOCAL_TOKEN_INTERFACE.encodeFunctionData("approve", [terms.escrow, wanted]),
      action.confirmations,
      "approving the escrow",
    );
  const kind: PaymentKind = before.status === "open" ? "top-up" : "deposit";
  const data =
    kind === "deposit"
      ? ESCROW_INTERFACE.encodeFunctionData("deposit", [
          { contractHash: terms.contractHash, contractId: terms.contractId, token: terms.token, cap: terms.cap, expiry: terms.expiry, parties: terms.parties },
          wanted,
        ])
      : ESCROW_INTERFACE.encodeFunctionData("topUp", [terms.contractHash, wanted]);
  const sent = await send(chain, wallet, terms.escrow, data, action.confirmations, kind);
  const received = eventAmount(sent.receipt, terms.escrow, "Deposited", "amount");
  const stored = record(kind, chain, loaded, terms, sender, sent, received);
  return { record: stored, file: writePaymentRecord(loaded, stored), deposit: await readDeposit(chain, terms) };
}

/** Releases the deposit against the settlement every party signed (signatures in the deposit's party order). */
export async function release(
  action: Omit<EscrowAction, "local">,
  settlement: { hash: string; digest: string; payouts: readonly { payee: string; amount: string }[]; signatures: ReadonlyMap<string, string> },
): Promise<{ record: PaymentRecord; file: string }> {
  const { chain, wallet, loaded } = action;
  const terms = escrowTerms(loaded);
  await assertEscrow(chain, loaded, terms);
  const onChain = await readDeposit(chain, terms);
  if (onChain.status !== "open")
    throw new VerdictError(`the deposit of ${loaded.id} is ${onChain.status}, not open`, [
      {
        file: loaded.file,
        path: "$.business.escrow",
        message: `the deposit is ${onChain.status}`,
        fix: onChain.status === "none" ? `the consumer deposits first: datomspod escrow deposit ${loaded.id} --key FILE` : "it was paid out already",
      },
    ]);
  const mismatches = termsMismatches(onChain, terms);
  if (mismatches.length > 0) throw new VerdictError(`the deposit of ${loaded.id} has other terms than the contract: ${mismatches.join("; ")}`, []);
  const payouts = settlement.payouts.map((p) => ({ payee: p.payee, amount: BigInt(p.amount) }));
  const digest = (await chain.call("settlementDigest", () =>
    escrowContract(chain, terms.escrow).getFunction("settlementDigest").staticCall(terms.contractHash, terms.consumer, `0x${settlement.hash}`, payouts),
  )) as string;
  if (digest !== settlement.digest)
    throw new ServiceError(`the escrow computes the digest ${digest}, but the parties signed ${settlement.digest}: nothing was sent`);
  const signatures = onChain.parties.map((party) => {
    const signature = settlement.signatures.get(party);
    if (signature === undefined) throw new VerdictError(`${party} has not signed the settlement`, []);
    return signature;
  });
  const sent = await send(
    chain,
    wallet,
    terms.escrow,
    ESCROW_INTERFACE.encodeFunctionData("release", [terms.contractHash, terms.consumer, `0x${settlement.hash}`, payouts, signatures]),
    action.confirmations,
    "release",
  );
  const stored = record("release", chain, loaded, terms, wallet.address, sent, eventAmount(sent.receipt, terms.escrow, "Released", "paid"), {
    settlementHash: settlement.hash,
    refunded: eventAmount(sent.receipt, terms.escrow, "Released", "refunded"),
  });
  return { record: stored, file: writePaymentRecord(loaded, stored) };
}

/** Sends an expired deposit back to the consumer (anyone may). */
export async function refund(action: Omit<EscrowAction, "local">): Promise<{ record: PaymentRecord; file: string }> {
  const { chain, wallet, loaded } = action;
  const terms = escrowTerms(loaded);
  await assertEscrow(chain, loaded, terms);
  const onChain = await readDeposit(chain, terms);
  if (onChain.status !== "open") throw new VerdictError(`the deposit of ${loaded.id} is ${onChain.status}: there is nothing to refund`, []);
  const now = await chainTime(chain);
  if (now < onChain.expiry)
    throw new VerdictError(
      `the deposit of ${loaded.id} expires at ${new Date(onChain.expiry * 1000).toISOString()}; until then only a settlement every party signed releases it`,
      [
        {
          file: loaded.file,
          path: "$.business.escrow.expiry",
          message: "has not passed on chain yet",
          fix: `wait until then, or settle: datomspod settle ${loaded.id}`,
        },
      ],
    );
  const sent = await send(
    chain,
    wallet,
    terms.escrow,
    ESCROW_INTERFACE.encodeFunctionData("refund", [terms.contractHash, terms.consumer]),
    action.confirmations,
    "refund",
  );
  const stored = record("refund", chain, loaded, terms, wallet.address, sent, eventAmount(sent.receipt, terms.escrow, "Refunded", "amount"));
  return { record: stored, file: writePaymentRecord(loaded, stored) };
}

/** Withdraws what the escrow owes the wallet's account in the contract's token. */
export async function withdraw(action: Omit<EscrowAction, "local">): Promise<{ amount: bigint; txHash: string }> {
  const { chain, wallet, loaded } = action;
  const terms = escrowTerms(loaded);
  await assertEscrow(chain, loaded, terms);
  const account = getAddress(wallet.address);
  const amount = await owedTo(chain, terms, account);
  if (amount === 0n)
    throw new VerdictError(`the escrow owes ${account} nothing in ${terms.token}`, [
      {
        file: "--key",
        path: "$",
        message: "nothing is owed to this account",
        fix: "a release credits the payees and the consumer; see datomspod escrow status",
      },
    ]);
  const sent = await send(chain, wallet, terms.escrow, ESCROW_INTERFACE.encodeFunctionData("withdraw", [terms.token]), action.confirmations, "withdraw");
  return { amount, txHash: sent.txHash };
}

/** Deploys the escrow (and on the local chain the local token) at their CREATE2 addresses when missing. */
export async function deployEscrow(chain: Chain, wallet: Wallet, withLocalToken: boolean): Promise<{ escrow: string; token?: string }> {
  await ensureCode(chain, ESCROW, wallet, { file: chain.url, path: "$", message: "escrow" });
  if (withLocalToken) await ensureCode(chain, LOCAL_TOKEN, wallet, { file: chain.url, path: "$", message: "local token" });
  return { escrow: ESCROW.address, ...(withLocalToken ? { token: LOCAL_TOKEN.address } : {}) };
}
