/**
 * Rendering many contracts on every core: cache misses are split into contiguous chunks, each
 * rendered by a worker thread running the same planContract, and the outcomes are put back in order.
 * Used by the compiled CLI when there are enough misses to pay for starting the workers.
 */

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Issue } from "../errors.js";
import type { ContractOutcome, RenderMany, Rendered } from "./plan.js";

/** Below this many contracts to render, one thread is faster than starting workers. */
export const PARALLEL_THRESHOLD = 64;

export interface WorkerRequest {
  readonly repo: string;
  readonly now: number;
  readonly ids: readonly string[];
}

export interface WorkerReply {
  readonly outcomes: (ContractOutcome | undefined)[];
  readonly issues: Issue[];
}

const WORKER = new URL("./plan-worker.js", import.meta.url);

/** Whether workers can run: only from the compiled .js build (tests run the TypeScript sources). */
export function canRunWorkers(): boolean {
  return import.meta.url.endsWith(".js");
}

export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}

export function renderInWorkers(repo: string, now: Date, workers: number, here: (ids: readonly string[]) => Rendered): RenderMany {
  return async (ids) => {
    if (workers <= 1 || ids.length < PARALLEL_THRESHOLD || !canRunWorkers()) return here(ids);
    // This thread renders the first chunk while workers-1 threads render the rest: one isolate fewer in memory.
    const size = Math.ceil(ids.length / workers);
    const chunks = Array.from({ length: workers }, (_, i) => ids.slice(i * size, (i + 1) * size)).filter((chunk) => chunk.length > 0);
    const [first = [], ...rest] = chunks;
    const pending = rest.map(
      (chunk) =>
        new Promise<WorkerReply>((resolve, reject) => {
          const worker = new Worker(WORKER, {
            workerData: { repo, now: now.getTime(), ids: chunk } satisfies WorkerRequest,
            resourceLimits: { maxYoungGenerationSizeMb: 8 },
          });
          worker.once("message", (reply: WorkerReply) => resolve(reply));
          worker.once("error", reject);
          worker.once("exit", (code) => {
            if (code !== 0) reject(new Error(`compile worker exited with ${code}`));
          });
        }),
    );
    // Let the workers start before this thread gets busy.
    await new Promise((resolve) => setImmediate(resolve));
    const mine = here(first);
    const replies = [mine, ...(await Promise.all(pending))];
    return { outcomes: replies.flatMap((reply) => reply.outcomes), issues: replies.flatMap((reply) => reply.issues) };
  };
}
