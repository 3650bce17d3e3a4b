import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { localStore } from "../../generator/publish/select.js";
import { KuboPublisher } from "../../generator/publish/kubo.js";
import { publishSealed, readSealedReceipt } from "../../generator/publish/sealed.js";
import type { Publisher } from "../../generator/publish/publisher.js";
import { completeReceipt } from "../../generator/pod/roles/receipt.js";
import { writeRunReceipt } from "../../generator/delivery/receipts.js";
import { cli, jsonOut } from "../helpers/cli.js";
import { testKey, testWallet } from "../helpers/keys.js";
import { loadContract } from "../../generator/contract/load.js";
import { editJson, readJson, tempDir, tempRepo } from "../helpers/repo.js";
import { AGGREGATES, ALGORITHM_LOG, CONTRACT_ID, RUN_ID, makePod, runPod, type Computed } from "../pod/roles/pod.js";
import { NO_IPFS, startKubo, type Kubo } from "../publish/kubo.js";

const consumer = testKey("health-consumer");
const provider = testKey("hospital-provider");
const witness = testKey("notary-witness");
const CONTRACT = `contracts/${CONTRACT_ID}/contract.json`;
const RECEIPT = `contracts/${CONTRACT_ID}/receipts/${RUN_ID}.json`;
const RELEASE = `contracts/${CONTRACT_ID}/releases/${RUN_ID}.json`;
const ACK = `contracts/${CONTRACT_ID}/acks/${RUN_ID}.json`;

const ownerReview = (contract: any): void => {
  contract.outputs.policy.ownerReview = true;
};

interface Produced {
  readonly repo: string;
}

/** A repository with hospital-stats whose run-1 ran in a pod, was published and has its receipt committed, as the runner leaves it. */
async function produced(options: { edit?: (contract: any) => void; computed?: Computed; publisher?: (repo: string) => Publisher } = {}): Promise<Produced> {
  const repo = tempRepo([CONTRACT_ID]);
  if (options.edit !== undefined) editJson(repo, CONTRACT, options.edit);
  const pod = makePod({ edit: options.edit });
  await runPod(pod, options.computed);
  await publishSealed(pod.sealed, (options.publisher ?? localStore)(repo));
  const receipt = completeReceipt(readSealedReceipt(pod.sealed), {
    instance: { job: `clusters/local/${CONTRACT_ID}/job-run-1.yaml`, sha256: "0".repeat(64) },
    deletion: { podRemoved: true, volumesRemoved: true },
  });
  await writeRunReceipt(repo, loadContract(repo, CONTRACT_ID), RUN_ID, receipt, await testWallet("hospital-provider"));
  return { repo };
}

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe("datomspod fetch", () => {
  it("checks and decrypts exactly the outputs for the consumer, names and all; the log (k is set) and the report stay the owners'", async () => {
    const { repo } = await produced();
    const out = join(tempDir(), "delivered");

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file, "--out", out, "--format", "json");

    expect(result.code).toBe(0);
    expect(jsonOut(result)).toMatchObject({
      contract: CONTRACT_ID,
      run: RUN_ID,
      phase: "succeeded",
      keyFrom: "receipt",
      skipped: ["logs/0", "logs/datomspace-out"],
    });
    expect(files(out)).toEqual(["outputs/aggregates.csv"]);
    expect(readFileSync(join(out, "outputs", "aggregates.csv"), "utf8")).toBe(AGGREGATES);
  });

  it("gives the data owner the log and the report, with the exact status, but not the outputs", async () => {
    const { repo } = await produced();
    const out = join(tempDir(), "review");

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", provider.file, "--out", out, "--format", "json");

    expect(result.code).toBe(0);
    expect(jsonOut(result)).toMatchObject({ keyFrom: null, skipped: ["outputs/0"] });
    expect(files(out)).toEqual(["datomspace-out.json", "logs/algorithm.log"]);
    expect(readFileSync(join(out, "logs", "algorithm.log"), "utf8")).toBe(ALGORITHM_LOG);
    const report = JSON.parse(readFileSync(join(out, "datomspace-out.json"), "utf8"));
    expect(report.policy).toMatchObject({ ok: true, rules: [], violations: [] });
    expect(report.computing).toMatchObject({ exitCode: 0, durationMs: 512 });
  });

  it("gives the consumer the log too when the contract sets no minimum group size", async () => {
    const edit = (contract: any): void => {
      delete contract.outputs.policy.minGroupSize;
      delete contract.outputs.policy.countColumn;
    };
    const { repo } = await produced({ edit });
    const out = join(tempDir(), "delivered");

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file, "--out", out);

    expect(result.code).toBe(0);
    expect(files(out)).toEqual(["logs/algorithm.log", "outputs/aggregates.csv"]);
  });

  it.each([["the witness", witness]])("refuses %s, who is not sealed for, and writes nothing", async (_who, key) => {
    const { repo } = await produced();
    const out = join(tempDir(), "delivered");

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", key.file, "--out", out);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: ${key.address} cannot open the outputs of ${CONTRACT_ID} ${RUN_ID}\n  - ${RECEIPT} $.predicate.outputs.sealedFor: the outputs are sealed for ${consumer.address}, not for ${key.address} (fix: use the key of a party the outputs are sealed for)\n`,
    );
    expect(files(out)).toEqual([]);
  });

  it("refuses a blob altered in the store and writes nothing", async () => {
    const { repo } = await produced();
    const receipt = readJson<any>(repo, RECEIPT);
    const cid = receipt.subject[0].uri.slice("ipfs://".length);
    const block = join(repo, ".datomspod", "ipfs", "blocks", cid.slice(-3, -1), cid);
    const bytes = readFileSync(block);
    bytes[bytes.length - 1] = bytes[bytes.length - 1] ^ 1;
    writeFileSync(block, bytes);
    const out = join(tempDir(), "delivered");

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file, "--out", out);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: ${RECEIPT}: 1 of 3 sealed blobs did not check out; nothing was written`);
    expect(result.stderr).toContain(`outputs/0: cannot be fetched from ${join(repo, ".datomspod", "ipfs")}`);
    expect(result.stderr).toContain(`block ${cid} does not match its hash`);
    expect(files(out)).toEqual([]);
  });

  it("refuses a receipt whose digest was altered, naming the subject and both digests", async () => {
    const { repo } = await produced();
    let before = "";
    editJson(repo, RECEIPT, (r) => {
      before = r.subject[0].digest.sha256;
      r.subject[0].digest.sha256 = "ab".repeat(32);
    });
    const out = join(tempDir(), "delivered");

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file, "--out", out);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${RECEIPT} $.subject[0].digest.sha256: outputs/0: the fetched ciphertext has sha256 ${before}, the receipt says ${"ab".repeat(32)}`,
    );
    expect(files(out)).toEqual([]);
  });

  it("refuses a wrapped key that does not open with the caller's key", async () => {
    const { repo } = await produced();
    editJson(repo, RECEIPT, (r) => {
      const wrapped = Buffer.from(r.predicate.outputs.wrappedKeys[consumer.address], "base64");
      wrapped[wrapped.length - 1] = wrapped[wrapped.length - 1] ^ 1;
      r.predicate.outputs.wrappedKeys[consumer.address] = wrapped.toString("base64");
    });

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file, "--out", join(tempDir(), "out"));

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: the key wrapped for ${consumer.address} does not open with this key\n  - ${RECEIPT} $.predicate.outputs.wrappedKeys.${consumer.address}: does not decrypt with the private key of the keystore (fix: the wrapped key was altered or made for another key; ask for a new release or run)\n`,
    );
  });

  it("never overwrites a file that is already there", async () => {
    const { repo } = await produced();
    const out = join(tempDir(), "delivered");
    mkdirSync(join(out, "outputs"), { recursive: true });
    writeFileSync(join(out, "outputs", "aggregates.csv"), "mine\n");

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file, "--out", out);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: ${join(out, "outputs", "aggregates.csv")}: already exists; fetch never overwrites a file (fix: choose another --out folder or remove it)\n`,
    );
    expect(readFileSync(join(out, "outputs", "aggregates.csv"), "utf8")).toBe("mine\n");
    expect(files(out)).toEqual(["outputs/aggregates.csv"]);
  });

  it("says so when the run has no receipt", async () => {
    const repo = tempRepo([CONTRACT_ID]);

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file);

    expect(result).toMatchObject({
      code: 2,
      stderr: `error: ${RECEIPT}: run ${RUN_ID} of ${CONTRACT_ID} has no receipt (fix: run it first (datomspod run), or check the run id)\n`,
    });
  });

  it("gives the data owners only the log and the report of a run that broke the policy", async () => {
    const { repo } = await produced({ computed: { outputs: { "leak.csv": "P100003,21,M,south,M54,9\n" } } });
    const out = join(tempDir(), "review");

    const asConsumer = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file, "--out", join(tempDir(), "x"));
    const asOwner = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", provider.file, "--out", out);

    expect(asConsumer.code).toBe(1);
    expect(asOwner.code).toBe(0);
    expect(asOwner.stdout).toContain(`run ${RUN_ID} of ${CONTRACT_ID}: policy-violation`);
    expect(files(out)).toEqual(["datomspace-out.json", "logs/algorithm.log"]);
    expect(JSON.parse(readFileSync(join(out, "datomspace-out.json"), "utf8")).policy.violations).toContainEqual({
      rule: "no-raw-records",
      area: "output",
      name: "leak.csv",
      message: expect.stringContaining("holds records of the inputs (text line 1"),
    });
  });
});

describe("owner review: datomspod release", () => {
  it("keeps the outputs from the consumer until a data owner releases them, then lets the consumer fetch", async () => {
    const { repo } = await produced({ edit: ownerReview });

    const before = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file, "--out", join(tempDir(), "early"));
    const review = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", provider.file, "--out", join(tempDir(), "review"));
    const release = await cli(repo, "release", CONTRACT_ID, RUN_ID, "--key", provider.file);
    const out = join(tempDir(), "delivered");
    const after = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file, "--out", out, "--format", "json");

    expect(before.code).toBe(1);
    expect(before.stderr).toBe(
      `error: the outputs of ${CONTRACT_ID} ${RUN_ID} await the data owners' review: no data owner has released them yet\n  - ${RECEIPT} $.predicate.outputs.sealedFor: the outputs are sealed for the data owners (${provider.address}) until one of them releases them (fix: ask a data owner to review them and run \`datomspod release ${CONTRACT_ID} ${RUN_ID} --key FILE\`)\n`,
    );
    expect(review.code).toBe(0);
    expect(release).toEqual({
      code: 0,
      stdout: `released run ${RUN_ID} of ${CONTRACT_ID} to ${consumer.address} after checking 3 sealed files: ${RELEASE}\n`,
      stderr: "",
    });
    const record = readJson<any>(repo, RELEASE);
    expect(Object.keys(record)).toEqual(["kind", "chainId", "signer", "message", "signature", "wrappedKeys"]);
    expect(record).toMatchObject({ kind: "release", chainId: 31337, signer: provider.address, message: { contractId: CONTRACT_ID, runId: RUN_ID } });
    expect(Object.keys(record.wrappedKeys)).toEqual([consumer.address]);
    expect(after.code).toBe(0);
    expect(jsonOut(after).keyFrom).toBe("release");
    expect(readFileSync(join(out, "outputs", "aggregates.csv"), "utf8")).toBe(AGGREGATES);
  });

  it("does not let the witness in, released or not", async () => {
    const { repo } = await produced({ edit: ownerReview });
    await cli(repo, "release", CONTRACT_ID, RUN_ID, "--key", provider.file);

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", witness.file, "--out", join(tempDir(), "x"));

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: ${witness.address} cannot open the outputs of ${CONTRACT_ID} ${RUN_ID}`);
  });

  it("ignores a release signed over another receipt, and says so", async () => {
    const { repo } = await produced({ edit: ownerReview });
    await cli(repo, "release", CONTRACT_ID, RUN_ID, "--key", provider.file);
    editJson(repo, RELEASE, (r) => {
      r.message.receiptHash = `0x${"12".repeat(32)}`;
    });

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file, "--out", join(tempDir(), "x"));

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: the outputs of ${CONTRACT_ID} ${RUN_ID} await the data owners' review: its release does not verify`);
    expect(result.stderr).toContain(`${RELEASE} $.message.receiptHash: refers to another receipt (fix: sign the current receipt)`);
  });

  it.each([
    ["by the consumer", { edit: ownerReview }, () => consumer.file, 2, `is not a data owner of ${CONTRACT_ID}`],
    [
      "of a contract without owner review",
      {},
      () => provider.file,
      2,
      "$.outputs.policy.ownerReview: is false: the outputs are sealed for the recipients directly and need no release",
    ],
    [
      "of a run that broke the policy",
      { edit: ownerReview, computed: { outputs: { "x.exe": "MZ" } } },
      () => provider.file,
      1,
      `run ${RUN_ID} of ${CONTRACT_ID} broke the output policy; its outputs were not sealed and cannot be released`,
    ],
  ])("refuses a release %s", async (_what, options, key, code, message) => {
    const { repo } = await produced(options);

    const result = await cli(repo, "release", CONTRACT_ID, RUN_ID, "--key", key());

    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
    expect(existsSync(join(repo, RELEASE))).toBe(false);
  });
});

describe("datomspod ack", () => {
  it("is what the lifecycle verifies: the contract goes from ran to delivered", async () => {
    const { repo } = await produced();
    const status = async (): Promise<any> => jsonOut(await cli(repo, "contract", "status", CONTRACT_ID, "--at", "2026-11-24T00:00:00Z", "--format", "json"));

    const ran = await status();
    const ack = await cli(repo, "ack", CONTRACT_ID, RUN_ID, "--key", consumer.file);
    const delivered = await status();

    expect(ran).toMatchObject({ state: "ran", issues: [], runs: [{ id: RUN_ID, requested: true, receipt: true, acknowledged: false }] });
    expect(ack.code).toBe(0);
    expect(ack.stdout).toMatch(new RegExp(`^acknowledged run ${RUN_ID} of ${CONTRACT_ID} \\(receipt 0x[0-9a-f]{64}\\): ${ACK}\\n$`));
    expect(readJson<any>(repo, ACK)).toMatchObject({
      kind: "ack",
      chainId: 31337,
      signer: consumer.address,
      message: { contractId: CONTRACT_ID, runId: RUN_ID },
    });
    expect(delivered).toMatchObject({ state: "delivered", issues: [], runs: [{ id: RUN_ID, acknowledged: true }] });
  });

  it("refuses a party that is not a recipient", async () => {
    const { repo } = await produced();

    const result = await cli(repo, "ack", CONTRACT_ID, RUN_ID, "--key", provider.file);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: ${provider.file}: key ${provider.address} is not an output recipient of ${CONTRACT_ID} (fix: acknowledge with the key of a recipient in outputs.recipients)\n`,
    );
    expect(existsSync(join(repo, ACK))).toBe(false);
  });

  it("no longer counts once the receipt changes", async () => {
    const { repo } = await produced();
    await cli(repo, "ack", CONTRACT_ID, RUN_ID, "--key", consumer.file);
    editJson(repo, RECEIPT, (r) => {
      r.predicate.deletion = { podRemoved: false };
    });

    const after = jsonOut(await cli(repo, "contract", "status", CONTRACT_ID, "--at", "2026-11-24T00:00:00Z", "--format", "json"));

    // The runner signed another receipt, so this one counts for nothing (and the run is never run again: its receipt file exists).
    expect(after.state).toBe("active");
    expect(after.issues).toContainEqual(
      expect.objectContaining({
        file: `contracts/${CONTRACT_ID}/receipt-signatures/${RUN_ID}.json`,
        path: "$.message.receiptHash",
        message: "refers to another receipt",
      }),
    );
    expect(after.issues).toContainEqual(expect.objectContaining({ file: ACK, message: `acknowledges run ${RUN_ID}, which has no receipt` }));
  });
});

describe.skipIf(NO_IPFS !== undefined)(NO_IPFS === undefined ? "delivery through a Kubo node" : `delivery through a Kubo node (skipped: ${NO_IPFS})`, () => {
  let kubo: Kubo;
  beforeAll(async () => {
    kubo = await startKubo();
  }, 90_000);
  afterAll(() => kubo?.stop());

  it("publishes the sealed blobs with kubo-rpc-client and fetches them back with --ipfs", async () => {
    const { repo } = await produced({ publisher: () => new KuboPublisher(kubo.apiUrl) });
    const out = join(tempDir(), "delivered");

    const result = await cli(repo, "fetch", CONTRACT_ID, RUN_ID, "--key", consumer.file, "--out", out, "--ipfs", kubo.apiUrl);

    expect(result.code).toBe(0);
    expect(readFileSync(join(out, "outputs", "aggregates.csv"), "utf8")).toBe(AGGREGATES);
    expect(existsSync(join(repo, ".datomspod"))).toBe(false);
  });
});
