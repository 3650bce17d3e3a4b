/**
 * Collects the evidence items of one contract from the files of the repository, by kind. Nothing
 * here knows how a receipt or a manifest is made: a file in a known place is an item, so records
 * written by other stages (runner, renderer, settlement) become evidence without this code changing.
 *
 *   contract-hash      contracts/<id>/contract.json   sha256 of its RFC 8785 form without "$schema"
 *   contract-file      contracts/<id>/contract.json   sha256 of its bytes
 *   signature          contracts/<id>/signatures/*    sha256 of the bytes of each file
 *   approval           contracts/<id>/approvals/*     "
 *   review             contracts/<id>/reviews/*       " (approving pull-request reviews recorded on merge)
 *   algorithm-code     contracts/<id>/<code.path>     sha256 of the code file (or the contract's sha256 of a CID)
 *                      algorithms/<name>/<version>/<code.packageFile>   the code of an algorithm package
 *   signature          algorithms/<name>/<version>/author.json          the package author's signature
 *   approval           algorithms/<name>/<version>/approvals/<party>.json   the parties' approvals of the package
 *   revocation         algorithms/<name>/<version>/revocations/<party>.*.json   and their revocations
 *   image-digest       <image>:<tag>@sha256:<hex>     the pinned image digest
 *   entrypoint         contracts/<id>/contract.json#entrypoint   sha256 of the argv JSON that runs ($ALGO expanded)
 *   environment        environments/<name>/           sha256 of the folder (as directoryDigest), what approvals pin
 *   cluster-profile    clusters/<cluster>/cluster.yaml   sha256 of the profile's RFC 8785 JSON, what approvals pin
 *   role-image         <pod image>:<tag>@sha256:<hex> the role image the profile pins
 *   instance-template  clusters/<cluster>/<id>#template   the digest of the rendered instance template approvals pin
 *   rendered-manifest  clusters/<cluster>/<id>/       sha256 of the RFC 8785 JSON {relative path: sha256 of the file}
 *   run-request        contracts/<id>/runs/*          sha256 of the bytes of each file
 *   receipt            contracts/<id>/receipts/*      "
 *   output, log        <receipt>#<subject name>       the sha256 of each subject the receipt lists
 *   release, ack       contracts/<id>/releases/*, acks/*
 *   revocation, deletion, settlement   contracts/<id>/{revocation,deletion,settlement}.json
 *   settlement-signature  contracts/<id>/settlement-signatures/*   every party's signature of the settlement
 *   payment            contracts/<id>/payments/*      the escrow's deposit, release and refund transactions
 *
 * Files are hashed byte for byte, so any edit, white space included, changes their item; the
 * contract is pinned by its canonical hash as well, which is what the parties signed.
 */

import { existsSync, lstatSync, readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { sha256Hex } from "../contract/canonical.js";
import { parseStrictJson } from "../contract/json.js";
import { contractHash, loadContract } from "../contract/load.js";
import { prepareContract } from "../compile/prepare.js";
import type { Contract } from "../contract/types.generated.js";
import { InputError, type Issue } from "../errors.js";
import { readRegularFile } from "../repo/files.js";
import { contractDir } from "../repo/layout.js";
import { compareItems, type EvidenceItem, type EvidenceKind } from "./items.js";
import { directoryDigest } from "./digest.js";
import { ALGORITHMS_DIR, APPROVALS_FOLDER, AUTHOR_FILE, REVOCATIONS_FOLDER } from "../market/package.js";

export { directoryDigest, filesDigest } from "./digest.js";

import { MAX_EVIDENCE_FILE_BYTES } from "./digest.js";

export { MAX_EVIDENCE_FILE_BYTES };

/** A subject whose value exists but cannot be computed (unreadable file, invalid JSON, a link). */
export interface Unreadable {
  readonly kind: EvidenceKind;
  readonly contractId: string;
  readonly subject: string;
  readonly issue: Issue;
}

export interface CollectedEvidence {
  readonly contractId: string;
  /** Sorted by `compareItems`; each (kind, subject) at most once. */
  readonly items: readonly EvidenceItem[];
  readonly unreadable: readonly Unreadable[];
}

/** Record folders of a contract and the kind of their files. */
const RECORD_KINDS = [
  ["signatures", "signature"],
  ["approvals", "approval"],
  ["reviews", "review"],
  ["runs", "run-request"],
  ["receipts", "receipt"],
  ["receipt-signatures", "receipt-signature"],
  ["releases", "release"],
  ["acks", "ack"],
] as const;

/** Record folders that follow the single records (the settlement, then its signatures and payments). */
const SETTLEMENT_RECORD_KINDS = [
  ["settlement-signatures", "settlement-signature"],
  ["payments", "payment"],
] as const;

const SINGLE_RECORDS = [
  ["revocation.json", "revocation"],
  ["deletion.json", "deletion"],
  ["settlement.json", "settlement"],
] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LABEL_OR_VERSION = /^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$/;
const DNS_FILE = /^(?!\.\.?$)[A-Za-z0-9._-]+$/;

/** A repository path as it appears in subjects: relative, with forward slashes. */
export function repoPath(repo: string, path: string): string {
  return relative(repo, path).split(sep).join("/");
}

/** The rendered-instance folder of a contract for a cluster. */
export function renderedDir(repo: string, cluster: string, id: string): string {
  return join(repo, "clusters", cluster, id);
}

function isLogName(name: string): boolean {
  return /(^|\/)logs?(\/|$)/.test(name) || name.endsWith(".log");
}

/** The sha256 subjects an in-toto Statement lists, or nothing when the document is not one. */
export function statementSubjects(value: unknown): { name: string; sha256: string }[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
  const subject = (value as Record<string, unknown>)["subject"];
  if (!Array.isArray(subject)) return [];
  const out: { name: string; sha256: string }[] = [];
  for (const entry of subject) {
    if (entry === null || typeof entry !== "object") continue;
    const { name, digest } = entry as Record<string, unknown>;
    const sha256 = digest !== null && typeof digest === "object" ? (digest as Record<string, unknown>)["sha256"] : undefined;
    if (typeof name === "string" && typeof sha256 === "string" && /^[0-9a-fA-F]{64}$/.test(sha256)) out.push({ name, sha256: sha256.toLowerCase() });
  }
  return out;
}

/** Collects every evidence item of contract `id` from the working tree of `repo`. */
export function collectEvidence(repo: string, id: string): CollectedEvidence {
  const dir = contractDir(repo, id);
  const items: EvidenceItem[] = [];
  const unreadable: Unreadable[] = [];
  const add = (kind: EvidenceKind, subject: string, digest: string): void => {
    items.push({ kind, contractId: id, subject, digest });
  };
  const fail = (kind: EvidenceKind, subject: string, error: unknown): void => {
    if (!(error instanceof InputError)) throw error;
    const issue = error.issues[0] ?? { file: subject, path: "$", message: error.message };
    unreadable.push({ kind, contractId: id, subject, issue });
  };
  /** Hashes a file's bytes; returns them, or undefined when unreadable. */
  const hashFile = (kind: EvidenceKind, path: string, maxBytes = MAX_EVIDENCE_FILE_BYTES): Buffer | undefined => {
    const subject = repoPath(repo, path);
    try {
      const bytes = readRegularFile(path, subject, maxBytes);
      add(kind, subject, sha256Hex(bytes));
      return bytes;
    } catch (error) {
      fail(kind, subject, error);
      return undefined;
    }
  };

  // The contract: its bytes, and its canonical hash (what the parties signed).
  const contractPath = join(dir, "contract.json");
  const contractSubject = repoPath(repo, contractPath);
  let contract: Partial<Contract> | undefined;
  if (existsSync(contractPath) || isLink(contractPath)) {
    const bytes = hashFile("contract-file", contractPath);
    if (bytes !== undefined) {
      try {
        const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        const value = parseStrictJson(text, contractSubject, MAX_EVIDENCE_FILE_BYTES);
        if (value === null || typeof value !== "object" || Array.isArray(value))
          throw InputError.of({ file: contractSubject, path: "$", message: "is not a JSON object", fix: "restore the contract" });
        contract = value;
        add("contract-hash", contractSubject, contractHash(contract as Contract));
      } catch (error) {
        if (error instanceof TypeError)
          fail("contract-hash", contractSubject, InputError.of({ file: contractSubject, path: "$", message: error.message, fix: "restore the contract" }));
        else if (error instanceof InputError) fail("contract-hash", contractSubject, error);
        else
          fail(
            "contract-hash",
            contractSubject,
            InputError.of({ file: contractSubject, path: "$", message: "is not valid UTF-8", fix: "restore the contract" }),
          );
      }
    } else {
      unreadable.push({ kind: "contract-hash", contractId: id, subject: contractSubject, issue: unreadable.at(-1)!.issue });
    }
  }

  for (const [folder, kind] of RECORD_KINDS.slice(0, 3)) collectFolder(join(dir, folder), kind);

  // The algorithm: its code and its image, as the contract pins them.
  const algorithm = contract?.inputs?.algorithm;
  const code = algorithm?.code;
  if (code !== undefined && typeof code === "object") {
    if (typeof code.path === "string") {
      const path = join(dir, code.path);
      const subject = repoPath(repo, path);
      if (subject.startsWith(`${repoPath(repo, dir)}/`)) hashFile("algorithm-code", path);
      else
        fail(
          "algorithm-code",
          subject,
          InputError.of({
            file: contractSubject,
            path: "$.inputs.algorithm.code.path",
            message: "points outside the contract folder",
            fix: "keep the code under algorithm/",
          }),
        );
    } else if (typeof code.cid === "string" && typeof code.sha256 === "string" && /^[0-9a-f]{64}$/.test(code.sha256)) {
      add("algorithm-code", `ipfs://${code.cid}`, code.sha256);
    }
  }
  // An algorithm package: its code, its author's signature, and the approvals and revocations of
  // the contract's parties (what the contract's approvals are inherited from).
  const pkg = algorithm?.package;
  if (pkg !== undefined && typeof pkg === "object" && DNS_LABEL_OR_VERSION.test(String(pkg.name)) && DNS_LABEL_OR_VERSION.test(String(pkg.version))) {
    const packageDir = join(repo, ALGORITHMS_DIR, pkg.name, pkg.version);
    if (typeof code?.packageFile === "string" && DNS_FILE.test(code.packageFile)) hashFile("algorithm-code", join(packageDir, code.packageFile));
    if (existsSync(join(packageDir, AUTHOR_FILE))) hashFile("signature", join(packageDir, AUTHOR_FILE));
    const parties = new Set((Array.isArray(contract?.parties) ? contract.parties : []).map((party) => String(party?.address)));
    const ofParty = (name: string): boolean => parties.has(name.split(".")[0] ?? "");
    collectFolder(join(packageDir, APPROVALS_FOLDER), "approval", ofParty);
    collectFolder(join(packageDir, REVOCATIONS_FOLDER), "revocation", ofParty);
  }
  const container = algorithm?.container;
  if (container !== undefined && typeof container.digest === "string") {
    const match = /^sha256:([0-9a-f]{64})$/.exec(container.digest);
    const reference = `${String(container.image)}${typeof container.tag === "string" ? `:${container.tag}` : ""}@${container.digest}`;
    if (match) add("image-digest", reference, match[1]);
    else
      fail(
        "image-digest",
        reference,
        InputError.of({
          file: contractSubject,
          path: "$.inputs.algorithm.container.digest",
          message: "is not a sha256 digest",
          fix: "pin the image by its sha256 digest",
        }),
      );
  }

  // What the approvals cover beyond the contract: environment, profile, role image, entrypoint, instance template.
  if (contract !== undefined) {
    try {
      const loaded = loadContract(repo, id);
      const { prepared } = prepareContract(repo, loaded);
      if (prepared !== undefined) {
        const subject = prepared.subject;
        add("entrypoint", `${contractSubject}#entrypoint`, sha256Hex(subject.entrypoint));
        add("environment", prepared.environment.subject, prepared.environment.digest);
        add("cluster-profile", `clusters/${subject.cluster}/cluster.yaml`, subject.clusterProfileDigest);
        const pod = prepared.profile.images.pod;
        add("role-image", `${pod.image}:${pod.tag}@${pod.digest}`, pod.digest.replace(/^sha256:/, ""));
        add("instance-template", `clusters/${subject.cluster}/${id}#template`, subject.instanceDigest);
      }
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      // A contract that does not load has no approvals that count; its files are evidence all the same.
    }
  }

  // The rendered instance, while it exists.
  if (typeof contract?.cluster === "string" && DNS_LABEL.test(contract.cluster)) {
    const rendered = renderedDir(repo, contract.cluster, id);
    const subject = `${repoPath(repo, rendered)}/`;
    if (existsSync(rendered)) {
      try {
        if (!lstatSync(rendered).isDirectory()) throw InputError.of({ file: subject, path: "$", message: "is not a folder", fix: "render the instance again" });
        add("rendered-manifest", subject, directoryDigest(rendered, subject));
      } catch (error) {
        fail("rendered-manifest", subject, error);
      }
    }
  }

  for (const [folder, kind] of RECORD_KINDS.slice(3)) collectFolder(join(dir, folder), kind);
  for (const [name, kind] of SINGLE_RECORDS) {
    const path = join(dir, name);
    if (existsSync(path) || isLink(path)) hashFile(kind, path);
  }
  for (const [folder, kind] of SETTLEMENT_RECORD_KINDS) collectFolder(join(dir, folder), kind);

  items.sort(compareItems);
  return { contractId: id, items, unreadable };

  function collectFolder(folder: string, kind: EvidenceKind, include: (name: string) => boolean = () => true): void {
    if (!existsSync(folder)) return;
    const names = readdirSync(folder)
      .filter((name) => !name.startsWith(".") && include(name))
      .sort();
    for (const name of names) {
      const path = join(folder, name);
      const bytes = hashFile(kind, path);
      if (kind !== "receipt" || bytes === undefined) continue;
      // Each output and log a receipt lists is an item of its own.
      let value: unknown;
      try {
        value = parseStrictJson(new TextDecoder("utf-8", { fatal: true }).decode(bytes), repoPath(repo, path), MAX_EVIDENCE_FILE_BYTES);
      } catch {
        continue; // the receipt's own item pins its bytes; a receipt that does not parse lists nothing
      }
      for (const subject of statementSubjects(value))
        add(isLogName(subject.name) ? "log" : "output", `${repoPath(repo, path)}#${subject.name}`, subject.sha256);
    }
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
