/**
 * `datomspod data place ID --from DIR`: a data owner puts the files of a contract's datasets where
 * its signed hostPath location says (the local profile), so that `datomspod run` finds them. Every
 * file is checked against the sha256 and size the parties signed before anything is written (a
 * file that is not the agreed data is refused, all such files reported at once); a file already in
 * place is kept when it is the agreed one and never overwritten when it is not. Each copy is made
 * beside its target, re-hashed, made read-only (0444) and renamed into place: never half-written.
 * Without --from it only checks that the data is in place.
 */

import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { InputError, type Issue } from "../errors.js";
import type { LoadedContract } from "../contract/load.js";
import { OpenFileError, hashFile, type FileDigest } from "../pod/roles/checksum.js";

export type PlacedState = "placed" | "in-place" | "missing" | "not-local";

export interface PlacedFile {
  readonly dataset: number;
  readonly name: string;
  /** Where the contract says the file is (empty for a location that is not on this machine). */
  readonly target: string;
  readonly state: PlacedState;
  /** For a location that is not a hostPath: its kind. */
  readonly kind?: string;
}

function digestOrProblem(path: string): FileDigest | OpenFileError {
  try {
    return hashFile(path);
  } catch (error) {
    if (error instanceof OpenFileError) return error;
    throw new OpenFileError("not-a-file", `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** Places (with `from`) or checks (without) the hostPath data of a loaded contract. */
export function placeData(loaded: LoadedContract, from: string | undefined): PlacedFile[] {
  const issues: Issue[] = [];
  const plan: { file: PlacedFile; source?: string }[] = [];
  loaded.contract.inputs.data.forEach((asset, i) => {
    const location = asset.location;
    asset.files.forEach((entry, j) => {
      const at = `$.inputs.data[${i}].files[${j}]`;
      if (location.kind !== "hostPath") {
        plan.push({ file: { dataset: i, name: entry.name, target: "", state: "not-local", kind: location.kind } });
        return;
      }
      const target = join(location.path, entry.name);
      const agreed = (digest: FileDigest): boolean => digest.sha256 === entry.sha256 && digest.size === entry.size;
      const present = digestOrProblem(target);
      if (!(present instanceof OpenFileError)) {
        if (agreed(present)) {
          plan.push({ file: { dataset: i, name: entry.name, target, state: "in-place" } });
          return;
        }
        issues.push({
          file: target,
          path: "$",
          message: `is not the file ${loaded.file} ${at} names (its sha256 is ${present.sha256}, ${present.size} bytes; the contract says ${entry.sha256}, ${entry.size} bytes)`,
          fix: "data is never overwritten: move that file away if it is not needed, or correct the contract and sign it again",
        });
        return;
      }
      if (present.problem !== "missing") {
        issues.push({ file: target, path: "$", message: present.message, fix: "make it the regular file the contract names (symbolic links are refused)" });
        return;
      }
      if (from === undefined) {
        plan.push({ file: { dataset: i, name: entry.name, target, state: "missing" } });
        return;
      }
      const source = join(from, entry.name);
      const offered = digestOrProblem(source);
      if (offered instanceof OpenFileError) {
        issues.push({ file: source, path: "$", message: offered.message, fix: `put ${entry.name} in ${from}, or pass the folder that holds it` });
      } else if (!agreed(offered)) {
        issues.push({
          file: source,
          path: "$",
          message: `is not the data ${loaded.file} ${at} was signed over (its sha256 is ${offered.sha256}, ${offered.size} bytes; the contract says ${entry.sha256}, ${entry.size} bytes)`,
          fix: "place the very file the parties agreed on; if the data changed, update the contract (datomspod contract fill) and have every party sign again",
        });
      } else plan.push({ file: { dataset: i, name: entry.name, target, state: "placed" }, source });
    });
  });
  if (issues.length > 0) throw InputError.many(`the data of ${loaded.id} cannot be placed; nothing was written`, issues);

  for (const { file, source } of plan) {
    if (source === undefined) continue;
    const folder = join(file.target, "..");
    mkdirSync(folder, { recursive: true, mode: 0o755 });
    const temp = join(folder, `.${file.name}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      copyFileSync(source, temp);
      const copied = hashFile(temp);
      const entry = loaded.contract.inputs.data[file.dataset].files.find((f) => f.name === file.name)!;
      if (copied.sha256 !== entry.sha256 || copied.size !== entry.size) {
        throw InputError.of({ file: source, path: "$", message: "changed while it was copied", fix: "run the command again when nothing writes to it" });
      }
      chmodSync(temp, 0o444);
      if (existsSync(file.target))
        throw InputError.of({ file: file.target, path: "$", message: "appeared while the data was placed", fix: "run the command again" });
      renameSync(temp, file.target);
    } finally {
      rmSync(temp, { force: true });
    }
  }
  return plan.map(({ file }) => file);
}
