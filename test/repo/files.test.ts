/**
 * Reading inputs safely and writing outputs atomically, and where things are in a repository.
 */

import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../generator/errors.js";
import { display, readJsonFile, readRegularFile, toJsonText, writeFileAtomic } from "../../generator/repo/files.js";
import { findRepo, listContractIds, listRecordFiles } from "../../generator/repo/layout.js";
import { tempDir } from "../helpers/repo.js";

function issuesOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    if (error instanceof InputError) return error.issues;
    throw error;
  }
  throw new Error("did not fail");
}

describe("writeFileAtomic", () => {
  it("creates folders, replaces the file whole and leaves no temporary file", () => {
    const dir = tempDir();
    const path = join(dir, "a", "b", "file.json");

    writeFileAtomic(path, "one\n");
    writeFileAtomic(path, "two\n");

    expect(readFileSync(path, "utf8")).toBe("two\n");
    expect(readdirSync(join(dir, "a", "b"))).toEqual(["file.json"]);
    expect(statSync(path).mode & 0o777).toBe(0o644);
  });

  it("writes keys with mode 0600", () => {
    const dir = tempDir();

    writeFileAtomic(join(dir, "key.json"), "{}", 0o600);

    expect(statSync(join(dir, "key.json")).mode & 0o777).toBe(0o600);
  });
});

describe("toJsonText", () => {
  it("is two-space JSON with LF and a final newline", () => {
    expect(toJsonText({ b: [1], a: "x" })).toBe('{\n  "b": [\n    1\n  ],\n  "a": "x"\n}\n');
  });
});

describe("readRegularFile and readJsonFile", () => {
  it("refuse symbolic links, folders, missing files, oversized files and bad UTF-8", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "real.json"), "{}");
    symlinkSync(join(dir, "real.json"), join(dir, "link.json"));
    mkdirSync(join(dir, "folder.json"));
    writeFileSync(join(dir, "big.json"), "[" + "0,".repeat(20) + "0]");
    writeFileSync(join(dir, "latin1.json"), Buffer.from([0x22, 0xe9, 0x22]));

    expect(issuesOf(() => readRegularFile(join(dir, "link.json"), "link.json"))).toEqual([
      { file: "link.json", path: "$", message: "is a symbolic link", fix: "commit the file itself, not a link" },
    ]);
    expect(issuesOf(() => readRegularFile(join(dir, "folder.json"), "folder.json"))).toEqual([
      { file: "folder.json", path: "$", message: "is not a regular file", fix: "replace it with a file" },
    ]);
    expect(issuesOf(() => readRegularFile(join(dir, "none.json"), "none.json"))).toEqual([
      { file: "none.json", path: "$", message: "file not found", fix: "create it or check the name" },
    ]);
    expect(issuesOf(() => readRegularFile(join(dir, "big.json"), "big.json", 10))).toEqual([
      { file: "big.json", path: "$", message: "file is 43 bytes, larger than the limit of 10", fix: "make it smaller" },
    ]);
    expect(issuesOf(() => readJsonFile(join(dir, "latin1.json"), "latin1.json"))).toEqual([
      { file: "latin1.json", path: "$", message: "is not valid UTF-8", fix: "save it as UTF-8" },
    ]);
    expect(readJsonFile(join(dir, "real.json"), "real.json")).toEqual({});
  });

  it("accept a UTF-8 byte order mark", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bom.json"), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a": 1}')]));

    expect(readJsonFile(join(dir, "bom.json"), "bom.json")).toEqual({ a: 1 });
  });
});

describe("layout", () => {
  it("shows paths inside the repository relative to it, others as they are", () => {
    expect(display("/repo", "/repo/contracts/x/contract.json")).toBe("contracts/x/contract.json");
    expect(display("/repo", "/elsewhere/key.json")).toBe("/elsewhere/key.json");
  });

  it("lists contract folders that hold a contract.json, sorted", () => {
    const repo = tempDir();
    for (const id of ["b-contract", "a-contract", "empty"]) mkdirSync(join(repo, "contracts", id), { recursive: true });
    writeFileSync(join(repo, "contracts", "b-contract", "contract.json"), "{}");
    writeFileSync(join(repo, "contracts", "a-contract", "contract.json"), "{}");
    writeFileSync(join(repo, "contracts", "contract.schema.json"), "{}");

    expect(listContractIds(repo)).toEqual(["a-contract", "b-contract"]);
    expect(listContractIds(tempDir())).toEqual([]);
  });

  it("lists record files apart from everything else, ignoring hidden files", () => {
    const dir = tempDir();
    for (const name of ["b.json", "a.json", "notes.txt", ".gitkeep", ".a.json.1234.tmp"]) writeFileSync(join(dir, name), "");
    mkdirSync(join(dir, "sub.json"));

    expect(listRecordFiles(dir)).toEqual({ json: ["a.json", "b.json"], other: ["notes.txt", "sub.json"] });
    expect(listRecordFiles(join(dir, "missing"))).toEqual({ json: [], other: [] });
  });

  it("finds the repository: --repo, else the enclosing git work tree, else the current folder", () => {
    const root = tempDir();
    mkdirSync(join(root, ".git"));
    mkdirSync(join(root, "contracts", "x"), { recursive: true });
    const outside = tempDir();

    expect(findRepo(undefined, join(root, "contracts", "x"))).toBe(root);
    expect(findRepo("contracts", root)).toBe(join(root, "contracts"));
    expect(findRepo(undefined, outside)).toBe(outside);
    expect(issuesOf(() => findRepo("nope", outside))).toEqual([
      { file: join(outside, "nope"), path: "$", message: "--repo is not a folder", fix: "pass the repository's root folder" },
    ]);
  });
});
