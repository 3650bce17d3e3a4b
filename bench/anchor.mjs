// Benchmark: anchoring 1,000 evidence items of one contract on a real anvil node, then verifying them.
// Goals (issue 6): 1 transaction for the 1,000 items; < 5 ms verification per item. Also measured:
// gas per item, the gas of a contract's first root and of a later one chained after it (issue 9),
// inclusion-proof size (bytes, max and mean), and the end-to-end `audit verify` time (which reads the
// contract's whole history from the anchor contract's events).
// Results: bench/results/anchor.json. Run after `npm run build`: node bench/anchor.mjs [COUNT]
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Wallet } from "ethers";
import { anchorEvidence } from "../dist/generator/anchor/anchor.js";
import { devWallet, startAnvil } from "../dist/generator/anchor/anvil.js";
import { connectChain, deployAnchor } from "../dist/generator/anchor/chain.js";
import { auditContract } from "../dist/generator/audit/verify.js";
import { LOCAL_ANCHOR } from "../dist/generator/contract/templates.js";
import { loadContract } from "../dist/generator/contract/load.js";
import { collectEvidence } from "../dist/generator/evidence/collect.js";
import { leafData } from "../dist/generator/evidence/items.js";
import { leafHash, verifyInclusion } from "../dist/generator/evidence/merkle.js";
import { receiptMessage } from "../dist/generator/lifecycle/facts.js";
import { signRecord } from "../dist/generator/signatures/records.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const count = Number(process.argv[2] ?? 1000);
const ID = "hospital-stats";
const round = (x, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

// A repository with the example contract, its cluster profile and rendered instance, and receipts
// (each signed by the contract's runner, the TEST-ONLY hospital-provider key) listing an output and
// a log each (four items per receipt with its signature) until the contract has `count` items.
const repo = mkdtempSync(join(tmpdir(), "datomspod-bench-anchor-"));
cpSync(join(root, "contracts", "contract.schema.json"), join(repo, "contracts", "contract.schema.json"));
cpSync(join(root, "contracts", ID), join(repo, "contracts", ID), { recursive: true });
cpSync(join(root, "clusters", "local", "cluster.yaml"), join(repo, "clusters", "local", "cluster.yaml"));
cpSync(join(root, "clusters", "local", ID), join(repo, "clusters", "local", ID), { recursive: true });
const runner = await Wallet.fromEncryptedJson(readFileSync(join(root, "test", "keys", "hospital-provider.json"), "utf8"), "datomspod-test-only");
const loaded = loadContract(repo, ID);
const base = collectEvidence(repo, ID).items.length;
mkdirSync(join(repo, "contracts", ID, "receipts"), { recursive: true });
mkdirSync(join(repo, "contracts", ID, "receipt-signatures"), { recursive: true });
let items = base;
for (let run = 1; items < count; run++) {
  const subjects = [];
  for (const name of ["outputs/aggregates.csv", "logs/algorithm.log"]) {
    if (items + 2 + subjects.length < count) subjects.push({ name, digest: { sha256: (run * 2 + subjects.length).toString(16).padStart(64, "0") } });
  }
  const receipt = { _type: "https://in-toto.io/Statement/v1", subject: subjects, predicateType: "https://datomspod.dev/receipt/v1", predicate: { run } };
  writeFileSync(join(repo, "contracts", ID, "receipts", `run-${run}.json`), `${JSON.stringify(receipt, null, 2)}\n`);
  const signature = await signRecord(runner, "receipt", ID, loaded.contract.chainId, receiptMessage(loaded, `run-${run}`, receipt));
  writeFileSync(join(repo, "contracts", ID, "receipt-signatures", `run-${run}.json`), `${JSON.stringify(signature, null, 2)}\n`);
  items += 2 + subjects.length;
}
const collected = collectEvidence(repo, ID).items.length;
if (collected !== count) throw new Error(`made ${collected} items, wanted ${count}`);

const stateDir = mkdtempSync(join(tmpdir(), "datomspod-bench-anvil-"));
const node = await startAnvil({ stateFile: join(stateDir, "state.json") });
const chain = await connectChain(node.url);
try {
  // The local chain's anchor contract, where the example contract pins its evidence, and its anchorer.
  const wallet = devWallet(0);
  const { address } = await deployAnchor(chain, wallet, wallet.address, 1);
  if (address !== LOCAL_ANCHOR.address) throw new Error(`the anchor contract landed at ${address}, not at ${LOCAL_ANCHOR.address}`);

  const anchorStart = performance.now();
  const report = await anchorEvidence({ repo, chain, wallet, ids: [ID], confirmations: 1 });
  const anchorSeconds = (performance.now() - anchorStart) / 1000;
  if (report.refused.length > 0) throw new Error(`refused: ${JSON.stringify(report.refused.slice(0, 3))}`);

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

  // A later batch of one item, chained after the first root (previousRoot = the head).
  writeFileSync(join(repo, "contracts", ID, "settlement.json"), `${JSON.stringify({ settled: true }, null, 2)}\n`);
  const next = await anchorEvidence({ repo, chain, wallet, ids: [ID], confirmations: 1 });

  // End to end: recompute every item from the files, read the contract's history on chain, check
  // the batches against it.
  const auditStart = performance.now();
  const audit = await auditContract(repo, ID, chain);
  const auditSeconds = (performance.now() - auditStart) / 1000;
  if (!audit.ok) throw new Error(`audit failed: ${JSON.stringify(audit.rows.filter((r) => r.status !== "verified").slice(0, 3))}`);
  // Reading the history in 1-block pages: the cost of a chain whose roots are far apart.
  const pagedStart = performance.now();
  const paged = await auditContract(repo, ID, chain, { logPageBlocks: 1 });
  const pagedSeconds = (performance.now() - pagedStart) / 1000;
  if (!paged.ok) throw new Error("the paged audit failed");

  const results = {
    benchmark: "anchor",
    items: batch.size,
    node: process.version,
    cpus: cpus().length,
    // Other work on the machine slows every timing; the load average says how busy it was.
    loadAverage1m: round(loadavg()[0], 2),
    chain: "anvil (real node, 127.0.0.1)",
    transactions: { used: report.transactions, goal: 1 },
    gas: {
      total: report.gasUsed,
      perItem: round(report.gasUsed / batch.size, 1),
      firstRoot: report.gasUsed,
      chainedRoot: next.gasUsed,
      note: "a contract's first root writes its head and count; a later one updates them",
    },
    proofBytes: {
      max: Math.max(...proofBytes),
      mean: round(proofBytes.reduce((a, b) => a + b, 0) / proofBytes.length, 1),
      maxJson: Math.max(...proofJsonBytes),
    },
    batchRecordBytes: readFileSync(join(batchDir, batchFile)).length,
    anchorSeconds: round(anchorSeconds),
    verifyInclusionMsPerItem: { value: round(verifyMsPerItem, 4), goal: 5 },
    auditVerify: {
      seconds: round(auditSeconds),
      msPerItem: round((auditSeconds * 1000) / (batch.size + 1), 3),
      goalMsPerItem: 5,
      roots: audit.history.roots.length,
      blocksRead: audit.history.toBlock - audit.history.fromBlock + 1,
      logRequests: audit.history.logRequests,
      pagedOneBlock: { seconds: round(pagedSeconds), logRequests: paged.history.logRequests },
    },
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
