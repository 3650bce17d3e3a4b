/**
 * The UnixFS import profile that gives the CIDs `ipfs add --cid-version 1` gives with Kubo's
 * defaults: fixed-size chunks of 262144 bytes, raw leaves, CIDv1, sha2-256, a balanced DAG of at
 * most 174 children per node, a file of one chunk reduced to that raw block. Pinned here once, so
 * the pod (which only computes CIDs), the local store and the Kubo publisher cannot drift apart.
 */

import { BlackHoleBlockstore } from "blockstore-core/black-hole";
import { importBytes, importByteStream, type ImporterOptions, type WritableStorage } from "ipfs-unixfs-importer";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";

export const UNIXFS_PROFILE = {
  chunkSize: 262144,
  maxChildrenPerNode: 174,
  cidVersion: 1,
  rawLeaves: true,
  hash: "sha2-256",
  /** The same parameters as Kubo RPC `add` options. */
  kubo: { cidVersion: 1, rawLeaves: true, chunker: "size-262144", hashAlg: "sha2-256", trickle: false },
} as const;

function importerOptions(): ImporterOptions {
  return {
    cidVersion: UNIXFS_PROFILE.cidVersion,
    rawLeaves: UNIXFS_PROFILE.rawLeaves,
    reduceSingleLeafToSelf: true,
    wrapWithDirectory: false,
    chunker: fixedSize({ chunkSize: UNIXFS_PROFILE.chunkSize }),
    layout: balanced({ maxChildrenPerNode: UNIXFS_PROFILE.maxChildrenPerNode }),
  };
}

/** Imports content into `store` with the pinned profile and returns the root CID (base32 CIDv1). */
export async function importContent(store: WritableStorage, content: Uint8Array | AsyncIterable<Uint8Array>): Promise<string> {
  const result =
    content instanceof Uint8Array ? await importBytes(content, store, importerOptions()) : await importByteStream(content, store, importerOptions());
  return result.cid.toString();
}

/** The CID `ipfs add --cid-version 1` gives for this content, computed without storing anything. */
export function cidOf(content: Uint8Array | AsyncIterable<Uint8Array>): Promise<string> {
  return importContent(new BlackHoleBlockstore(), content);
}
