/**
 * `datomspod serve`: the web view over HTTP on 127.0.0.1 only. Every page request re-verifies (a new
 * generation: repository, git history and chain read again); requests that arrive meanwhile share
 * it; the CSS, script and SVGs come from the latest generation. Only GET and HEAD, only the files of
 * the site, only a Host of this machine (no DNS rebinding).
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CONTENT_SECURITY_POLICY } from "./pages/layout.js";

export const SERVE_HOST = "127.0.0.1";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  json: "application/json; charset=utf-8",
};

export interface Server {
  readonly url: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  readonly port: number;
  /** A fresh generation of the site's files. */
  readonly generate: () => Promise<ReadonlyMap<string, string>>;
  /** Called when a generation fails (the request gets a 500 page). */
  readonly onError?: (error: unknown) => void;
}

/** The site path a request asks for: "/" → index.html, "/x/" → x/index.html; undefined for anything odd. */
export function sitePath(url: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url, "http://localhost").pathname);
  } catch {
    return undefined;
  }
  if (path.includes("\0") || path.split("/").some((part) => part === ".." || part === ".")) return undefined;
  const relative = path.replace(/^\/+/, "");
  return relative === "" || relative.endsWith("/") ? `${relative}index.html` : relative;
}

export function startServer(options: ServeOptions): Promise<Server> {
  let latest: ReadonlyMap<string, string> | undefined;
  let running: Promise<ReadonlyMap<string, string>> | undefined;
  const regenerate = (): Promise<ReadonlyMap<string, string>> => {
    running ??= options.generate().then(
      (files) => {
        latest = files;
        running = undefined;
        return files;
      },
      (error: unknown) => {
        running = undefined;
        throw error;
      },
    );
    return running;
  };

  const send = (res: ServerResponse, code: number, type: string, body: string, head: boolean): void => {
    res.writeHead(code, {
      "Content-Type": type,
      "Content-Length": Buffer.byteLength(body),
      "Content-Security-Policy": CONTENT_SECURITY_POLICY,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Cache-Control": "no-store",
    });
    res.end(head ? undefined : body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, port: number): Promise<void> => {
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      res.setHeader("Allow", "GET, HEAD");
      send(res, 405, "text/plain; charset=utf-8", "method not allowed\n", head);
      return;
    }
    const host = req.headers.host ?? "";
    if (host !== `${SERVE_HOST}:${port}` && host !== `localhost:${port}`) {
      send(res, 421, "text/plain; charset=utf-8", "this server answers only to 127.0.0.1\n", head);
      return;
    }
    const path = sitePath(req.url ?? "/");
    if (path === undefined) {
      send(res, 400, "text/plain; charset=utf-8", "bad path\n", head);
      return;
    }
    let files: ReadonlyMap<string, string>;
    try {
      files = path.endsWith(".html") || latest === undefined ? await regenerate() : latest;
    } catch (error) {
      options.onError?.(error);
      send(res, 500, "text/plain; charset=utf-8", `the view could not be generated: ${error instanceof Error ? error.message : String(error)}\n`, head);
      return;
    }
    const body = files.get(path);
    if (body === undefined) {
      send(res, 404, "text/plain; charset=utf-8", "not part of the site\n", head);
      return;
    }
    send(res, 200, TYPES[path.slice(path.lastIndexOf(".") + 1)] ?? "application/octet-stream", body, head);
  };

  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      void handle(req, res, (server.address() as AddressInfo).port);
    });
    server.once("error", reject);
    server.listen(options.port, SERVE_HOST, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://${SERVE_HOST}:${port}/`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
