/**
 * SARIF 2.1.0 for GitHub code scanning: one run of the tool "datomspod" whose rules are the
 * chain's stages (datomspod/<stage>), the policy's deny and warn rules (opsc/<rule>, from the Rego
 * METADATA) and the scenario checks (opsc/minimum, opsc/region); every finding becomes a result
 * located in the file it is about (the contract's contract.json for policy findings), at the line
 * of its JSON path when the file's text is given. Deterministic.
 */

import { createHash } from "node:crypto";
import type { Log, ReportingDescriptor, Result } from "sarif";
import { policyRules, type PolicyRule } from "../result.js";
import { STAGES, findingsOf, type CheckReport, type FindingLevel } from "./check-report.js";
import { sortedJson } from "./json.js";
import { lineOf, valueLines } from "./json-lines.js";

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";
export const INFORMATION_URI = "https://github.com/datomspod/datomspod";

export interface SarifOptions {
  /** The tool's version (package.json). */
  readonly version?: string;
  /** Texts of the files findings point at (relative path → content), for line numbers. */
  readonly sources?: ReadonlyMap<string, string>;
}

type SarifRule = ReportingDescriptor & { readonly id: string; readonly defaultConfiguration: { readonly level: FindingLevel } };

const STAGE_TITLES: Record<(typeof STAGES)[number], [string, string]> = {
  schema: ["Contract does not match its schema", "contract.json must validate against contracts/contract.schema.json and the cross-field rules."],
  signatures: ["Signature problem", "Every party signs the contract's hash (EIP-712); the signatures/ records must verify."],
  approvals: ["Approval problem", "Every data owner (and the witness) approves the exact algorithm; the approvals/ records must verify."],
  compile: ["The instance cannot be rendered", "The contract and its cluster profile must compile to Kubernetes manifests."],
  policy: ["The OPS-C policy cannot judge the contract", "The policy stage needs a known scenario and a working policy bundle."],
  kubernetes: ["Rendered manifests are not valid Kubernetes", "Every rendered object must validate against the Kubernetes (and Argo CD) schemas."],
};

/** GitHub's security-severity scale for the Rego severities. */
const SECURITY_SEVERITY: Record<string, string> = { critical: "9.0", high: "7.0", medium: "5.0", warning: "3.0" };

function pascal(id: string): string {
  return id
    .split(/[/-]/)
    .map((word) => (word === "" ? "" : word[0].toUpperCase() + word.slice(1)))
    .join("");
}

function policyRule(rule: PolicyRule): SarifRule {
  const severity = SECURITY_SEVERITY[rule.severity];
  return {
    id: `opsc/${rule.id}`,
    name: pascal(rule.id),
    shortDescription: { text: rule.title },
    fullDescription: { text: rule.description },
    defaultConfiguration: { level: rule.kind === "deny" ? "error" : "warning" },
    properties: { tags: ["opsc", rule.kind, "security"], precision: "very-high", ...(severity === undefined ? {} : { "security-severity": severity }) },
  };
}

/** Every rule a result may name, in a fixed order. */
export function sarifRules(): SarifRule[] {
  const stageRules = STAGES.map((stage): SarifRule => ({
    id: `datomspod/${stage}`,
    name: pascal(stage),
    shortDescription: { text: STAGE_TITLES[stage][0] },
    fullDescription: { text: STAGE_TITLES[stage][1] },
    defaultConfiguration: { level: "error" },
    properties: { tags: ["datomspod", stage], precision: "very-high" },
  }));
  const scenarioRules: SarifRule[] = [
    {
      id: "opsc/minimum",
      name: "Minimum",
      shortDescription: { text: "Score below the scenario's minimum" },
      fullDescription: { text: "Each of the openness, privacy and security scores must reach the minimum the contract's scenario sets." },
      defaultConfiguration: { level: "error" },
      properties: { tags: ["opsc", "scenario"], precision: "very-high" },
    },
    {
      id: "opsc/region",
      name: "Region",
      shortDescription: { text: "Outside the scenario's region of the OPS-C triangle" },
      fullDescription: { text: "Each score's share of the three scores' sum must lie within the bounds of the contract's scenario." },
      defaultConfiguration: { level: "error" },
      properties: { tags: ["opsc", "scenario"], precision: "very-high" },
    },
    {
      id: "opsc/leakage",
      name: "Leakage",
      shortDescription: { text: "Leakage bound unknown or above the scenario's ceiling" },
      fullDescription: {
        text: "The most a contract can ever let out, maxBytes × maxRuns plus the bits of its runs' public metadata, must be known and within the scenario's maxLeakageBytes.",
      },
      defaultConfiguration: { level: "error" },
      properties: { tags: ["opsc", "scenario", "leakage"], precision: "very-high" },
    },
  ];
  return [...stageRules, ...policyRules().map(policyRule), ...scenarioRules];
}

export function renderSarif(report: CheckReport, options: SarifOptions = {}): string {
  const rules = sarifRules();
  const index = new Map(rules.map((rule, i) => [rule.id, i]));
  const lines = new Map<string, ReadonlyMap<string, number>>();
  const lineIn = (file: string, path: string): number => {
    const text = options.sources?.get(file);
    if (text === undefined) return 1;
    let map = lines.get(file);
    if (map === undefined) {
      map = valueLines(text);
      lines.set(file, map);
    }
    return lineOf(map, path);
  };
  const results = report.contracts.flatMap((check) =>
    findingsOf(check).map((finding): Result & { ruleIndex: number } => {
      const fingerprint = createHash("sha256")
        .update([finding.ruleId, finding.file, finding.path, finding.resource ?? "", finding.message].join("\n"))
        .digest("hex");
      return {
        ruleId: finding.ruleId,
        ruleIndex: index.get(finding.ruleId) ?? -1,
        level: finding.level,
        message: { text: finding.fix === undefined ? finding.message : `${finding.message} (fix: ${finding.fix})` },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri: finding.file }, region: { startLine: lineIn(finding.file, finding.path) } },
            logicalLocations: [{ fullyQualifiedName: finding.resource === undefined ? finding.path : `${finding.path} (${finding.resource})`, kind: "member" }],
          },
        ],
        partialFingerprints: { "datomspodFinding/v1": fingerprint },
        properties: { contract: check.id, stage: finding.stage },
      };
    }),
  );
  const unknown = results.find((result) => result.ruleIndex === -1);
  if (unknown !== undefined) throw new Error(`SARIF result names rule ${unknown.ruleId}, which policies/bundle/rules.json does not list`);
  const log: Log = {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "datomspod", informationUri: INFORMATION_URI, ...(options.version === undefined ? {} : { version: options.version }), rules } },
        results,
        columnKind: "unicodeCodePoints",
        // The leakage bound of every contract the policy judged, in bytes (null: unknown).
        properties: {
          leakageBounds: Object.fromEntries(report.contracts.flatMap((check) => (check.policy === undefined ? [] : [[check.id, check.policy.leakage]]))),
        },
      },
    ],
  };
  return `${JSON.stringify(sortedJson(log), null, 2)}\n`;
}
