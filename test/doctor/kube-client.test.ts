/**
 * The one Kubernetes client's reads for decisions, against a real HTTPS server on 127.0.0.1 that
 * answers as the API server does (a CA made with openssl for the test): the API server's Date kept
 * on an object and on a 404, a refused read named with its fix, a list's resourceVersion, a watch
 * from it that delivers events in order and resolves with the last version, and a 410 that tells
 * the operator to relist. Service-account access is read from its folder.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kube, WatchError, inClusterAccess, type KubeObject, type WatchEvent } from "../../generator/cluster/kube.js";
import { ServiceError } from "../../generator/errors.js";
import { tempDir } from "../helpers/repo.js";

const DATE = "Thu, 03 Dec 2026 08:10:04 GMT";
let server: Server;
let kube: Kube;
let ca: Buffer;
let pki: string;
/** Watch streams by resourceVersion asked for. */
const streams: Record<string, string[]> = {
  "7": [
    JSON.stringify({ type: "ADDED", object: { metadata: { name: "dp-a", resourceVersion: "8" } } }),
    JSON.stringify({ type: "BOOKMARK", object: { metadata: { name: "", resourceVersion: "9" } } }),
    JSON.stringify({ type: "DELETED", object: { metadata: { name: "dp-a", resourceVersion: "10" } } }),
  ],
  "1": [JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } })],
};

beforeAll(async () => {
  pki = mkdtempSync(join(tmpdir(), "datomspod-kube-client-"));
  const dir = pki;
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ],
    { stdio: "ignore" },
  );
  ca = readFileSync(join(dir, "cert.pem"));
  server = createServer({ key: readFileSync(join(dir, "key.pem")), cert: ca }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    res.setHeader("date", DATE);
    res.setHeader("content-type", "application/json");
    if (req.headers.authorization !== "Bearer t0ken") return void res.writeHead(401).end(JSON.stringify({ message: "Unauthorized" }));
    if (url.pathname === "/api/v1/namespaces/dp-a") return void res.end(JSON.stringify({ metadata: { name: "dp-a", uid: "u-1" } }));
    if (url.pathname === "/api/v1/namespaces/dp-gone") return void res.writeHead(404).end(JSON.stringify({ message: "not found", reason: "NotFound" }));
    if (url.pathname === "/api/v1/secrets") return void res.writeHead(403).end(JSON.stringify({ message: "forbidden", reason: "Forbidden" }));
    if (url.pathname === "/api/v1/namespaces" && url.searchParams.get("watch") === "1") {
      const lines = streams[url.searchParams.get("resourceVersion") ?? ""] ?? [];
      res.write(lines.map((line) => `${line}\n`).join(""));
      return void res.end();
    }
    if (url.pathname === "/api/v1/namespaces")
      return void res.end(
        JSON.stringify({ metadata: { resourceVersion: "7" }, items: [{ metadata: { name: "dp-a", labels: { q: url.searchParams.get("labelSelector") } } }] }),
      );
    res.writeHead(500).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  kube = new Kube({ server: `https://127.0.0.1:${port}`, ca, token: "t0ken", source: "test kubeconfig" });
});

afterAll(async () => {
  kube.close();
  await new Promise((resolve) => server.close(resolve));
  rmSync(pki, { recursive: true, force: true });
});

describe("the Kubernetes client's reads for decisions", () => {
  it("keeps the API server's Date on an object and on a 404 (the deletion evidence's clock)", async () => {
    await expect(kube.read("/api/v1/namespaces/dp-a")).resolves.toEqual({ body: { metadata: { name: "dp-a", uid: "u-1" } }, date: "2026-12-03T08:10:04Z" });
    await expect(kube.read("/api/v1/namespaces/dp-gone")).resolves.toEqual({ body: undefined, date: "2026-12-03T08:10:04Z" });
  });

  it("names a refused read with its status and the fix", async () => {
    const error = await kube.read("/api/v1/secrets").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).issues[0]).toMatchObject({
      file: "test kubeconfig",
      message: expect.stringMatching(/answered 403: forbidden/),
      fix: expect.stringMatching(/grant/),
    });
  });

  it("lists with the list's resourceVersion, and watches from it in order, skipping bookmarks, resolving with the last version", async () => {
    const list = await kube.listFrom("/api/v1/namespaces", { labelSelector: "datomspod.io/contract" });
    expect(list).toEqual({ items: [{ metadata: { name: "dp-a", labels: { q: "datomspod.io/contract" } } }], resourceVersion: "7" });
    const seen: string[] = [];
    const last = await kube.watch<KubeObject>(
      "/api/v1/namespaces",
      {},
      list.resourceVersion,
      async (event: WatchEvent<KubeObject>) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.push(`${event.type} ${event.object.metadata.name}`);
      },
      new AbortController().signal,
    );
    expect(seen).toEqual(["ADDED dp-a", "DELETED dp-a"]);
    expect(last).toBe("10");
  });

  it("rejects a watch from a version too old with a 410 WatchError (the operator relists)", async () => {
    const error = await kube.watch("/api/v1/namespaces", {}, "1", async () => {}, new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WatchError);
    expect((error as WatchError).status).toBe(410);
  });

  it("reads the pod's service account (server from the environment, CA and token from the folder)", () => {
    const folder = tempDir();
    writeFileSync(join(folder, "token"), "sa-token\n");
    writeFileSync(join(folder, "ca.crt"), ca);
    expect(inClusterAccess({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }, folder)).toEqual({
      server: "https://10.96.0.1:443",
      ca,
      token: "sa-token",
      source: folder,
    });
    expect(inClusterAccess({ KUBERNETES_SERVICE_HOST: "fd00::1" }, folder)?.server).toBe("https://[fd00::1]:443");
    expect(inClusterAccess({}, folder)).toBeUndefined();
  });
});
