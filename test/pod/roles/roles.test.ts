import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cidOf } from "../../../generator/publish/unixfs.js";
import { openBlob, sealContext, unwrapKey } from "../../../generator/seal/crypto.js";
import { PUBLIC_REASONS, receiptText, runStatus, type Receipt } from "../../../generator/pod/roles/receipt.js";
import { readOracleFacts } from "../../../generator/pod/roles/oracle.js";
import { testKey, testWallet } from "../../helpers/keys.js";
import { runCli } from "../../helpers/cli.js";
import { contractHash } from "../../../generator/contract/load.js";
import {
  AGGREGATES,
  ALGORITHM,
  ALGORITHM_LOG,
  PARAMETERS,
  contractJson,
  RUN_ID,
  SUPERVISOR_BYTES,
  compute,
  computingStatus,
  datomspaceIn,
  datomspaceOut,
  makePod,
  oracle,
  refuseToStart,
  runPod,
  type Pod,
} from "./pod.js";

const CONTRACT_HASH = contractHash(contractJson());
const PATIENTS_SHA256 = "46e710d605987a2609d9175a7d20dba6534811e004f59fdfd7c303ee7b57bc9c";
const CODE_SHA256 = "e35c728cf62573506f62568e629a712c377f690e8e2614abaa536863b96c26f6";
const consumer = testKey("health-consumer");
const provider = testKey("hospital-provider");

const sha256 = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex");

/** Every file on the sealed volume, as text (ciphertext included). */
function sealedFiles(pod: Pod): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(pod.sealed, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(join(entry.parentPath, entry.name).slice(pod.sealed.length + 1), readFileSync(join(entry.parentPath, entry.name)));
  }
  return files;
}

/** Opens every sealed subject of the receipt that a test key holds a key for: [kind, name, content] per packed file. */
async function openAll(pod: Pod, receipt: Receipt, keyName: string): Promise<[string, string, string][]> {
  const wallet = await testWallet(keyName);
  const outputs = receipt.predicate.outputs;
  const keys: Record<string, Buffer | undefined> = {
    data: outputs.wrappedKeys[wallet.address] === undefined ? undefined : unwrapKey(outputs.wrappedKeys[wallet.address], wallet.privateKey),
    owners: outputs.ownerKeys[wallet.address] === undefined ? undefined : unwrapKey(outputs.ownerKeys[wallet.address], wallet.privateKey),
  };
  const opened: [string, string, string][] = [];
  receipt.subject.forEach((subject, i) => {
    const key = keys[subject.annotations.key];
    if (key === undefined) return;
    const blob = readFileSync(join(pod.sealed, "blobs", String(i)));
    const chunks: Buffer[][] = [];
    const header = openBlob(blob, key, sealContext(CONTRACT_HASH, RUN_ID, subject.name), (file, bytes) => (chunks[file] ??= []).push(Buffer.from(bytes)));
    header.files.forEach((file, n) => opened.push([header.kind, file.name, Buffer.concat(chunks[n] ?? []).toString("utf8")]));
  });
  return opened;
}

/** The report sealed for the data owners, opened with the provider's key. */
async function reportOf(pod: Pod, receipt: Receipt): Promise<any> {
  const report = (await openAll(pod, receipt, "hospital-provider")).find(([kind]) => kind === "report");
  if (report === undefined) throw new Error("no report sealed");
  return JSON.parse(report[2]);
}

describe("a run that keeps to the contract", () => {
  it("opens the gate, hands over the supervisor, seals the outputs for the consumer and receipts success", async () => {
    const pod = makePod();

    const { verdict, manifest, receipt } = await runPod(pod);

    expect(verdict).toMatchObject({
      ok: true,
      contract: { id: "hospital-stats", hash: CONTRACT_HASH },
      checked: [
        { file: "algorithm/aggregate.py", path: "$.inputs.algorithm.code", size: 1617, sha256: CODE_SHA256 },
        { file: "patients.csv", path: "$.inputs.data[0].files[0]", size: 6173, sha256: PATIENTS_SHA256 },
      ],
      failures: [],
      rows: { indexed: 240, distinct: 240, distinctValues: 240, threshold: 10, fieldCounts: [6], binaryFiles: [] },
    });
    expect(readFileSync(join(pod.status, "inputs-verified"), "utf8")).toBe(`${CONTRACT_HASH}\n`);
    expect(readFileSync(join(pod.tools, "supervise"), "utf8")).toBe(SUPERVISOR_BYTES);
    expect(statSync(join(pod.tools, "supervise")).mode & 0o777).toBe(0o555);
    expect(manifest.policy).toEqual({ ok: true, rules: [] });
    expect(manifest.sealedFor).toEqual([consumer.address]);
    expect(receipt.predicate.status).toEqual({ phase: "succeeded", reason: PUBLIC_REASONS.succeeded });
    // 512 ms; CPU is the container's cgroup (1.25 s, not the 0.42 s the supervisor reaped); peak 30 MiB: rounded up to powers of two.
    expect(receipt.predicate.usage).toEqual({ durationSeconds: 1, cpuSeconds: 2, peakMemoryMiB: 32, gpuSeconds: 0, notes: [], pod: null });
    // The contract sets minGroupSize: the log (free text, no group sizes) is for the data owners only.
    expect(receipt.subject.map((s) => [s.name, s.annotations.kind, s.annotations.key, s.annotations.size])).toEqual([
      ["outputs/0", "output", "data", 4096],
      ["logs/0", "log", "owners", 4096],
      ["logs/datomspace-out", "report", "owners", 4096],
    ]);
    expect(await openAll(pod, receipt, "health-consumer")).toEqual([["output", "aggregates.csv", AGGREGATES]]);
    expect(await openAll(pod, receipt, "hospital-provider")).toEqual([
      ["log", "algorithm.log", ALGORITHM_LOG],
      ["report", "datomspace-out.json", expect.stringContaining('"name": "aggregates.csv"')],
    ]);
    const report = await reportOf(pod, receipt);
    expect(report.computing).toMatchObject({ state: "exited", exitCode: 0, durationMs: 512, cpuSeconds: 0.42, maxRssBytes: 24117248 });
    expect(report.policy).toMatchObject({ ok: true, rules: [], violations: [], maxBytes: 65536 });
  });

  it("pins every blob in the receipt by its ciphertext sha256 and the CID `ipfs add --cid-version 1` gives", async () => {
    const pod = makePod();

    const { receipt } = await runPod(pod);

    for (const [i, subject] of receipt.subject.entries()) {
      const blob = readFileSync(join(pod.sealed, "blobs", String(i)));
      expect(subject.digest.sha256).toBe(sha256(blob));
      expect(subject.uri).toBe(`ipfs://${await cidOf(blob)}`);
      expect(subject.annotations.size).toBe(blob.length);
      expect(Number.isInteger(Math.log2(blob.length)) && blob.length >= 4096).toBe(true);
    }
  });

  it("leaves no plaintext, no file name and no plaintext digest on the sealed volume", async () => {
    const pod = makePod();

    await runPod(pod, { outputs: { "region-totals.csv": AGGREGATES } });

    const files = sealedFiles(pod);
    expect([...files.keys()].sort()).toEqual(["blobs/0", "blobs/1", "blobs/2", "manifest.json", "receipt.json"]);
    for (const [name, bytes] of files) {
      for (const secret of ["central,23", "region-totals", "5 groups", sha256(AGGREGATES), sha256(ALGORITHM_LOG)]) {
        expect(bytes.includes(secret), `${name} contains ${secret}`).toBe(false);
      }
    }
  });

  it("writes the receipt with sorted keys, byte-stable, as an in-toto statement", async () => {
    const pod = makePod();

    const { receipt } = await runPod(pod);

    const text = readFileSync(join(pod.sealed, "receipt.json"), "utf8");
    expect(text).toBe(receiptText(receipt));
    expect(Object.keys(JSON.parse(text))).toEqual(["_type", "predicate", "predicateType", "subject"]);
    expect(receipt._type).toBe("https://in-toto.io/Statement/v1");
    expect(receipt.predicateType).toBe("https://datomspod.io/receipt/v1");
    expect(receipt.predicate.algorithm).toEqual({
      did: expect.stringMatching(/^did:op:/),
      codeSha256: CODE_SHA256,
      image: "localhost/datomspod/python:3.11",
      imageDigest: contractJson().inputs.algorithm.container.digest,
    });
    expect(receipt.predicate.deletion).toBeNull();
    expect(receipt.predicate.instance).toBeNull();
  });

  it("wraps the data key for the recipients only: another party's key does not open it", async () => {
    const pod = makePod();

    const { receipt } = await runPod(pod);

    expect(Object.keys(receipt.predicate.outputs.wrappedKeys)).toEqual([consumer.address]);
    const witness = await testWallet("notary-witness");
    expect(() => unwrapKey(receipt.predicate.outputs.wrappedKeys[consumer.address], witness.privateKey)).toThrow();
  });

  it("lays out Ocean's input paths as links to the read-only mounts, with algoCustomData.json, and receipts its hash", async () => {
    const pod = makePod();

    const { verdict, receipt } = await runPod(pod);

    const did = contractJson().inputs.data[0].did;
    const input = join(pod.inputs, "0", "patients.csv");
    expect(verdict.ocean).toEqual({ links: 3, skipped: [], parameters: true });
    for (const path of [join(did, "compute", "patients.csv"), join(did, "0"), "patients.csv"]) {
      expect(readlinkSync(join(pod.ocean, path))).toBe(input);
    }
    expect(readFileSync(join(pod.ocean, "algoCustomData.json"), "utf8")).toBe(PARAMETERS);
    expect(readdirSync(pod.ocean).sort()).toEqual(["algoCustomData.json", did, "patients.csv"].sort());
    expect(verdict.parametersHash).toBe(sha256('{"groupBy":"region","minGroupSize":10}'));
    expect(receipt.predicate.run).toEqual({ id: RUN_ID, parametersHash: verdict.parametersHash });
  });

  it("links data to /data in the algorithm's scratch working directory, emptied first, once the inputs matched", () => {
    const pod = makePod();
    writeFileSync(join(pod.scratch, "left-over.tmp"), "from before\n");

    const verdict = datomspaceIn(pod);

    expect(verdict.ok).toBe(true);
    expect(readdirSync(pod.scratch)).toEqual(["data"]);
    expect(readlinkSync(join(pod.scratch, "data"))).toBe("/data");
  });

  it("leaves the scratch working directory alone when the inputs do not match", () => {
    const pod = makePod();
    writeFileSync(pod.algorithm, "print('changed')\n");

    const verdict = datomspaceIn(pod);

    expect(verdict.ok).toBe(false);
    expect(readdirSync(pod.scratch)).toEqual([]);
  });

  it("follows the algorithm ConfigMap's link into its own volume, and no further", () => {
    const pod = makePod();
    const outside = join(pod.root, "elsewhere.py");
    cpSync(ALGORITHM, outside);
    rmSync(pod.algorithm);
    symlinkSync(outside, pod.algorithm);

    const verdict = datomspaceIn(pod);

    expect(verdict.failures).toEqual([
      expect.objectContaining({ file: "algorithm/aggregate.py", reason: "symbolic-link", message: `is a symbolic link out of its volume (${pod.algorithm})` }),
    ]);
  });
});

describe("on a cluster: the gate opens once the NetworkPolicy holds for the pod", () => {
  const gate = (pod: Pod): string => join(pod.status, "inputs-verified");

  it("opens no earlier than the network settle time after the pod started", () => {
    const pod = makePod();
    const startedAt = Date.now();

    const verdict = datomspaceIn(pod, { networkSettleSeconds: 2, startedAt });

    expect(verdict.ok).toBe(true);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2000);
    // a file's mtime comes from the kernel's coarse clock, up to one tick (≤ 10 ms) behind Date.now()
    expect(statSync(gate(pod)).mtimeMs).toBeGreaterThanOrEqual(startedAt + 2000 - 10);
  });

  it("does not wait when the settle time has passed already, nor on a mismatch (no gate then)", () => {
    const late = makePod();
    const mismatch = makePod();
    writeFileSync(mismatch.algorithm, "print('changed')\n");
    const started = Date.now();

    expect(datomspaceIn(late, { networkSettleSeconds: 30, startedAt: started - 31_000 }).ok).toBe(true);
    expect(datomspaceIn(mismatch, { networkSettleSeconds: 30, startedAt: started }).ok).toBe(false);

    expect(Date.now() - started).toBeLessThan(15_000);
    expect(existsSync(gate(late))).toBe(true);
    expect(existsSync(gate(mismatch))).toBe(false);
  });
});

describe("code or inputs that differ from the contract", () => {
  const patients = (pod: Pod): string => join(pod.inputs, "0", "patients.csv");
  it.each([
    [
      "one byte of the input changed",
      (pod: Pod) => {
        const bytes = readFileSync(patients(pod));
        bytes[100] = bytes[100] ^ 1;
        rmSync(patients(pod));
        writeFileSync(patients(pod), bytes);
      },
      { file: "patients.csv", path: "$.inputs.data[0].files[0]", reason: "sha256-mismatch", expected: PATIENTS_SHA256 },
    ],
    [
      "a row appended to the input",
      (pod: Pod) => writeFileSync(patients(pod), "P199999,40,F,east,E11,3\n", { flag: "a" }),
      { file: "patients.csv", path: "$.inputs.data[0].files[0]", reason: "size-mismatch", expected: 6173, actual: 6197 },
    ],
    ["the input missing", (pod: Pod) => rmSync(patients(pod)), { file: "patients.csv", reason: "missing", expected: null, actual: null }],
    [
      "the input replaced by a symbolic link to an identical file",
      (pod: Pod) => {
        writeFileSync(join(pod.root, "copy.csv"), readFileSync(patients(pod)));
        rmSync(patients(pod));
        symlinkSync(join(pod.root, "copy.csv"), patients(pod));
      },
      { file: "patients.csv", reason: "symbolic-link" },
    ],
    [
      "a folder where the input should be",
      (pod: Pod) => {
        rmSync(patients(pod));
        mkdirSync(patients(pod));
      },
      { file: "patients.csv", reason: "not-a-file" },
    ],
    [
      "the algorithm code changed after approval (same size)",
      (pod: Pod) => writeFileSync(pod.algorithm, readFileSync(pod.algorithm, "utf8").replace("minGroupSize", "minGroupSizf")),
      { file: "algorithm/aggregate.py", path: "$.inputs.algorithm.code", reason: "sha256-mismatch", expected: CODE_SHA256 },
    ],
    [
      "the algorithm code grown by a line",
      (pod: Pod) => writeFileSync(pod.algorithm, "import socket\n", { flag: "a" }),
      { file: "algorithm/aggregate.py", reason: "size-mismatch", expected: 1617, actual: 1631 },
    ],
  ])("%s: no gate, no supervisor, receipt rejected naming the file", async (_what, tamper, failure) => {
    const pod = makePod();
    tamper(pod);

    const { verdict, manifest, receipt } = await runPod(pod);

    expect(verdict.ok).toBe(false);
    expect(verdict.failures).toEqual([expect.objectContaining(failure)]);
    expect(existsSync(join(pod.status, "inputs-verified"))).toBe(false);
    expect(existsSync(join(pod.tools, "supervise"))).toBe(false);
    expect(receipt.predicate.inputs.verified).toBe(false);
    expect(receipt.predicate.status.phase).toBe("rejected");
    expect(receipt.predicate.status.reason).toContain(`verification failed before the run: ${failure.file}`);
    expect(receipt.predicate.status.reason).toContain("the algorithm did not run");
    expect(manifest.files.map((f) => f.kind)).toEqual(["output", "log", "report"]);
  });

  it("fails closed on a contract it cannot read", () => {
    const pod = makePod();
    writeFileSync(pod.contract, "{ not json");

    const verdict = datomspaceIn(pod);

    expect(verdict.ok).toBe(false);
    expect(verdict.failures).toEqual([expect.objectContaining({ file: pod.contract, reason: "contract" })]);
    expect(existsSync(join(pod.status, "inputs-verified"))).toBe(false);
  });

  it("fails closed when the supervisor cannot be handed over", () => {
    const pod = makePod();
    rmSync(pod.supervisor);

    const verdict = datomspaceIn(pod);

    expect(verdict.ok).toBe(false);
    expect(verdict.failures).toEqual([expect.objectContaining({ file: "supervise", reason: "internal" })]);
    expect(existsSync(join(pod.status, "inputs-verified"))).toBe(false);
  });

  it("removes a gate left from before and does not open it again on a mismatch", () => {
    const pod = makePod();
    writeFileSync(join(pod.status, "inputs-verified"), "stale\n");
    writeFileSync(pod.algorithm, "print('changed')\n");

    datomspaceIn(pod);

    expect(existsSync(join(pod.status, "inputs-verified"))).toBe(false);
  });
});

describe("outputs that break the output policy", () => {
  const ROW = "P100003,21,M,south,M54,9";
  it.each([
    [
      "outputs over maxBytes",
      { outputs: { "big.csv": "x,1\n".repeat(16385) } },
      ["max-bytes"],
      { rule: "max-bytes", area: "run", name: null, message: expect.stringContaining("more than the contract's maxBytes of 65536") },
    ],
    [
      "a file type the contract does not allow (and not a table, where only aggregates may leave)",
      { outputs: { "aggregates.csv": AGGREGATES, "model.pkl": "\u0080\u0004" } },
      ["file-type", "min-group-size"],
      { rule: "file-type", area: "output", name: "model.pkl", message: "is not one of the file types the contract allows (csv)" },
    ],
    [
      "a raw input row copied into an output",
      // Its "patients" cell (21) passes the group size: the tripwire is what catches it.
      { outputs: { "leak.csv": `patient_id,patients\n${ROW}\n` } },
      ["no-raw-records"],
      { rule: "no-raw-records", area: "output", name: "leak.csv", message: expect.stringContaining("holds records of the inputs (text line 2") },
    ],
    [
      "a raw row behind an index column, re-spaced and quoted",
      { outputs: { "leak.csv": `id,row\n7, "P100003", 21 ,M,south,M54,9\n` } },
      ["min-group-size", "no-raw-records"],
      { rule: "no-raw-records", area: "output", name: "leak.csv", message: expect.stringContaining("text line 2") },
    ],
    [
      "a raw row printed to the log",
      { log: `debug: ${ROW}\n${ROW}\n` },
      ["no-raw-records"],
      { rule: "no-raw-records", area: "log", name: "algorithm.log", message: expect.stringContaining("text lines 1, 2") },
    ],
    [
      "a hidden file",
      { outputs: { "aggregates.csv": AGGREGATES, ".stash.csv": "a,b\n" } },
      ["file-name"],
      { rule: "file-name", area: "output", name: ".stash.csv", message: "is hidden (its name starts with a dot); hidden files do not leave the instance" },
    ],
  ])("%s: policy-violation, outputs withheld, the log's head and the report for the data owners", async (_what, computed, rules, violation) => {
    const pod = makePod();

    const { manifest, receipt } = await runPod(pod, computed);

    expect(manifest.policy).toEqual({ ok: false, rules });
    expect(receipt.predicate.outputs.policy).toEqual({ ok: false, rules });
    expect(manifest.files.map((f) => [f.kind, f.key])).toEqual([
      ["output", "data"],
      ["log", "owners"],
      ["report", "owners"],
    ]);
    expect(manifest.sealedFor).toEqual([provider.address]);
    expect(receipt.predicate.status).toEqual({ phase: "policy-violation", reason: PUBLIC_REASONS["policy-violation"] });
    expect(receipt.predicate.outputs.wrappedKeys[consumer.address]).toBeUndefined();
    expect(receipt.predicate.outputs.ownerKeys[consumer.address]).toBeUndefined();
    const opened = await openAll(pod, receipt, "hospital-provider");
    expect(opened.filter(([kind]) => kind === "output")).toEqual([]);
    const report = await reportOf(pod, receipt);
    expect(report.policy.ok).toBe(false);
    expect(report.policy.violations).toContainEqual(violation);
  });

  it("refuses symbolic links and never reads through them", async () => {
    const pod = makePod();
    datomspaceIn(pod);
    compute(pod);
    symlinkSync(join(pod.inputs, "0", "patients.csv"), join(pod.outputs, "copy.csv"));

    const manifest = await datomspaceOut(pod);
    const receipt = oracle(pod);

    expect(manifest.policy).toEqual({ ok: false, rules: ["file-kind"] });
    expect((await reportOf(pod, receipt)).policy.violations).toEqual([
      { rule: "file-kind", area: "output", name: "copy.csv", message: "is a symbolic link; only regular files leave the instance" },
    ]);
  });

  it("never puts a name the algorithm chose into the manifest or the receipt in clear", async () => {
    const pod = makePod();

    await runPod(pod, { outputs: { "P100003-21-M-south.txt": "x" } });

    for (const [name, bytes] of sealedFiles(pod)) expect(bytes.includes("P100003"), name).toBe(false);
  });

  it("fails closed when the row index is missing though the contract forbids raw records", async () => {
    const pod = makePod();
    datomspaceIn(pod);
    compute(pod);
    rmSync(join(pod.status, "input-rows.idx"));

    const manifest = await datomspaceOut(pod);
    const receipt = oracle(pod);

    expect(manifest.policy).toEqual({ ok: false, rules: ["raw-record-index"] });
    expect((await reportOf(pod, receipt)).policy.violations).toEqual([
      {
        rule: "raw-record-index",
        area: "run",
        name: null,
        message: "the index of the inputs' records is missing or unreadable, so raw records cannot be ruled out",
      },
    ]);
  });
});

describe("the oracle's verdict on how the algorithm ended", () => {
  async function endedWith(status: object | undefined): Promise<{ pod: Pod; receipt: Receipt }> {
    const pod = makePod();
    datomspaceIn(pod);
    compute(pod);
    if (status === undefined) rmSync(join(pod.status, "computing.json"));
    else writeFileSync(join(pod.status, "computing.json"), JSON.stringify(status));
    await datomspaceOut(pod);
    return { pod, receipt: oracle(pod) };
  }

  it.each([
    ["exit code 3", { ...computingStatus(3) }, { phase: "failed", exitCode: 3, reason: "the algorithm exited with code 3" }],
    [
      "the deadline",
      { ...computingStatus(), state: "signaled", exitCode: 137, signal: "SIGKILL", deadlineExceeded: true },
      { phase: "failed", deadlineExceeded: true, reason: "stopped at the deadline of 300 s" },
    ],
    [
      "out of memory",
      { ...computingStatus(), state: "signaled", exitCode: 137, signal: "SIGKILL", oomKilled: true },
      { phase: "failed", oomKilled: true, reason: "killed for running out of memory (limit 256Mi)" },
    ],
    [
      "a signal",
      { ...computingStatus(), state: "signaled", exitCode: 143, signal: "SIGTERM" },
      { phase: "failed", signal: "SIGTERM", reason: "killed by SIGTERM" },
    ],
    [
      "a supervisor that never finished",
      { ...computingStatus(), state: "running", exitCode: null },
      { phase: "failed", reason: "the supervisor did not finish (state running)" },
    ],
    ["no status at all", undefined, { phase: "failed", reason: "the computing container left no status" }],
  ])("%s: the receipt says failed, no more; the exact status is sealed for the data owners", async (_what, status, expected) => {
    const { pod, receipt } = await endedWith(status);

    expect(receipt.predicate.status).toEqual({ phase: "failed", reason: PUBLIC_REASONS.failed });
    expect(runStatus(readOracleFacts({ contract: pod.contract, run: RUN_ID, status: pod.status, sealed: pod.sealed }))).toMatchObject(expected);
    const { phase: _phase, reason: _reason, ...exact } = expected as Record<string, unknown>;
    if (status !== undefined) expect((await reportOf(pod, receipt)).computing).toMatchObject(exact);
  });

  it("says rejected when datomspace-in left no verdict", async () => {
    const pod = makePod();
    refuseToStart(pod);
    await datomspaceOut(pod);

    const receipt = oracle(pod);

    expect(receipt.predicate.status.phase).toBe("rejected");
    expect(receipt.predicate.status.reason).toBe("datomspace-in left no verdict: the code and inputs were not verified, the algorithm did not run");
  });

  it("says failed when datomspace-out left no manifest", () => {
    const pod = makePod();
    datomspaceIn(pod);
    compute(pod);

    const receipt = oracle(pod);

    expect(receipt.predicate.status).toEqual({ phase: "failed", reason: PUBLIC_REASONS.failed });
    expect(runStatus(readOracleFacts({ contract: pod.contract, run: RUN_ID, status: pod.status, sealed: pod.sealed })).reason).toBe(
      "the algorithm exited with code 0; datomspace-out left no manifest, nothing was sealed",
    );
    expect(receipt.subject).toEqual([]);
  });
});

describe("datomspod role (the pod's command lines)", () => {
  it("runs the three roles in-process with the Job's arguments", async () => {
    const pod = makePod();

    const inResult = await runCli([
      "role",
      "datomspace-in",
      "--contract",
      pod.contract,
      "--inputs",
      pod.inputs,
      "--algorithm",
      pod.algorithm,
      "--tools",
      pod.tools,
      "--status",
      pod.status,
      "--supervisor",
      pod.supervisor,
    ]);
    compute(pod);
    const outResult = await runCli([
      "role",
      "datomspace-out",
      "--contract",
      pod.contract,
      "--run",
      RUN_ID,
      "--outputs",
      pod.outputs,
      "--logs",
      pod.logs,
      "--status",
      pod.status,
      "--sealed",
      pod.sealed,
    ]);
    const oracleResult = await runCli(["role", "oracle", "--contract", pod.contract, "--run", RUN_ID, "--status", pod.status, "--sealed", pod.sealed]);

    expect(inResult).toEqual({ code: 0, stdout: "datomspace-in: 2 files match the contract; gate open\n", stderr: "" });
    expect(outResult).toEqual({ code: 0, stdout: `datomspace-out: output policy holds; sealed 3 blobs for ${consumer.address}\n`, stderr: "" });
    expect(oracleResult).toEqual({ code: 0, stdout: `oracle: run run-1 succeeded: ${PUBLIC_REASONS.succeeded}\n`, stderr: "" });
  });

  it("exits 0 without a gate when verification fails, so the pod goes on to the receipt", async () => {
    const pod = makePod();
    writeFileSync(pod.algorithm, "print('other code')\n");

    const result = await runCli([
      "role",
      "datomspace-in",
      "--contract",
      pod.contract,
      "--inputs",
      pod.inputs,
      "--algorithm",
      pod.algorithm,
      "--tools",
      pod.tools,
      "--status",
      pod.status,
      "--supervisor",
      pod.supervisor,
    ]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      "datomspace-in: verification failed; the algorithm will not start\n  - algorithm/aggregate.py ($.inputs.algorithm.code): is 20 bytes, the contract says 1617\n",
    );
  });

  it("the oracle writes the receipt of a run that did not succeed, then exits 1, so the pod and its Job fail", async () => {
    const pod = makePod();
    writeFileSync(pod.algorithm, "print('other code')\n");
    const args = ["--contract", pod.contract, "--inputs", pod.inputs, "--algorithm", pod.algorithm, "--tools", pod.tools, "--status", pod.status];
    await runCli(["role", "datomspace-in", ...args, "--supervisor", pod.supervisor]);
    refuseToStart(pod);
    const outArgs = ["--contract", pod.contract, "--run", RUN_ID, "--outputs", pod.outputs, "--logs", pod.logs, "--status", pod.status];
    await runCli(["role", "datomspace-out", ...outArgs, "--sealed", pod.sealed]);

    const result = await runCli(["role", "oracle", "--contract", pod.contract, "--run", RUN_ID, "--status", pod.status, "--sealed", pod.sealed]);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^oracle: run run-1 rejected: verification failed before the run: algorithm\/aggregate.py .* is 20 bytes, the contract says 1617; the algorithm did not run\n$/,
    );
    const receipt = JSON.parse(readFileSync(join(pod.sealed, "receipt.json"), "utf8"));
    expect(receipt.predicate.status.phase).toBe("rejected");
  });

  it("is marked internal in the help", async () => {
    const result = await runCli(["--help"]);

    expect(result.stdout).toMatch(/datomspod role datomspace-in [^\n]*\n\s+\(internal, in the pod\)/);
  });

  it("fails (exit 4, no gate) only when the verdict itself cannot be written", async () => {
    const pod = makePod();
    const notAFolder = join(pod.root, "status-file");
    writeFileSync(notAFolder, "");

    const result = await runCli([
      "role",
      "datomspace-in",
      "--contract",
      pod.contract,
      "--inputs",
      pod.inputs,
      "--algorithm",
      pod.algorithm,
      "--tools",
      pod.tools,
      "--status",
      notAFolder,
      "--supervisor",
      pod.supervisor,
    ]);

    expect(result.code).toBe(4);
    expect(result.stderr).toContain("ENOTDIR");
  });
});
