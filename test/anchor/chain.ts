/**
 * Test chains: a real anvil node per test file (or per test) on a free loopback port, killed when
 * done; the anchor contracts the example contracts pin, deployed where they pin them; another
 * anchor contract deployed by the platform-operator test key; keystores of anvil's development
 * accounts for `--key`.
 */

import { cpSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, onTestFinished } from "vitest";
import { encryptKeystoreJsonSync, parseEther, type Wallet } from "ethers";
import { devWallet, startAnvil, type AnvilNode } from "../../generator/anchor/anvil.js";
import { connectChain, deployAnchor, type Chain, type ChainOptions } from "../../generator/anchor/chain.js";
import { LOCAL_ANCHOR } from "../../generator/contract/templates.js";
import { ROOT, tempDir, tempRepo } from "../helpers/repo.js";
import { TEST_PASSWORD, testKey, testWallet } from "../helpers/keys.js";

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

/**
 * Where the example contracts pin their evidence: hospital-stats the local chain's anchor
 * contract (development account 0's first deployment, anchored by that account), bank-credit-model
 * development account 1's first deployment, owned and anchored by the platform operator.
 */
export const PINNED = {
  "hospital-stats": { address: LOCAL_ANCHOR.address, deployer: 0, owner: LOCAL_ANCHOR.anchorer },
  "bank-credit-model": { address: "0x8464135c8F25Da09e49BC8782676a84730C318bC", deployer: 1, owner: testKey("platform-operator").address },
} as const;

/** Deploys the anchor contracts the example contracts pin, at their pinned addresses (a fresh chain). */
export async function deployPinnedAnchors(chain: Chain): Promise<void> {
  for (const { address, deployer, owner } of Object.values(PINNED)) {
    const deployed = await deployAnchor(chain, devWallet(deployer), owner, 1);
    if (deployed.address !== address) throw new Error(`the pinned anchor contract landed at ${deployed.address}, not ${address}: is the chain fresh?`);
  }
  await fund(chain, testKey("platform-operator").address);
}

/** A fresh anvil for the current test, stopped when the test ends. */
export async function freshChain(options: { stateFile?: string; chainId?: number } = {}): Promise<TestChain> {
  const test = await startTestChain(options);
  onTestFinished(() => stopTestChain(test));
  return test;
}

/** A fresh anvil for the current test with the pinned anchor contracts, stopped when the test ends. */
export async function pinnedChain(options: { stateFile?: string; chainId?: number } = {}): Promise<TestChain> {
  const test = await freshChain(options);
  await deployPinnedAnchors(test.chain);
  return test;
}

/**
 * An encrypted keystore (the test password, cheap scrypt) of anvil's development account `index`,
 * for --key; in `dir`, or in a folder removed when the current test ends.
 */
export function devKeyFile(index = 0, dir?: string): string {
  const wallet = devWallet(index);
  const file = join(dir ?? tempDir("datomspod-devkey-"), `dev-${index}.json`);
  writeFileSync(file, encryptKeystoreJsonSync({ address: wallet.address, privateKey: wallet.privateKey }, TEST_PASSWORD, { scrypt: { N: 1024 } }));
  return file;
}

/** A temporary repository with the example contracts and the cluster profiles and rendered instances. */
export function tempRepoWithClusters(): string {
  const repo = tempRepo();
  cpSync(join(ROOT, "clusters"), join(repo, "clusters"), { recursive: true });
  if (!existsSync(join(repo, "clusters", "local", "hospital-stats"))) throw new Error("the example instance clusters/local/hospital-stats is not rendered");
  return repo;
}
