/**
 * Slow (real podman): the podman service a run asks (generator/run/podman.ts). It answers as the CLI
 * does for the same pod; it is stopped with the run, whether the run passed or was refused, and
 * nothing of it is left; once stopped, the CLI answers; it stays up while its runner waits, and ends
 * by itself once the runner is killed.
 */

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { ServiceError } from "../../generator/errors.js";
import { IDLE_SECONDS, openPodmanService, podmanCli, type Podman } from "../../generator/run/podman.js";
import { ensureImages, podmanMissing, runFixture, skipMessage, withTmpdir } from "./podman.js";
import { PROVIDER, RUN_ID, WITNESS, dp, prepareRun, readReceipt } from "./run-helpers.js";

const missing = await podmanMissing();
skipMessage(missing);

const slow = { timeout: 300_000 };

/** The processes whose command line names `text`. */
function processesNaming(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (argv.includes(text) && Number(pid) !== process.pid) found.push(`${pid} ${argv.trim()}`);
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

describe.skipIf(missing !== undefined)("the run's podman service", () => {
  it("answers as the CLI does for the same pod: created without a network, started, inspected alike, taken down", slow, async () => {
    const python = (await ensureImages()).get("python")!.pinned;
    const dir = mkdtempSync(join(tmpdir(), "datomspod-service-e2e-"));
    const pod = `dp-service-${process.pid}`;
    const yamlFile = join(dir, "pod.yaml");
    const container = (name: string, code: number): string =>
      `  - name: ${name}\n    image: ${python}\n    command: ["python3", "-c", "import sys; print('${name}'); sys.exit(${code})"]\n`;
    writeFileSync(
      yamlFile,
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${pod}\nspec:\n  restartPolicy: Never\n  containers:\n${container("a", 0)}${container("b", 3)}`,
    );
    const service = await openPodmanService();
    expect(service).toBeDefined();
    const names = [`${pod}-a`, `${pod}-b`];
    try {
      const id = await service!.kubePlay(yamlFile);
      const existed = await service!.podExists(pod);
      const network = execFileSync("podman", ["pod", "inspect", pod, "--format", "{{.InfraContainerID}}"], { encoding: "utf8" }).trim();
      const mode = execFileSync("podman", ["container", "inspect", network, "--format", "{{.HostConfig.NetworkMode}}"], { encoding: "utf8" }).trim();
      const created = (await service!.inspectContainers(names)).map((c) => c.status);
      const started = await service!.startContainers(names, 60_000);
      const codes = await podmanCli.waitContainers(names, 60_000);
      const viaService = await service!.inspectContainers([...names, `${pod}-none`]);
      const viaCli = await podmanCli.inspectContainers([...names, `${pod}-none`]);
      const down = await service!.kubeDown(yamlFile);
      const after = await service!.podExists(pod);

      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(existed).toBe(true);
      expect(mode).toBe("none");
      expect(created).toEqual(["created", "created"]);
      expect(started.code).toBe(0);
      expect(codes).toEqual([0, 3]);
      expect(viaService).toEqual(viaCli);
      expect(viaService.map((c) => [c.name, c.status, c.exitCode])).toEqual([
        [`${pod}-a`, "exited", 0],
        [`${pod}-b`, "exited", 3],
      ]);
      expect(down).toBe(true);
      expect(after).toBe(false);
      expect(service!.gone()).toBe(false);
    } finally {
      await service!.close();
      execFileSync("podman", ["pod", "rm", "--force", "--ignore", pod]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a pod whose kube down failed (the service did not answer) is removed through the CLI, nothing left", slow, async () => {
    const downs: string[] = [];
    const failingDown: Podman = {
      ...podmanCli,
      kubeDown: (yamlFile) => {
        downs.push(yamlFile);
        return Promise.reject(new ServiceError("taking the pod down (podman kube down): podman's service did not answer"));
      },
    };

    const result = await runFixture({ name: "down", algorithm: "print('hi')", podman: failingDown });

    expect(downs).toHaveLength(1);
    expect(result.run.containers.map((c) => c.exitCode)).toEqual([0, 0, 0, 0]);
    expect(result.run.leftovers).toEqual([]);
    expect(await podmanCli.podExists(result.podName)).toBe(false);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(result.podName);
  });

  it("a pod podman could not say was removed is recorded as left, never as removed", slow, async () => {
    let asked = 0;
    const unsure: Podman = {
      ...podmanCli,
      // The first question (before the pod is created) is answered; the check after the run is not.
      podExists: (pod) => (asked++ === 0 ? podmanCli.podExists(pod) : Promise.reject(new ServiceError("asking whether the pod exists failed: 500"))),
    };

    const result = await runFixture({ name: "unsure", algorithm: "print('hi')", podman: unsure });

    expect(result.run.leftovers).toEqual([`pod ${result.podName} (whether it exists is not known: asking whether the pod exists failed: 500)`]);
    expect(await podmanCli.podExists(result.podName)).toBe(false);
  });

  it("asks podman to create the later roles and to inspect only once the first role's start returned", slow, async () => {
    const events: string[] = [];
    let starts = 0;
    const recording: Podman = {
      ...podmanCli,
      startContainers: async (names, timeoutMs) => {
        const turn = starts++;
        events.push(`start ${turn} asked`);
        const result = await podmanCli.startContainers(names, timeoutMs);
        events.push(`start ${turn} answered`);
        return result;
      },
      initContainers: (names, timeoutMs) => {
        events.push("init asked");
        return podmanCli.initContainers(names, timeoutMs);
      },
      inspectContainers: (names, timeoutMs) => {
        events.push("inspect asked");
        return podmanCli.inspectContainers(names, timeoutMs);
      },
    };

    const result = await runFixture({ name: "order", algorithm: "print('hi')", podman: recording });

    expect(result.run.containers.map((c) => c.exitCode)).toEqual([0, 0, 0, 0]);
    const first = events.indexOf("start 0 answered");
    expect(events[0]).toBe("start 0 asked");
    expect(events.indexOf("init asked")).toBeGreaterThan(first);
    expect(events.indexOf("inspect asked")).toBeGreaterThan(first);
    expect(result.run.leftovers).toEqual([]);
  });

  it("asks podman to create nothing more when the first role's start is refused; the refusal is reported, nothing left", slow, async () => {
    const asked: string[] = [];
    const refusing: Podman = {
      ...podmanCli,
      startContainers: (names) => {
        asked.push(`start ${names.join(" ")}`);
        return Promise.resolve({ code: 125, stdout: "", stderr: `Error: ${names.join(" ")}: refused by the test\n` });
      },
      initContainers: (names, timeoutMs) => {
        asked.push(`init ${names.join(" ")}`);
        return podmanCli.initContainers(names, timeoutMs);
      },
    };

    const result = await runFixture({ name: "refused", algorithm: "print('hi')", podman: refusing });

    expect(asked).toEqual([`start ${result.podName}-datomspace-in`]);
    expect(result.run.refused).toEqual([`Error: ${result.podName}-datomspace-in: refused by the test`]);
    expect(result.run.containers.map((c) => c.status)).toEqual(["created", "created", "created", "created"]);
    expect(result.run.leftovers).toEqual([]);
  });

  it("stops when closed, leaving nothing; its client then asks the CLI", slow, async () => {
    const service = (await openPodmanService())!;
    const folder = join(service.socket, "..");
    const running = processesNaming(service.socket);
    // Only its owner (the runner, root) can reach the socket: the folder is 0700 and the socket not open to others.
    const folderMode = statSync(folder);
    const socketMode = statSync(service.socket).mode & 0o077;

    await service.close();
    const exists = await service.podExists(`dp-service-absent-${process.pid}`);

    expect(running).toHaveLength(1);
    expect([folderMode.mode & 0o777, folderMode.uid]).toEqual([0o700, process.getuid!()]);
    expect(socketMode & 0o007).toBe(0);
    expect(processesNaming(service.socket)).toEqual([]);
    expect(existsSync(folder)).toBe(false);
    expect(exists).toBe(false);
    expect(service.gone()).toBe(true);
  });

  it(`stays up while its runner lives (past ${IDLE_SECONDS} s without a run's request) and ends by itself once the runner is killed`, slow, async () => {
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { openPodmanService } = await import(${JSON.stringify(join(PACKAGE_ROOT, "dist", "generator", "run", "podman.js"))});
         const service = await openPodmanService();
         console.log(service.socket);
         setInterval(() => undefined, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const socket = await new Promise<string>((resolve) => child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString("utf8").trim())));

    await new Promise((resolve) => setTimeout(resolve, (IDLE_SECONDS + 3) * 1000));
    const alive = processesNaming(`unix://${socket}`);
    child.kill("SIGKILL");
    const ended = await until(() => processesNaming(`unix://${socket}`).length === 0, (IDLE_SECONDS + 10) * 1000);
    rmSync(join(socket, ".."), { recursive: true, force: true });

    expect(alive).toHaveLength(1);
    expect(ended).toBe(true);
  });

  it("is stopped by `datomspod run`, whether the run passed or its key was refused: no process, no folder left", slow, async (t) => {
    const prepared = await prepareRun(t, { algorithm: "ocean-env.py" });
    const temporary = mkdtempSync(join(tmpdir(), "datomspod-service-tmp-"));
    const [refused, ran] = await withTmpdir(temporary, async () => [
      await dp(prepared.repo, "run", prepared.id, RUN_ID, "--key", WITNESS.file),
      await dp(prepared.repo, "run", prepared.id, RUN_ID, "--key", PROVIDER.file),
    ]);
    const left = readdirSync(temporary);
    const processes = processesNaming(`${temporary}/`);
    rmSync(temporary, { recursive: true, force: true });

    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("is not a runner of");
    expect(ran.code).toBe(0);
    expect(readReceipt(prepared.repo, prepared.id)?.predicate.status.phase).toBe("succeeded");
    expect(left).toEqual([]);
    expect(processes).toEqual([]);
  });
});
