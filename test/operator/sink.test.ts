/**
 * The operator's git clone, spoken to by isomorphic-git over smart HTTP (git http-backend on
 * loopback, as the lab's git server and any git host): reset to the remote before every decision
 * (a crash's leftovers go), a push that lost a race is put on top of the other commit, and a clone
 * that is not the operator's own, or a remote that is not http(s), is refused.
 */

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import isogit from "isomorphic-git";
import { afterAll, describe, expect, it, vi } from "vitest";
import { GitSink, OPERATOR_COMMITTER } from "../../generator/operator/sink.js";
import { tempDir } from "../helpers/repo.js";
import { startGitServer, type GitServer } from "../cluster/lab/git-server.js";

const servers: GitServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t.invalid", ...args], {
    encoding: "utf8",
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" },
  });
}

/** A remote served over HTTP with two files, and a clone of it made by the sink (as the Deployment's --clone does). */
async function remoteAndClone(): Promise<{ server: GitServer; bare: string; clone: string; sink: GitSink }> {
  const server = await startGitServer({ root: tempDir(), acceptPush: true });
  servers.push(server);
  const source = tempDir();
  git(source, "init", "--quiet", "--initial-branch=main");
  mkdirSync(join(source, "contracts", "a"), { recursive: true });
  writeFileSync(join(source, "contracts", "a", "contract.json"), "{}\n");
  writeFileSync(join(source, "README.md"), "hello\n");
  git(source, "add", "--all");
  git(source, "commit", "--quiet", "-m", "start");
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", join(server.root, "r.git")]);
  git(source, "push", "--quiet", join(server.root, "r.git"), "HEAD:main");
  const clone = join(tempDir(), "clone");
  mkdirSync(clone);
  const sink = new GitSink(clone);
  await sink.cloneInto(server.repoUrl("r"));
  // the test's own git commands use the bare repository's path: a synchronous git against this process's server would wait forever
  return { server, bare: join(server.root, "r.git"), clone, sink };
}

/** Everything in `dir`'s HEAD equals its index and work tree: no change, nothing untracked or ignored left over. */
function expectClean(dir: string): void {
  expect(git(dir, "status", "--porcelain", "--untracked-files=all", "--ignored")).toBe("");
}

/** Someone else's clone of the remote (the test's git works on the bare repository's path, not over this process's server). */
function otherClone(bare: string): string {
  const other = join(tempDir(), "other");
  execFileSync("git", ["clone", "--quiet", bare, other]);
  return other;
}

/** Everything in `other` committed as someone else and pushed. */
function pushAll(other: string, message: string): void {
  git(other, "add", "--all");
  git(other, "commit", "--quiet", "-m", message);
  git(other, "push", "--quiet", "origin", "HEAD:main");
}

describe("the operator's git clone (isomorphic-git, smart HTTP)", () => {
  it("is reset to the remote before a decision: a changed, a deleted, a staged and an untracked file of a crash are gone", async () => {
    const { clone } = await remoteAndClone();
    writeFileSync(join(clone, "README.md"), "changed\n");
    rmSync(join(clone, "contracts", "a", "contract.json"));
    mkdirSync(join(clone, "contracts", "a", "receipts"));
    writeFileSync(join(clone, "contracts", "a", "receipts", "run-1.json"), "{}\n");
    git(clone, "add", "contracts/a/receipts/run-1.json");
    mkdirSync(join(clone, "contracts", "b", "deep"), { recursive: true });
    writeFileSync(join(clone, "contracts", "b", "deep", "deletion.json"), "{}\n");

    // the restart after the crash: a new process on the same clone
    const sink = new GitSink(clone);
    await sink.sync();

    expect(readFileSync(join(clone, "README.md"), "utf8")).toBe("hello\n");
    expect(readFileSync(join(clone, "contracts", "a", "contract.json"), "utf8")).toBe("{}\n");
    expect(existsSync(join(clone, "contracts", "a", "receipts"))).toBe(false);
    expect(existsSync(join(clone, "contracts", "b"))).toBe(false);
    expect(git(clone, "status", "--porcelain", "--untracked-files=all")).toBe("");
    await expect(sink.assertOwned()).resolves.toBeUndefined();
  });

  it("does not walk a clone it has just made (its commit exactly): a stray file stays until a restart", async () => {
    const { clone, sink } = await remoteAndClone();
    writeFileSync(join(clone, "stray.txt"), "x\n");

    await sink.sync();
    expect(existsSync(join(clone, "stray.txt"))).toBe(true);
    await new GitSink(clone).sync();
    expect(existsSync(join(clone, "stray.txt"))).toBe(false);
  });

  it("walks the work tree again after a decision that wrote (willWrite), or when the remote moved; not otherwise", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    await sink.sync();
    sink.willWrite();
    mkdirSync(join(clone, "contracts", "a", "receipts"));
    writeFileSync(join(clone, "contracts", "a", "receipts", "run-1.json"), "{}\n");

    await sink.sync();

    expect(existsSync(join(clone, "contracts", "a", "receipts"))).toBe(false);
    const other = otherClone(bare);
    writeFileSync(join(other, "README.md"), "moved\n");
    pushAll(other, "moved");
    await sink.sync();
    expect(readFileSync(join(clone, "README.md"), "utf8")).toBe("moved\n");
    // neither moved nor written: the tree is not walked (a file put there behind the operator's back stays until one of those happens)
    writeFileSync(join(clone, "stray.txt"), "x\n");
    await sink.sync();
    expect(existsSync(join(clone, "stray.txt"))).toBe(true);
  });

  it("commits as the operator and pushes; a push that lost the race goes on top of the other commit", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    const other = otherClone(bare);
    git(other, "commit", "--quiet", "--allow-empty", "-m", "someone else first");
    git(other, "push", "--quiet", "origin", "HEAD:main");
    mkdirSync(join(clone, "contracts", "a", "receipts"));
    writeFileSync(join(clone, "contracts", "a", "receipts", "run-1.json"), '{"r":1}\n');

    const commit = await sink.record(["contracts/a/receipts/run-1.json"], "Receipt of a run-1");

    git(other, "pull", "--quiet", "origin", "main");
    expect(git(other, "rev-parse", "HEAD").trim()).toBe(commit);
    expect(git(other, "log", "--format=%s|%an|%ae|%cn").trim().split("\n")).toEqual([
      `Receipt of a run-1|${OPERATOR_COMMITTER.name}|${OPERATOR_COMMITTER.email}|${OPERATOR_COMMITTER.name}`,
      "someone else first|t|t@t.invalid|t",
      "start|t|t@t.invalid|t",
    ]);
    expect(readFileSync(join(other, "contracts", "a", "receipts", "run-1.json"), "utf8")).toBe('{"r":1}\n');
  });

  it("follows a moved remote path by path (changed, added, removed, a file that became a folder, an executable), index and work tree equal to the commit", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    await sink.sync();
    const other = otherClone(bare);
    writeFileSync(join(other, "README.md"), "changed\n");
    rmSync(join(other, "contracts", "a"), { recursive: true });
    mkdirSync(join(other, "contracts", "b", "receipts"), { recursive: true });
    writeFileSync(join(other, "contracts", "b", "receipts", "run-1.json"), "{}\n");
    writeFileSync(join(other, "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
    pushAll(other, "moved");
    // a file the operator did not write, outside the changed paths: a path-by-path sync does not look there
    writeFileSync(join(clone, "stray.txt"), "x\n");

    await sink.sync();

    expect(readFileSync(join(clone, "README.md"), "utf8")).toBe("changed\n");
    expect(existsSync(join(clone, "contracts", "a"))).toBe(false);
    expect(readFileSync(join(clone, "contracts", "b", "receipts", "run-1.json"), "utf8")).toBe("{}\n");
    expect(statSync(join(clone, "run.sh")).mode & 0o777).toBe(0o755);
    expect(git(clone, "rev-parse", "HEAD")).toBe(git(other, "rev-parse", "HEAD"));
    expect(git(clone, "status", "--porcelain", "--untracked-files=all")).toBe("?? stray.txt\n");
    // back: the folder becomes a file again
    rmSync(join(other, "contracts", "b"), { recursive: true });
    writeFileSync(join(other, "contracts", "b"), "now a file\n");
    pushAll(other, "folder to file");
    await sink.sync();
    expect(readFileSync(join(clone, "contracts", "b"), "utf8")).toBe("now a file\n");
    expect(git(clone, "status", "--porcelain")).toBe("?? stray.txt\n");
  });

  it("puts back the files a decision named (willWrite(paths)) and did not commit, path by path", async () => {
    const { clone, sink } = await remoteAndClone();
    await sink.sync();
    writeFileSync(join(clone, "stray.txt"), "x\n");
    sink.willWrite(["contracts/a/receipts/run-1.json", "README.md"]);
    mkdirSync(join(clone, "contracts", "a", "receipts"));
    writeFileSync(join(clone, "contracts", "a", "receipts", "run-1.json"), "{}\n");
    writeFileSync(join(clone, "README.md"), "half\n");

    await sink.sync();

    expect(existsSync(join(clone, "contracts", "a", "receipts"))).toBe(false);
    expect(readFileSync(join(clone, "README.md"), "utf8")).toBe("hello\n");
    // only the named paths were looked at
    expect(existsSync(join(clone, "stray.txt"))).toBe(true);
  });

  it("does not write through a symbolic link committed to the repository", async () => {
    const { bare, sink } = await remoteAndClone();
    const other = otherClone(bare);
    const outside = tempDir();
    symlinkSync(outside, join(other, "contracts", "b"));
    pushAll(other, "a link out");
    await sink.sync();

    expect(() => sink.willWrite(["contracts/b/receipts/run-1.json"])).toThrow(
      /contracts\/b: is a symbolic link: the operator does not write contracts\/b\/receipts\/run-1\.json through it/,
    );
    expect(() => sink.willWrite(["README.md/x.json"])).toThrow(/README\.md: is not a folder/);
    expect(() => sink.willWrite(["../x.json"])).toThrow(/is not a path inside the work tree/);
    expect(() => sink.willWrite([".git/config"])).toThrow(/is not a path inside the work tree/);
    await expect(sink.record(["contracts/b/receipts/run-1.json"], "through the link")).rejects.toThrow(/is a symbolic link/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it("refuses a commit whose tree names a path out of the clone (.., .git), writing nothing", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    await sink.sync();
    const blob = execFileSync("git", ["-C", bare, "hash-object", "-w", "--stdin"], { input: "escaped\n", encoding: "utf8" }).trim();
    for (const name of ["..", ".git", ".GIT"]) {
      const inner = execFileSync("git", ["-C", bare, "mktree"], { input: `100644 blob ${blob}\tescaped.txt\n`, encoding: "utf8" }).trim();
      const head = git(bare, "rev-parse", "main").trim();
      const headTree = git(bare, "rev-parse", "main^{tree}").trim();
      const listing = git(bare, "ls-tree", headTree);
      const tree = execFileSync("git", ["-C", bare, "mktree"], { input: `${listing}040000 tree ${inner}\t${name}\n`, encoding: "utf8" }).trim();
      const commit = git(bare, "commit-tree", tree, "-p", head, "-m", `a tree with ${name}`).trim();
      const before = git(bare, "rev-parse", "main").trim();
      git(bare, "update-ref", "refs/heads/main", commit);

      // isomorphic-git's readTree refuses these names, before the sink builds a path from them
      await expect(sink.sync()).rejects.toThrow(
        new RegExp(`git reset failed .*The filepath "${name.replace(/\./g, "\\.")}" contains unsafe character sequences`),
      );
      // and a restart's whole-clone reset (isomorphic-git's checkout) refuses it too
      await expect(new GitSink(clone).sync()).rejects.toThrow(/git reset failed .*contains unsafe character sequences/);

      expect(existsSync(join(clone, "..", "escaped.txt"))).toBe(false);
      expect(existsSync(join(clone, ".git", "escaped.txt"))).toBe(false);
      git(bare, "update-ref", "refs/heads/main", before);
    }
  });

  it("a push refused because the remote moved after the sync goes on top of the other commit; the record lands once", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    await sink.sync();
    sink.willWrite(["contracts/a/receipts/run-1.json"]);
    mkdirSync(join(clone, "contracts", "a", "receipts"));
    writeFileSync(join(clone, "contracts", "a", "receipts", "run-1.json"), '{"r":1}\n');
    const other = otherClone(bare);
    writeFileSync(join(other, "README.md"), "theirs\n");
    pushAll(other, "someone else, after the sync");

    const commit = await sink.record(["contracts/a/receipts/run-1.json"], "Receipt of a run-1");

    git(other, "pull", "--quiet", "origin", "main");
    expect(git(other, "rev-parse", "HEAD").trim()).toBe(commit);
    expect(git(other, "log", "--format=%s").trim().split("\n")).toEqual(["Receipt of a run-1", "someone else, after the sync", "start"]);
    expect(git(other, "show", "--stat", "--format=", "HEAD").trim()).toMatch(/^contracts\/a\/receipts\/run-1\.json \| 1 \+\n 1 file changed/);
    expect(readFileSync(join(clone, "README.md"), "utf8")).toBe("theirs\n");
    expect(git(clone, "status", "--porcelain", "--untracked-files=all")).toBe("");
    execFileSync("git", ["-C", bare, "fsck", "--strict"], { stdio: "pipe" });
  });

  it("refuses a clone with changes of its own (one it did not make), and a remote that is not http(s)", async () => {
    const { bare, clone: own } = await remoteAndClone();
    // its own clone, after a crash that left a changed file: accepted, and the first sync puts the file back
    writeFileSync(join(own, "README.md"), "half-written\n");
    const restarted = new GitSink(own);
    await expect(restarted.assertOwned()).resolves.toBeUndefined();
    await restarted.sync();
    expect(readFileSync(join(own, "README.md"), "utf8")).toBe("hello\n");
    // someone's clone, given to the operator
    const clone = join(tempDir(), "theirs");
    execFileSync("git", ["clone", "--quiet", bare, clone]);
    git(clone, "remote", "set-url", "origin", git(own, "remote", "get-url", "origin").trim());
    const sink = new GitSink(clone);
    await expect(sink.assertOwned()).resolves.toBeUndefined();
    writeFileSync(join(clone, "README.md"), "mine\n");

    await expect(sink.assertOwned()).rejects.toThrow(/has uncommitted changes \(README\.md\)/);
    git(clone, "checkout", "--quiet", "--", "README.md");
    git(clone, "remote", "set-url", "origin", "/srv/git/r.git");
    await expect(sink.assertOwned()).rejects.toThrow(/"\/srv\/git\/r\.git" is not an http:\/\/ or https:\/\/ URL/);
    await expect(new GitSink(tempDir()).cloneInto("git@example.invalid:r.git")).rejects.toThrow(/is not an http:\/\/ or https:\/\/ URL/);
  });

  it("says which step failed when the remote is down", async () => {
    const { server, sink } = await remoteAndClone();
    await server.stop();

    await expect(sink.sync()).rejects.toThrow(/^git fetch failed in .*clone: .*ECONNREFUSED/);
  });

  it("a record written before a crash in a folder the repository ignores does not pass for a committed one after the restart", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    const other = otherClone(bare);
    writeFileSync(join(other, ".gitignore"), "receipts/\n");
    pushAll(other, "a party ignores receipts");
    await sink.sync();
    // the crash: the receipt is written, the push never happened
    mkdirSync(join(clone, "contracts", "a", "receipts"));
    writeFileSync(join(clone, "contracts", "a", "receipts", "run-1.json"), "{}\n");

    const restarted = new GitSink(clone);
    await restarted.assertOwned();
    await restarted.sync();

    expect(existsSync(join(clone, "contracts", "a", "receipts"))).toBe(false);
    expectClean(clone);
  });

  it("follows a submodule (gitlink) added, changed from a file and back, with the index holding it as git does", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    await sink.sync();
    const other = otherClone(bare);
    const target = git(other, "rev-parse", "HEAD").trim();
    git(other, "update-index", "--add", "--cacheinfo", `160000,${target},vendor/lib`);
    git(other, "rm", "--quiet", "--cached", "README.md");
    git(other, "update-index", "--add", "--cacheinfo", `160000,${target},README.md`);
    git(other, "commit", "--quiet", "-m", "submodules");
    git(other, "push", "--quiet", "origin", "HEAD:main");

    await sink.sync();

    expect(statSync(join(clone, "vendor", "lib")).isDirectory()).toBe(true);
    expect(statSync(join(clone, "README.md")).isDirectory()).toBe(true);
    expect(git(clone, "rev-parse", "HEAD")).toBe(git(other, "rev-parse", "HEAD"));
    expect(git(clone, "status", "--porcelain", "--untracked-files=all")).toBe("");
    // a restart walks the whole clone: the submodules stay as git checks them out
    await new GitSink(clone).sync();
    expect(statSync(join(clone, "vendor", "lib")).isDirectory()).toBe(true);
    expect(git(clone, "status", "--porcelain", "--untracked-files=all")).toBe("");
    git(other, "rm", "--quiet", "--cached", "README.md");
    rmSync(join(other, "README.md"), { recursive: true, force: true });
    writeFileSync(join(other, "README.md"), "a file again\n");
    git(other, "add", "README.md");
    git(other, "commit", "--quiet", "-m", "file again");
    git(other, "push", "--quiet", "origin", "HEAD:main");
    await sink.sync();
    expect(readFileSync(join(clone, "README.md"), "utf8")).toBe("a file again\n");
    expect(git(clone, "status", "--porcelain", "--untracked-files=all")).toBe("");
  });

  it("follows a remote force-pushed to an unrelated history, and more than 64 changes, to exactly its commit", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    await sink.sync();
    const orphan = join(tempDir(), "orphan");
    git(tempDir(), "init", "--quiet", "--initial-branch=main", orphan);
    mkdirSync(join(orphan, "contracts", "a", "contract.json"), { recursive: true });
    writeFileSync(join(orphan, "contracts", "a", "contract.json", "inner.json"), "{}\n");
    writeFileSync(join(orphan, "readme.md"), "lower case\n");
    mkdirSync(join(orphan, "a b", "数据"), { recursive: true });
    writeFileSync(join(orphan, "a b", "数据", "é.json"), "{}\n");
    symlinkSync("readme.md", join(orphan, "link"));
    git(orphan, "add", "--all");
    git(orphan, "commit", "--quiet", "-m", "unrelated");
    git(orphan, "push", "--quiet", "--force", bare, "HEAD:main");

    await sink.sync();

    expect(git(clone, "rev-parse", "HEAD")).toBe(git(orphan, "rev-parse", "HEAD"));
    expect(existsSync(join(clone, "README.md"))).toBe(false);
    expect(readFileSync(join(clone, "a b", "数据", "é.json"), "utf8")).toBe("{}\n");
    expectClean(clone);
    for (let i = 0; i < 70; i++) writeFileSync(join(orphan, `f${i}.txt`), `${i}\n`);
    rmSync(join(orphan, "a b"), { recursive: true });
    git(orphan, "add", "--all");
    git(orphan, "commit", "--quiet", "-m", "many");
    git(orphan, "push", "--quiet", "--force", bare, "HEAD:main");
    await sink.sync();
    expect(existsSync(join(clone, "a b"))).toBe(false);
    expectClean(clone);
    // and a record goes onto it
    sink.willWrite(["r/ü x.json"]);
    mkdirSync(join(clone, "r"));
    writeFileSync(join(clone, "r", "ü x.json"), "{}\n");
    const commit = await sink.record(["r/ü x.json"], "unicode");
    expect(git(bare, "rev-parse", "main").trim()).toBe(commit);
    expect(git(bare, "-c", "core.quotepath=false", "show", "--name-only", "--format=", "main").trim()).toBe("r/ü x.json");
    expectClean(clone);
  });

  it("a first sync walking a committed symbolic link to a folder outside leaves that folder alone", async () => {
    const { bare, clone } = await remoteAndClone();
    const outside = tempDir();
    writeFileSync(join(outside, "precious.txt"), "keep\n");
    const other = otherClone(bare);
    symlinkSync(outside, join(other, "contracts", "b"));
    pushAll(other, "a link out");

    await new GitSink(clone).sync();
    await new GitSink(clone).sync();

    expect(readdirSync(outside)).toEqual(["precious.txt"]);
  });

  it("after a crash in the middle of following the remote, the next sync makes the clone equal again", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    await sink.sync();
    const other = otherClone(bare);
    writeFileSync(join(other, "README.md"), "b\n");
    writeFileSync(join(other, "z.txt"), "z\n");
    pushAll(other, "two");
    const crash = vi.spyOn(GitSink.prototype as unknown as { checkoutEntry: () => Promise<void> }, "checkoutEntry");
    crash.mockRejectedValueOnce(new Error("crash"));
    await expect(sink.sync()).rejects.toThrow(/crash/);
    crash.mockRestore();
    await sink.sync();
    expectClean(clone);
    expect(git(clone, "rev-parse", "HEAD")).toBe(git(other, "rev-parse", "HEAD"));
    // a crash after the push landed: the record is there once, the clone follows
    sink.willWrite(["r.json"]);
    writeFileSync(join(clone, "r.json"), "{}\n");
    const index = vi.spyOn(GitSink.prototype as unknown as { indexFile: () => Promise<void> }, "indexFile");
    index.mockRejectedValueOnce(new Error("crash after push"));
    await expect(sink.record(["r.json"], "r")).rejects.toThrow(/crash after push/);
    index.mockRestore();
    await sink.sync();
    expect(git(bare, "log", "--format=%s", "main").trim().split("\n")).toEqual(["r", "two", "start"]);
    expectClean(clone);
  });

  it("accepts a push only on the remote's unpack ok and ok for the branch (not on a missing ok line, side-band, a redirect or an HTTP error)", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    await sink.sync();
    const pkt = (s: string): string => `${(s.length + 4).toString(16).padStart(4, "0")}${s}`;
    const answers: { status: number; headers?: Record<string, string>; body: string | Buffer }[] = [
      { status: 200, body: `${pkt("unpack ok\n")}0000` },
      { status: 200, body: `${pkt(`\x01${pkt("unpack ok\n")}${pkt("ok refs/heads/main\n")}0000`)}0000` },
      { status: 200, body: `${pkt("ok refs/heads/main\n")}0000` },
      { status: 200, body: `${pkt("unpack ok\n")}${pkt("ok refs/heads/main2\n")}0000` },
      { status: 302, headers: { location: "/elsewhere" }, body: "" },
      { status: 500, body: `${pkt("unpack ok\n")}${pkt("ok refs/heads/main\n")}0000` },
    ];
    let answer = 0;
    const fake = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url === "/elsewhere") {
          res.writeHead(200, { "content-type": "application/x-git-receive-pack-result" }).end(`${pkt("unpack ok\n")}${pkt("ok refs/heads/main\n")}0000`);
          return;
        }
        const { status, headers, body } = answers[answer++];
        res.writeHead(status, { "content-type": "application/x-git-receive-pack-result", ...headers }).end(body);
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    const realUrl = git(clone, "remote", "get-url", "origin").trim();
    git(clone, "remote", "set-url", "origin", `http://127.0.0.1:${(fake.address() as AddressInfo).port}/r.git`);
    const head = git(clone, "rev-parse", "HEAD");
    sink.willWrite(["r.json"]);
    writeFileSync(join(clone, "r.json"), "{}\n");
    try {
      for (let i = 0; i < answers.length; i++) await expect(sink.record(["r.json"], "r").then(() => `answer ${i} accepted`)).rejects.toThrow(/git push failed/);
    } finally {
      fake.close();
    }
    expect(answer).toBe(answers.length);
    expect(git(clone, "rev-parse", "HEAD")).toBe(head);
    git(clone, "remote", "set-url", "origin", realUrl);
    await sink.sync();
    expectClean(clone);
    expect(git(bare, "rev-parse", "main")).toBe(head);
  });

  it("refuses to name a folder as a file it writes (the next sync would remove the folder from the clone only)", async () => {
    const { clone, sink } = await remoteAndClone();
    await sink.sync();

    expect(() => sink.willWrite(["contracts/a"])).toThrow(/contracts\/a: is a folder/);

    await sink.sync();
    expect(readFileSync(join(clone, "contracts", "a", "contract.json"), "utf8")).toBe("{}\n");
    expectClean(clone);
  });

  it("a remote branch deleted fails the sync, leaving the clone as it was; recreated elsewhere, it is followed", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    await sink.sync();
    const head = git(clone, "rev-parse", "HEAD");
    const other = otherClone(bare);
    git(bare, "update-ref", "-d", "refs/heads/main");

    await expect(sink.sync()).rejects.toThrow(/^git fetch failed in /);
    expect(git(clone, "rev-parse", "HEAD")).toBe(head);
    expectClean(clone);

    writeFileSync(join(other, "README.md"), "again\n");
    pushAll(other, "again");
    await sink.sync();
    expect(readFileSync(join(clone, "README.md"), "utf8")).toBe("again\n");
    expectClean(clone);
  });

  it("more than 64 changes that turn a committed symbolic link to an outside folder into a real folder write nothing outside", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    const outside = tempDir();
    const other = otherClone(bare);
    symlinkSync(outside, join(other, "contracts", "b"));
    pushAll(other, "a link out");
    await sink.sync();
    rmSync(join(other, "contracts", "b"));
    mkdirSync(join(other, "contracts", "b"));
    for (let i = 0; i < 70; i++) writeFileSync(join(other, "contracts", "b", `f${i}.json`), "{}\n");
    // and a file that becomes a folder, a folder that becomes a file, in the same walk
    rmSync(join(other, "README.md"));
    mkdirSync(join(other, "README.md"));
    writeFileSync(join(other, "README.md", "x"), "x\n");
    rmSync(join(other, "contracts", "a"), { recursive: true });
    writeFileSync(join(other, "contracts", "a"), "a\n");
    pushAll(other, "a real folder");

    await sink.sync();

    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(join(clone, "contracts", "b"))).toHaveLength(70);
    expect(readFileSync(join(clone, "README.md", "x"), "utf8")).toBe("x\n");
    expect(readFileSync(join(clone, "contracts", "a"), "utf8")).toBe("a\n");
    expectClean(clone);
    // the walk back at a restart
    rmSync(join(other, "README.md"), { recursive: true });
    writeFileSync(join(other, "README.md"), "hello\n");
    pushAll(other, "back");
    await new GitSink(clone).sync();
    expect(readFileSync(join(clone, "README.md"), "utf8")).toBe("hello\n");
    expectClean(clone);
  });

  it("does not record below a submodule: the commit would replace another party's submodule with a folder", async () => {
    const { bare, clone, sink } = await remoteAndClone();
    const other = otherClone(bare);
    const target = git(other, "rev-parse", "HEAD").trim();
    git(other, "update-index", "--add", "--cacheinfo", `160000,${target},contracts/a/receipts`);
    git(other, "commit", "--quiet", "-m", "a submodule where receipts go");
    git(other, "push", "--quiet", "origin", "HEAD:main");
    await sink.sync();
    const head = git(bare, "rev-parse", "main");
    sink.willWrite(["contracts/a/receipts/run-1.json"]);
    writeFileSync(join(clone, "contracts", "a", "receipts", "run-1.json"), "{}\n");

    await expect(sink.record(["contracts/a/receipts/run-1.json"], "into a submodule")).rejects.toThrow(/contracts\/a\/receipts is a submodule/);

    expect(git(bare, "rev-parse", "main")).toBe(head);
    await sink.sync();
    expect(git(clone, "status", "--porcelain", "--untracked-files=all")).toBe("");
    // nor below a file of the commit that the work tree no longer shows as one: the record never deletes another party's file
    rmSync(join(clone, "README.md"));
    mkdirSync(join(clone, "README.md"));
    writeFileSync(join(clone, "README.md", "x.json"), "{}\n");
    await expect(sink.record(["README.md/x.json"], "over a file")).rejects.toThrow(/README\.md is a file in the commit/);
    expect(git(bare, "rev-parse", "main")).toBe(head);
  });

  it("a clone cut short by a crash (files not yet checked out) is still the operator's own at the restart, and the first sync completes it", async () => {
    const { server } = await remoteAndClone();
    const clone = join(tempDir(), "clone");
    mkdirSync(clone);
    const realClone = isogit.clone.bind(isogit);
    vi.spyOn(isogit, "clone").mockImplementationOnce(async (args) => {
      await realClone(args);
      rmSync(join(clone, "README.md"));
      throw new Error("crash while checking out");
    });
    await expect(new GitSink(clone).cloneInto(server.repoUrl("r"))).rejects.toThrow(/crash while checking out/);

    const restarted = new GitSink(clone);
    await restarted.assertOwned();
    await restarted.sync();

    expect(readFileSync(join(clone, "README.md"), "utf8")).toBe("hello\n");
    expect(git(clone, "status", "--porcelain", "--untracked-files=all")).toBe("");
  });
});
