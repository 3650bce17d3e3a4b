/**
 * Built-in starting points for `datomspod contract new`. Addresses are placeholders to be replaced
 * by the parties' own; the digests and hashes are placeholders to be replaced by the real image and
 * code. The validity window starts at the given day and lasts 90 days.
 */

import type { Contract } from "./types.generated.js";

export const TEMPLATES = ["aggregate-statistics", "model-training"] as const;
export type TemplateName = (typeof TEMPLATES)[number];

const PLACEHOLDER = {
  provider: "0x0000000000000000000000000000000000000001",
  consumer: "0x0000000000000000000000000000000000000002",
  witness: "0x0000000000000000000000000000000000000003",
} as const;

const ZERO_SHA256 = "0".repeat(64);

/**
 * The local chain (`datomspod anchor --chain local`, anvil): its first deployment, by development
 * account 0, is the anchor contract at this address in block 1, and that account anchors. Ad hoc
 * mode only; a contract on a public chain names its own anchor contract and anchorers.
 */
export const LOCAL_ANCHOR = {
  address: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  fromBlock: 0,
  anchorer: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
} as const;

function day(date: Date, plusDays = 0): string {
  const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  return new Date(start + plusDays * 86_400_000).toISOString().replace(".000Z", "Z");
}

export function templateContract(name: TemplateName, id: string, today: Date): Contract {
  const training = name === "model-training";
  return {
    $schema: "../contract.schema.json",
    schemaVersion: 1,
    id,
    title: training ? "Train a model on the provider's records" : "Aggregate statistics over the provider's table",
    chainId: 31337,
    cluster: "local",
    parties: [
      { address: PLACEHOLDER.provider, role: "provider", name: "Data provider" },
      { address: PLACEHOLDER.consumer, role: "consumer", name: "Data consumer" },
      { address: PLACEHOLDER.witness, role: "witness", name: "Witness" },
    ],
    inputs: {
      data: [
        {
          did: `did:op:${id}-data`,
          serviceId: "compute",
          owner: PLACEHOLDER.provider,
          location: { kind: "hostPath", path: `/srv/datomspod/${id}` },
          files: [{ name: "records.csv", sha256: ZERO_SHA256, size: 0, contentType: "text/csv" }],
        },
      ],
      algorithm: {
        did: `did:op:${id}-algorithm`,
        environment: "python",
        container: { image: "localhost/datomspod/python", tag: "3.11", digest: `sha256:${ZERO_SHA256}`, entrypoint: "python3 $ALGO" },
        code: { path: "algorithm/main.py", sha256: ZERO_SHA256, size: 1 },
        parameters: training ? { epochs: 5 } : { groupBy: "region" },
        consumerParameters: training
          ? [{ name: "epochs", type: "number", label: "Training epochs", required: false, default: 5, minimum: 1, maximum: 50, integer: true }]
          : [{ name: "groupBy", type: "select", label: "Group by", required: false, default: "region", options: [{ region: "Region" }] }],
      },
      compute: { cpu: "1", memory: "512Mi", gpu: 0, nodes: 1, cores: 1, maxDurationSeconds: 600, runtimeClass: "runc" },
    },
    business: {
      currency: { symbol: "USDC", decimals: 6 },
      pricing: [{ party: PLACEHOLDER.provider, kind: "data-fee", amount: "100", per: "run" }],
      validity: { notBefore: day(today), notAfter: day(today, 90) },
      maxRuns: training ? 1 : 3,
      billing: "per-run",
    },
    additional: [{ id: "retention", text: "Outputs are deleted by the consumer after 180 days." }],
    outputs: {
      kinds: training ? ["model", "report"] : ["aggregates"],
      recipients: [PLACEHOLDER.consumer],
      delivery: { kind: "local" },
      policy: training
        ? { maxBytes: 50 * 1024 * 1024, fileTypes: ["json", "onnx", "txt"], ownerReview: true, noRawRecords: true }
        : { maxBytes: 1024 * 1024, fileTypes: ["csv", "json"], ownerReview: false, noRawRecords: true, minGroupSize: 10, countColumn: "n" },
    },
    opsc: { scenario: training ? "model-training" : "public-statistics" },
    evidence: {
      anchor: { address: LOCAL_ANCHOR.address, fromBlock: LOCAL_ANCHOR.fromBlock },
      anchorers: [LOCAL_ANCHOR.anchorer],
      runners: [PLACEHOLDER.provider],
    },
  };
}
