import { resolve } from "node:path";
import { getAddress, isAddress, type Wallet } from "ethers";
import { InputError } from "../../errors.js";
import { assertContractId, listContractIds } from "../../repo/layout.js";
import { loadKeystore, readPassword } from "../../signatures/keys.js";
import { anchorEvidence, type AnchorReport } from "../../anchor/anchor.js";
import { devWallet } from "../../anchor/anvil.js";
import { ANCHOR_INTERFACE, decodeRevert, deployAnchor, sendAndConfirm } from "../../anchor/chain.js";
import { renderingGuard } from "../../anchor/rendering.js";
import { fundOnLocalChain, openChainSession, parseAddress, type ChainSession } from "../../anchor/session.js";
import type { Command, Context, Values } from "../command.js";
import { stringOption } from "../options.js";

export const CHAIN_HELP = "--chain local (default) starts anvil on 127.0.0.1 with its state in .datomspod/chain/; --chain URL uses any EVM JSON-RPC endpoint.";

export function chainSpec(values: Values): string {
  return stringOption(values, "chain") ?? "local";
}

export function confirmationsOption(values: Values): number {
  const text = stringOption(values, "confirmations") ?? "1";
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw InputError.of({
      file: "command line",
      path: "--confirmations",
      message: `${JSON.stringify(text)} is not a whole number from 1 to 1000`,
      fix: "e.g. --confirmations 3",
    });
  return n;
}

/** The signing key: --key FILE, or on the local chain anvil's development account 0. */
async function signingWallet(ctx: Context, values: Values, session: ChainSession): Promise<Wallet> {
  const file = stringOption(values, "key");
  if (file === undefined) {
    if (session.local) return devWallet(0);
    throw InputError.of({
      file: "command line",
      path: "--key",
      message: "--key is required with --chain URL",
      fix: "pass --key FILE, an encrypted keystore of an authorised anchorer (datomspod keys new)",
    });
  }
  const wallet = await loadKeystore(resolve(ctx.cwd, file), await readPassword("Keystore password: "));
  await fundOnLocalChain(session, wallet);
  return wallet;
}

function reportText(report: AnchorReport): string {
  const lines = report.batches.map(
    (b) =>
      `${b.contractId}  ${b.action.padEnd(10)}  ${String(b.size).padStart(4)} item${b.size === 1 ? " " : "s"}  ${b.kind.padEnd(10)}  #${String(b.sequence).padEnd(3)}  root ${b.root}  tx ${b.txHash}  block ${b.blockNumber}`,
  );
  if (report.batches.length === 0) lines.push("nothing to anchor");
  for (const skip of report.skipped) lines.push(`skipped  ${skip.contractId}: ${skip.reason}`);
  for (const item of report.refused) lines.push(`refused  ${item.contractId}  ${item.kind}  ${item.subject}: ${item.reason}`);
  const sent = report.batches.filter((b) => b.gasUsed !== undefined);
  const items = sent.reduce((n, b) => n + b.size, 0);
  lines.push(
    `${report.transactions} transaction${report.transactions === 1 ? "" : "s"} on chain ${report.chainId} by ${report.anchorer}${items > 0 ? `, gas ${report.gasUsed} (${Math.round(report.gasUsed / items)} per item)` : ""}`,
  );
  return lines.join("\n");
}

export const anchor: Command = {
  name: ["anchor"],
  summary: "anchor every evidence item not anchored yet on chain (one transaction per batch)",
  usage: "[ID] [--chain local|URL] [--key FILE] [--confirmations N] [--anchor-address ADDRESS]",
  help: [
    CHAIN_HELP,
    "Without --key the local chain's development account 0 anchors (ad hoc mode only: its key is public). Evidence goes only to the chain and anchor contract the contract pins (chainId, evidence.anchor), by a key it names (evidence.anchorers): another --anchor-address, a profile's chain.anchorAddress that differs, or another key is refused.",
    "Each contract's batches form a chain on the anchor contract; a root there that contracts/<id>/evidence does not account for stops the command (restore the folder from git). Idempotent: a root already on chain is recorded, not sent again; a lost anchor (reorg) is sent again. A draft (not signed by every party) is skipped, and so, without ID, is a contract of another chain or anchorer. Exit 1 when an item is refused (a record changed after it was anchored, a rendered instance that is not what `datomspod compile` renders now) or the repository does not account for the chain's history.",
  ].join("\n"),
  options: { chain: { type: "string" }, key: { type: "string" }, confirmations: { type: "string" }, "anchor-address": { type: "string" } },
  positionals: [0, 1],
  async run(ctx, args, values) {
    const ids = args[0] !== undefined ? [assertContractId(args[0])] : listContractIds(ctx.repo);
    const confirmations = confirmationsOption(values);
    const anchorAddressText = stringOption(values, "anchor-address");
    const anchorAddress = anchorAddressText === undefined ? undefined : parseAddress(anchorAddressText, "--anchor-address");
    const session = await openChainSession(ctx.repo, { spec: chainSpec(values), deployLocal: true, createLocal: true });
    try {
      const wallet = await signingWallet(ctx, values, session);
      const report = await anchorEvidence({
        repo: ctx.repo,
        chain: session.chain,
        wallet,
        ids,
        named: args[0] !== undefined,
        anchorAddress,
        profileAnchorAddress: (cluster) => session.profileAnchorAddress(cluster),
        chainName: session.local ? "the local chain" : session.chain.url,
        confirmations,
        refuse: renderingGuard(ctx.repo, ctx.now),
        now: ctx.now.getTime(),
      });
      ctx.emit({ ok: report.refused.length === 0, ...report }, reportText(report));
      return report.refused.length === 0 ? 0 : 1;
    } finally {
      await session.close();
    }
  },
};

export const anchorDeploy: Command = {
  name: ["anchor", "deploy"],
  summary: "deploy the anchor contract and print its address",
  usage: "[--chain local|URL] [--key FILE] [--owner ADDRESS] [--confirmations N]",
  help: `${CHAIN_HELP}\nThe owner (default: the key's account) authorises anchorers. On a URL chain, the parties name the address and the deployment block in each contract's evidence.anchor {address, fromBlock} before they sign it. On the local chain the contract is deployed by the first \`datomspod anchor\` anyway, at the address local contracts pin.`,
  options: { chain: { type: "string" }, key: { type: "string" }, owner: { type: "string" }, confirmations: { type: "string" } },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const confirmations = confirmationsOption(values);
    const session = await openChainSession(ctx.repo, { spec: chainSpec(values), deployLocal: true, createLocal: true });
    try {
      if (session.local) {
        const address = session.anchorAddress("local");
        ctx.emit({ chainId: session.chain.chainId, address }, `anchor contract ${address} on the local chain ${session.chain.chainId}`);
        return 0;
      }
      const wallet = await signingWallet(ctx, values, session);
      const ownerText = stringOption(values, "owner");
      if (ownerText !== undefined && !isAddress(ownerText))
        throw InputError.of({
          file: "command line",
          path: "--owner",
          message: `${JSON.stringify(ownerText)} is not an Ethereum address`,
          fix: "pass a 0x… address",
        });
      const owner = ownerText === undefined ? wallet.address : getAddress(ownerText);
      const deployed = await deployAnchor(session.chain, wallet, owner, confirmations);
      ctx.emit(
        { chainId: session.chain.chainId, owner, ...deployed },
        `anchor contract ${deployed.address} on chain ${session.chain.chainId} (owner ${owner}, tx ${deployed.txHash}, block ${deployed.blockNumber})\nname it in the contracts that anchor here: "evidence": {"anchor": {"address": "${deployed.address}", "fromBlock": ${deployed.blockNumber}}, …}`,
      );
      return 0;
    } finally {
      await session.close();
    }
  },
};

export const anchorAuthorise: Command = {
  name: ["anchor", "authorise"],
  summary: "let an account anchor (owner only); --revoke takes it back",
  usage: "ADDRESS [--revoke] [--chain local|URL] [--key FILE] [--anchor-address ADDRESS | --cluster NAME]",
  help: `${CHAIN_HELP}\nThe key must be the anchor contract's owner (on the local chain: development account 0, the default).`,
  options: {
    chain: { type: "string" },
    key: { type: "string" },
    revoke: { type: "boolean" },
    "anchor-address": { type: "string" },
    cluster: { type: "string" },
    confirmations: { type: "string" },
  },
  positionals: [1, 1],
  async run(ctx, args, values) {
    if (!isAddress(args[0]))
      throw InputError.of({
        file: "command line",
        path: "ADDRESS",
        message: `${JSON.stringify(args[0])} is not an Ethereum address`,
        fix: "pass the 0x… address to authorise",
      });
    const account = getAddress(args[0]);
    const confirmations = confirmationsOption(values);
    const session = await openChainSession(ctx.repo, {
      spec: chainSpec(values),
      anchorAddress: stringOption(values, "anchor-address"),
      deployLocal: true,
      createLocal: true,
    });
    try {
      const wallet = await signingWallet(ctx, values, session);
      const address = session.anchorAddress(stringOption(values, "cluster") ?? "local");
      const revoke = values["revoke"] === true;
      const data = ANCHOR_INTERFACE.encodeFunctionData(revoke ? "revoke" : "authorise", [account]);
      let sent;
      try {
        sent = await sendAndConfirm(session.chain, wallet, { to: address, data }, confirmations);
      } catch (error) {
        const revert = decodeRevert(error);
        if (revert?.name === "Anchor__NotOwner") {
          throw InputError.of({
            file: "--key",
            path: "$",
            message: `${wallet.address} is not the owner of the anchor contract ${address} (Anchor__NotOwner)`,
            fix: "pass the owner's key",
          });
        }
        throw error;
      }
      ctx.emit(
        { account, authorised: !revoke, contract: address, txHash: sent.txHash },
        `${account} ${revoke ? "may no longer anchor" : "may anchor"} on ${address} (tx ${sent.txHash})`,
      );
      return 0;
    } finally {
      await session.close();
    }
  },
};
