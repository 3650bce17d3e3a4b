/**
 * Delivery: `fetch` (download, check and decrypt a run's sealed outputs), `release` (a data owner
 * opens reviewed outputs to the recipients) and `ack` (a recipient acknowledges delivery, which the
 * lifecycle counts towards "delivered").
 */

import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { getAddress } from "ethers";
import { InputError, VerdictError } from "../../errors.js";
import { loadContract, type LoadedContract } from "../../contract/load.js";
import { display, toJsonText, writeFileAtomic } from "../../repo/files.js";
import { recordDir } from "../../repo/layout.js";
import { signRecord } from "../../signatures/records.js";
import { openRun } from "../../delivery/fetch.js";
import { readRunReceipt } from "../../delivery/receipts.js";
import { releasePath, signRelease, wrapForRecipients } from "../../delivery/release.js";
import { localStore, publisherFor } from "../../publish/select.js";
import type { Publisher } from "../../publish/publisher.js";
import { dataOwners } from "../../pod/roles/datomspace-out.js";
import type { Context, Command, Values } from "../command.js";
import { keyOption, stringOption } from "../options.js";

const STORE_OPTIONS = { ipfs: { type: "string" }, local: { type: "boolean" } } as const;
const STORE_HELP =
  "Blobs come from the local store (.datomspod/ipfs), or from the cluster profile's IPFS node when the contract delivers by ipfs; --ipfs URL names a Kubo RPC API, --local forces the local store.";

function publisher(ctx: Context, loaded: LoadedContract, values: Values): Publisher {
  const ipfs = stringOption(values, "ipfs");
  if (values["local"] === true) {
    if (ipfs !== undefined) throw InputError.of({ file: "command line", path: "--local", message: "cannot be combined with --ipfs", fix: "choose one store" });
    return localStore(ctx.repo);
  }
  return publisherFor(ctx.repo, loaded.contract, ipfs);
}

const wallet = keyOption;

export const fetchOutputs: Command = {
  name: ["fetch"],
  summary: "download, check and decrypt the outputs of a run (a recipient, or a data owner reviewing)",
  usage: "ID RUN --key FILE [--out DIR] [--ipfs URL | --local]",
  help: `Every blob is checked against the receipt (sha256, size, CID) and its decrypted content against the sealed header;
any mismatch writes nothing and exits 1. Outputs go to DIR/outputs/, logs to DIR/logs/, the sealed policy report to
DIR/datomspace-out.json; DIR defaults to ./ID-RUN; existing files are never overwritten. ${STORE_HELP}`,
  options: { key: { type: "string" }, out: { type: "string" }, ...STORE_OPTIONS },
  positionals: [2, 2],
  async run(ctx, [id = "", runId = ""], values) {
    const loaded = loadContract(ctx.repo, id);
    const run = readRunReceipt(ctx.repo, loaded, runId);
    const { wallet: w } = await wallet(ctx, values);
    const out = resolve(ctx.cwd, stringOption(values, "out") ?? `${id}-${runId}`);
    const result = await openRun(ctx.repo, loaded, run, w, publisher(ctx, loaded, values), out);
    result.dataKey?.fill(0);
    const status = run.receipt.predicate.status;
    const files = result.files.map((f) => ({
      subject: f.subject,
      kind: f.kind,
      name: f.name,
      size: f.size,
      sha256: f.sha256,
      path: f.path === undefined ? undefined : display(ctx.cwd, f.path),
    }));
    ctx.emit(
      {
        contract: id,
        run: runId,
        phase: status.phase,
        reason: status.reason,
        keyFrom: result.keyFrom,
        out: display(ctx.cwd, out),
        files,
        skipped: result.skipped,
      },
      [
        `run ${runId} of ${id}: ${status.phase} (${status.reason})`,
        `${files.length} file${files.length === 1 ? "" : "s"} checked and decrypted with the key of ${result.address}${result.keyFrom === null ? " (the data owners' key)" : ` (wrapped key from the ${result.keyFrom})`}:`,
        ...files.map((f) => `  ${f.path}  ${f.size} bytes  sha256 ${f.sha256}`),
        ...(result.skipped.length === 0 ? [] : [`  not for this key (sealed for the data owners): ${result.skipped.join(", ")}`]),
      ].join("\n"),
    );
    return 0;
  },
};

export const releaseOutputs: Command = {
  name: ["release"],
  summary: "as a data owner, release reviewed outputs of a run to the recipients; writes contracts/ID/releases/RUN.json",
  usage: "ID RUN --key FILE [--ipfs URL | --local]",
  help: `Only for contracts with outputs.policy.ownerReview. The outputs are fetched and checked first (as \`fetch\` does,
without writing them), then the run's data key is wrapped for every recipient and the release is signed (EIP-712)
over the receipt hash. ${STORE_HELP}`,
  options: { key: { type: "string" }, ...STORE_OPTIONS },
  positionals: [2, 2],
  async run(ctx, [id = "", runId = ""], values) {
    const loaded = loadContract(ctx.repo, id);
    const run = readRunReceipt(ctx.repo, loaded, runId);
    const path = releasePath(ctx.repo, loaded, runId);
    const file = display(ctx.repo, path);
    if (!loaded.contract.outputs.policy.ownerReview) {
      throw InputError.of({
        file: loaded.file,
        path: "$.outputs.policy.ownerReview",
        message: "is false: the outputs are sealed for the recipients directly and need no release",
        fix: "recipients fetch them with `datomspod fetch`",
      });
    }
    if (existsSync(path))
      throw InputError.of({ file, path: "$", message: "already exists; a release is never replaced", fix: "recipients fetch with the existing release" });
    const policy = run.receipt.predicate.outputs.policy;
    if (!policy.ok) {
      throw new VerdictError(`run ${runId} of ${id} broke the output policy; its outputs were not sealed and cannot be released`, [
        { file: run.file, path: "$.predicate.outputs.policy.ok", message: "is false", fix: "request a new run with an algorithm that keeps to the policy" },
      ]);
    }
    const { file: keyFile, wallet: w } = await wallet(ctx, values);
    const signer = getAddress(w.address);
    if (!dataOwners(loaded.contract).includes(signer)) {
      throw InputError.of({
        file: keyFile,
        path: "$",
        message: `key ${signer} is not a data owner of ${id}`,
        fix: "release with the key of a provider whose data the run used",
      });
    }
    const opened = await openRun(ctx.repo, loaded, run, w, publisher(ctx, loaded, values));
    const dataKey = opened.dataKey;
    if (dataKey === undefined)
      throw new VerdictError(`the outputs of run ${runId} of ${id} are not sealed for ${signer}`, [
        {
          file: run.file,
          path: "$.predicate.outputs.wrappedKeys",
          message: `holds no data key for ${signer}`,
          fix: "release with the key of a data owner the outputs are sealed for",
        },
      ]);
    let record;
    try {
      record = await signRelease(w, loaded, run, wrapForRecipients(loaded, dataKey));
    } finally {
      dataKey.fill(0);
    }
    writeFileAtomic(path, toJsonText(record));
    ctx.emit(
      { file, run: runId, signer, recipients: Object.keys(record.wrappedKeys), checked: opened.files.length },
      `released run ${runId} of ${id} to ${Object.keys(record.wrappedKeys).join(", ")} after checking ${opened.files.length} sealed file${opened.files.length === 1 ? "" : "s"}: ${file}`,
    );
    return 0;
  },
};

export const ackDelivery: Command = {
  name: ["ack"],
  summary: "as a recipient, acknowledge the delivery of a run; writes contracts/ID/acks/RUN.json",
  usage: "ID RUN --key FILE",
  help: "Signs (EIP-712) the hash of the run's receipt. Once every run with a receipt is acknowledged, the contract is delivered and its instance is removed on the next compile.",
  options: { key: { type: "string" } },
  positionals: [2, 2],
  async run(ctx, [id = "", runId = ""], values) {
    const loaded = loadContract(ctx.repo, id);
    const run = readRunReceipt(ctx.repo, loaded, runId);
    const path = join(recordDir(ctx.repo, id, "acks"), `${runId}.json`);
    const file = display(ctx.repo, path);
    if (existsSync(path)) throw InputError.of({ file, path: "$", message: "already exists; an acknowledgement is never replaced", fix: "nothing to do" });
    const { file: keyFile, wallet: w } = await wallet(ctx, values);
    const signer = getAddress(w.address);
    if (!loaded.contract.outputs.recipients.some((r) => r.toLowerCase() === signer.toLowerCase())) {
      throw InputError.of({
        file: keyFile,
        path: "$",
        message: `key ${signer} is not an output recipient of ${id}`,
        fix: "acknowledge with the key of a recipient in outputs.recipients",
      });
    }
    const record = await signRecord(w, "ack", loaded.id, loaded.contract.chainId, run.message);
    writeFileAtomic(path, toJsonText(record));
    ctx.emit(
      { file, run: runId, signer, receiptHash: run.message["receiptHash"] },
      `acknowledged run ${runId} of ${id} (receipt ${run.message["receiptHash"]}): ${file}`,
    );
    return 0;
  },
};
