import { join, resolve } from "node:path";
import type { Wallet } from "ethers";
import { loadContract, type LoadedContract } from "../../contract/load.js";
import { formatDecimal, fromBigInt, parseDecimal, shift } from "../../contract/money.js";
import { InputError, VerdictError } from "../../errors.js";
import { devWallet } from "../../anchor/anvil.js";
import { fundOnLocalChain, openChainSession, type ChainSession } from "../../anchor/session.js";
import { ESCROW, LOCAL_TOKEN } from "../../escrow/artifact.js";
import {
  assertEscrow,
  chainTime,
  deployEscrow,
  deposit,
  escrowTerms,
  owedTo,
  readDeposit,
  refund,
  release,
  termsMismatches,
  withdraw,
} from "../../escrow/escrow.js";
import { gatherFacts } from "../../lifecycle/facts.js";
import { display, readJsonFile } from "../../repo/files.js";
import { assertContractId } from "../../repo/layout.js";
import { loadKeystore, readPassword } from "../../signatures/keys.js";
import { payoutsOf } from "../../settle/price.js";
import { SETTLEMENT_SIGNATURES_FOLDER, type SettlementSignature } from "../../settle/signatures.js";
import { settlementDigest, settlementMessage } from "../../settle/typed-data.js";
import type { Command, Context, Values } from "../command.js";
import { stringOption } from "../options.js";
import { CHAIN_HELP, chainSpec, confirmationsOption } from "./anchor.js";

/** The local chain's account that deploys the escrow and sends what anyone may send (ad hoc mode; a public key). */
export const LOCAL_ESCROW_ACCOUNT = 9;

const CHAIN_OPTIONS = { chain: { type: "string" }, key: { type: "string" }, confirmations: { type: "string" } } as const;

async function session(ctx: Context, values: Values): Promise<ChainSession> {
  // deployLocal: the local anchor contract is deployed first, so its address stays anvil's first deployment.
  const opened = await openChainSession(ctx.repo, { spec: chainSpec(values), deployLocal: true, createLocal: true });
  try {
    if (opened.local) {
      const deployer = devWallet(LOCAL_ESCROW_ACCOUNT);
      await fundOnLocalChain(opened, deployer);
      await deployEscrow(opened.chain, deployer, true);
    }
    return opened;
  } catch (error) {
    await opened.close();
    throw error;
  }
}

/** --key FILE, or (optional: anyone may send it) on the local chain its development account. */
async function sender(ctx: Context, values: Values, opened: ChainSession, required: boolean, role: string): Promise<Wallet> {
  const file = stringOption(values, "key");
  if (file === undefined) {
    if (!required && opened.local) return devWallet(LOCAL_ESCROW_ACCOUNT);
    throw InputError.of({
      file: "command line",
      path: "--key",
      message: `--key is required: ${role}`,
      fix: "pass --key FILE, an encrypted keystore (datomspod keys new)",
    });
  }
  const wallet = await loadKeystore(resolve(ctx.cwd, file), await readPassword("Keystore password: "));
  await fundOnLocalChain(opened, wallet);
  return wallet;
}

function money(loaded: LoadedContract, units: bigint): string {
  const { decimals, symbol } = loaded.contract.business.currency;
  return `${formatDecimal(shift(fromBigInt(units), -decimals))} ${symbol}`;
}

function amountOption(loaded: LoadedContract, values: Values): bigint | undefined {
  const text = stringOption(values, "amount");
  if (text === undefined) return undefined;
  const { decimals, symbol } = loaded.contract.business.currency;
  let units: bigint | undefined;
  try {
    const d = shift(parseDecimal(text), decimals);
    units = d.scale === 0 && d.units > 0n ? d.units : undefined;
  } catch {
    units = undefined;
  }
  if (units === undefined)
    throw InputError.of({
      file: "command line",
      path: "--amount",
      message: `${JSON.stringify(text)} is not a positive amount in whole units of 10^-${decimals} ${symbol}`,
      fix: "e.g. --amount 2500.5",
    });
  return units;
}

export const escrowDeploy: Command = {
  name: ["escrow", "deploy"],
  summary: "deploy the escrow at its CREATE2 address and print it (the address contracts name in business.escrow)",
  usage: "[--chain local|URL] [--key FILE]",
  help: `${CHAIN_HELP}\nThe escrow is deployed through the deterministic CREATE2 deployer, so its address is a function of its bytecode: ${ESCROW.address} on every chain. On the local chain the worthless local token (DLD, 6 decimals) is deployed too, at ${LOCAL_TOKEN.address}.`,
  options: CHAIN_OPTIONS,
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const opened = await session(ctx, values);
    try {
      const deployed = opened.local
        ? { escrow: ESCROW.address, token: LOCAL_TOKEN.address }
        : await deployEscrow(opened.chain, await sender(ctx, values, opened, true, "it pays for the deployment"), false);
      ctx.emit(
        { chainId: opened.chain.chainId, ...deployed },
        [
          `escrow ${deployed.escrow} on chain ${opened.chain.chainId}`,
          ...(deployed.token === undefined ? [] : [`local token ${deployed.token} (DLD, 6 decimals; anyone mints: local chain only)`]),
        ].join("\n"),
      );
      return 0;
    } finally {
      await opened.close();
    }
  },
};

export const escrowDeposit: Command = {
  name: ["escrow", "deposit"],
  summary: "as the consumer, deposit the contract's token in its escrow (default: up to the cap); records contracts/ID/payments/",
  usage: "ID --key FILE [--amount DECIMAL] [--chain local|URL]",
  help: `${CHAIN_HELP}\nThe deposit records the contract's hash, token, cap, expiry and every party; only a settlement all of them sign releases it. The escrow's code and the token's decimals are checked first. On the local chain the local token is minted to the consumer as needed.`,
  options: { ...CHAIN_OPTIONS, amount: { type: "string" } },
  positionals: [1, 1],
  async run(ctx, [id = ""], values) {
    const loaded = loadContract(ctx.repo, assertContractId(id));
    const amount = amountOption(loaded, values);
    const confirmations = confirmationsOption(values);
    const opened = await session(ctx, values);
    try {
      const wallet = await sender(ctx, values, opened, true, "the consumer deposits");
      const done = await deposit({ chain: opened.chain, wallet, loaded, confirmations, local: opened.local }, amount);
      ctx.emit(
        { contract: id, record: done.record, file: display(ctx.repo, done.file), deposited: done.deposit.amount.toString(), cap: done.deposit.cap.toString() },
        `${done.record.kind} of ${money(loaded, BigInt(done.record.amount))} into escrow ${done.record.escrow} (tx ${done.record.txHash}, block ${done.record.blockNumber}); it holds ${money(loaded, done.deposit.amount)} of the cap ${money(loaded, done.deposit.cap)}\nrecorded ${display(ctx.repo, done.file)}`,
      );
      return 0;
    } finally {
      await opened.close();
    }
  },
};

export const escrowStatus: Command = {
  name: ["escrow", "status"],
  summary: "the contract's deposit on chain: status, amount, expiry, whether its terms are the contract's, what each party is owed",
  usage: "ID [--chain local|URL]",
  help: `${CHAIN_HELP}\nExit 1 when the deposit's terms differ from the contract's (consumer, token, cap, expiry, contract id or parties): do not run against such a deposit.`,
  options: { chain: { type: "string" } },
  positionals: [1, 1],
  async run(ctx, [id = ""], values) {
    const loaded = loadContract(ctx.repo, assertContractId(id));
    const terms = escrowTerms(loaded);
    const opened = await session(ctx, values);
    try {
      await assertEscrow(opened.chain, loaded, terms);
      const onChain = await readDeposit(opened.chain, terms);
      const mismatches = onChain.status === "none" ? [] : termsMismatches(onChain, terms);
      const owed = await Promise.all(
        loaded.contract.parties.map(async (p) => ({ address: p.address, name: p.name, owed: (await owedTo(opened.chain, terms, p.address)).toString() })),
      );
      const now = await chainTime(opened.chain);
      ctx.emit(
        {
          contract: id,
          escrow: terms.escrow,
          escrowId: terms.escrowId,
          status: onChain.status,
          amount: onChain.amount.toString(),
          cap: terms.cap.toString(),
          expiry: terms.expiry,
          expired: now >= terms.expiry,
          termsMatch: mismatches.length === 0,
          mismatches,
          owed,
        },
        [
          `escrow ${terms.escrow} on chain ${opened.chain.chainId}, deposit ${terms.escrowId}`,
          `  ${onChain.status}${onChain.status === "none" ? "" : `: holds ${money(loaded, onChain.amount)} of the cap ${money(loaded, terms.cap)}`}; expiry ${loaded.contract.business.escrow!.expiry}${now >= terms.expiry ? " (passed: anyone can refund)" : ""}`,
          mismatches.length === 0
            ? onChain.status === "none"
              ? "  no deposit yet"
              : "  its terms are the contract's (consumer, token, cap, expiry, contract id, every party)"
            : `  TERMS DIFFER: ${mismatches.join("; ")}`,
          ...owed
            .filter((o) => o.owed !== "0")
            .map((o) => `  owed to ${o.name}: ${money(loaded, BigInt(o.owed))} (datomspod escrow withdraw ${id} --key FILE)`),
        ].join("\n"),
      );
      return mismatches.length === 0 ? 0 : 1;
    } finally {
      await opened.close();
    }
  },
};

export const escrowRelease: Command = {
  name: ["escrow", "release"],
  summary: "release the deposit against the settlement every party signed: payees and the consumer are credited; records contracts/ID/payments/",
  usage: "ID [--key FILE] [--chain local|URL]",
  help: `${CHAIN_HELP}\nAnyone may send it (on the local chain, without --key, a development account does): only the signatures count. The settlement must verify first (datomspod settle ID), and the escrow's own digest must equal the one signed.`,
  options: CHAIN_OPTIONS,
  positionals: [1, 1],
  async run(ctx, [id = ""], values) {
    const loaded = loadContract(ctx.repo, assertContractId(id));
    const facts = gatherFacts(ctx.repo, loaded, ctx.now.getTime());
    const verdict = facts.settlement;
    if (!verdict.present)
      throw InputError.of({ file: `contracts/${id}/settlement.json`, path: "$", message: "does not exist", fix: `write it: datomspod settle ${id}` });
    if (!verdict.agreed || verdict.priced === undefined || verdict.hash === undefined)
      throw new VerdictError(`the settlement of ${id} is not signed by every party, or no longer what the receipts price; nothing was sent`, verdict.issues);
    const signatures = new Map<string, string>();
    for (const party of loaded.contract.parties) {
      const path = join(loaded.dir, SETTLEMENT_SIGNATURES_FOLDER, `${party.address}.json`);
      signatures.set(party.address, (readJsonFile(path, display(ctx.repo, path)) as unknown as SettlementSignature).signature);
    }
    const message = settlementMessage(verdict.priced, verdict.hash);
    const confirmations = confirmationsOption(values);
    const opened = await session(ctx, values);
    try {
      const wallet = await sender(ctx, values, opened, false, "it pays for the transaction (any account)");
      const done = await release(
        { chain: opened.chain, wallet, loaded, confirmations },
        { hash: verdict.hash, digest: settlementDigest(loaded.contract, message), payouts: payoutsOf(verdict.priced), signatures },
      );
      ctx.emit(
        { contract: id, record: done.record, file: display(ctx.repo, done.file) },
        [
          `released: ${money(loaded, BigInt(done.record.amount))} to the payees, ${money(loaded, BigInt(done.record.refunded ?? "0"))} back to the consumer (tx ${done.record.txHash}, block ${done.record.blockNumber})`,
          ...payoutsOf(verdict.priced).map(
            (p) => `  ${loaded.contract.parties.find((party) => party.address === p.payee)?.name ?? p.payee}: ${money(loaded, BigInt(p.amount))}`,
          ),
          `recorded ${display(ctx.repo, done.file)}; each payee withdraws with datomspod escrow withdraw ${id} --key FILE`,
        ].join("\n"),
      );
      return 0;
    } finally {
      await opened.close();
    }
  },
};

export const escrowRefund: Command = {
  name: ["escrow", "refund"],
  summary: "after the escrow's expiry, send the whole deposit back to the consumer (anyone may); records contracts/ID/payments/",
  usage: "ID [--key FILE] [--chain local|URL]",
  help: CHAIN_HELP,
  options: CHAIN_OPTIONS,
  positionals: [1, 1],
  async run(ctx, [id = ""], values) {
    const loaded = loadContract(ctx.repo, assertContractId(id));
    const confirmations = confirmationsOption(values);
    const opened = await session(ctx, values);
    try {
      const wallet = await sender(ctx, values, opened, false, "it pays for the transaction (any account)");
      const done = await refund({ chain: opened.chain, wallet, loaded, confirmations });
      ctx.emit(
        { contract: id, record: done.record, file: display(ctx.repo, done.file) },
        `refunded ${money(loaded, BigInt(done.record.amount))} to the consumer ${done.record.consumer} (tx ${done.record.txHash})\nrecorded ${display(ctx.repo, done.file)}`,
      );
      return 0;
    } finally {
      await opened.close();
    }
  },
};

export const escrowWithdraw: Command = {
  name: ["escrow", "withdraw"],
  summary: "withdraw what the escrow owes your account in the contract's token (pull payment)",
  usage: "ID --key FILE [--chain local|URL]",
  help: CHAIN_HELP,
  options: CHAIN_OPTIONS,
  positionals: [1, 1],
  async run(ctx, [id = ""], values) {
    const loaded = loadContract(ctx.repo, assertContractId(id));
    const confirmations = confirmationsOption(values);
    const opened = await session(ctx, values);
    try {
      const wallet = await sender(ctx, values, opened, true, "the account that is owed withdraws");
      const done = await withdraw({ chain: opened.chain, wallet, loaded, confirmations });
      ctx.emit(
        { contract: id, account: wallet.address, amount: done.amount.toString(), txHash: done.txHash },
        `${wallet.address} withdrew ${money(loaded, done.amount)} (tx ${done.txHash})`,
      );
      return 0;
    } finally {
      await opened.close();
    }
  },
};
