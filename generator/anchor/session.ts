/**
 * Which chain a command talks to, and where the anchor contract is on it:
 *
 *   --chain local  a real anvil node started for the command on 127.0.0.1 (free port), its state in
 *                  the workspace file .datomspod/chain/anvil-state.json (not committed). The anchor
 *                  contract is the chain's first deployment, by anvil's development account 0 at
 *                  nonce 0, so it is at LOCAL_ANCHOR.address: the address contracts of the local
 *                  chain pin (evidence.anchor). That account owns it and anchors unless --key is given;
 *                  the deployment is kept in .datomspod/chain/anchor.json. Ad hoc mode only: the
 *                  development keys are public.
 *   --chain URL    any EVM JSON-RPC endpoint.
 *
 * Where a contract's evidence is anchored is what the contract pins (evidence.anchor, signed by
 * every party); `anchorAddress` here is only the contract that `anchor authorise` manages.
 */

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { getAddress, isAddress, parseEther, type Wallet } from "ethers";
import { parseProfile, profileFile } from "../compile/profile.js";
import { LOCAL_ANCHOR } from "../contract/templates.js";
import { InputError } from "../errors.js";
import { display, readJsonFile, readRegularFile, toJsonText, writeFileAtomic } from "../repo/files.js";
import { isAlive } from "../repo/processes.js";
import { startAnvil, devWallet, type AnvilNode } from "./anvil.js";
import { anchorCodeAt, assertAnchorCode, connectChain, deployAnchor, type Chain, type ChainOptions } from "./chain.js";

export const LOCAL_CHAIN_DIR = join(".datomspod", "chain");
export const LOCAL_STATE_FILE = "anvil-state.json";
export const LOCAL_DEPLOYMENT_FILE = "anchor.json";

/** Where the local chain's anchor contract is (.datomspod/chain/anchor.json). */
export interface LocalDeployment {
  readonly chainId: number;
  readonly address: string;
  readonly owner: string;
  readonly txHash: string;
  readonly blockNumber: number;
}

export interface ChainSession {
  readonly chain: Chain;
  /** The anvil node of --chain local. */
  readonly node?: AnvilNode;
  readonly local: boolean;
  /**
   * The anchor contract `anchor authorise` manages for `cluster`: --anchor-address, the profile's
   * chain.anchorAddress, or on the local chain LOCAL_ANCHOR (throws with the fix when unknown).
   */
  anchorAddress(cluster: string): string;
  /** chain.anchorAddress of the profile of `cluster`, when it names one. */
  profileAnchorAddress(cluster: string): string | undefined;
  close(): Promise<void>;
}

export interface SessionOptions {
  readonly spec: string;
  readonly chainOptions?: ChainOptions;
  /** --anchor-address */
  readonly anchorAddress?: string;
  /** Deploy the anchor contract at LOCAL_ANCHOR on the local chain when there is none (anchor); audit never deploys. */
  readonly deployLocal?: boolean;
  /** Start the local chain even when it has no state yet (anchor, deploy). */
  readonly createLocal?: boolean;
}

export function localChainDir(repo: string): string {
  return join(repo, LOCAL_CHAIN_DIR);
}

function readLocalDeployment(repo: string): LocalDeployment | undefined {
  const path = join(localChainDir(repo), LOCAL_DEPLOYMENT_FILE);
  if (!existsSync(path)) return undefined;
  return readJsonFile(path, display(repo, path)) as unknown as LocalDeployment;
}

/** An address given on the command line, checksummed; an InputError naming `source` otherwise. */
export function parseAddress(value: string, source: string): string {
  if (!isAddress(value))
    throw InputError.of({
      file: source,
      path: "$",
      message: `${JSON.stringify(value)} is not an Ethereum address`,
      fix: "pass the 0x… address of the anchor contract",
    });
  return getAddress(value);
}

/** chain.anchorAddress of each cluster profile, read once. */
function profileAddresses(repo: string): (cluster: string) => string | undefined {
  const profiles = new Map<string, string | undefined>();
  return (cluster) => {
    if (!profiles.has(cluster)) {
      const path = profileFile(repo, cluster);
      const file = display(repo, path);
      const profile = existsSync(path) ? parseProfile(readRegularFile(path, file, 256 * 1024).toString("utf8"), file, cluster) : undefined;
      profiles.set(cluster, profile?.chain?.anchorAddress === undefined ? undefined : getAddress(profile.chain.anchorAddress));
    }
    return profiles.get(cluster);
  };
}

/** Opens the chain of `--chain`: starts the local one when asked, or connects to the URL. */
export async function openChainSession(repo: string, options: SessionOptions): Promise<ChainSession> {
  const override = options.anchorAddress === undefined ? undefined : parseAddress(options.anchorAddress, "--anchor-address");
  const profileAnchorAddress = profileAddresses(repo);
  if (options.spec !== "local") {
    const chain = await connectChain(options.spec, options.chainOptions);
    return {
      chain,
      local: false,
      profileAnchorAddress,
      anchorAddress(cluster) {
        const address = override ?? profileAnchorAddress(cluster);
        if (address === undefined) {
          throw InputError.of({
            file: display(repo, profileFile(repo, cluster)),
            path: "$.chain.anchorAddress",
            message: `no anchor contract is known for cluster ${cluster}`,
            fix: "pass --anchor-address (the evidence.anchor.address the contracts pin), or commit it as chain.anchorAddress",
          });
        }
        return address;
      },
      close: () => {
        chain.close();
        return Promise.resolve();
      },
    };
  }

  const dir = localChainDir(repo);
  const stateFile = join(dir, LOCAL_STATE_FILE);
  const deploymentFile = display(repo, join(dir, LOCAL_DEPLOYMENT_FILE));
  if (!options.createLocal && !existsSync(stateFile)) {
    throw InputError.of({
      file: display(repo, stateFile),
      path: "$",
      message: "there is no local chain in this workspace",
      fix: "anchors made on another machine's local chain cannot be checked here: pass --chain URL of the chain they were anchored on, or run `datomspod anchor --chain local` first",
    });
  }
  const unlock = lockLocalChain(repo);
  let node: AnvilNode;
  try {
    node = await startAnvil({ stateFile });
  } catch (error) {
    unlock();
    throw error;
  }
  let chain: Chain | undefined;
  try {
    chain = await connectChain(node.url, { ...options.chainOptions, mineForConfirmations: true });
    let deployment = readLocalDeployment(repo);
    if (deployment !== undefined && (await anchorCodeAt(chain, deployment.address)) === "none") {
      throw InputError.of({
        file: deploymentFile,
        path: "$.address",
        message: `there is no contract code at ${deployment.address} on the local chain: its state was lost`,
        fix: `remove ${LOCAL_CHAIN_DIR}/ to start a new local chain; anchors recorded on the old one then show as lost and \`datomspod anchor --chain local\` sends them again`,
      });
    }
    if (deployment === undefined && options.deployLocal) deployment = await deployLocalAnchor(repo, chain);
    if (override !== undefined) await assertAnchorCode(chain, override, "--anchor-address");
    const opened = chain;
    return {
      chain: opened,
      node,
      local: true,
      profileAnchorAddress,
      anchorAddress() {
        const address = override ?? deployment?.address;
        if (address === undefined) {
          throw InputError.of({
            file: deploymentFile,
            path: "$",
            message: "the local chain has no anchor contract",
            fix: "run `datomspod anchor --chain local`, which deploys one",
          });
        }
        return address;
      },
      async close() {
        opened.close();
        await node.stop();
        unlock();
      },
    };
  } catch (error) {
    chain?.close();
    await node.stop();
    unlock();
    throw error;
  }
}

/**
 * Deploys the local chain's anchor contract as the chain's first deployment of development account
 * 0, so it lands at LOCAL_ANCHOR.address, where contracts of the local chain pin their evidence.
 */
async function deployLocalAnchor(repo: string, chain: Chain): Promise<LocalDeployment> {
  const owner = devWallet(0);
  const dir = localChainDir(repo);
  const file = display(repo, join(dir, LOCAL_DEPLOYMENT_FILE));
  const code = await anchorCodeAt(chain, LOCAL_ANCHOR.address);
  if (code !== "none") {
    throw InputError.of({
      file,
      path: "$",
      message: `the local chain has ${code === "anchor" ? "an anchor contract" : "other code"} at ${LOCAL_ANCHOR.address} that this workspace did not record deploying`,
      fix: `remove ${LOCAL_CHAIN_DIR}/ to start a new local chain`,
    });
  }
  const nonce = await chain.call("eth_getTransactionCount", () => chain.provider.getTransactionCount(owner.address));
  if (nonce !== 0) {
    throw InputError.of({
      file,
      path: "$",
      message: `the local chain has no anchor contract at ${LOCAL_ANCHOR.address}, where contracts of the local chain pin their evidence (evidence.anchor.address), and it cannot be deployed there any more: development account 0 has sent ${nonce} transaction${nonce === 1 ? "" : "s"}, so its next contract lands elsewhere`,
      fix: `remove ${LOCAL_CHAIN_DIR}/ to start a new local chain: its first deployment is the pinned anchor contract`,
    });
  }
  const deployed = await deployAnchor(chain, owner, owner.address, 1);
  if (deployed.address !== LOCAL_ANCHOR.address)
    throw new Error(`the local anchor contract was deployed at ${deployed.address}, not at ${LOCAL_ANCHOR.address}: please report this`);
  const deployment = { chainId: chain.chainId, address: deployed.address, owner: owner.address, txHash: deployed.txHash, blockNumber: deployed.blockNumber };
  writeFileAtomic(join(dir, LOCAL_DEPLOYMENT_FILE), toJsonText(deployment));
  return deployment;
}

/**
 * One command at a time on the local chain: two anvil nodes on one state file would overwrite each
 * other's state. The lock file holds the owner's pid; a lock whose process is gone is taken over.
 */
function lockLocalChain(repo: string): () => void {
  const path = join(localChainDir(repo), "lock");
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: "wx" });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw InputError.of({
          file: display(repo, path),
          path: "$",
          message: `another datomspod command (pid ${pid}) is using the local chain`,
          fix: "wait for it to finish, then run this command again",
        });
      }
      rmSync(path, { force: true });
    }
  }
  throw InputError.of({
    file: display(repo, path),
    path: "$",
    message: "cannot lock the local chain",
    fix: "remove the lock file if no datomspod command is running",
  });
}

/** On the local chain, gives `wallet` development ether when it has little (anvil_setBalance). */
export async function fundOnLocalChain(session: ChainSession, wallet: Wallet): Promise<void> {
  if (!session.local) return;
  const { chain } = session;
  const balance = await chain.call("eth_getBalance", () => chain.provider.getBalance(wallet.address));
  if (balance < parseEther("1"))
    await chain.call("anvil_setBalance", () => chain.provider.send("anvil_setBalance", [wallet.address, `0x${parseEther("100").toString(16)}`]));
}
