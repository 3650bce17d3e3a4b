// Benchmark: gas of the settlement escrow (generator/escrow/Escrow.sol, the committed artifact) on a
// real anvil node: deployment, deposit (opening, by party count: every party is stored), top-up,
// release (by party count: one signature checked per party, a payout per party but the consumer),
// withdraw, refund. Results: bench/results/escrow.json. Run after `npm run build`: node bench/escrow.mjs
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { Wallet, concat, hexlify, parseEther, randomBytes } from "ethers";
import { startAnvil, devWallet } from "../dist/generator/anchor/anvil.js";
import { connectChain, sendAndConfirm } from "../dist/generator/anchor/chain.js";
import { CREATE2_DEPLOYER, CREATE2_SALT, ESCROW, ESCROW_INTERFACE, LOCAL_TOKEN, LOCAL_TOKEN_INTERFACE } from "../dist/generator/escrow/artifact.js";
import { SETTLEMENT_TYPES, settlementDomain } from "../dist/generator/settle/typed-data.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const PARTY_COUNTS = [2, 3, 4, 8, 16];
const UNIT = 1_000_000n;

const node = await startAnvil({});
const chain = await connectChain(node.url, { mineForConfirmations: true });
const gas = (sent) => Number(sent.receipt.gasUsed);
try {
  const deployer = devWallet(9);
  const deployEscrow = gas(await sendAndConfirm(chain, deployer, { to: CREATE2_DEPLOYER, data: concat([CREATE2_SALT, ESCROW.bytecode]) }, 1));
  await sendAndConfirm(chain, deployer, { to: CREATE2_DEPLOYER, data: concat([CREATE2_SALT, LOCAL_TOKEN.bytecode]) }, 1);
  const fund = (address) => chain.provider.send("anvil_setBalance", [address, `0x${parseEther("100").toString(16)}`]);
  const send = (wallet, to, data) => sendAndConfirm(chain, wallet, { to, data }, 1);
  const now = async () => (await chain.provider.getBlock("latest")).timestamp;

  async function opened(count) {
    const parties = Array.from({ length: count }, () => Wallet.createRandom());
    const consumer = parties[1];
    await fund(consumer.address);
    await send(consumer, LOCAL_TOKEN.address, LOCAL_TOKEN_INTERFACE.encodeFunctionData("mint", [consumer.address, 10_000n * UNIT]));
    await send(consumer, LOCAL_TOKEN.address, LOCAL_TOKEN_INTERFACE.encodeFunctionData("approve", [ESCROW.address, 10_000n * UNIT]));
    const terms = {
      contractHash: hexlify(randomBytes(32)),
      contractId: `bench-${count}`,
      token: LOCAL_TOKEN.address,
      cap: 10_000n * UNIT,
      expiry: (await now()) + 3600,
      parties: parties.map((p) => p.address),
    };
    const deposit = gas(await send(consumer, ESCROW.address, ESCROW_INTERFACE.encodeFunctionData("deposit", [terms, 5000n * UNIT])));
    return { parties, consumer, terms, deposit };
  }

  const rows = [];
  for (const count of PARTY_COUNTS) {
    const { parties, consumer, terms, deposit } = await opened(count);
    const topUp = gas(await send(consumer, ESCROW.address, ESCROW_INTERFACE.encodeFunctionData("topUp", [terms.contractHash, 1000n * UNIT])));
    const payees = parties.filter((p) => p !== consumer);
    const payouts = payees.map((p) => ({ payee: p.address, amount: 100n * UNIT }));
    const hash = hexlify(randomBytes(32));
    const domain = settlementDomain({ id: terms.contractId, chainId: chain.chainId, business: { escrow: { address: ESCROW.address } } });
    const message = {
      contractId: terms.contractId,
      contractHash: terms.contractHash,
      settlementHash: hash,
      token: terms.token,
      consumer: consumer.address,
      payouts: payouts.map((p) => ({ payee: p.payee, amount: p.amount.toString() })),
    };
    const signatures = await Promise.all(parties.map((p) => p.signTypedData(domain, SETTLEMENT_TYPES, message)));
    const release = gas(await send(deployer, ESCROW.address, ESCROW_INTERFACE.encodeFunctionData("release", [terms.contractHash, consumer.address, hash, payouts, signatures])));
    await fund(payees[0].address);
    const withdraw = gas(await send(payees[0], ESCROW.address, ESCROW_INTERFACE.encodeFunctionData("withdraw", [terms.token])));
    rows.push({ parties: count, payees: payees.length, deposit, topUp, release, releasePerParty: Math.round(release / count), withdraw });
  }

  const { terms, consumer } = await opened(3);
  await chain.provider.send("evm_increaseTime", [3601]);
  await chain.provider.send("evm_mine", []);
  const refund = gas(await send(deployer, ESCROW.address, ESCROW_INTERFACE.encodeFunctionData("refund", [terms.contractHash, consumer.address])));

  const result = {
    benchmark: "escrow",
    node: process.version,
    cpus: cpus().length,
    chain: "anvil (real node, 127.0.0.1)",
    compiler: "solc-js 0.8.37, optimizer 200 runs, cancun",
    escrowBytes: (ESCROW.deployedBytecode.length - 2) / 2,
    gas: { deployEscrow, refund, byPartyCount: rows },
    notes: [
      "deposit opens the escrow: it stores every party (one storage slot each), so it grows with the party count",
      "release checks one EIP-712 signature per party (ecrecover) and credits one payout per party but the consumer, plus the consumer's remainder",
      "withdraw is a pull payment of one payee; refund sends an expired deposit back to the consumer",
    ],
  };
  mkdirSync(`${root}bench/results`, { recursive: true });
  writeFileSync(`${root}bench/results/escrow.json`, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  chain.close();
  await node.stop();
}
