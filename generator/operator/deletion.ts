/**
 * Proof of deletion from the cluster itself: when an instance's namespace is gone (Argo CD pruned it
 * after compile dropped its folder), the operator records the namespace, its uid, when the API
 * server marked it for deletion and when it answered that it no longer exists (its own clock: the
 * Date of its 404), signed with the runner key, as contracts/<id>/deletion.json. The evidence
 * picks it up as the `deletion` item, so the next `datomspod anchor` anchors it, and the contract's
 * state becomes `deleted`.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { getAddress } from "ethers";
import type { KubeObject } from "../cluster/kube.js";
import { loadContract } from "../contract/load.js";
import { VerdictError } from "../errors.js";
import { display, toJsonText, writeFileAtomic } from "../repo/files.js";
import { contractDir } from "../repo/layout.js";
import { signRecord } from "../signatures/records.js";
import { toBytes32, type RecordMessage } from "../signatures/typed-data.js";
import type { OperatorSetup } from "./receipt.js";

export const DELETION_FILE = "deletion.json";
export const DELETION_EVENT_TYPE = "datomspod-deletion";

export interface ObservedDeletion {
  readonly contract: string;
  readonly namespace: string;
  readonly uid: string;
  /** The namespace's deletionTimestamp as the API server set it; "" when the operator did not see it (it was down). */
  readonly deletionRequestedAt: string;
  /** The API server's Date header of its answer that the namespace does not exist. */
  readonly goneAt: string;
}

export type DeletionHandled =
  { readonly kind: "recorded"; readonly file: string; readonly where: string } | { readonly kind: "already" | "not-removed-from-git"; readonly where: string };

/** The signed message of a deletion record (what a verifier rebuilds). */
export function deletionMessage(contractId: string, contractHash: string, cluster: string, observed: ObservedDeletion): RecordMessage {
  return {
    contractId,
    contractHash: toBytes32(contractHash),
    cluster,
    namespace: observed.namespace,
    namespaceUid: observed.uid,
    deletionRequestedAt: observed.deletionRequestedAt,
    goneAt: observed.goneAt,
  };
}

/**
 * Whether a namespace the operator saw go is really gone, from the API server's answer for its name:
 * "gone" (404), "present" (the same namespace, still there or terminating: nothing to record), or
 * refused when another namespace of that name exists: an instance namespace was recreated, so
 * "namespace dp-<id> is gone" would not be true of the cluster; nothing is recorded until it goes.
 */
export function namespaceGone(answer: KubeObject | undefined, namespace: string, uid: string): "gone" | "present" {
  if (answer === undefined) return "gone";
  if (answer.metadata.uid === uid) return "present";
  throw new VerdictError(
    `namespace ${namespace} (uid ${uid}) is gone, but a namespace of that name exists again (uid ${answer.metadata.uid ?? "none"}); no deletion recorded`,
    [
      {
        file: `namespace ${namespace}`,
        path: "$.metadata.uid",
        message: `was recreated (uid ${answer.metadata.uid ?? "none"}) after the instance's namespace ${uid} went`,
        fix: "find out who recreated it and delete it; the deletion is recorded once no namespace of that name exists",
      },
    ],
  );
}

export async function recordDeletion(setup: OperatorSetup, observed: ObservedDeletion): Promise<DeletionHandled> {
  const name = `deletion-${observed.contract}`;
  if (setup.dispatch?.exists(name) === true) return { kind: "already", where: setup.dispatch.path(name) };
  await setup.git.sync();
  const path = join(contractDir(setup.repo, observed.contract), DELETION_FILE);
  if (existsSync(path)) return { kind: "already", where: display(setup.repo, path) };
  const folder = `clusters/${setup.cluster}/${observed.contract}`;
  // A namespace deleted by hand while its folder is still in git is not the end of the instance: Argo CD recreates it.
  if (existsSync(join(setup.repo, folder))) return { kind: "not-removed-from-git", where: folder };
  const loaded = loadContract(setup.repo, observed.contract);
  if (!loaded.contract.evidence.runners.includes(getAddress(setup.runner.address))) {
    return { kind: "already", where: `${getAddress(setup.runner.address)} is not a runner of ${observed.contract}: not recorded` };
  }
  const record = await signRecord(
    setup.runner,
    "deletion",
    loaded.id,
    loaded.contract.chainId,
    deletionMessage(loaded.id, loaded.hash, setup.cluster, observed),
  );
  if (setup.dispatch !== undefined) {
    const where = setup.dispatch.render(name, DELETION_EVENT_TYPE, { contract: observed.contract, deletion: record });
    return { kind: "recorded", file: where, where };
  }
  const file = display(setup.repo, path);
  setup.git.willWrite([file]);
  writeFileAtomic(path, toJsonText(record));
  const commit = await setup.git.record(
    [file],
    `Deletion of ${observed.contract}: namespace ${observed.namespace} (uid ${observed.uid}) gone at ${observed.goneAt} (datomspod operator, cluster ${setup.cluster})`,
  );
  return { kind: "recorded", file, where: commit };
}
