/**
 * Fetching a run's outputs as a party they are sealed for: the wrapped data key comes from the
 * receipt (recipients, or data owners reviewing) or from a verified release (recipients of an
 * owner-review contract); every blob is fetched by the CID the receipt lists, its size, sha256 and
 * CID checked against the receipt, decrypted, and its plaintext checked against the encrypted
 * header. Every subject is checked before anything is written, and files appear only by renaming
 * complete temporary files: a mismatch leaves nothing behind.
 */

import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { getAddress, type Wallet } from "ethers";
import { InputError, ServiceError, VerdictError, type Issue } from "../errors.js";
import type { LoadedContract } from "../contract/load.js";
import type { Publisher } from "../publish/publisher.js";
import { cidOf } from "../publish/unixfs.js";
import { OpenError, isSafeName, openBlob, sealContext, unwrapKey, type SealedHeader } from "../run/seal/crypto.js";
import type { RunReceipt } from "./receipts.js";
import { readRelease } from "./release.js";

export interface KeySource {
  readonly wrapped: string;
  /** Where the wrapped key came from. */
  readonly from: "receipt" | "release";
}

/** Finds the caller's wrapped key, or says exactly why there is none. */
export function findWrappedKey(repo: string, loaded: LoadedContract, run: RunReceipt, address: string): KeySource {
  const outputs = run.receipt.predicate.outputs;
  const own = Object.entries(outputs.wrappedKeys).find(([a]) => a.toLowerCase() === address.toLowerCase());
  if (own !== undefined) return { wrapped: own[1], from: "receipt" };
  const isRecipient = loaded.contract.outputs.recipients.some((r) => r.toLowerCase() === address.toLowerCase());
  const { release, issues } = readRelease(repo, loaded, run);
  const released = release === undefined ? undefined : Object.entries(release.wrappedKeys).find(([a]) => a.toLowerCase() === address.toLowerCase());
  if (released !== undefined) return { wrapped: released[1], from: "release" };
  if (isRecipient && outputs.ownerReview) {
    const why = issues.length > 0 ? "its release does not verify" : "no data owner has released them yet";
    throw new VerdictError(`the outputs of ${loaded.id} ${run.runId} await the data owners' review: ${why}`, [
      ...issues,
      {
        file: run.file,
        path: "$.predicate.outputs.sealedFor",
        message: `the outputs are sealed for the data owners (${outputs.sealedFor.join(", ") || "none"}) until one of them releases them`,
        fix: `ask a data owner to review them and run \`datomspod release ${loaded.id} ${run.runId} --key FILE\``,
      },
    ]);
  }
  throw new VerdictError(`${getAddress(address)} cannot open the outputs of ${loaded.id} ${run.runId}`, [
    {
      file: run.file,
      path: "$.predicate.outputs.sealedFor",
      message: `the outputs are sealed for ${outputs.sealedFor.join(", ") || "nobody"}, not for ${getAddress(address)}`,
      fix: "use the key of a party the outputs are sealed for",
    },
  ]);
}

export interface OpenedFile {
  readonly subject: string;
  readonly kind: SealedHeader["kind"];
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  /** Where it was written (absent when only verified). */
  readonly path?: string;
}

export interface OpenResult {
  readonly address: string;
  readonly keyFrom: KeySource["from"];
  readonly files: readonly OpenedFile[];
  /** The data key, for a release; the caller zeroes it. */
  readonly dataKey: Buffer;
}

/** Where an opened file goes below the output folder: outputs/<name>, logs/<name>, datomspace-out.json. */
export function placeOf(header: SealedHeader): string {
  if (header.kind === "output") return join("outputs", ...header.name.split("/"));
  if (header.kind === "log") return join("logs", ...header.name.split("/"));
  return "datomspace-out.json";
}

/**
 * Opens every sealed subject of a run with `wallet`'s key. With `outDir`, the files are written
 * there (all or nothing; existing files are never overwritten); without it they are only verified.
 */
export async function openRun(
  repo: string,
  loaded: LoadedContract,
  run: RunReceipt,
  wallet: Wallet,
  publisher: Publisher,
  outDir?: string,
): Promise<OpenResult> {
  const address = getAddress(wallet.address);
  const key = findWrappedKey(repo, loaded, run, address);
  let dataKey: Buffer;
  try {
    dataKey = unwrapKey(key.wrapped, wallet.privateKey);
  } catch {
    throw new VerdictError(`the data key wrapped for ${address} does not open with this key`, [
      {
        file: run.file,
        path: `$.predicate.outputs.wrappedKeys.${address}`,
        message: "does not decrypt with the private key of the keystore",
        fix: "the wrapped key was altered or made for another key; ask for a new release or run",
      },
    ]);
  }
  const issues: Issue[] = [];
  const files: OpenedFile[] = [];
  const temps: { temp: string; final: string }[] = [];
  if (outDir !== undefined) mkdirSync(outDir, { recursive: true });
  try {
    for (const [i, subject] of run.receipt.subject.entries()) {
      const at = `$.subject[${i}]`;
      const cid = subject.uri.slice("ipfs://".length);
      let blob: Uint8Array;
      try {
        blob = await publisher.get(cid);
      } catch (error) {
        if (error instanceof ServiceError || error instanceof InputError) {
          issues.push({
            file: run.file,
            path: `${at}.uri`,
            message: `${subject.name}: cannot be fetched from ${publisher.location}: ${error.message}`,
            fix: "publish the run's sealed blobs there, or fetch from the node that has them (--ipfs URL)",
          });
          continue;
        }
        throw error;
      }
      const sha256 = createHash("sha256").update(blob).digest("hex");
      if (sha256 !== subject.digest.sha256) {
        issues.push({
          file: run.file,
          path: `${at}.digest.sha256`,
          message: `${subject.name}: the fetched ciphertext has sha256 ${sha256}, the receipt says ${subject.digest.sha256}`,
          fix: "the stored blob was altered: publish the run's sealed blobs again",
        });
        continue;
      }
      if (subject.annotations?.size !== undefined && blob.length !== subject.annotations.size) {
        issues.push({
          file: run.file,
          path: `${at}.annotations.size`,
          message: `${subject.name}: the fetched ciphertext has ${blob.length} bytes, the receipt says ${subject.annotations.size}`,
          fix: "the receipt was altered: restore it from git",
        });
        continue;
      }
      const actualCid = await cidOf(blob);
      if (actualCid !== cid) {
        issues.push({
          file: run.file,
          path: `${at}.uri`,
          message: `${subject.name}: the ciphertext's CID is ${actualCid}, the receipt says ${cid}`,
          fix: "the receipt was altered: restore it from git",
        });
        continue;
      }
      const temp = outDir === undefined ? undefined : join(outDir, `.fetch.${randomBytes(6).toString("hex")}.tmp`);
      const fd = temp === undefined ? undefined : openSync(temp, "wx", 0o600);
      let header: SealedHeader;
      try {
        header = openBlob(blob, dataKey, sealContext(run.receipt.predicate.contract.hash, run.runId, subject.name), (bytes) => {
          if (fd === undefined) return;
          let written = 0;
          while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
        });
      } catch (error) {
        if (fd !== undefined) closeSync(fd);
        if (temp !== undefined) rmSync(temp, { force: true });
        if (error instanceof OpenError) {
          issues.push({
            file: run.file,
            path: `${at}`,
            message: `${subject.name}: the sealed blob ${error.message}`,
            fix: "the blob or the wrapped key was altered: publish the run's sealed blobs again",
          });
          continue;
        }
        throw error;
      }
      if (fd !== undefined) closeSync(fd);
      if (!isSafeName(header.name)) {
        if (temp !== undefined) rmSync(temp, { force: true });
        issues.push({
          file: run.file,
          path: at,
          message: `${subject.name}: the sealed file name is not a safe relative name`,
          fix: "the run's outputs cannot be written here",
        });
        continue;
      }
      const final = outDir === undefined ? undefined : join(outDir, placeOf(header));
      if (temp !== undefined && final !== undefined) temps.push({ temp, final });
      files.push({
        subject: subject.name,
        kind: header.kind,
        name: header.name,
        size: header.size,
        sha256: header.sha256,
        ...(final === undefined ? {} : { path: final }),
      });
    }
    if (issues.length > 0) {
      throw new VerdictError(
        `${run.file}: ${issues.length} of ${run.receipt.subject.length} sealed file${run.receipt.subject.length === 1 ? "" : "s"} did not check out; nothing was written`,
        issues,
      );
    }
    const finals = new Set<string>();
    for (const { final } of temps) {
      if (existsSync(final) || finals.has(final))
        throw InputError.of({
          file: final,
          path: "$",
          message: "already exists; fetch never overwrites a file",
          fix: "choose another --out folder or remove it",
        });
      finals.add(final);
    }
    for (const { temp, final } of temps) {
      mkdirSync(dirname(final), { recursive: true });
      renameSync(temp, final);
    }
    temps.length = 0;
  } catch (error) {
    dataKey.fill(0);
    throw error;
  } finally {
    for (const { temp } of temps) rmSync(temp, { force: true });
  }
  return { address, keyFrom: key.from, files, dataKey };
}
