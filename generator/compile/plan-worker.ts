/** A compile worker thread: renders its chunk of contracts and posts the outcomes back (without the objects). */

import { parentPort, workerData } from "node:worker_threads";
import type { WorkerReply, WorkerRequest } from "./parallel.js";
import { planContract } from "./plan.js";
import { loadProfiles } from "./profile.js";

const { repo, now, ids } = workerData as WorkerRequest;
const profiles = loadProfiles(repo);
const outcomes = ids.map((id) => {
  const outcome = planContract(repo, id, new Date(now), profiles);
  return { ...outcome, plan: { ...outcome.plan, objects: [] } };
});
parentPort?.postMessage({ outcomes, issues: [] } satisfies WorkerReply);
