/**
 * Reading inputs (read-only, no symlinks, size-limited) and writing outputs atomically
 * (a temporary file in the same folder, then rename), so nothing is ever half-written.
 */

import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, basename } from "node:path";
import { randomBytes } from "node:crypto";
import { InputError } from "../errors.js";
import { MAX_DOCUMENT_BYTES, parseStrictJson, type JsonValue } from "../contract/json.js";

/** How a path is shown to the user: relative to the repository when inside it. */
export function display(repo: string, path: string): string {
  const rel = relative(repo, path);
  return rel && !rel.startsWith("..") ? rel : path;
}

/**
 * Reads a regular file. Symbolic links are refused: a link inside a contract folder could point
 * a reviewer at one file and the tool at another (or outside the repository).
 */
export function readRegularFile(path: string, shown: string, maxBytes = MAX_DOCUMENT_BYTES): Buffer {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    throw InputError.of({ file: shown, path: "$", message: "file not found", fix: "create it or check the name" });
  }
  if (stat.isSymbolicLink()) {
    throw InputError.of({ file: shown, path: "$", message: "is a symbolic link", fix: "commit the file itself, not a link" });
  }
  if (!stat.isFile()) throw InputError.of({ file: shown, path: "$", message: "is not a regular file", fix: "replace it with a file" });
  if (stat.size > maxBytes) {
    throw InputError.of({ file: shown, path: "$", message: `file is ${stat.size} bytes, larger than the limit of ${maxBytes}`, fix: "make it smaller" });
  }
  return readFileSync(path);
}

export function readJsonFile(path: string, shown: string, maxBytes = MAX_DOCUMENT_BYTES): JsonValue {
  const bytes = readRegularFile(path, shown, maxBytes);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw InputError.of({ file: shown, path: "$", message: "is not valid UTF-8", fix: "save it as UTF-8" });
  }
  return parseStrictJson(text, shown, maxBytes);
}

/** Writes `content` to `path` atomically; the folder is created when missing. */
export function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    writeFileSync(temp, content, { mode, flag: "wx" });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** JSON as datomspod writes it: two-space indent, LF, trailing newline. */
export function toJsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
