/**
 * The host's part after a pod ended, shared by `datomspod run` (podman) and `datomspod operator`
 * (a cluster's finished Job): read the receipt the oracle sealed, or, when it did not finish, the
 * facts the roles left; then check every sealed blob against the manifest and publish it. The
 * receipt is completed and signed by the caller (completeReceipt, writeRunReceipt), so both modes
 * commit the same receipt format, checked the same way.
 */

import { join } from "node:path";
import { publishSealed, readSealedReceipt, type PublishedBlob } from "../publish/sealed.js";
import type { Publisher } from "../publish/publisher.js";
import { readOracleFacts } from "../pod/roles/oracle.js";
import type { Receipt, ReceiptFacts } from "../pod/roles/receipt.js";

export interface SealedFolders {
  /** The sealed volume (or claim) as a folder on this host. */
  readonly sealed: string;
  /** The status and verified volumes; undefined when they went with the pod (a cluster's emptyDirs). */
  readonly status: string | undefined;
  readonly verified: string | undefined;
}

export interface Collected {
  /** The receipt the pod's oracle wrote, when it finished. */
  readonly receipt: Receipt | undefined;
  /** Otherwise, what the roles left (the receipt is built from it: a failure, never a success). */
  readonly leftFacts: ReceiptFacts | undefined;
  readonly published: PublishedBlob[];
}

export async function collectSealed(repo: string, id: string, runId: string, folders: SealedFolders, publisher: Publisher): Promise<Collected> {
  let receipt: Receipt | undefined;
  let leftFacts: ReceiptFacts | undefined;
  try {
    receipt = readSealedReceipt(folders.sealed);
  } catch {
    // The oracle did not finish (the pod was stopped or a role failed): the receipt comes from what the roles left.
    leftFacts = readOracleFacts({ contract: join(repo, "contracts", id, "contract.json"), run: runId, ...folders });
  }
  const sealedFiles = receipt?.subject.length ?? leftFacts?.manifest?.files.length ?? 0;
  const published = sealedFiles > 0 ? await publishSealed(folders.sealed, publisher) : [];
  return { receipt, leftFacts, published };
}
