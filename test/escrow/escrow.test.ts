/**
 * The escrow (generator/escrow/Escrow.sol, the committed artifact) on a real anvil node, against
 * every attack the issue names and a few more: a missing or foreign signature, a settlement replayed
 * on another contract, chain, escrow or a second time, the expiry refund, a deposit over the cap, a
 * token that takes a fee on transfer, re-entry through a token hook, contract-wallet (ERC-1271)
 * parties, a front-run deposit, malleable signatures. Signatures are made with the production
 * typed data (generator/settle/typed-data.ts), so the escrow accepts exactly what `datomspod settle`
 * has the parties sign.
 */

import { Contract, Signature, ZeroAddress, getAddress, hexlify, keccak256, randomBytes, recoverAddress, toUtf8Bytes, type Wallet } from "ethers";
import { beforeAll, describe, expect, it } from "vitest";
import { sendAndConfirm, type Chain } from "../../generator/anchor/chain.js";
import { devWallet } from "../../generator/anchor/anvil.js";
import { ESCROW, ESCROW_INTERFACE } from "../../generator/escrow/artifact.js";
import { decodeEscrowRevert, ensureCode, escrowIdOf } from "../../generator/escrow/escrow.js";
import { SECP256K1_HALF_N } from "../../generator/signatures/records.js";
import { SETTLEMENT_TYPES, settlementDomain, type SettlementMessage } from "../../generator/settle/typed-data.js";
import { fileChain, fund } from "../anchor/chain.js";
import { testWallet } from "../helpers/keys.js";
import { deployTest, testContracts } from "./solidity.js";

const getChain = fileChain();
const UNIT = 1_000_000n; // six decimals

interface Terms {
  contractHash: string;
  contractId: string;
  token: string;
  cap: bigint;
  expiry: number;
  parties: string[];
}

interface Payout {
  payee: string;
  amount: bigint;
}

let chain: Chain;
let provider: Wallet;
let consumer: Wallet;
let witness: Wallet;
let stranger: Wallet;

beforeAll(async () => {
  chain = getChain().chain;
  [provider, consumer, witness, stranger] = await Promise.all(
    ["hospital-provider", "health-consumer", "notary-witness", "bank-provider"].map((k) => testWallet(k)),
  );
  for (const wallet of [provider, consumer, witness, stranger, devWallet(9)]) await fund(chain, wallet.address);
  await ensureCode(chain, ESCROW, devWallet(9), { file: "test", path: "$", message: "escrow" });
  testContracts();
}, 120_000);

/** Sends `method(args)` to `to` from `wallet`: "ok", or the custom error as Name(args). */
async function attempt(wallet: Wallet, to: string, data: string): Promise<string> {
  try {
    await sendAndConfirm(chain, wallet, { to, data }, 1);
    return "ok";
  } catch (error) {
    const revert = decodeEscrowRevert(error);
    if (revert === undefined) throw error;
    return `${revert.name}(${revert.args.map(String).join(", ")})`;
  }
}

const call = (method: string, args: readonly unknown[]): string => ESCROW_INTERFACE.encodeFunctionData(method, args);

async function now(): Promise<number> {
  return (await chain.provider.getBlock("latest"))!.timestamp;
}

async function token(name = "TestToken"): Promise<Contract> {
  return deployTest(chain, devWallet(9), name);
}

async function freshTerms(tokenAddress: string, extra: Partial<Terms> = {}): Promise<Terms> {
  return {
    contractHash: hexlify(randomBytes(32)),
    contractId: `contract-${hexlify(randomBytes(4)).slice(2)}`,
    token: tokenAddress,
    cap: 5000n * UNIT,
    expiry: (await now()) + 3600,
    parties: [provider.address, consumer.address, witness.address],
    ...extra,
  };
}

async function mintAndApprove(tok: Contract, owner: Wallet, amount: bigint, spender = ESCROW.address): Promise<void> {
  await sendAndConfirm(chain, devWallet(9), { to: await tok.getAddress(), data: tok.interface.encodeFunctionData("mint", [owner.address, amount]) }, 1);
  await sendAndConfirm(chain, owner, { to: await tok.getAddress(), data: tok.interface.encodeFunctionData("approve", [spender, amount]) }, 1);
}

async function open(terms: Terms, amount: bigint, tok: Contract, from = consumer, escrow = ESCROW.address): Promise<string> {
  await mintAndApprove(tok, from, amount, escrow);
  return attempt(from, escrow, call("deposit", [terms, amount]));
}

function message(terms: Terms, settlementHash: string, payouts: readonly Payout[], consumerAddress = consumer.address): SettlementMessage {
  return {
    contractId: terms.contractId,
    contractHash: terms.contractHash,
    settlementHash,
    token: terms.token,
    consumer: consumerAddress,
    payouts: payouts.map((p) => ({ payee: p.payee, amount: p.amount.toString() })),
  };
}

/** A party's signature as `datomspod settle --key` makes it (optionally over another domain). */
async function sign(
  wallet: Wallet,
  terms: Terms,
  settlementHash: string,
  payouts: readonly Payout[],
  domain: { chainId?: number; escrow?: string; id?: string } = {},
): Promise<string> {
  const typedDomain = settlementDomain({
    id: domain.id ?? terms.contractId,
    chainId: domain.chainId ?? chain.chainId,
    business: { escrow: { address: domain.escrow ?? ESCROW.address, cap: "1", expiry: "2030-01-01T00:00:00Z" } } as never,
  });
  return wallet.signTypedData(typedDomain, SETTLEMENT_TYPES, message(terms, settlementHash, payouts));
}

async function signAll(terms: Terms, settlementHash: string, payouts: readonly Payout[], domain: Parameters<typeof sign>[4] = {}): Promise<string[]> {
  return Promise.all([provider, consumer, witness].map((w) => sign(w, terms, settlementHash, payouts, domain)));
}

const release = (terms: Terms, settlementHash: string, payouts: readonly Payout[], signatures: readonly string[], consumerAddress = consumer.address): string =>
  call("release", [terms.contractHash, consumerAddress, settlementHash, payouts, signatures]);

async function owed(tokenAddress: string, account: string): Promise<bigint> {
  return (await new Contract(ESCROW.address, ESCROW_INTERFACE, chain.provider).getFunction("owed").staticCall(tokenAddress, account)) as bigint;
}

async function balance(tok: Contract, account: string): Promise<bigint> {
  return (await tok.getFunction("balanceOf").staticCall(account)) as bigint;
}

async function depositOf(terms: Terms, consumerAddress = consumer.address): Promise<{ status: bigint; amount: bigint; parties: string[] }> {
  return (await new Contract(ESCROW.address, ESCROW_INTERFACE, chain.provider)
    .getFunction("depositOf")
    .staticCall(escrowIdOf(terms.contractHash, consumerAddress))) as never;
}

const SETTLEMENT = `0x${"5e".repeat(32)}`;

describe("the escrow on anvil", () => {
  it("happy path: deposit up to the cap, release against every party's signature, payees and consumer withdraw", async () => {
    const tok = await token();
    const address = await tok.getAddress();
    const terms = await freshTerms(address);
    const payouts = [
      { payee: provider.address, amount: 2000n * UNIT },
      { payee: witness.address, amount: 300n * UNIT },
    ];

    const deposited = await open(terms, 5000n * UNIT, tok);
    const released = await attempt(stranger, ESCROW.address, release(terms, SETTLEMENT, payouts, await signAll(terms, SETTLEMENT, payouts)));
    const credits = [await owed(address, provider.address), await owed(address, witness.address), await owed(address, consumer.address)];
    const withdrawals = [
      await attempt(provider, ESCROW.address, call("withdraw", [address])),
      await attempt(witness, ESCROW.address, call("withdraw", [address])),
      await attempt(consumer, ESCROW.address, call("withdraw", [address])),
      await attempt(provider, ESCROW.address, call("withdraw", [address])),
    ];

    expect([deposited, released]).toEqual(["ok", "ok"]);
    expect(credits).toEqual([2000n * UNIT, 300n * UNIT, 2700n * UNIT]);
    expect(withdrawals).toEqual(["ok", "ok", "ok", `Escrow__NothingOwed(${provider.address})`]);
    expect([
      await balance(tok, provider.address),
      await balance(tok, witness.address),
      await balance(tok, consumer.address),
      await balance(tok, ESCROW.address),
    ]).toEqual([2000n * UNIT, 300n * UNIT, 2700n * UNIT, 0n]);
    expect((await depositOf(terms)).status).toBe(2n); // Released
  });

  it("the escrow's digest is the one the parties sign (the same typed data as datomspod settle)", async () => {
    const tok = await token();
    const terms = await freshTerms(await tok.getAddress());
    await open(terms, UNIT, tok);
    const payouts = [{ payee: provider.address, amount: 1n }];
    const escrow = new Contract(ESCROW.address, ESCROW_INTERFACE, chain.provider);

    const onChain = (await escrow.getFunction("settlementDigest").staticCall(terms.contractHash, consumer.address, SETTLEMENT, payouts)) as string;
    const signature = await sign(provider, terms, SETTLEMENT, payouts);

    expect(recoverAddress(onChain, signature)).toBe(provider.address);
  });

  describe("signatures", () => {
    it.each([
      ["one party missing (two signatures for three parties)", (s: string[]) => s.slice(0, 2), () => "Escrow__SignatureCount(3, 2)"],
      ["one party's signature replaced by another party's", (s: string[]) => [s[0], s[0], s[2]], () => `Escrow__InvalidSignature(${consumer.address})`],
      ["the signatures in another order", (s: string[]) => [s[1], s[0], s[2]], () => `Escrow__InvalidSignature(${provider.address})`],
      ["an empty signature", (s: string[]) => [s[0], "0x", s[2]], () => `Escrow__InvalidSignature(${consumer.address})`],
      ["garbage bytes", (s: string[]) => [s[0], s[1], hexlify(randomBytes(65))], () => `Escrow__InvalidSignature(${witness.address})`],
    ])("%s: refused", async (_name, tamper, expected) => {
      const tok = await token();
      const terms = await freshTerms(await tok.getAddress());
      await open(terms, 5000n * UNIT, tok);
      const payouts = [{ payee: provider.address, amount: 2000n * UNIT }];

      const result = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, tamper(await signAll(terms, SETTLEMENT, payouts))));

      expect(result).toBe(expected());
      expect((await depositOf(terms)).status).toBe(1n); // still Open
    });

    it("a payee cannot change the payouts the parties signed (the well-known escrow's unchecked proof)", async () => {
      const tok = await token();
      const terms = await freshTerms(await tok.getAddress());
      await open(terms, 5000n * UNIT, tok);
      const signed = [{ payee: provider.address, amount: 2000n * UNIT }];
      const signatures = await signAll(terms, SETTLEMENT, signed);

      const more = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, [{ payee: provider.address, amount: 5000n * UNIT }], signatures));
      const otherHash = await attempt(provider, ESCROW.address, release(terms, `0x${"ab".repeat(32)}`, signed, signatures));
      const alone = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, signed, [signatures[0], signatures[0], signatures[0]]));

      expect([more, otherHash, alone]).toEqual([
        `Escrow__InvalidSignature(${provider.address})`,
        `Escrow__InvalidSignature(${provider.address})`,
        `Escrow__InvalidSignature(${consumer.address})`,
      ]);
    });

    it("a malleable (high-s) twin of a valid signature is refused", async () => {
      const tok = await token();
      const terms = await freshTerms(await tok.getAddress());
      await open(terms, UNIT, tok);
      const payouts = [{ payee: provider.address, amount: 1n }];
      const signatures = await signAll(terms, SETTLEMENT, payouts);
      const low = Signature.from(signatures[0]);
      const N = SECP256K1_HALF_N * 2n + 1n;
      const highS = `0x${(N - BigInt(low.s)).toString(16).padStart(64, "0")}`;
      const twin = `${low.r}${highS.slice(2)}${(low.v === 27 ? 28 : 27).toString(16)}`;

      const result = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, [twin, signatures[1], signatures[2]]));

      expect(result).toBe(`Escrow__InvalidSignature(${provider.address})`);
    });
  });

  describe("replays", () => {
    it("a settlement of another contract (same parties, same amounts) does not release this one", async () => {
      const tok = await token();
      const a = await freshTerms(await tok.getAddress());
      const b = await freshTerms(await tok.getAddress());
      await open(a, 100n * UNIT, tok);
      await open(b, 100n * UNIT, tok);
      const payouts = [{ payee: provider.address, amount: 100n * UNIT }];

      const replayed = await attempt(provider, ESCROW.address, release(b, SETTLEMENT, payouts, await signAll(a, SETTLEMENT, payouts)));
      const sameHashOtherId = await attempt(
        provider,
        ESCROW.address,
        release(b, SETTLEMENT, payouts, await signAll({ ...b, contractId: a.contractId }, SETTLEMENT, payouts, { id: a.contractId })),
      );

      expect([replayed, sameHashOtherId]).toEqual([`Escrow__InvalidSignature(${provider.address})`, `Escrow__InvalidSignature(${provider.address})`]);
    });

    it("a settlement signed for another chain does not release", async () => {
      const tok = await token();
      const terms = await freshTerms(await tok.getAddress());
      await open(terms, 100n * UNIT, tok);
      const payouts = [{ payee: provider.address, amount: 100n * UNIT }];

      const result = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, await signAll(terms, SETTLEMENT, payouts, { chainId: 1 })));

      expect(result).toBe(`Escrow__InvalidSignature(${provider.address})`);
    });

    it("a settlement signed for another escrow does not release this one, nor the other with this one's", async () => {
      const tok = await token();
      // A second escrow of the same code at another address (plain CREATE).
      const { receipt } = await sendAndConfirm(chain, devWallet(9), { data: ESCROW.bytecode }, 1);
      const second = getAddress(receipt.contractAddress!);
      const terms = await freshTerms(await tok.getAddress());
      await open(terms, 100n * UNIT, tok);
      await open(terms, 100n * UNIT, tok, consumer, second);
      const payouts = [{ payee: provider.address, amount: 100n * UNIT }];

      const here = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, await signAll(terms, SETTLEMENT, payouts, { escrow: second })));
      const there = await attempt(provider, second, release(terms, SETTLEMENT, payouts, await signAll(terms, SETTLEMENT, payouts)));

      expect([here, there]).toEqual([`Escrow__InvalidSignature(${provider.address})`, `Escrow__InvalidSignature(${provider.address})`]);
    });

    it("a settlement is used once: a second release fails, and the deposit cannot be opened again", async () => {
      const tok = await token();
      const terms = await freshTerms(await tok.getAddress());
      await open(terms, 100n * UNIT, tok);
      const payouts = [{ payee: provider.address, amount: 60n * UNIT }];
      const signatures = await signAll(terms, SETTLEMENT, payouts);

      const first = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, signatures));
      const second = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, signatures));
      const reopened = await open(terms, 100n * UNIT, tok);
      const escrowId = escrowIdOf(terms.contractHash, consumer.address);

      expect([first, second, reopened]).toEqual(["ok", `Escrow__NotOpen(${escrowId}, 2)`, `Escrow__AlreadyOpened(${escrowId})`]);
      expect(await owed(terms.token, provider.address)).toBeGreaterThanOrEqual(60n * UNIT);
    });
  });

  describe("expiry", () => {
    it("after the expiry anyone refunds the whole deposit to the consumer; nothing can be released or added any more", async () => {
      const tok = await token();
      const terms = await freshTerms(await tok.getAddress());
      await open(terms, 700n * UNIT, tok);
      const payouts = [{ payee: provider.address, amount: 100n * UNIT }];
      const signatures = await signAll(terms, SETTLEMENT, payouts);
      const escrowId = escrowIdOf(terms.contractHash, consumer.address);

      const early = await attempt(stranger, ESCROW.address, call("refund", [terms.contractHash, consumer.address]));
      await chain.provider.send("evm_increaseTime", [3600]);
      await chain.provider.send("evm_mine", []);
      const lateRelease = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, signatures));
      await mintAndApprove(tok, consumer, UNIT);
      const lateTopUp = await attempt(consumer, ESCROW.address, call("topUp", [terms.contractHash, UNIT]));
      const before = await balance(tok, consumer.address);
      const refunded = await attempt(stranger, ESCROW.address, call("refund", [terms.contractHash, consumer.address]));
      const again = await attempt(stranger, ESCROW.address, call("refund", [terms.contractHash, consumer.address]));

      expect([early, lateRelease, lateTopUp, refunded, again]).toEqual([
        `Escrow__NotExpired(${terms.expiry})`,
        `Escrow__Expired(${terms.expiry})`,
        `Escrow__Expired(${terms.expiry})`,
        "ok",
        `Escrow__NotOpen(${escrowId}, 3)`,
      ]);
      expect((await balance(tok, consumer.address)) - before).toBe(700n * UNIT);
      expect(await owed(terms.token, provider.address)).toBe(0n);
    });

    it("a deposit cannot be opened with an expiry in the past", async () => {
      const tok = await token();
      const terms = await freshTerms(await tok.getAddress(), { expiry: (await now()) - 1 });

      expect(await open(terms, UNIT, tok)).toMatch(/^Escrow__ExpiryPassed\(/);
    });
  });

  describe("the cap", () => {
    it("a deposit over the cap is refused, at once or in a top-up", async () => {
      const tok = await token();
      const terms = await freshTerms(await tok.getAddress(), { cap: 1000n * UNIT });

      const over = await open(terms, 1000n * UNIT + 1n, tok);
      const exact = await open(terms, 1000n * UNIT, tok);
      await mintAndApprove(tok, consumer, 1n);
      const topUp = await attempt(consumer, ESCROW.address, call("topUp", [terms.contractHash, 1n]));

      expect([over, exact, topUp]).toEqual([
        `Escrow__AboveCap(${1000n * UNIT}, 0, ${1000n * UNIT + 1n})`,
        "ok",
        `Escrow__AboveCap(${1000n * UNIT}, ${1000n * UNIT}, 1)`,
      ]);
      expect((await depositOf(terms)).amount).toBe(1000n * UNIT);
    });

    it("payouts over the deposit are refused even when every party signed them", async () => {
      const tok = await token();
      const terms = await freshTerms(await tok.getAddress());
      await open(terms, 100n * UNIT, tok);
      const payouts = [{ payee: provider.address, amount: 100n * UNIT + 1n }];

      const result = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, await signAll(terms, SETTLEMENT, payouts)));

      expect(result).toBe(`Escrow__PayoutsExceedDeposit(${100n * UNIT + 1n}, ${100n * UNIT})`);
    });
  });

  it("a fee-on-transfer token: the deposit is what arrived, payouts cannot exceed it, and the escrow stays solvent", async () => {
    const tok = await token("FeeToken");
    const address = await tok.getAddress();
    const terms = await freshTerms(address);

    await open(terms, 1000n * UNIT, tok);
    const credited = (await depositOf(terms)).amount;
    const tooMuch = [{ payee: provider.address, amount: 1000n * UNIT }];
    const refused = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, tooMuch, await signAll(terms, SETTLEMENT, tooMuch)));
    const fits = [{ payee: provider.address, amount: 900n * UNIT }];
    const released = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, fits, await signAll(terms, SETTLEMENT, fits)));
    const solventAfterRelease = (await balance(tok, ESCROW.address)) >= (await owed(address, provider.address)) + (await owed(address, consumer.address));
    await attempt(provider, ESCROW.address, call("withdraw", [address]));
    await attempt(consumer, ESCROW.address, call("withdraw", [address]));

    expect(credited).toBe(990n * UNIT);
    expect(refused).toBe(`Escrow__PayoutsExceedDeposit(${1000n * UNIT}, ${990n * UNIT})`);
    expect(released).toBe("ok");
    expect(solventAfterRelease).toBe(true);
    expect(await balance(tok, provider.address)).toBe(891n * UNIT); // 900 less the token's 1 %
    expect(await balance(tok, ESCROW.address)).toBe(0n);
  });

  describe("re-entry through a token's transfer hook", () => {
    async function hostileSetup(): Promise<{ tok: Contract; attacker: Contract; terms: Terms; address: string }> {
      const tok = await token("ReentrantToken");
      const address = await tok.getAddress();
      const attacker = await deployTest(chain, devWallet(9), "Attacker", ESCROW.address);
      const attackerAddress = await attacker.getAddress();
      const terms = await freshTerms(address, { parties: [attackerAddress, consumer.address, witness.address] });
      await open(terms, 1000n * UNIT, tok);
      const payouts = [{ payee: attackerAddress, amount: 400n * UNIT }];
      const escrow = new Contract(ESCROW.address, ESCROW_INTERFACE, chain.provider);
      const digest = (await escrow.getFunction("settlementDigest").staticCall(terms.contractHash, consumer.address, SETTLEMENT, payouts)) as string;
      await sendAndConfirm(chain, devWallet(9), { to: attackerAddress, data: attacker.interface.encodeFunctionData("approveDigest", [digest]) }, 1);
      const [, c, w] = await signAll(terms, SETTLEMENT, payouts);
      // The attacker is an ERC-1271 party: its "signature" is whatever it approves.
      expect(await attempt(stranger, ESCROW.address, release(terms, SETTLEMENT, payouts, ["0x", c, w]))).toBe("ok");
      await sendAndConfirm(chain, devWallet(9), { to: address, data: tok.interface.encodeFunctionData("setHook", [attackerAddress]) }, 1);
      return { tok, attacker, terms, address };
    }

    it.each([
      ["withdraw again", (address: string) => call("withdraw", [address])],
      ["refund", (_address: string, terms: Terms) => call("refund", [terms.contractHash, consumer.address])],
      ["top up", (_address: string, terms: Terms) => call("topUp", [terms.contractHash, 1n])],
    ])("a withdrawal whose transfer calls back to %s: the re-entry fails and the attacker gets what it is owed once", async (_name, reentry) => {
      const { tok, attacker, terms, address } = await hostileSetup();
      const attackerAddress = await attacker.getAddress();
      await sendAndConfirm(
        chain,
        devWallet(9),
        { to: attackerAddress, data: attacker.interface.encodeFunctionData("setAttack", [reentry(address, terms)]) },
        1,
      );

      const withdrawn = await attempt(devWallet(9), attackerAddress, attacker.interface.encodeFunctionData("exec", [call("withdraw", [address])]));

      expect(withdrawn).toBe("ok");
      expect(await attacker.getFunction("attempts").staticCall()).toBe(1n);
      expect(await attacker.getFunction("reentered").staticCall()).toBe(false);
      expect(ESCROW_INTERFACE.parseError((await attacker.getFunction("reentryError").staticCall()) as string)?.name).toBe("ReentrancyGuardReentrantCall");
      expect(await balance(tok, attackerAddress)).toBe(400n * UNIT);
      expect(await owed(address, attackerAddress)).toBe(0n);
      expect(await balance(tok, ESCROW.address)).toBe(await owed(address, consumer.address));
    });

    it("a deposit whose transferFrom calls back into release: the re-entry fails, the deposit is unchanged by it", async () => {
      const tok = await token("ReentrantToken");
      const address = await tok.getAddress();
      const attacker = await deployTest(chain, devWallet(9), "Attacker", ESCROW.address);
      const attackerAddress = await attacker.getAddress();
      const terms = await freshTerms(address);
      const payouts = [{ payee: provider.address, amount: 1n }];
      await sendAndConfirm(
        chain,
        devWallet(9),
        {
          to: attackerAddress,
          data: attacker.interface.encodeFunctionData("setAttack", [release(terms, SETTLEMENT, payouts, await signAll(terms, SETTLEMENT, payouts))]),
        },
        1,
      );
      await sendAndConfirm(chain, devWallet(9), { to: address, data: tok.interface.encodeFunctionData("setHook", [attackerAddress]) }, 1);

      const deposited = await open(terms, 10n * UNIT, tok);

      expect(deposited).toBe("ok");
      expect(await attacker.getFunction("attempts").staticCall()).toBe(1n);
      expect(await attacker.getFunction("reentered").staticCall()).toBe(false);
      expect(ESCROW_INTERFACE.parseError((await attacker.getFunction("reentryError").staticCall()) as string)?.name).toBe("ReentrancyGuardReentrantCall");
      expect((await depositOf(terms)).status).toBe(1n);
      expect((await depositOf(terms)).amount).toBe(10n * UNIT);
    });
  });

  describe("contract-wallet parties (ERC-1271)", () => {
    it("a wallet party signs through its owner; a wallet whose owner did not sign is refused", async () => {
      const tok = await token();
      const wallet = await deployTest(chain, devWallet(9), "Wallet1271", stranger.address);
      const walletAddress = await wallet.getAddress();
      const terms = await freshTerms(await tok.getAddress(), { parties: [walletAddress, consumer.address, witness.address] });
      await open(terms, 100n * UNIT, tok);
      const payouts = [{ payee: walletAddress, amount: 100n * UNIT }];
      const [, c, w] = await signAll(terms, SETTLEMENT, payouts);
      const escrow = new Contract(ESCROW.address, ESCROW_INTERFACE, chain.provider);
      const digest = (await escrow.getFunction("settlementDigest").staticCall(terms.contractHash, consumer.address, SETTLEMENT, payouts)) as string;

      const notOwner = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, [provider.signingKey.sign(digest).serialized, c, w]));
      const byOwner = await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, [stranger.signingKey.sign(digest).serialized, c, w]));
      const withdrawn = await attempt(
        stranger,
        walletAddress,
        wallet.interface.encodeFunctionData("execute", [ESCROW.address, call("withdraw", [terms.token])]),
      );

      expect([notOwner, byOwner, withdrawn]).toEqual([`Escrow__InvalidSignature(${walletAddress})`, "ok", "ok"]);
      expect(await balance(tok, walletAddress)).toBe(100n * UNIT);
    });
  });

  describe("who deposits, and for whom", () => {
    it("a deposit by someone else against the same contract hash does not occupy the consumer's", async () => {
      const tok = await token();
      const terms = await freshTerms(await tok.getAddress(), { parties: [provider.address, consumer.address, witness.address, stranger.address] });

      const squatter = await open(terms, UNIT, tok, stranger);
      const real = await open(terms, 10n * UNIT, tok);

      expect([squatter, real]).toEqual(["ok", "ok"]);
      expect(escrowIdOf(terms.contractHash, stranger.address)).not.toBe(escrowIdOf(terms.contractHash, consumer.address));
      expect((await depositOf(terms)).amount).toBe(10n * UNIT);
    });

    it.each([
      [
        "the consumer not among the parties",
        (t: Terms) => ({ ...t, parties: [provider.address, witness.address] }),
        () => `Escrow__ConsumerNotParty(${consumer.address})`,
      ],
      [
        "a party twice",
        (t: Terms) => ({ ...t, parties: [provider.address, consumer.address, provider.address] }),
        () => `Escrow__DuplicateParty(${provider.address})`,
      ],
      ["the zero address as a party", (t: Terms) => ({ ...t, parties: [ZeroAddress, consumer.address] }), () => "Escrow__ZeroParty(0)"],
      ["no token", (t: Terms) => ({ ...t, token: ZeroAddress }), () => "Escrow__ZeroToken()"],
      ["a zero cap", (t: Terms) => ({ ...t, cap: 0n }), () => "Escrow__ZeroCap()"],
      ["an empty contract id", (t: Terms) => ({ ...t, contractId: "" }), () => "Escrow__EmptyContractId()"],
      [
        "17 parties",
        (t: Terms) => ({
          ...t,
          parties: [consumer.address, ...Array.from({ length: 16 }, (_, i) => getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`))],
        }),
        () => "Escrow__PartyCount(17)",
      ],
    ])("refuses terms with %s", async (_name, change, expected) => {
      const tok = await token();
      const terms = change(await freshTerms(await tok.getAddress()));

      expect(await open(terms, UNIT, tok)).toBe(expected());
    });

    it.each([
      ["a payee who is not a party", (p: Payout[]) => [...p, { payee: stranger.address, amount: 1n }], () => `Escrow__PayeeNotParty(${stranger.address})`],
      ["a payee twice", (p: Payout[]) => [...p, p[0]], () => `Escrow__DuplicatePayee(${provider.address})`],
      ["a zero payout", (p: Payout[]) => [{ payee: witness.address, amount: 0n }, ...p], () => `Escrow__ZeroPayout(${witness.address})`],
    ])("refuses payouts with %s, however signed", async (_name, change, expected) => {
      const tok = await token();
      const terms = await freshTerms(await tok.getAddress());
      await open(terms, 100n * UNIT, tok);
      const payouts = change([{ payee: provider.address, amount: 10n * UNIT }]);

      expect(await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, await signAll(terms, SETTLEMENT, payouts)))).toBe(expected());
    });
  });

  it("emits past-tense events with indexed ids, right after each change", async () => {
    const tok = await token();
    const terms = await freshTerms(await tok.getAddress());
    const from = await chain.provider.getBlockNumber();
    await open(terms, 10n * UNIT, tok);
    const payouts = [{ payee: provider.address, amount: 4n * UNIT }];
    await attempt(provider, ESCROW.address, release(terms, SETTLEMENT, payouts, await signAll(terms, SETTLEMENT, payouts)));
    await attempt(provider, ESCROW.address, call("withdraw", [terms.token]));

    const logs = await chain.provider.getLogs({ address: ESCROW.address, fromBlock: from + 1 });
    const names = logs.map((log) => ESCROW_INTERFACE.parseLog(log)!.name);

    expect(names).toEqual(["Opened", "Deposited", "Credited", "Credited", "Released", "Withdrawn"]);
    const escrowId = escrowIdOf(terms.contractHash, consumer.address);
    expect(logs[0].topics).toEqual([
      ESCROW_INTERFACE.getEvent("Opened")!.topicHash,
      escrowId,
      terms.contractHash,
      `0x${consumer.address.slice(2).toLowerCase().padStart(64, "0")}`,
    ]);
    expect(ESCROW_INTERFACE.parseLog(logs[0])!.args.toObject()).toMatchObject({ contractId: terms.contractId, cap: terms.cap });
    expect((await new Contract(ESCROW.address, ESCROW_INTERFACE, chain.provider).getFunction("depositOf").staticCall(escrowId)).contractIdHash).toBe(
      keccak256(toUtf8Bytes(terms.contractId)),
    );
  });
});
