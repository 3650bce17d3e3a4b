// Benchmark: anchoring 1,000 evidence items of one contract on a real anvil node, then verifying them.
// Goals (issue 6): 1 transaction for the 1,000 items; < 5 ms verification per item. Also measured:
// gas per item, inclusion-proof size (bytes, max and mean), and the end-to-end `audit verify` time.
// Results: bench/results/anchor.json. Run after `npm run build`: node bench/anchor.mjs [COUNT]
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { anchorEvidence } from "../dist/generator/anchor/anchor.js";
import { devWallet, startAnvil } from "../dist/generator/anchor/anvil.js";
import { connectChain, deployAnchor } from "../dist/generator/anchor/chain.js";
import { auditContract } from "../dist/generator/audit/verify.js";
import { collectEvidence } from "../dist/generator/evidence/collect.js";
import { leafData } from "../dist/generator/evidence/items.js";
import { leafHash, verifyInclusion } from "../dist/generator/evidence/merkle.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const count = Number(process.argv[2] ?? 1000);
const ID = "hospital-stats";
const round = (x, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

// A repository with the example contract, its rendered instance, and receipts listing an output and
// a log each (three items per receipt) until the contract has `count` evidence items.
const repo = mkdtempSync(join(tmpdir(), "datomspod-bench-anchor-"));
cpSync(join(root, "contracts", "contract.schema.json"), join(repo, "contracts", "contract.schema.json"));
cpSync(join(root, "contracts", ID), join(repo, "contracts", ID), { recursive: true });
cpSync(join(root, "clusters", "local", ID), join(repo, "clusters", "local", ID), { recursive: true });
const base = collectEvidence(repo, ID).items.length;
mkdirSync(join(repo, "contracts", ID, "receipts"), { recursive: true });
let items = base;
for (let run = 1; items < count; run++) {
  const subjects = [];
  for (const name of ["outputs/aggregates.csv", "logs/algorithm.log"]) {
    if (items + 1 + subjects.length < count) subjects.push({ name, digest: { sha256: (run * 2 + subjects.length).toString(16).padStart(64, "0") } });
  }
  const receipt = { _type: "https://in-toto.io/Statement/v1", subject: subjects, predicateType: "https://datomspod.dev/receipt/v1", predicate: { run } };
  writeFileSync(join(repo, "contracts", ID, "receipts", `run-${run}.json`), `${JSON.stringify(receipt, null, 2)}\n`);
  items += 1 + subjects.length;
}
const collected = collectEvidence(repo, ID).items.length;
if (collected !== count) throw new Error(`made ${collected} items, wanted ${count}`);

const stateDir = mkdtempSync(join(tmpdir(), "datomspod-bench-anvil-"));
const node = await startAnvil({ stateFile: join(stateDir, "state.json") });
const chain = await connectChain(node.url);
try {
  const wallet = devWallet(0);
  const { address } = await deployAnchor(chain, wallet, wallet.address, 1);

  const anchorStart = performance.now();
  const report = await anchorEvidence({ repo, chain, wallet, ids: [ID], anchorAddress: () => address, confirmations: 1 });
  const anchorSeconds = (performance.now() - anchorStart) / 1000;

  const batchDir = join(repo, "contracts", ID, "evidence", "batches");
  const batchFile = readdirSync(batchDir)[0];
  const batch = JSON.parse(readFileSync(join(batchDir, batchFile), "utf8"));
  const proofBytes = batch.items.map((item) => item.proof.length * 32);
  const proofJsonBytes = batch.items.map((item) => Buffer.byteLength(JSON.stringify(item.proof)));

  // Inclusion check per item, as a third party does it: leaf from the item, proof, root.
  const rootBytes = Buffer.from(batch.root, "hex");
  const proofs = batch.items.map((item) => item.proof.map((p) => Buffer.from(p, "hex")));
  const rounds = 5;
  const verifyStart = performance.now();
  let verified = 0;
  for (let r = 0; r < rounds; r++) {
    for (const [i, item] of batch.items.entries()) {
      const leaf = leafHash(leafData({ kind: item.kind, contractId: ID, subject: item.subject, digest: item.digest }));
      if (verifyInclusion(i, batch.size, leaf, proofs[i], rootBytes)) verified++;
    }
  }
  const verifyMsPerItem = (performance.now() - verifyStart) / (rounds * batch.items.length);
  if (verified !== rounds * batch.items.length) throw new Error("an inclusion proof did not verify");

  // End to end: recompute every item from the files, check the batch and its anchor on chain.
  const auditStart = performance.now();
  const audit = await auditContract(repo, ID, chain);
  const auditSeconds = (performance.now() - auditStart) / 1000;
  if (!audit.ok) throw new Error(`audit failed: ${JSON.stringify(audit.rows.filter((r) => r.status !== "verified").slice(0, 3))}`);

  const results = {
    benchmark: "anchor",
    items: batch.size,
    node: process.version,
    cpus: cpus().length,
    chain: "anvil (real node, 127.0.0.1)",
    transactions: { used: report.transactions, goal: 1 },
    gas: { total: report.gasUsed, perItem: round(report.gasUsed / batch.size, 1) },
    proofBytes: {
      max: Math.max(...proofBytes),
      mean: round(proofBytes.reduce((a, b) => a + b, 0) / proofBytes.length, 1),
      maxJson: Math.max(...proofJsonBytes),
    },
    batchRecordBytes: readFileSync(join(batchDir, batchFile)).length,
    anchorSeconds: round(anchorSeconds),
    verifyInclusionMsPerItem: { value: round(verifyMsPerItem, 4), goal: 5 },
    auditVerify: { seconds: round(auditSeconds), msPerItem: round((auditSeconds * 1000) / batch.size, 3), goalMsPerItem: 5 },
  };
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, "bench/results/anchor.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
} finally {
  chain.close();
  await node.kill();
  rmSync(stateDir, { recursive: true, force: true });
  if (process.env.KEEP) console.log(`kept ${repo}`);
  else rmSync(repo, { recursive: true, force: true });
}
