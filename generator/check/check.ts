/**
 * `datomspod check`: the gate (generator/gate/gate.ts) for each contract, whatever its state, into
 * one CheckReport that every report format renders. A proposed contract in a pull request gets its
 * OPS-C verdict before anyone signs; when no run is pending, a preview run stands in so the Job is
 * judged too. compile and run apply the very same gate.
 */

import { InputError } from "../errors.js";
import type { ClusterProfile } from "../compile/profile.js";
import { loadProfiles } from "../compile/profile.js";
import { gateContract } from "../gate/gate.js";
import type { CheckReport, ContractCheck } from "../policy/report/check-report.js";
import { listContractIds } from "../repo/layout.js";

export { PREVIEW_RUN } from "../gate/gate.js";

export function checkContract(repo: string, id: string, now: Date, profiles: ReadonlyMap<string, ClusterProfile>): ContractCheck {
  const result = gateContract(repo, id, now, profiles, { preview: true });
  return {
    id: result.id,
    file: result.file,
    stages: result.stages,
    notes: result.notes,
    ...(result.policy === undefined ? {} : { policy: result.policy }),
    ...(result.scenario === undefined ? {} : { scenario: result.scenario }),
  };
}

/** Checks the named contracts, or every contract in the repository. */
export function runCheck(repo: string, ids: readonly string[], now: Date): CheckReport {
  const known = listContractIds(repo);
  for (const id of ids) {
    if (!known.includes(id))
      throw InputError.of({ file: `contracts/${id}/contract.json`, path: "$", message: "no such contract", fix: `use one of ${known.join(", ") || "(none)"}` });
  }
  const profiles = loadProfiles(repo);
  return { contracts: (ids.length > 0 ? ids : known).map((id) => checkContract(repo, id, now, profiles)) };
}
