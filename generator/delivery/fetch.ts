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
import { OpenError, isSafeName, openBlob, sealContext, unwrapKey, type SealedHeader, type SealedKind } from "../seal/crypto.js";
import type { SealKey } from "../seal/manifest.js";
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
  readonly kind: SealedKind;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  /** Where it was written (absent when only verified). */
  readonly path?: string;
}

export interface OpenResult {
  readonly address: string;
  /** Where the data key came from; null when the caller holds only the owners' key. */
  readonly keyFrom: KeySource["from"] | null;
  readonly files: readonly OpenedFile[];
  /** Subjects sealed with a key the caller does not hold (the report and owner-only logs, for a recipient). */
  readonly skipped: readonly string[];
  /** The data key, for a release (undefined when the caller has none); the caller zeroes it. */
  readonly dataKey: Buffer | undefined;
}

/** Where an opened file goes below the output folder: outputs/<name>, logs/<name>, datomspace-out.json. */
export function placeOf(kind: SealedKind, name: string): string {
  if (kind === "output") return join("outputs", ...name.split("/"));
  if (kind === "log") return join("logs", ...name.split("/"));
  return "datomspace-out.json";
}

function unwrapOrExplain(wrapped: string, wallet: Wallet, run: RunReceipt, path: string, address: string): Buffer {
  try {
    return unwrapKey(wrapped, wallet.privateKey);
  } catch {
    throw new VerdictError(`the key wrapped for ${address} does not open with this key`, [
      {
        file: run.file,
        path,
        message: "does not decrypt with the private key of the keystore",
        fix: "the wrapped key was altered or made for another key; ask for a new release or run",
      },
    ]);
  }
}

/**
 * Opens every sealed subject of a run the caller holds a key for: the data key (outputs, and logs
 * unless the contract keeps them for the owners) and, for a data owner, the owners' key (the
 * report, owner-only logs). Each blob is checked (sha256, size, CID) and every file packed in it
 * against the blob's header. With `outDir`, the files are written there (all or nothing; existing
 * files are never overwritten) under the names the algorithm gave them; without it they are only
 * verified.
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
  const outputs = run.receipt.predicate.outputs;
  const ownerWrapped = Object.entries(outputs.ownerKeys ?? {}).find(([a]) => a.toLowerCase() === address.toLowerCase())?.[1];
  let source: KeySource | undefined;
  try {
    source = findWrappedKey(repo, loaded, run, address);
  } catch (error) {
    if (ownerWrapped === undefined) throw error;
  }
  const keys: Partial<Record<SealKey, Buffer>> = {};
  if (source !== undefined) keys.data = unwrapOrExplain(source.wrapped, wallet, run, `$.predicate.outputs.wrappedKeys.${address}`, address);
  if (ownerWrapped !== undefined) keys.owners = unwrapOrExplain(ownerWrapped, wallet, run, `$.predicate.outputs.ownerKeys.${address}`, address);
  const zero = (): void => {
    keys.data?.fill(0);
    keys.owners?.fill(0);
  };
  const issues: Issue[] = [];
  const files: OpenedFile[] = [];
  const skipped: string[] = [];
  const temps: { temp: string; final: string }[] = [];
  if (outDir !== undefined) mkdirSync(outDir, { recursive: true });
  try {
    for (const [i, subject] of run.receipt.subject.entries()) {
      const at = `$.subject[${i}]`;
      const key = keys[subject.annotations?.key ?? "data"];
      if (key === undefined) {
        skipped.push(subject.name);
        continue;
      }
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
      // One temporary file per packed file, opened as its bytes arrive.
      const opened: { temp: string; fd: number }[] = [];
      const fdOf = (file: number): number | undefined => {
        if (outDir === undefined) return undefined;
        while (opened.length <= file) {
          const temp = join(outDir, `.fetch.${randomBytes(6).toString("hex")}.tmp`);
          opened.push({ temp, fd: openSync(temp, "wx", 0o600) });
        }
        return opened[file].fd;
      };
      let header: SealedHeader;
      try {
        header = openBlob(blob, key, sealContext(run.receipt.predicate.contract.hash, run.runId, subject.name), (file, bytes) => {
          const fd = fdOf(file);
          if (fd === undefined) return;
          let written = 0;
          while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
        });
        if (outDir !== undefined && header.files.length > 0) fdOf(header.files.length - 1);
      } catch (error) {
        for (const { temp, fd } of opened) {
          closeSync(fd);
          rmSync(temp, { force: true });
        }
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
      for (const { fd } of opened) closeSync(fd);
      const expected = { "outputs/0": "output", "logs/0": "log", "logs/datomspace-out": "report" }[subject.name];
      const unsafe = header.files.find((f) => header.kind !== "report" && !isSafeName(f.name));
      if (header.kind !== expected || unsafe !== undefined) {
        for (const { temp } of opened) rmSync(temp, { force: true });
        issues.push({
          file: run.file,
          path: at,
          message: `${subject.name}: ${unsafe === undefined ? `holds ${header.kind} files` : "holds a file whose name is not a safe relative name"}`,
          fix: "the run's outputs cannot be written here",
        });
        continue;
      }
      header.files.forEach((file, n) => {
        const final = outDir === undefined ? undefined : join(outDir, placeOf(header.kind, file.name));
        if (final !== undefined) temps.push({ temp: opened[n].temp, final });
        files.push({
          subject: subject.name,
          kind: header.kind,
          name: file.name,
          size: file.size,
          sha256: file.sha256,
          ...(final === undefined ? {} : { path: final }),
        });
      });
    }
    if (issues.length > 0) {
      throw new VerdictError(
        `${run.file}: ${issues.length} of ${run.receipt.subject.length} sealed blob${run.receipt.subject.length === 1 ? "" : "s"} did not check out; nothing was written`,
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
    zero();
    throw error;
  } finally {
    for (const { temp } of temps) rmSync(temp, { force: true });
  }
  keys.owners?.fill(0);
  return { address, keyFrom: source?.from ?? null, files, skipped, dataKey: keys.data };
}
