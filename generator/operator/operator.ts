/**
 * `datomspod operator`: the host's part of a run, in a cluster. It lists, then watches (from the
 * list's resourceVersion) the Jobs and namespaces datomspod rendered, and
 *   - for every finished Job (Complete or Failed) brings its receipt home (receipt.ts);
 *   - for every instance namespace that disappears records the deletion (deletion.ts).
 * One thing at a time (a queue), each decided on the repository's newest commit, so a restart,
 * a second event or a replayed list never records anything twice: the receipt or deletion record
 * in git is the memory. A Job that could not be handled is tried again at the next relist.
 */

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DatomspodError, formatIssue } from "../errors.js";
import { listContractIds } from "../repo/layout.js";
import { DELETION_FILE, namespaceGone, recordDeletion, type DeletionHandled } from "./deletion.js";
import { MANAGED_SELECTOR, finishedJob, namespaceContract, type FinishedJob } from "./jobs.js";
import { WatchError, type JobObject, type KubeObject, type WatchEvent } from "../cluster/kube.js";
import { handleFinishedJob, type Handled, type OperatorSetup } from "./receipt.js";

export type OperatorEvent =
  | {
      readonly event: "receipt";
      readonly contract: string;
      readonly run: string;
      readonly result: Handled["kind"];
      readonly where: string;
      readonly phase?: string;
    }
  | { readonly event: "deletion"; readonly contract: string; readonly namespace: string; readonly result: DeletionHandled["kind"]; readonly where: string }
  | { readonly event: "error"; readonly subject: string; readonly message: string; readonly issues: readonly string[] };

export type OperatorLog = (event: OperatorEvent) => void;

const JOBS = "/apis/batch/v1/jobs";
const NAMESPACES = "/api/v1/namespaces";

interface KnownNamespace {
  readonly contract: string;
  readonly uid: string;
  deletionRequestedAt: string;
}

export class Operator {
  private readonly namespaces = new Map<string, KnownNamespace>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly setup: OperatorSetup,
    private readonly log: OperatorLog,
  ) {}

  /** Runs `work` after everything queued before it; its errors are logged, never thrown. */
  private enqueue(subject: string, work: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(work).catch((error: unknown) => {
      const issues = error instanceof DatomspodError ? error.issues.map(formatIssue) : [];
      this.log({ event: "error", subject, message: error instanceof Error ? error.message : String(error), issues });
    });
    return this.queue;
  }

  private job(job: FinishedJob): Promise<void> {
    return this.enqueue(`job ${job.namespace}/${job.name}`, async () => {
      const handled = await handleFinishedJob(this.setup, job);
      this.log({
        event: "receipt",
        contract: job.contract,
        run: job.run,
        result: handled.kind,
        where: handled.where,
        ...(handled.kind === "recorded" ? { phase: handled.receipt.predicate.status.phase } : {}),
      });
    });
  }

  private gone(contract: string, namespace: string, uid: string, deletionRequestedAt: string): Promise<void> {
    return this.enqueue(`namespace ${namespace}`, async () => {
      const answer = await this.setup.kube.read(`${NAMESPACES}/${namespace}`);
      if (namespaceGone(answer.body, namespace, uid) === "present") return;
      const goneAt = answer.date ?? new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
      const handled = await recordDeletion(this.setup, { contract, namespace, uid, deletionRequestedAt, goneAt });
      this.log({ event: "deletion", contract, namespace, result: handled.kind, where: handled.where });
    });
  }

  private seeNamespace(object: KubeObject): void {
    const contract = namespaceContract(object);
    if (contract === undefined || object.metadata.uid === undefined) return;
    const known = this.namespaces.get(object.metadata.name);
    if (known === undefined || known.uid !== object.metadata.uid)
      this.namespaces.set(object.metadata.name, { contract, uid: object.metadata.uid, deletionRequestedAt: object.metadata.deletionTimestamp ?? "" });
    else if (object.metadata.deletionTimestamp !== undefined) known.deletionRequestedAt = object.metadata.deletionTimestamp;
  }

  /**
   * Instance namespaces that went while the operator was not watching: those a receipt of this
   * cluster names (namespace and uid) that the API server no longer has, without a deletion record.
   */
  private vanished(present: ReadonlySet<string>): { contract: string; namespace: string; uid: string }[] {
    const found: { contract: string; namespace: string; uid: string }[] = [];
    for (const id of listContractIds(this.setup.repo)) {
      const dir = join(this.setup.repo, "contracts", id);
      if (existsSync(join(dir, DELETION_FILE)) || !existsSync(join(dir, "receipts"))) continue;
      for (const file of readdirSync(join(dir, "receipts"))
        .filter((name) => name.endsWith(".json"))
        .sort()) {
        try {
          const instance = (JSON.parse(readFileSync(join(dir, "receipts", file), "utf8")) as { predicate?: { instance?: Record<string, unknown> } }).predicate
            ?.instance;
          const namespace = instance?.["namespace"];
          const uid = instance?.["namespaceUid"];
          if (instance?.["cluster"] !== this.setup.cluster || typeof namespace !== "string" || typeof uid !== "string") continue;
          if (!present.has(`${namespace}/${uid}`) && !found.some((f) => f.contract === id)) found.push({ contract: id, namespace, uid });
        } catch {
          // A receipt that does not parse is the lifecycle's to report.
        }
      }
    }
    return found;
  }

  /** Waits until the queue is empty (work queued by queued work included). */
  async drain(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.queue;
      await current;
    } while (current !== this.queue);
  }

  /** Lists Jobs and namespaces, handles what is finished or gone; resolves with the versions to watch from. */
  async reconcile(): Promise<{ jobs: string; namespaces: string }> {
    const jobs = await this.setup.kube.listFrom<JobObject>(JOBS, { labelSelector: MANAGED_SELECTOR });
    for (const job of jobs.items) {
      const finished = finishedJob(job);
      if (finished !== undefined) await this.job(finished);
    }
    const namespaces = await this.setup.kube.listFrom(NAMESPACES, { labelSelector: MANAGED_SELECTOR });
    const present = new Set<string>();
    for (const namespace of namespaces.items) {
      this.seeNamespace(namespace);
      present.add(`${namespace.metadata.name}/${namespace.metadata.uid ?? ""}`);
    }
    for (const [name, known] of [...this.namespaces]) {
      if (!present.has(`${name}/${known.uid}`)) {
        this.namespaces.delete(name);
        await this.gone(known.contract, name, known.uid, known.deletionRequestedAt);
      }
    }
    await this.enqueue("repository", async () => {
      await this.setup.git.sync();
      for (const lost of this.vanished(present)) void this.gone(lost.contract, lost.namespace, lost.uid, "");
    });
    await this.drain();
    return { jobs: jobs.resourceVersion, namespaces: namespaces.resourceVersion };
  }

  private async onJob(event: WatchEvent<JobObject>): Promise<void> {
    if (event.type === "DELETED") return;
    const finished = finishedJob(event.object);
    if (finished !== undefined) await this.job(finished);
  }

  private async onNamespace(event: WatchEvent<KubeObject>): Promise<void> {
    const contract = namespaceContract(event.object);
    if (contract === undefined) return;
    if (event.type !== "DELETED") {
      this.seeNamespace(event.object);
      return;
    }
    const known = this.namespaces.get(event.object.metadata.name);
    this.namespaces.delete(event.object.metadata.name);
    const requested = event.object.metadata.deletionTimestamp ?? known?.deletionRequestedAt ?? "";
    await this.gone(contract, event.object.metadata.name, event.object.metadata.uid ?? known?.uid ?? "", requested);
  }

  /** Watches one collection from `version` until aborted; relists (reconcile) when the version is too old. */
  private async watchLoop<T extends KubeObject>(
    path: string,
    version: string,
    handle: (event: WatchEvent<T>) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    let from = version;
    while (!signal.aborted) {
      try {
        from = await this.setup.kube.watch(path, { labelSelector: MANAGED_SELECTOR }, from, handle, signal);
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof WatchError && error.status === 410) {
          const versions = await this.reconcile();
          from = path === JOBS ? versions.jobs : versions.namespaces;
          continue;
        }
        this.log({ event: "error", subject: `watch ${path}`, message: error instanceof Error ? error.message : String(error), issues: [] });
        await new Promise((resolve) => setTimeout(resolve, 2000));
        try {
          const versions = await this.reconcile();
          from = path === JOBS ? versions.jobs : versions.namespaces;
        } catch {
          // The API server is away; try again.
        }
      }
    }
  }

  /** Reconciles, then watches Jobs and namespaces until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const versions = await this.reconcile();
    await Promise.all([
      this.watchLoop<JobObject>(JOBS, versions.jobs, (event) => this.onJob(event), signal),
      this.watchLoop<KubeObject>(NAMESPACES, versions.namespaces, (event) => this.onNamespace(event), signal),
    ]);
    await this.drain();
  }
}
