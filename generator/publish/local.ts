/**
 * The local content-addressed store of ad hoc mode: a folder of blocks in the workspace
 * (`.datomspod/ipfs/blocks/<2 chars>/<cid>`), filled by the same UnixFS importer with the same
 * profile as `ipfs add --cid-version 1`, so a CID published here is the CID Kubo gives for the same
 * bytes. Every block read is checked against its multihash; blocks are written atomically. The
 * store exports CAR files (`ipfs dag import` takes them), so its content can move to any IPFS node.
 */

import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CarWriter } from "@ipld/car";
import * as dagPb from "@ipld/dag-pb";
import { UnixFS } from "ipfs-unixfs";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { InputError, ServiceError } from "../errors.js";
import type { Publisher } from "./publisher.js";
import { importContent } from "./unixfs.js";

/** The store's folder inside a repository (git-ignored workspace state). */
export const LOCAL_STORE_DIR = join(".datomspod", "ipfs");

export function parseCid(text: string, source = "cid"): CID {
  try {
    return CID.parse(text);
  } catch {
    throw InputError.of({ file: source, path: "$", message: `${JSON.stringify(text)} is not a CID`, fix: "use the CID the receipt lists" });
  }
}

async function collect(value: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value;
  const chunks: Uint8Array[] = [];
  for await (const chunk of value) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A block store on disk: one file per block, named by its CID. */
export class FsBlockstore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  private path(cid: CID): string {
    const key = cid.toV1().toString();
    return join(this.dir, "blocks", key.slice(-3, -1), key);
  }

  async put(cid: CID, value: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<CID> {
    const path = this.path(cid);
    if (existsSync(path)) return cid;
    const bytes = await collect(value);
    await checkBlock(cid, bytes);
    mkdirSync(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      writeFileSync(temp, bytes, { flag: "wx", mode: 0o444 });
      renameSync(temp, path);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
    return cid;
  }

  has(cid: CID): boolean {
    return existsSync(this.path(cid));
  }

  /** The block's bytes, checked against the CID's hash; undefined when the store does not have it. */
  async get(cid: CID): Promise<Uint8Array | undefined> {
    const path = this.path(cid);
    if (!existsSync(path)) return undefined;
    const bytes = readFileSync(path);
    await checkBlock(cid, bytes, path);
    return bytes;
  }
}

async function checkBlock(cid: CID, bytes: Uint8Array, path?: string): Promise<void> {
  if (cid.multihash.code !== sha256.code) {
    throw new ServiceError(`block ${cid.toString()} uses an unsupported hash (multihash code ${cid.multihash.code})`);
  }
  const digest = await sha256.digest(bytes);
  if (Buffer.compare(Buffer.from(digest.digest), Buffer.from(cid.multihash.digest)) !== 0) {
    const where = path ?? "the local store";
    throw new ServiceError(`${where}: block ${cid.toString()} does not match its hash (a corrupted or altered block)`, [
      { file: where, path: "$", message: `block ${cid.toString()} does not match its hash`, fix: "delete the block and publish the content again" },
    ]);
  }
}

function missing(store: string, cid: CID): ServiceError {
  return new ServiceError(`${store}: block ${cid.toString()} is missing`, [
    {
      file: store,
      path: "$",
      message: `has no block ${cid.toString()}`,
      fix: "publish the run's sealed outputs into this store, or fetch from the IPFS node that has them (--ipfs URL)",
    },
  ]);
}

/** The blocks of the DAG under `root`, depth first (root first), each checked against its hash. */
async function* walk(store: FsBlockstore, root: CID): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
  const bytes = await store.get(root);
  if (bytes === undefined) throw missing(store.dir, root);
  yield { cid: root, bytes };
  if (root.code === dagPb.code) {
    for (const link of dagPb.decode(bytes).Links) yield* walk(store, link.Hash);
  } else if (root.code !== raw.code) {
    throw new ServiceError(`block ${root.toString()} has codec ${root.code}, which a UnixFS file does not use`);
  }
}

/** The bytes of the UnixFS file under `root`. */
async function readFile(store: FsBlockstore, root: CID): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const { cid, bytes } of walk(store, root)) {
    if (cid.code === raw.code) parts.push(bytes);
    else {
      const unixfs = UnixFS.unmarshal(dagPb.decode(bytes).Data ?? new Uint8Array());
      if (unixfs.type !== "file" && unixfs.type !== "raw") throw new ServiceError(`${root.toString()} is a UnixFS ${unixfs.type}, not a file`);
      if (unixfs.data !== undefined && unixfs.data.length > 0) parts.push(unixfs.data);
    }
  }
  return Buffer.concat(parts);
}

export class LocalPublisher implements Publisher {
  readonly kind = "local" as const;
  readonly location: string;
  readonly store: FsBlockstore;

  constructor(dir: string) {
    this.location = dir;
    this.store = new FsBlockstore(dir);
  }

  put(content: Uint8Array): Promise<string> {
    return importContent(this.store, content);
  }

  get(cid: string): Promise<Uint8Array> {
    return readFile(this.store, parseCid(cid));
  }

  async has(cid: string): Promise<boolean> {
    const root = parseCid(cid);
    if (!this.store.has(root)) return false;
    try {
      for await (const _block of walk(this.store, root));
      return true;
    } catch (error) {
      if (error instanceof ServiceError) return false;
      throw error;
    }
  }

  /** Writes a CARv1 file with the DAGs of `roots` (in the given order), for `ipfs dag import`. */
  async exportCar(roots: readonly string[], out: string): Promise<void> {
    const cids = roots.map((root) => parseCid(root));
    const { writer, out: stream } = CarWriter.create(cids);
    mkdirSync(dirname(out), { recursive: true });
    const temp = `${out}.${randomBytes(6).toString("hex")}.tmp`;
    const written = pipeline(Readable.from(stream), createWriteStream(temp, { flags: "wx" }));
    try {
      const seen = new Set<string>();
      for (const root of cids) {
        for await (const block of walk(this.store, root)) {
          const key = block.cid.toString();
          if (seen.has(key)) continue;
          seen.add(key);
          await writer.put(block);
        }
      }
      await writer.close();
      await written;
      renameSync(temp, out);
    } catch (error) {
      await writer.close().catch(() => undefined);
      await written.catch(() => undefined);
      rmSync(temp, { force: true });
      throw error;
    }
  }
}
