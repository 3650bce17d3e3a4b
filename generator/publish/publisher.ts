/**
 * The one seam to content-addressed storage: put content, get it back by CID, ask whether a CID is
 * there. Two implementations: the local store in the workspace (ad hoc mode, `local.ts`) and a Kubo
 * node through its RPC API (`kubo.ts`). Both give the CIDs `ipfs add --cid-version 1` gives.
 */

export const PUBLISHER_KINDS = ["local", "kubo"] as const;
export type PublisherKind = (typeof PUBLISHER_KINDS)[number];

export interface Publisher {
  readonly kind: PublisherKind;
  /** Where the content goes, for messages: a folder or an API URL. */
  readonly location: string;
  /** Stores (and, on Kubo, pins) the content; returns its CID. */
  put(content: Uint8Array): Promise<string>;
  /** The content of a CID; every block is checked against its hash. Throws ServiceError when missing. */
  get(cid: string): Promise<Uint8Array>;
  has(cid: string): Promise<boolean>;
}
