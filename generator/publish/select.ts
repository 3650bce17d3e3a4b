/**
 * Which publisher a repository uses for a contract: an IPFS API given on the command line; the
 * cluster profile's IPFS endpoint when the contract delivers by IPFS; otherwise the local store in
 * the workspace (ad hoc mode).
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Contract } from "../contract/types.generated.js";
import { parseProfile, profileFile } from "../compile/profile.js";
import { InputError } from "../errors.js";
import { display, readRegularFile } from "../repo/files.js";
import { KuboPublisher } from "./kubo.js";
import { LOCAL_STORE_DIR, LocalPublisher } from "./local.js";
import type { Publisher } from "./publisher.js";

export function localStore(repo: string): LocalPublisher {
  return new LocalPublisher(join(repo, LOCAL_STORE_DIR));
}

/** The IPFS RPC endpoint of the contract's cluster profile, if it has one. */
export function profileIpfsEndpoint(repo: string, contract: Contract): string | undefined {
  const path = profileFile(repo, contract.cluster);
  if (!existsSync(path)) return undefined;
  const file = display(repo, path);
  return parseProfile(readRegularFile(path, file, 256 * 1024).toString("utf8"), file, contract.cluster).ipfs?.endpoint;
}

export function publisherFor(repo: string, contract: Contract, ipfsApi?: string): Publisher {
  if (ipfsApi !== undefined) {
    if (!/^https?:\/\/[^\s/@]+(:\d+)?\/?$/.test(ipfsApi)) {
      throw InputError.of({
        file: "command line",
        path: "--ipfs",
        message: `${JSON.stringify(ipfsApi)} is not an http(s) URL of a Kubo RPC API`,
        fix: "pass e.g. --ipfs http://127.0.0.1:5001",
      });
    }
    return new KuboPublisher(ipfsApi);
  }
  if (contract.outputs.delivery.kind === "ipfs") {
    const endpoint = profileIpfsEndpoint(repo, contract);
    if (endpoint !== undefined) return new KuboPublisher(endpoint);
  }
  return localStore(repo);
}
