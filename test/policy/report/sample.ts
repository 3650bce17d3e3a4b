/** A check report over three contracts that exercises every part of every format: a pass, a policy failure with warnings, a failure before the policy. */

import { evaluatePolicies } from "../../../generator/policy/evaluate.js";
import { leakageBound } from "../../../generator/seal/public.js";
import { OK, SKIPPED, policyStage, stageOutcome, type CheckReport, type ContractCheck } from "../../../generator/policy/report/check-report.js";
import { base, split } from "../fixtures.js";

export function passing(): ContractCheck {
  const [input, scenario] = split(base());
  const policy = evaluatePolicies(input, scenario);
  return {
    id: "ward-statistics",
    file: "contracts/ward-statistics/contract.json",
    stages: { schema: OK, signatures: OK, approvals: OK, compile: OK, policy: policyStage(policy), kubernetes: OK },
    policy,
    scenario,
  };
}

/** Raw records out in medical-research, without review or witness, expired, one signature missing. */
export function failing(): ContractCheck {
  const fixture = structuredClone(base()) as any;
  fixture.contract.id = "open-wards";
  fixture.contract.outputs.kinds = ["aggregates", "raw-records"];
  fixture.contract.outputs.policy = { maxBytes: 104857600, fileTypes: ["csv"], ownerReview: false, noRawRecords: true };
  fixture.contract.parties = fixture.contract.parties.filter((p: any) => p.role !== "witness");
  fixture.contract.business.maxRuns = 20;
  fixture.now = "2027-11-01T00:00:00Z";
  fixture.facts.signatures = { ok: false, missing: ["0x678E53b55b5ff8564162cDFa0cB0B9160a0E3287"], invalid: [] };
  (fixture.facts as { leakage: unknown }).leakage = leakageBound(fixture.contract);
  const [input, scenario] = split(fixture);
  const policy = evaluatePolicies(input, scenario);
  return {
    id: "open-wards",
    file: "contracts/open-wards/contract.json",
    stages: {
      schema: OK,
      signatures: stageOutcome([
        {
          file: "contracts/open-wards/signatures/0x678E53b55b5ff8564162cDFa0cB0B9160a0E3287.json",
          path: "$",
          message: "no agreement by consumer Public Health Institute",
          fix: "datomspod contract sign open-wards --key <their key>",
        },
      ]),
      approvals: OK,
      compile: OK,
      policy: policyStage(policy),
      kubernetes: OK,
    },
    policy,
    scenario,
  };
}

export function broken(): ContractCheck {
  return {
    id: "typo",
    file: "contracts/typo/contract.json",
    stages: {
      schema: stageOutcome([
        { file: "contracts/typo/contract.json", path: "$.outputs.polcy", message: 'unknown field "polcy"', fix: "remove it or check its spelling" },
      ]),
      signatures: SKIPPED,
      approvals: SKIPPED,
      compile: SKIPPED,
      policy: SKIPPED,
      kubernetes: SKIPPED,
    },
  };
}

export function sampleReport(): CheckReport {
  return { contracts: [failing(), broken(), passing()].sort((a, b) => (a.id < b.id ? -1 : 1)) };
}

/** The contract texts SARIF locates findings in. */
export function sampleSources(): Map<string, string> {
  const contract = structuredClone(base().contract) as any;
  contract.id = "open-wards";
  return new Map([
    ["contracts/open-wards/contract.json", `${JSON.stringify(contract, null, 2)}\n`],
    ["contracts/typo/contract.json", '{\n  "id": "typo",\n  "outputs": {\n    "polcy": {}\n  }\n}\n'],
  ]);
}
