// The benchmarks' contracts: copies of the hospital-stats example under ids of their own, signed by
// every party, approved by the provider and the witness, with one run requested by the consumer.
// Shared by bench/compile.mjs (1,000 contracts for the local profile) and bench/cluster-scale.mjs
// (N contracts for a bench profile on the lab). Run after `npm run build`.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Wallet, decryptKeystoreJson } from "ethers";
import { signRecord } from "../dist/generator/signatures/records.js";
import { contractHash } from "../dist/generator/contract/load.js";
import { agreementMessage, approvalMessage } from "../dist/generator/signatures/verify.js";
import { toBytes32 } from "../dist/generator/signatures/typed-data.js";
import { prepareContract } from "../dist/generator/compile/prepare.js";
import { runMessage } from "../dist/generator/lifecycle/facts.js";

const root = fileURLToPath(new URL("../", import.meta.url));

async function wallet(name) {
  const account = await decryptKeystoreJson(readFileSync(join(root, "test/keys", `${name}.json`), "utf8"), "datomspod-test-only");
  return new Wallet(account.privateKey);
}

const write = (path, value) => {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
};

/**
 * A contract writer for `repo`. `edit(contract, id)` may change the copy of the example before it
 * is signed (its cluster, its data location); `contract(i, parameters)` writes contract `<prefix>-<i>`
 * (4 digits) and resolves with its id; `revoke(id, reason)` writes the provider's signed revocation
 * of a contract it wrote (contracts/<id>/revocation.json: the contract ends, compile removes its instance).
 */
export async function contractWriter(repo, { prefix = "bench", edit = (contract) => contract } = {}) {
  const [provider, consumer, witness] = await Promise.all(["hospital-provider", "health-consumer", "notary-witness"].map(wallet));
  const template = JSON.parse(readFileSync(join(root, "contracts/hospital-stats/contract.json"), "utf8"));
  const code = readFileSync(join(root, "contracts/hospital-stats/algorithm/aggregate.py"));
  const hashes = new Map();
  async function contract(i, parameters = {}) {
    const id = `${prefix}-${String(i).padStart(4, "0")}`;
    const dir = join(repo, "contracts", id);
    const contract = edit(structuredClone({ ...template, id }), id);
    write(join(dir, "contract.json"), contract);
    mkdirSync(join(dir, "algorithm"), { recursive: true });
    writeFileSync(join(dir, "algorithm/aggregate.py"), code);
    const hash = contractHash(contract);
    hashes.set(id, { hash, chainId: contract.chainId });
    const loaded = { id, hash, contract, dir, file: `contracts/${id}/contract.json` };
    for (const w of [provider, consumer, witness])
      write(join(dir, "signatures", `${w.address}.json`), await signRecord(w, "agreement", id, contract.chainId, agreementMessage(contract, hash)));
    const subject = prepareContract(repo, loaded).prepared.subject;
    for (const w of [provider, witness])
      write(join(dir, "approvals", `${w.address}.json`), await signRecord(w, "approval", id, contract.chainId, approvalMessage(subject)));
    write(join(dir, "runs", "run-1.json"), await signRecord(consumer, "run", id, contract.chainId, runMessage(loaded, "run-1", parameters), { parameters }));
    return id;
  }
  async function revoke(id, reason) {
    const { hash, chainId } = hashes.get(id);
    const message = { contractId: id, contractHash: toBytes32(hash), reason };
    write(join(repo, "contracts", id, "revocation.json"), await signRecord(provider, "revocation", id, chainId, message));
  }
  return { contract, revoke };
}
