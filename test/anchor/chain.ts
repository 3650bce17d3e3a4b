/**
 * Test chains: a real anvil node per test file (or per test) on a free loopback port, killed when
 * done, plus the anchor contract deployed by the platform-operator test key.
 */

import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { parseEther, type Wallet } from "ethers";
import { startAnvil, type AnvilNode } from "../../generator/anchor/anvil.js";
import { connectChain, deployAnchor, type Chain, type ChainOptions } from "../../generator/anchor/chain.js";
import { ROOT, tempRepo } from "../helpers/repo.js";
import { testWallet } from "../helpers/keys.js";

/** Fast retries so fault tests end quickly. */
export const TEST_CHAIN_OPTIONS: ChainOptions = { retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 50 }, pollMs: 20, confirmTimeoutMs: 5_000 };

export interface TestChain {
  node: AnvilNode;
  chain: Chain;
}

export async function startTestChain(options: { stateFile?: string; chainId?: number } = {}): Promise<TestChain> {
  const node = await startAnvil(options);
  const chain = await connectChain(node.url, TEST_CHAIN_OPTIONS);
  return { node, chain };
}

export async function stopTestChain(test: TestChain | undefined): Promise<void> {
  if (test === undefined) return;
  test.chain.close();
  await test.node.stop(); // SIGTERM: a node with a state file writes it
}

/** One anvil for the whole test file. */
export function fileChain(): () => TestChain {
  let test: TestChain | undefined;
  beforeAll(async () => {
    test = await startTestChain();
  });
  afterAll(async () => stopTestChain(test));
  return () => test!;
}

/** Gives `address` 100 ether on an anvil chain. */
export async function fund(chain: Chain, address: string): Promise<void> {
  await chain.provider.send("anvil_setBalance", [address, `0x${parseEther("100").toString(16)}`]);
}

/** The anchor contract deployed by (and owned by) the platform-operator test key. */
export async function deployTestAnchor(chain: Chain): Promise<{ address: string; owner: Wallet }> {
  const owner = await testWallet("platform-operator");
  await fund(chain, owner.address);
  const { address } = await deployAnchor(chain, owner, owner.address, 1);
  return { address, owner };
}

/** A temporary repository with the example contracts and the cluster profiles and rendered instances. */
export function tempRepoWithClusters(): string {
  const repo = tempRepo();
  cpSync(join(ROOT, "clusters"), join(repo, "clusters"), { recursive: true });
  if (!existsSync(join(repo, "clusters", "local", "hospital-stats"))) throw new Error("the example instance clusters/local/hospital-stats is not rendered");
  return repo;
}
