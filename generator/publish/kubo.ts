/**
 * Publishing to a Kubo (go-ipfs) node through its RPC API with kubo-rpc-client, the maintained
 * successor of ipfs-http-client. `add` uses the pinned UnixFS profile and pins; the CID Kubo answers
 * is checked against the one computed in-process, so a node with other import defaults cannot
 * silently publish under another CID. What comes back from `cat` is checked by the caller against
 * the receipt's digests.
 */

import type { KuboRPCClient } from "kubo-rpc-client";
import { ServiceError } from "../errors.js";
import type { Publisher } from "./publisher.js";
import { parseCid } from "./local.js";
import { UNIXFS_PROFILE, cidOf } from "./unixfs.js";

export interface KuboOptions {
  /** Milliseconds per RPC call. */
  readonly timeoutMs?: number;
}

function failure(url: string, what: string, error: unknown): ServiceError {
  const detail = error instanceof Error ? error.message : String(error);
  return new ServiceError(`IPFS node ${url}: ${what} failed: ${detail}`, [
    {
      file: url,
      path: "$",
      message: `${what} failed: ${detail}`,
      fix: "check that the Kubo daemon runs and its RPC API listens at this URL (ipfs config Addresses.API)",
    },
  ]);
}

export class KuboPublisher implements Publisher {
  readonly kind = "kubo" as const;
  readonly location: string;
  private connection: Promise<KuboRPCClient> | undefined;
  private readonly timeout: number;

  constructor(url: string, options: KuboOptions = {}) {
    this.location = url;
    this.timeout = options.timeoutMs ?? 60_000;
  }

  /** The RPC client, loaded on first use (the library is large; most commands never talk to Kubo). */
  private get client(): Promise<KuboRPCClient> {
    this.connection ??= import("kubo-rpc-client").then(({ create }) => create({ url: this.location, timeout: this.timeout }));
    return this.connection;
  }

  async put(content: Uint8Array): Promise<string> {
    const expected = await cidOf(content);
    let added: string;
    try {
      const result = await (await this.client).add(content, { ...UNIXFS_PROFILE.kubo, pin: true, wrapWithDirectory: false });
      added = result.cid.toV1().toString();
    } catch (error) {
      throw failure(this.location, "add", error);
    }
    if (added !== expected) {
      throw new ServiceError(`IPFS node ${this.location} stored the content as ${added}, expected ${expected}`, [
        {
          file: this.location,
          path: "$",
          message: `add gave CID ${added}, but the pinned UnixFS profile gives ${expected}`,
          fix: "the node's import settings differ (Import.* in its config): reset them to Kubo's defaults",
        },
      ]);
    }
    return added;
  }

  async get(cid: string): Promise<Uint8Array> {
    const root = parseCid(cid);
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of (await this.client).cat(root, { timeout: this.timeout })) chunks.push(chunk);
    } catch (error) {
      throw failure(this.location, `cat ${cid}`, error);
    }
    return Buffer.concat(chunks);
  }

  async has(cid: string): Promise<boolean> {
    const root = parseCid(cid);
    try {
      // Offline: only what the node holds itself, never a search of the network.
      for await (const ref of (await this.client).refs(root, {
        recursive: true,
        searchParams: new URLSearchParams({ offline: "true" }),
        timeout: this.timeout,
      })) {
        if (ref.err !== undefined && ref.err !== null && String(ref.err) !== "") return false;
      }
      await (await this.client).block.stat(root, { searchParams: new URLSearchParams({ offline: "true" }), timeout: this.timeout });
      return true;
    } catch {
      return false;
    }
  }
}
