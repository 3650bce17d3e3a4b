/**
 * Where the operator's records go: a commit pushed to the repository (the operator owns a clone of
 * it: in the lab, the loopback git server), or, with GitHub, a `repository_dispatch` that the
 * receipt workflow commits (rendered to a folder here: GitHub is not reachable from these
 * machines). Git is spoken by isomorphic-git (clone, fetch, commit, push over smart HTTP(S)), so
 * neither the operator's image nor its host needs a `git` program; this module starts no process.
 */

import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, symlinkSync } from "node:fs";
import * as fs from "node:fs";
import { dirname, join } from "node:path";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import { ServiceError, InputError } from "../errors.js";
import { toJsonText, writeFileAtomic } from "../repo/files.js";

export const OPERATOR_COMMITTER = { name: "datomspod operator", email: "operator@datomspod.invalid" } as const;

/** How many times a push refused because someone else pushed first is put on top of theirs and tried again. */
const PUSH_ATTEMPTS = 3;

/** Runs one git step; any failure is the remote's or the clone's, named with the step and the fix. */
async function step<T>(dir: string, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ServiceError(`git ${what} failed in ${dir}: ${message}`, [
      {
        file: dir,
        path: "$",
        message: `git ${what} failed: ${message.slice(0, 300)}`,
        fix: "check the operator's clone and its remote (an http:// or https:// URL that accepts the operator's push)",
      },
    ]);
  }
}

/** Only http(s) remotes: isomorphic-git speaks git's smart HTTP protocol, not ssh:// or a local path. */
export function assertRemoteUrl(url: string, where: string): void {
  if (/^https?:\/\/[^/\s]+\/\S*$/.test(url)) return;
  throw InputError.of({
    file: where,
    path: "$",
    message: `the repository ${JSON.stringify(url)} is not an http:// or https:// URL`,
    fix: "serve the repository over smart HTTP(S) (git http-backend or any git host) and give the operator that URL",
  });
}

/** A tree entry as git stores it: a file (blob, with its mode), a folder (tree) or a submodule (commit). */
interface Entry {
  readonly mode: string;
  readonly oid: string;
  readonly type: "blob" | "tree" | "commit";
}

/** Past this many changed paths a sync resets the whole clone (one walk) instead of path by path. */
const PATHWISE_LIMIT = 64;

/** The marker `cloneInto` leaves: a clone the operator made itself is its own, whatever a crash left in it. */
const OWN_CLONE_MARKER = "datomspod-operator-clone";

/**
 * A clone the operator owns: it is reset to the remote branch before every decision, so a crash
 * between writing and pushing leaves nothing behind (the record is made again from the cluster).
 *
 * The cost of a decision does not grow with the repository: a record is committed by writing the
 * new blobs and only the trees on their paths onto the remote's commit (not through the index, which
 * isomorphic-git rewrites whole), and pushed as a pack of just those objects; a remote that moved is
 * followed by comparing the two commits' trees (equal subtrees are not opened) and changing only the
 * paths that differ, in the work tree and the index. Only the first sync, a decision that wrote files
 * it did not name, or a very large change resets the clone by walking all of it.
 */
export class GitSink {
  readonly location: string;
  /** The commit the work tree, index and branch were last known to equal exactly (nothing else in the tree). */
  private cleanAt: string | undefined;
  /**
   * isomorphic-git's object cache, new at every sync (one decision): without one, each object read
   * parses the pack index again and reads the whole pack (4 MB for 1,000 contracts).
   */
  private cache: object = {};
  /** Paths written since cleanAt (they are put back at the next sync); "unknown" when a decision wrote without naming them. */
  private written: Set<string> | "unknown" = new Set();

  constructor(
    private readonly dir: string,
    private readonly remote = "origin",
    private readonly branch = "main",
  ) {
    this.location = `${dir} (${remote}/${branch})`;
  }

  /** Clones `url` into the (empty) folder: the operator's Deployment starts with an empty volume. */
  async cloneInto(url: string): Promise<void> {
    assertRemoteUrl(url, "--clone");
    // marked first: a crash in the middle of the clone leaves a clone that is still the operator's own at the restart
    mkdirSync(join(this.dir, ".git"), { recursive: true });
    writeFileAtomic(join(this.dir, ".git", OWN_CLONE_MARKER), `${url}\n`);
    await step(this.dir, "clone", () =>
      git.clone({ fs, cache: this.cache, http, dir: this.dir, url, ref: this.branch, remote: this.remote, singleBranch: true, noTags: true }),
    );
    // A fresh clone is its commit exactly (work tree and index): the first sync need not walk it.
    this.cleanAt = await step(this.dir, "clone", () => git.resolveRef({ fs, dir: this.dir, ref: `refs/remotes/${this.remote}/${this.branch}` }));
    this.written = new Set();
  }

  /**
   * Refuses a work tree with changes of its own (tracked files changed or staged), unless the
   * operator cloned it itself (a restart after a crash finds its own leftovers, which the first sync
   * removes): the operator resets it, so it must own it.
   */
  async assertOwned(): Promise<void> {
    const url = await step(this.dir, "remote", () => git.getConfig({ fs, dir: this.dir, path: `remote.${this.remote}.url` }) as Promise<string | undefined>);
    assertRemoteUrl(String(url ?? ""), `${this.dir}/.git/config remote.${this.remote}.url`);
    if (existsSync(join(this.dir, ".git", OWN_CLONE_MARKER))) return;
    const changed = (await this.status()).filter(([, head, workdir, stage]) => (head === 1 ? workdir !== 1 || stage !== 1 : stage !== 0));
    if (changed.length > 0)
      throw InputError.of({
        file: this.dir,
        path: "$",
        message: `has uncommitted changes (${changed
          .slice(0, 3)
          .map(([file]) => file)
          .join(", ")})`,
        fix: "give the operator a clone of its own (git clone URL DIR, or let it clone with --clone); it resets that clone to the remote before every decision",
      });
  }

  /**
   * `fetch`, then the branch, the index and the work tree set to the remote's commit; files git does
   * not track go (ignored ones too). Path by path from the commit the clone was last known to
   * equal; the whole clone is walked only at the first sync, after a decision that wrote files it
   * did not name (`willWrite()`), or when more than PATHWISE_LIMIT paths changed.
   */
  async sync(): Promise<void> {
    this.cache = {};
    // The fetched commit itself: a remote without the branch (deleted) answers none, and the old remote-tracking ref must not pass for it.
    const oid = await step(this.dir, "fetch", async () => {
      const { fetchHead } = await git.fetch({
        fs,
        cache: this.cache,
        http,
        dir: this.dir,
        remote: this.remote,
        ref: this.branch,
        singleBranch: true,
        tags: false,
      });
      if (!fetchHead) throw new Error(`the remote has no branch ${this.branch}`);
      return fetchHead;
    });
    const written = this.written;
    if (this.cleanAt === oid && written !== "unknown" && written.size === 0) return;
    // path by path only from a commit the clone is known to equal, with the paths written since named
    const from = written === "unknown" || this.cleanAt === undefined ? undefined : { commit: this.cleanAt, written };
    this.cleanAt = undefined;
    this.written = "unknown";
    await step(this.dir, "reset", async () => {
      const changes = from === undefined ? undefined : await this.changesBetween(from.commit, oid, from.written);
      if (changes === undefined || changes.size > PATHWISE_LIMIT) await this.resetAll(oid);
      else await this.resetPaths(oid, changes);
    });
    this.cleanAt = oid;
    this.written = new Set();
  }

  /**
   * Says which files the current decision is about to write (paths relative to the work tree), so
   * that the next sync puts them back unless they are committed; without paths, the next sync walks
   * the whole clone.
   */
  willWrite(files?: readonly string[]): void {
    if (files !== undefined) for (const file of files) this.assertWritable(normalPath(file));
    if (files === undefined || this.written === "unknown") this.written = "unknown";
    else for (const file of files) this.written.add(normalPath(file));
  }

  /**
   * Refuses a path whose folders in the clone are not all real folders: a symbolic link committed
   * to the repository (`contracts -> /etc`) must not carry the operator's write out of its clone;
   * and a path that is a folder (a decision writes files).
   */
  private assertWritable(path: string): void {
    const parts = path.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const at = parts.slice(0, i).join("/");
      const stat = lstatOrUndefined(join(this.dir, at));
      if (stat === undefined) return;
      const folder = i < parts.length;
      if (stat.isSymbolicLink() || folder !== stat.isDirectory())
        throw InputError.of({
          file: `${this.dir}/${at}`,
          path: "$",
          message:
            folder || stat.isSymbolicLink()
              ? `is ${stat.isSymbolicLink() ? "a symbolic link" : "not a folder"}: the operator does not write ${path} through it`
              : "is a folder: the operator writes files (the next sync would remove the folder from its clone)",
          fix:
            folder || stat.isSymbolicLink()
              ? "commit a real folder there (symbolic links are refused in a datomspod repository)"
              : "name the files it writes, not their folder",
        });
    }
  }

  /**
   * Commits the files (paths relative to the work tree, already written) onto the synced commit
   * (synced first if it was not) and pushes; returns the commit.
   */
  async record(files: readonly string[], message: string): Promise<string> {
    this.willWrite(files);
    if (this.cleanAt === undefined) await this.putOnTop(files);
    for (let attempt = 1; ; attempt++) {
      const base = this.cleanAt;
      if (base === undefined) throw new ServiceError(`git record in ${this.dir}: the clone is not synced`, []);
      const { commit, objects } = await step(this.dir, "commit", () => this.commitOnto(base, files, message));
      const refused = await step(this.dir, "push", () => this.push(base, commit, objects));
      if (refused === undefined) {
        await step(this.dir, "commit", async () => {
          await git.writeRef({ fs, dir: this.dir, ref: `refs/remotes/${this.remote}/${this.branch}`, value: commit, force: true });
          await git.writeRef({ fs, dir: this.dir, ref: `refs/heads/${this.branch}`, value: commit, force: true });
          for (const file of files) await this.indexFile(normalPath(file), await this.entryAt(commit, normalPath(file)));
        });
        // The work tree is the pushed commit: the recorded files are in it, and nothing else was written since the sync.
        this.cleanAt = commit;
        if (this.written !== "unknown") for (const file of files) this.written.delete(normalPath(file));
        return commit;
      }
      if (attempt >= PUSH_ATTEMPTS) return step(this.dir, "push", () => Promise.reject(new Error(`the remote refused ${this.branch}: ${refused}`)));
      // Someone pushed meanwhile: put the operator's files on top of their commit (the files are its own) and try again.
      await this.putOnTop(files);
    }
  }

  /** The files (written, not committed) kept aside, the clone synced, and the files written again; refused if the remote has them meanwhile. */
  private async putOnTop(files: readonly string[]): Promise<void> {
    const contents = files.map((file) => ({ file, text: readFileSync(join(this.dir, file)) }));
    await this.sync();
    this.willWrite(files);
    for (const { file, text } of contents) {
      if (existsSync(join(this.dir, file)))
        throw new ServiceError(`${file} was committed by someone else meanwhile`, [
          {
            file,
            path: "$",
            message: "was committed to the remote while the operator recorded it",
            fix: "nothing to do: the operator decides again from the newest commit",
          },
        ]);
      mkdirSync(dirname(join(this.dir, file)), { recursive: true });
      writeFileAtomic(join(this.dir, file), text);
    }
  }

  /** The commit of `files` (their content in the work tree) on top of `base`: the new blobs, the trees on their paths, the commit. */
  private async commitOnto(base: string, files: readonly string[], message: string): Promise<{ commit: string; objects: string[] }> {
    const objects: string[] = [];
    const changes = new Map<string, Entry>();
    for (const file of files) {
      const path = normalPath(file);
      const stat = lstatSync(join(this.dir, path));
      if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
      const oid = await git.writeBlob({ fs, dir: this.dir, blob: new Uint8Array(readFileSync(join(this.dir, path))) });
      objects.push(oid);
      changes.set(path, { mode: (stat.mode & 0o111) !== 0 ? "100755" : "100644", oid, type: "blob" });
    }
    const { commit: baseCommit } = await git.readCommit({ fs, cache: this.cache, dir: this.dir, oid: base });
    const tree = await this.splice(baseCommit.tree, changes, objects);
    const when = { timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 };
    const commit = await git.writeCommit({
      fs,
      dir: this.dir,
      commit: {
        message: message.endsWith("\n") ? message : `${message}\n`,
        tree,
        parent: [base],
        author: { ...OPERATOR_COMMITTER, ...when },
        committer: { ...OPERATOR_COMMITTER, ...when },
      },
    });
    objects.push(commit);
    return { commit, objects };
  }

  /** `tree` with the entries (path → entry) set; only the trees on their paths are read and written (each new one added to `objects`). */
  private async splice(tree: string | undefined, changes: ReadonlyMap<string, Entry>, objects: string[], prefix = ""): Promise<string> {
    const entries = new Map<string, TreeEntry>((tree === undefined ? [] : await this.readTree(tree)).map((entry) => [entry.path, entry]));
    const below = new Map<string, Map<string, Entry>>();
    for (const [path, entry] of changes) {
      const slash = path.indexOf("/");
      if (slash < 0) {
        entries.set(path, { path, ...entry });
        continue;
      }
      const name = path.slice(0, slash);
      if (!below.has(name)) below.set(name, new Map());
      below.get(name)!.set(path.slice(slash + 1), entry);
    }
    for (const [name, inside] of below) {
      const current = entries.get(name);
      // a submodule or a file (another party's entry) is not turned into a folder to hold the operator's file
      if (current !== undefined && current.type !== "tree")
        throw new Error(`${prefix}${name} is a ${current.type === "commit" ? "submodule" : "file"} in the commit: the operator does not record files below it`);
      entries.set(name, { path: name, mode: "040000", oid: await this.splice(current?.oid, inside, objects, `${prefix}${name}/`), type: "tree" });
    }
    const oid = await git.writeTree({ fs, dir: this.dir, tree: [...entries.values()] });
    objects.push(oid);
    return oid;
  }

  /**
   * Pushes `commit` (its new `objects` as one pack) over smart HTTP, if the remote's branch is still
   * `base`; returns the remote's reason when it refused the update (someone pushed meanwhile).
   */
  private async push(base: string, commit: string, objects: readonly string[]): Promise<string | undefined> {
    const url = String((await git.getConfig({ fs, dir: this.dir, path: `remote.${this.remote}.url` })) ?? "");
    assertRemoteUrl(url, `${this.dir}/.git/config remote.${this.remote}.url`);
    const { packfile } = await git.packObjects({ fs, cache: this.cache, dir: this.dir, oids: [...new Set(objects)], write: false });
    if (packfile === undefined) throw new Error("no pack was made");
    const command = pktLine(`${base} ${commit} refs/heads/${this.branch}\0report-status agent=datomspod\n`);
    const response = await http.request({
      url: `${url.replace(/\/$/, "")}/git-receive-pack`,
      method: "POST",
      headers: {
        "content-type": "application/x-git-receive-pack-request",
        accept: "application/x-git-receive-pack-result",
        "user-agent": "datomspod-operator",
      },
      body: oneChunk(new Uint8Array(Buffer.concat([command, Buffer.from("0000"), packfile]))),
      // a redirected POST would be sent again as a GET without the pack: whatever answers it did not take the record
      fetchOptions: { followRedirects: false },
    });
    const chunks: Uint8Array[] = [];
    for await (const chunk of response.body ?? []) chunks.push(chunk);
    const text = Buffer.concat(chunks);
    if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode} ${response.statusMessage}: ${text.toString("utf8").slice(0, 200)}`);
    const lines = readPktLines(text);
    const unpack = lines.find((line) => line.startsWith("unpack "));
    if (unpack !== "unpack ok") throw new Error(`the remote did not take the pack: ${unpack ?? lines.join(" | ")}`);
    if (lines.includes(`ok refs/heads/${this.branch}`)) return undefined;
    const refused = lines.find((line) => line.startsWith(`ng refs/heads/${this.branch}`));
    if (refused !== undefined) return refused.slice(`ng refs/heads/${this.branch} `.length);
    throw new Error(`the remote said neither ok nor ng for refs/heads/${this.branch}: ${lines.join(" | ")}`);
  }

  /** The paths that differ between two commits (entry at `to`, or null when absent there), the `written` ones included; equal subtrees are not opened. */
  private async changesBetween(from: string, to: string, written: ReadonlySet<string>): Promise<Map<string, Entry | null>> {
    const changes = new Map<string, Entry | null>();
    const treeOf = async (commit: string): Promise<string> => (await git.readCommit({ fs, cache: this.cache, dir: this.dir, oid: commit })).commit.tree;
    await this.diff(await treeOf(from), await treeOf(to), "", changes);
    for (const path of written) if (!changes.has(path)) changes.set(path, await this.entryAt(to, path));
    return changes;
  }

  private async diff(a: string | undefined, b: string | undefined, prefix: string, changes: Map<string, Entry | null>): Promise<void> {
    if (a === b) return;
    const left = new Map((a === undefined ? [] : await this.readTree(a)).map((entry) => [entry.path, entry]));
    const right = new Map((b === undefined ? [] : await this.readTree(b)).map((entry) => [entry.path, entry]));
    for (const name of new Set([...left.keys(), ...right.keys()])) {
      const x = left.get(name);
      const y = right.get(name);
      if (x !== undefined && y !== undefined && x.oid === y.oid && x.mode === y.mode) continue;
      const path = `${prefix}${name}`;
      if (x?.type === "tree" || y?.type === "tree")
        await this.diff(x?.type === "tree" ? x.oid : undefined, y?.type === "tree" ? y.oid : undefined, `${path}/`, changes);
      if (y !== undefined && y.type !== "tree") changes.set(path, entryOf(y));
      else if (x !== undefined && x.type !== "tree") changes.set(path, null);
    }
  }

  /** The entry at `path` in `commit`, or null. */
  private async entryAt(commit: string, path: string): Promise<Entry | null> {
    let tree = (await git.readCommit({ fs, cache: this.cache, dir: this.dir, oid: commit })).commit.tree;
    const parts = path.split("/");
    for (const [i, name] of parts.entries()) {
      const entry = (await this.readTree(tree)).find((e) => e.path === name);
      if (entry === undefined) return null;
      if (i === parts.length - 1) return entry.type === "tree" ? null : entryOf(entry);
      if (entry.type !== "tree") return null;
      tree = entry.oid;
    }
    return null;
  }

  /** A tree's entries: isomorphic-git refuses a tree naming `..` or `.git` (any case), so no path built from them leaves the clone. */
  private async readTree(oid: string): Promise<TreeEntry[]> {
    return (await git.readTree({ fs, cache: this.cache, dir: this.dir, oid })).tree;
  }

  /** The changed paths made as in `oid` (removals first, so a file can become a folder and back), in the work tree and the index; then the branch. */
  private async resetPaths(oid: string, changes: ReadonlyMap<string, Entry | null>): Promise<void> {
    const ordered = [...changes].sort(([a, x], [b, y]) => ((x === null) === (y === null) ? (a < b ? -1 : 1) : x === null ? -1 : 1));
    for (const [path, entry] of ordered) {
      const full = join(this.dir, path);
      if (entry === null) {
        rmSync(full, { recursive: true, force: true });
        await removeEmptyParents(this.dir, path, async (folder) => (await this.entryAt(oid, folder))?.type === "commit");
      } else {
        // a folder where the file goes (or a file where a parent folder goes) is replaced
        for (let at = dirname(path); at !== "."; at = dirname(at))
          if (lstatOrUndefined(join(this.dir, at))?.isDirectory() === false) rmSync(join(this.dir, at), { force: true });
        if (lstatOrUndefined(full)?.isDirectory() === true) rmSync(full, { recursive: true, force: true });
        mkdirSync(dirname(full), { recursive: true });
        await this.checkoutEntry(full, entry);
      }
      await this.indexFile(path, entry);
    }
    await git.writeRef({ fs, dir: this.dir, ref: `refs/heads/${this.branch}`, value: oid, force: true });
  }

  private async checkoutEntry(full: string, entry: Entry): Promise<void> {
    // a file or a symbolic link where a submodule's folder goes is replaced too
    rmSync(full, { force: true });
    if (entry.type === "commit") {
      mkdirSync(full, { recursive: true });
      return;
    }
    const { blob } = await git.readBlob({ fs, cache: this.cache, dir: this.dir, oid: entry.oid });
    if (entry.mode === "120000") symlinkSync(Buffer.from(blob).toString("utf8"), full);
    else {
      writeFileAtomic(full, Buffer.from(blob));
      chmodSync(full, entry.mode === "100755" ? 0o755 : 0o644);
    }
  }

  /** The index entry of `path` made as `entry` (a submodule as git holds it: its commit, mode 160000), or removed. */
  private async indexFile(path: string, entry: Entry | null): Promise<void> {
    if (entry === null) await git.remove({ fs, cache: this.cache, dir: this.dir, filepath: path });
    else await git.updateIndex({ fs, dir: this.dir, filepath: path, oid: entry.oid, mode: Number.parseInt(entry.mode, 8), add: true, force: true });
  }

  /** The whole clone made as `oid`: branch, index and work tree; what HEAD does not hold goes. */
  private async resetAll(oid: string): Promise<void> {
    // isomorphic-git's checkout does not turn a file (or a symbolic link) into a folder or back: such paths go first, from the work tree and the index
    const turned: string[] = [];
    await git.walk({
      fs,
      dir: this.dir,
      trees: [git.TREE({ ref: oid }), git.STAGE()],
      map: async (path, [commit, stage]) => {
        if (path === "." || commit === null || stage === null || (await commit.type()) === (await stage.type())) return true;
        turned.push(path);
        return null;
      },
    });
    for (const path of turned) {
      rmSync(join(this.dir, path), { recursive: true, force: true });
      await git.remove({ fs, cache: this.cache, dir: this.dir, filepath: path });
    }
    await git.writeRef({ fs, dir: this.dir, ref: `refs/heads/${this.branch}`, value: oid, force: true });
    await git.checkout({ fs, cache: this.cache, dir: this.dir, ref: this.branch, force: true });
    // A record written before a crash but never committed must not pass for one that was: what HEAD does not hold goes too,
    // in a folder the repository's .gitignore names as well (a party can commit one).
    for (const [file, head, workdir, stage] of await this.status(true)) {
      if (head === 0) {
        if (stage !== 0) await git.remove({ fs, cache: this.cache, dir: this.dir, filepath: file });
        rmSync(join(this.dir, file), { force: true });
      } else if (workdir !== 1 || stage !== 1) {
        await git.resetIndex({ fs, cache: this.cache, dir: this.dir, filepath: file });
        await git.checkout({ fs, cache: this.cache, dir: this.dir, ref: this.branch, filepaths: [file], force: true });
      }
    }
    // a submodule is an empty folder in the work tree (and a path in the index): it stays
    removeEmptyFolders(this.dir, new Set(await git.listFiles({ fs, cache: this.cache, dir: this.dir })));
  }

  /**
   * git's status matrix: [file, HEAD, work tree, index] (0 absent, 1 as HEAD, 2/3 changed), ignored
   * files left out unless asked for (then .git, which isomorphic-git counts as ignored, is not walked).
   */
  private status(ignored = false): Promise<[string, number, number, number][]> {
    const filepaths = ignored ? readdirSync(this.dir).filter((name) => name !== ".git") : ["."];
    return step(
      this.dir,
      "status",
      () => git.statusMatrix({ fs, cache: this.cache, dir: this.dir, ignored, filepaths }) as Promise<[string, number, number, number][]>,
    );
  }
}

interface TreeEntry extends Entry {
  readonly path: string;
}

function entryOf(entry: TreeEntry): Entry {
  return { mode: entry.mode, oid: entry.oid, type: entry.type };
}

/** A path relative to the work tree, with forward slashes and no `./`, `..` or empty parts. */
function normalPath(file: string): string {
  const parts = file.split(/[\\/]+/).filter((part) => part !== "" && part !== ".");
  if (parts.length === 0 || parts.some((part) => part === ".." || part === ".git"))
    throw new Error(`${JSON.stringify(file)} is not a path inside the work tree`);
  return parts.join("/");
}

function lstatOrUndefined(path: string): fs.Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Empty folders on the way from `path`'s folder up to the work tree, removed; a submodule's (`keep`) stays. */
async function removeEmptyParents(dir: string, path: string, keep: (folder: string) => Promise<boolean>): Promise<void> {
  for (let at = dirname(path); at !== "."; at = dirname(at)) {
    const full = join(dir, at);
    if (lstatOrUndefined(full)?.isDirectory() !== true || readdirSync(full).length > 0 || (await keep(at))) return;
    rmdirSync(full);
  }
}

/** A request body of one chunk: isomorphic-git's HTTP client for Node takes an array of chunks too (its type names only iterators). */
function oneChunk(chunk: Uint8Array): AsyncIterableIterator<Uint8Array> {
  return [chunk] as unknown as AsyncIterableIterator<Uint8Array>;
}

/** One pkt-line of git's protocol: four hex digits of length, then the payload. */
function pktLine(payload: string): Buffer {
  const body = Buffer.from(payload, "utf8");
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, "0")), body]);
}

/** The pkt-lines of a response (flushes skipped, trailing newlines cut). */
function readPktLines(data: Buffer): string[] {
  const lines: string[] = [];
  for (let at = 0; at + 4 <= data.length;) {
    const length = Number.parseInt(data.subarray(at, at + 4).toString("ascii"), 16);
    if (!Number.isFinite(length)) break;
    if (length < 4) {
      at += 4;
      continue;
    }
    lines.push(
      data
        .subarray(at + 4, at + length)
        .toString("utf8")
        .replace(/\n$/, ""),
    );
    at += length;
  }
  return lines;
}

/** Folders left empty below the work tree (git tracks no folders), .git and the submodules' (`tracked`, index paths) excepted. */
function removeEmptyFolders(dir: string, tracked: ReadonlySet<string>, at = ""): boolean {
  let empty = true;
  for (const entry of readdirSync(join(dir, at), { withFileTypes: true })) {
    const path = at === "" ? entry.name : `${at}/${entry.name}`;
    if (path === ".git" || tracked.has(path)) {
      empty = false;
      continue;
    }
    if (entry.isDirectory() && removeEmptyFolders(dir, tracked, path)) rmdirSync(join(dir, path));
    else empty = false;
  }
  return empty && at !== "";
}

/**
 * With GitHub: records are sent as `repository_dispatch` events (POST /repos/OWNER/NAME/dispatches,
 * body `{event_type, client_payload}`) that the receipt workflow commits. GitHub is not reachable
 * from these machines, so each event is rendered into `dir` as the request body, one file per
 * event, named by contract and run; a rendered event is never rendered again.
 */
export class DispatchRenderer {
  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  exists(name: string): boolean {
    return existsSync(this.path(name));
  }

  render(name: string, eventType: string, payload: unknown): string {
    mkdirSync(this.dir, { recursive: true });
    const path = this.path(name);
    writeFileAtomic(path, toJsonText({ event_type: eventType, client_payload: payload }));
    return path;
  }
}
