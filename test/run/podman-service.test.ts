/**
 * The run's podman service client (generator/run/podman.ts) against a server on a unix socket that
 * replays what podman 4.3's API answers (bodies recorded from `podman system service`), and a podman
 * on PATH that records its calls: what is asked of the service, how its refusals read, that a
 * request that could not be delivered is asked of the CLI instead, and that one delivered but not
 * answered is not repeated.
 */

import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ServiceError } from "../../generator/errors.js";
import { apiMessage, openPodmanService, serviceClient } from "../../generator/run/podman.js";
import { withTmpdir } from "./podman.js";

/** What podman 4.3's service answered, recorded. */
const RECORDED = {
  played: `{"Pods":[{"ID":"${"1".repeat(64)}","Containers":["${"2".repeat(64)}"],"InitContainers":null,"Logs":null,"ContainerErrors":null}],"Volumes":null,"StopReport":null,"RmReport":null,"Secrets":null}\n`,
  downed: `{"Pods":null,"Volumes":null,"StopReport":[{"Errs":null,"Id":"${"1".repeat(64)}"}],"RmReport":[{"Err":null,"Id":"${"1".repeat(64)}"}],"Secrets":null}\n`,
  downNothing: `{"Pods":null,"Volumes":null,"StopReport":null,"RmReport":null,"Secrets":null}\n`,
  noSuchContainer: `{"cause":"no such container","message":"no container with name or ID \\"x\\" found: no such container","response":404}\n`,
  podInUse: `{"cause":"pod already exists","message":"playing YAML file: adding pod to state: name \\"p\\" is in use: pod already exists","response":500}\n`,
};

interface Route {
  readonly method: string;
  readonly url: string;
  /** The answer, or what to do instead: never answer, or close the connection. */
  readonly answer: { status: number; body?: string } | "hang" | "drop" | "cut";
}

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

let dir: string;
let socket: string;
let server: Server | undefined;
let routes: Route[];
let used: Set<Route>;
let seen: Seen[];
let path: string | undefined;

/** Serves `given` on the socket; a request no route matches fails the test (its answer is 599). */
async function serve(given: Route[]): Promise<void> {
  routes = given;
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const route = routes.find((r) => r.method === req.method && r.url === req.url);
      if (route === undefined) {
        res.writeHead(599).end("no route");
        return;
      }
      used.add(route);
      if (route.answer === "hang") return;
      if (route.answer === "drop") {
        req.socket.destroy();
        return;
      }
      if (route.answer === "cut") {
        res.writeHead(200, { "content-length": "100" });
        res.write('{"Pods":');
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      res.writeHead(route.answer.status, { "content-type": "application/json" }).end(route.answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server!.listen(socket, resolve));
}

/** A podman on PATH that records its arguments and answers `pod exists` with 1 (no such pod). */
function fakeCli(): void {
  writeFileSync(join(dir, "podman"), `#!/bin/sh\necho "$*" >> ${JSON.stringify(join(dir, "calls"))}\n[ "$1 $2" = "pod exists" ] && exit 1\nexit 0\n`);
  chmodSync(join(dir, "podman"), 0o755);
}

function cliCalls(): string[] {
  try {
    return readFileSync(join(dir, "calls"), "utf8").trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "datomspod-podman-api-"));
  socket = join(dir, "podman.sock");
  used = new Set();
  seen = [];
  fakeCli();
  path = process.env.PATH;
  process.env.PATH = `${dir}:${path ?? ""}`;
});

afterEach(async () => {
  process.env.PATH = path;
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    // Every recorded answer was asked for: a route no request used means the client asked something else.
    expect(routes.filter((r) => !used.has(r)).map((r) => `${r.method} ${r.url}`)).toEqual([]);
    expect(seen.filter((s) => !routes.some((r) => r.method === s.method && r.url === s.url)).map((s) => `${s.method} ${s.url}`)).toEqual([]);
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("podman's API answers", () => {
  it.each([
    [RECORDED.noSuchContainer, 'no container with name or ID "x" found: no such container'],
    ["  not json\n", "not json"],
    ['{"cause":"x"}', '{"cause":"x"}'],
  ])("a refusal reads as its message: %s", (body, message) => {
    expect(apiMessage(body)).toBe(message);
  });
});

describe("the service client", () => {
  it("creates the pod as the CLI's kube play --start=false --network none --no-hosts, with the YAML as its body", async () => {
    await serve([{ method: "POST", url: "/v4.0.0/libpod/play/kube?start=false&network=none&noHosts=true", answer: { status: 200, body: RECORDED.played } }]);
    const yamlFile = join(dir, "pod.yaml");
    writeFileSync(yamlFile, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n");

    const id = await serviceClient(socket).kubePlay(yamlFile);

    expect(id).toBe("1".repeat(64));
    expect(seen[0].body).toBe("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n");
    expect(seen[0].headers["content-length"]).toBe(String(Buffer.byteLength(seen[0].body)));
    expect(cliCalls()).toEqual([]);
  });

  it("reports a refused kube play with the step, podman's message and the fix for a leftover pod", async () => {
    await serve([{ method: "POST", url: "/v4.0.0/libpod/play/kube?start=false&network=none&noHosts=true", answer: { status: 500, body: RECORDED.podInUse } }]);
    const yamlFile = join(dir, "pod.yaml");
    writeFileSync(yamlFile, "kind: Pod\n");

    const error = await serviceClient(socket)
      .kubePlay(yamlFile)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).message).toContain(
      `creating the run's pod (podman kube play) failed: 500: playing YAML file: adding pod to state: name "p" is in use`,
    );
    expect((error as ServiceError).message).toContain("a pod or volume of an earlier run is left over");
  });

  it("starts each container, and reports the ones refused as the CLI does (exit 125, one line each); already started is started", async () => {
    await serve([
      { method: "POST", url: "/v4.0.0/libpod/containers/a/start", answer: { status: 204 } },
      { method: "POST", url: "/v4.0.0/libpod/containers/b/start", answer: { status: 304 } },
      { method: "POST", url: "/v4.0.0/libpod/containers/x/start", answer: { status: 404, body: RECORDED.noSuchContainer } },
    ]);
    const client = serviceClient(socket);

    const good = await client.startContainers(["a", "b"], 5000);
    const bad = await client.startContainers(["a", "x"], 5000);

    expect(good.code).toBe(0);
    expect(bad).toEqual({ code: 125, stdout: "", stderr: 'Error: x: no container with name or ID "x" found: no such container\n' });
  });

  it("inspects each container and leaves out the ones that do not exist, as `podman container inspect`", async () => {
    const inspected = {
      Id: "3".repeat(64),
      Name: "a",
      ConmonPidFile: "/run/a/conmon.pid",
      State: { Status: "exited", ExitCode: 0, OOMKilled: false, StartedAt: "s", FinishedAt: "f" },
      HostConfig: { LogConfig: { Type: "k8s-file", Path: "/var/a.log" } },
      Mounts: [{ Type: "volume", Name: "v" }],
    };
    await serve([
      { method: "GET", url: "/v4.0.0/libpod/containers/a/json", answer: { status: 200, body: JSON.stringify(inspected) } },
      { method: "GET", url: "/v4.0.0/libpod/containers/x/json", answer: { status: 404, body: RECORDED.noSuchContainer } },
    ]);

    const found = await serviceClient(socket).inspectContainers(["a", "x"]);

    expect(found).toEqual([
      {
        name: "a",
        id: "3".repeat(64),
        status: "exited",
        exitCode: 0,
        oomKilled: false,
        startedAt: "s",
        finishedAt: "f",
        log: { driver: "k8s-file", path: "/var/a.log" },
        volumes: ["v"],
        conmonPidFile: "/run/a/conmon.pid",
      },
    ]);
  });

  it.each([
    ["removed, no errors", { status: 200, body: RECORDED.downed }, true],
    ["no pod named in the report", { status: 200, body: RECORDED.downNothing }, false],
    ["a stop error", { status: 200, body: RECORDED.downed.replace('"Errs":null', '"Errs":["still running"]') }, false],
    ["a removal error", { status: 200, body: RECORDED.downed.replace('"Err":null', '"Err":"busy"') }, false],
    ["refused", { status: 500, body: RECORDED.podInUse }, false],
  ])("takes the pod down only when its report says so: %s", async (_, answer, removed) => {
    await serve([{ method: "DELETE", url: "/v4.0.0/libpod/play/kube", answer }]);
    const yamlFile = join(dir, "pod.yaml");
    writeFileSync(yamlFile, "kind: Pod\n");

    expect(await serviceClient(socket).kubeDown(yamlFile)).toBe(removed);
  });

  it("asks the CLI instead when the request could not be delivered (no service), and the CLI from then on", async () => {
    const client = serviceClient(join(dir, "nothing-listens.sock"));

    const first = await client.podExists("dp-absent");
    const second = await client.startContainers(["a"], 5000);

    expect(first).toBe(false);
    expect(second.code).toBe(0);
    expect(client.gone()).toBe(true);
    expect(cliCalls()).toEqual(["pod exists dp-absent", "start a"]);
  });

  it("does not repeat a start the service received but did not answer: that container failed to start, the CLI is not asked", async () => {
    await serve([
      { method: "POST", url: "/v4.0.0/libpod/containers/a/start", answer: "drop" },
      { method: "POST", url: "/v4.0.0/libpod/containers/b/start", answer: { status: 204 } },
    ]);
    const client = serviceClient(socket);

    const started = await client.startContainers(["a", "b"], 5000);

    expect(started.code).toBe(125);
    expect(started.stderr).toMatch(/^Error: a: .*starting the containers \(podman start\): podman's service did not answer/);
    expect(started.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(client.gone()).toBe(false);
    expect(cliCalls()).toEqual([]);
  });

  it("takes an answer cut off before its end for no answer", async () => {
    await serve([{ method: "GET", url: "/v4.0.0/libpod/pods/p/exists", answer: "cut" }]);

    const error = await serviceClient(socket)
      .podExists("p")
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).message).toContain("asking whether the pod exists: podman's service did not finish its answer");
  });

  it.each([
    [204, true],
    [404, false],
  ])("says a pod exists only on 204, that it does not only on 404 (answer %i)", async (status, exists) => {
    await serve([{ method: "GET", url: "/v4.0.0/libpod/pods/p/exists", answer: { status } }]);

    expect(await serviceClient(socket).podExists("p")).toBe(exists);
  });

  it("says neither when the service answers whether a pod exists with an error", async () => {
    await serve([
      { method: "GET", url: "/v4.0.0/libpod/pods/p/exists", answer: { status: 500, body: '{"cause":"x","message":"database is locked","response":500}' } },
    ]);

    const error = await serviceClient(socket)
      .podExists("p")
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).message).toContain("asking whether the pod exists failed: 500: database is locked");
  });

  it("asks the CLI to take the pod down when the service received the request but did not answer", async () => {
    await serve([{ method: "DELETE", url: "/v4.0.0/libpod/play/kube", answer: "drop" }]);
    const yamlFile = join(dir, "pod.yaml");
    writeFileSync(yamlFile, "kind: Pod\n");

    const downed = await serviceClient(socket).kubeDown(yamlFile);

    expect(downed).toBe(true);
    expect(cliCalls()).toEqual([`kube down ${yamlFile}`]);
  });

  it("gives up on a request past its deadline with the runner's timeout error (the pod is then stopped)", async () => {
    await serve([{ method: "POST", url: "/v4.0.0/libpod/containers/a/start", answer: "hang" }]);

    const error = await serviceClient(socket)
      .startContainers(["a"], 150)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).message).toMatch(/starting the containers \(podman start\): did not finish within 150 ms/);
    expect(cliCalls()).toEqual([]);
  });
});

describe("starting the service", () => {
  it("does not start it under a temporary folder too long for a unix socket's path (107 bytes): the CLI answers, nothing is made", async () => {
    const long = join(dir, "x".repeat(100));
    mkdirSync(long);
    const service = await withTmpdir(long, () => openPodmanService());

    expect(service).toBeUndefined();
    expect(readdirSync(long)).toEqual([]);
    expect(cliCalls()).toEqual([]);
  });

  it("does not start it, and does not fail, when the temporary folder cannot take its folder: the CLI answers", async () => {
    const service = await withTmpdir(join(dir, "missing"), () => openPodmanService());

    expect(service).toBeUndefined();
    expect(cliCalls()).toEqual([]);
  });

  it("uses the CLI when podman's service does not come up, and leaves nothing of it", async () => {
    const service = await withTmpdir(dir, () => openPodmanService(2000));

    expect(service).toBeUndefined();
    expect(cliCalls()).toEqual([expect.stringMatching(/^system service --time 10 unix:\/\/.+\/datomspod-podman-\w{6}\/podman\.sock$/)]);
    expect(readdirSync(dir).filter((f) => f.startsWith("datomspod-podman-"))).toEqual([]);
  });
});
