/**
 * The escrow tests' own Solidity (test/escrow/contracts/: a plain, a fee-on-transfer and a
 * reentrant token, a hostile ERC-1271 party, a contract wallet), compiled with the project's pinned
 * solc-js against the pinned @openzeppelin/contracts, once per test file; and deploying them.
 */

import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Contract, Interface, getAddress, type InterfaceAbi, type Wallet } from "ethers";
import solc from "solc";
import { sendAndConfirm, type Chain } from "../../generator/anchor/chain.js";

const HERE = join(dirname(fileURLToPath(import.meta.url)), "contracts");
const OPENZEPPELIN = "@openzeppelin/contracts";
const openzeppelinRoot = dirname(createRequire(import.meta.url).resolve(`${OPENZEPPELIN}/package.json`));

export interface Compiled {
  readonly abi: InterfaceAbi;
  readonly bytecode: string;
}

let compiled: Map<string, Compiled> | undefined;

/** Every contract of test/escrow/contracts/, by name. */
export function testContracts(): Map<string, Compiled> {
  if (compiled !== undefined) return compiled;
  const sources = Object.fromEntries(
    readdirSync(HERE)
      .filter((name) => name.endsWith(".sol"))
      .map((name) => [name, { content: readFileSync(join(HERE, name), "utf8") }]),
  );
  const input = {
    language: "Solidity",
    sources,
    settings: { evmVersion: "cancun", optimizer: { enabled: true, runs: 200 }, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
  };
  const findImports = (path: string): { contents: string } | { error: string } =>
    path.startsWith(`${OPENZEPPELIN}/`)
      ? { contents: readFileSync(join(openzeppelinRoot, path.slice(OPENZEPPELIN.length + 1)), "utf8") }
      : { error: `not found: ${path}` };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: InterfaceAbi; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  compiled = new Map();
  for (const file of Object.values(output.contracts))
    for (const [name, contract] of Object.entries(file)) compiled.set(name, { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` });
  return compiled;
}

/** Deploys a test contract with constructor `args`; returns it connected to `wallet`. */
export async function deployTest(chain: Chain, wallet: Wallet, name: string, ...args: unknown[]): Promise<Contract> {
  const contract = testContracts().get(name);
  if (contract === undefined) throw new Error(`no test contract ${name}`);
  const abi = new Interface(contract.abi);
  const { receipt } = await sendAndConfirm(chain, wallet, { data: contract.bytecode + abi.encodeDeploy(args).slice(2) }, 1);
  return new Contract(getAddress(receipt.contractAddress!), abi, wallet.connect(chain.provider));
}
