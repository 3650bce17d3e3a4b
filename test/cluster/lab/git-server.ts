/**
 * A git server on loopback for the lab: a Node HTTP server on 127.0.0.1 that runs `git
 * http-backend` (CGI, smart HTTP, read-only unless `acceptPush`) for the bare repositories under one
 * folder. Argo CD's repo server reads from it as from any http git host; the operator, given
 * `acceptPush`, pushes its records to it as to any git host.
 *
 * Tests can make it fail on purpose: `stop()` closes the port (connection refused) and `start()`
 * opens it again on the same port; `setMode("unavailable")` answers 503 and `setMode("not-found")`
 * 404 to every request while the port stays open.
 */

import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { run } from "./exec.js";

export type GitServerMode = "serve" | "unavailable" | "not-found";

export interface GitServer {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The folder of the bare repositories. */
  readonly root: string;
  /** http://127.0.0.1:<port>/<name>.git */
  repoUrl(name: string): string;
  setMode(mode: GitServerMode): void;
  /** Requests answered so far (any status), for tests that must see Argo CD come by. */
  requests(): number;
  /** Closes the port; connections open now are cut. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export interface GitServerOptions {
  readonly root: string;
  readonly git?: string;
  /** 0 (default): a free port. */
  readonly port?: number;
  /** Lets clients push (git http-backend enables receive-pack for an authenticated user: REMOTE_USER is set). */
  readonly acceptPush?: boolean;
}

const HEADER_END = Buffer.from("\r\n\r\n");
const HEADER_END_LF = Buffer.from("\n\n");

/** Runs `git http-backend` for one request and streams its answer. */
function cgi(git: string, root: string, acceptPush: boolean, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/1.1",
    SERVER_SOFTWARE: "datomspod-lab-git",
    REQUEST_METHOD: req.method ?? "GET",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.startsWith("?") ? url.search.slice(1) : url.search,
    REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
    ...(acceptPush ? { REMOTE_USER: "datomspod-lab" } : {}),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    ...(req.headers["content-length"] === undefined ? {} : { CONTENT_LENGTH: req.headers["content-length"] }),
    ...(req.headers["content-encoding"] === undefined ? {} : { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) }),
    ...(req.headers["git-protocol"] === undefined ? {} : { HTTP_GIT_PROTOCOL: String(req.headers["git-protocol"]) }),
  };
  const child = spawn(git, ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"], shell: false });
  let head = Buffer.alloc(0);
  let headersSent = false;
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    let end = head.indexOf(HEADER_END);
    let skip = HEADER_END.length;
    if (end < 0) {
      end = head.indexOf(HEADER_END_LF);
      skip = HEADER_END_LF.length;
    }
    if (end < 0) return;
    let status = 200;
    let statusText = "OK";
    for (const line of head.subarray(0, end).toString("latin1").split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") {
        status = Number(value.split(" ")[0]);
        statusText = value.split(" ").slice(1).join(" ") || statusText;
      } else {
        res.setHeader(name, value);
      }
    }
    res.writeHead(status, statusText);
    headersSent = true;
    const rest = head.subarray(end + skip);
    if (rest.length > 0) res.write(rest);
  });
  child.on("error", (error) => {
    if (!headersSent) res.writeHead(500).end(`git http-backend: ${error.message}\n`);
    else res.destroy();
  });
  child.on("close", (code) => {
    if (!headersSent) res.writeHead(500).end(`git http-backend exited with ${code}: ${stderr}\n`);
    else res.end();
  });
  child.stdin.on("error", () => undefined);
  req.pipe(child.stdin);
}

/** Starts the server (127.0.0.1 only); the folder is created if missing. */
export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const git = options.git ?? "git";
  const root = options.root;
  mkdirSync(root, { recursive: true });
  let mode: GitServerMode = "serve";
  let count = 0;
  let server: Server | undefined;
  let port = options.port ?? 0;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    count++;
    if (mode === "unavailable") {
      res.writeHead(503, { "content-type": "text/plain" }).end("git server unavailable (datomspod lab test)\n");
      return;
    }
    if (mode === "not-found") {
      res.writeHead(404, { "content-type": "text/plain" }).end("repository not found (datomspod lab test)\n");
      return;
    }
    cgi(git, root, options.acceptPush === true, req, res);
  };

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const created = createServer({ keepAliveTimeout: 1000 }, handler);
      created.once("error", reject);
      created.listen(port, "127.0.0.1", () => {
        port = (created.address() as AddressInfo).port;
        server = created;
        resolve();
      });
    });

  await listen();
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    root,
    repoUrl(name: string): string {
      return `http://127.0.0.1:${port}/${name}.git`;
    },
    setMode(next: GitServerMode): void {
      mode = next;
    },
    requests(): number {
      return count;
    },
    stop(): Promise<void> {
      const current = server;
      server = undefined;
      if (current === undefined) return Promise.resolve();
      return new Promise((resolve) => {
        current.close(() => resolve());
        current.closeAllConnections();
      });
    },
    async start(): Promise<void> {
      if (server === undefined) await listen();
    },
  };
}

/** A bare repository `<root>/<name>.git` (branch main) and a work tree to commit from. */
export interface LabRepo {
  readonly bare: string;
  readonly work: string;
  /** Commits everything in the work tree (additions and removals) and pushes it; resolves with the commit. */
  commit(message: string): Promise<string>;
}

export async function createRepo(git: string, root: string, name: string, workDir: string): Promise<LabRepo> {
  const bare = join(root, `${name}.git`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: workDir,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "datomspod lab",
    GIT_AUTHOR_EMAIL: "lab@datomspod.invalid",
    GIT_COMMITTER_NAME: "datomspod lab",
    GIT_COMMITTER_EMAIL: "lab@datomspod.invalid",
  };
  await run(git, ["init", "--quiet", "--bare", "--initial-branch=main", bare], { env });
  await run(git, ["init", "--quiet", "--initial-branch=main", workDir], { env });
  await run(git, ["-C", workDir, "remote", "add", "origin", bare], { env });
  return {
    bare,
    work: workDir,
    async commit(message: string): Promise<string> {
      await run(git, ["-C", workDir, "add", "--all"], { env });
      await run(git, ["-C", workDir, "commit", "--quiet", "--allow-empty", "-m", message], { env });
      await run(git, ["-C", workDir, "push", "--quiet", "origin", "HEAD:main"], { env });
      return (await run(git, ["-C", workDir, "rev-parse", "HEAD"], { env })).stdout.trim();
    },
  };
}
