/**
 * Slow (real containers, `datomspod run`): hostile algorithms are stopped or caught, the receipt
 * reports it, and the machine and the other runs are unaffected. Each algorithm is in
 * algorithms/hostile-*.py; each test asserts the receipt (status, inputs, output policy, deletion)
 * and that podman holds nothing of the pod afterwards.
 */

import { createSocket } from "node:dgram";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execEngine } from "../../generator/run/exec.js";
import { POD_PIDS_LIMIT } from "../../generator/run/run.js";
import { PUBLIC_REASONS } from "../../generator/pod/roles/receipt.js";
import { podmanMissing, skipMessage } from "./podman.js";
import {
  CONSUMER,
  PATIENTS_CSV,
  PATIENTS_DID,
  PROVIDER,
  dp,
  expectRemoved,
  fetchRun,
  fetchedJson,
  ownerReport,
  podLeftovers,
  prepareRun,
  providerFiles,
  readReceipt,
  runAlgorithm,
  runImages,
  runPrepared,
  sha256,
  type PreparedRun,
  type RunOutcome,
  type Scope,
} from "./run-helpers.js";

const missing = await podmanMissing();
skipMessage(missing);

const slow = { timeout: 300_000 };

/** The host's own IPv4 addresses other than loopback (its network interfaces, the podman bridge). */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === "IPv4" && !a.internal)
    .map((a) => a!.address)
    .sort();
}

/** The receipt of a run whose inputs were verified and whose algorithm ran. */
function expectVerified(run: RunOutcome): void {
  expect(run.result.code, run.result.stdout + run.result.stderr).toBe(0);
  expect(run.receipt!.predicate.inputs).toMatchObject({ verified: true, failures: [] });
}

/**
 * The receipt in git says the phase and fixed text, nothing the algorithm chose; the exact status
 * (exit code, signal, OOM kill, deadline, reason) is in the report sealed for the data owners.
 */
async function expectStatus(run: RunOutcome, status: { phase: "succeeded" | "failed"; reason: string } & Record<string, unknown>): Promise<void> {
  expect(run.receipt!.predicate.status).toEqual({ phase: status.phase, reason: PUBLIC_REASONS[status.phase] });
  expect((await ownerReport(run)).status).toEqual(status);
}

const SUCCEEDED = {
  phase: "succeeded" as const,
  exitCode: 0,
  signal: null,
  oomKilled: false,
  deadlineExceeded: false,
  reason: "the algorithm exited with code 0",
};

/** The provider's folder is exactly as it was: same files, same bytes. */
function expectProviderUnchanged(run: RunOutcome): void {
  expect(providerFiles(run)).toEqual(run.before);
}

describe.skipIf(missing !== undefined)("hostile algorithms under `datomspod run`", () => {
  beforeAll(async () => {
    await runImages();
  }, 900_000);

  // Alone, before the others: it shares the machine with one bystander run only.
  it(`a fork bomb: held by the pod's pids limit (${POD_PIDS_LIMIT}), stopped at the deadline, reported; another run and the host go on`, slow, async (t) => {
    const bomb = prepareRun(t, { algorithm: "hostile-fork-bomb.py", compute: { maxDurationSeconds: 15, memory: "1Gi" } });
    const other = prepareRun(t, { algorithm: "ocean-env.py" }, "bystander");
    const [bombRun, otherRun] = [await bomb, await other];
    const running = runPrepared(bombRun);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // While the bomb holds its pod's processes, the host still starts processes, and another run succeeds.
    expect(execFileSync("/bin/true", { timeout: 5000 }).toString()).toBe("");
    const bystander = await runPrepared(otherRun);
    const run = await running;

    expectVerified(run);
    await expectStatus(run, {
      phase: "failed" as const,
      exitCode: 143,
      signal: "SIGTERM",
      oomKilled: false,
      deadlineExceeded: true,
      reason: "stopped at the deadline of 15 s",
    });
    expect(run.receipt!.predicate.deletion).toMatchObject({ pidsLimit: POD_PIDS_LIMIT, timedOut: false, removed: true });
    const result = await fetchedJson(run);
    expect(result.error).toBe("EAGAIN");
    expect(result.processes).toBeLessThanOrEqual(POD_PIDS_LIMIT);
    expect(result.processes).toBeGreaterThan(POD_PIDS_LIMIT / 2);
    await expectRemoved(run);
    expectVerified(bystander);
    await expectStatus(bystander, SUCCEEDED);
    // The bystander's algorithm ran while the bomb held its pod. The public times are whole seconds, and with
    // roles that start in a fraction of a second both algorithms can start within the same one.
    expect(Date.parse(bystander.receipt!.predicate.startedAt!)).toBeGreaterThanOrEqual(Date.parse(run.receipt!.predicate.startedAt!));
    // When it ended is sealed for the owners (in public it would be a channel of the algorithm's choosing).
    expect(Date.parse((await ownerReport(bystander)).computing.endedAt)).toBeLessThan(Date.parse((await ownerReport(run)).computing.endedAt));
    await expectRemoved(bystander);
  });

  describe("the others, side by side", { concurrent: true }, () => {
    describe("network egress", () => {
      const seen: string[] = [];
      const tcp = createServer((socket) => {
        seen.push(`tcp from ${socket.remoteAddress}`);
        socket.destroy();
      });
      const udp = createSocket("udp4");
      udp.on("message", (_message, from) => seen.push(`udp from ${from.address}`));
      let tcpPort = 0;
      let udpPort = 0;

      beforeAll(async () => {
        await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
        await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
        tcpPort = (tcp.address() as { port: number }).port;
        udpPort = udp.address().port;
      });
      afterAll(async () => {
        udp.close();
        await new Promise((resolve) => tcp.close(resolve));
      });

      it(
        "by TCP: to the host's loopback (where the test listens), the host's addresses, other networks: refused or unreachable, nothing arrives",
        slow,
        async (t) => {
          const targets: [string, number][] = [
            ["127.0.0.1", tcpPort],
            ["::1", tcpPort],
            ...hostAddresses().map((address): [string, number] => [address, tcpPort]),
            ["192.0.2.1", 80],
            ["10.255.255.1", 80],
            ["8.8.8.8", 53],
          ];

          const run = await runAlgorithm(t, { algorithm: "hostile-tcp.py", parameters: { tcp: targets } });

          expectVerified(run);
          await expectStatus(run, SUCCEEDED);
          expect(await fetchedJson(run)).toEqual(
            Object.fromEntries(targets.map(([host, port]) => [`${host} ${port}`, host === "127.0.0.1" || host === "::1" ? "ECONNREFUSED" : "ENETUNREACH"])),
          );
          expect(seen).toEqual([]);
          await expectRemoved(run);
        },
      );

      it("by UDP: datagrams to the host's loopback stay in the pod, to anywhere else are unreachable, nothing arrives", slow, async (t) => {
        const targets: [string, number][] = [
          ["127.0.0.1", udpPort],
          ...hostAddresses().map((address): [string, number] => [address, udpPort]),
          ["8.8.8.8", 53],
          ["192.0.2.1", 53],
        ];

        const run = await runAlgorithm(t, { algorithm: "hostile-udp.py", parameters: { udp: targets } });

        expectVerified(run);
        await expectStatus(run, SUCCEEDED);
        // The pod has a loopback of its own: the datagram to 127.0.0.1 is "sent" there, where nobody listens.
        expect(await fetchedJson(run)).toEqual(
          Object.fromEntries(targets.map(([host, port]) => [`${host} ${port}`, host === "127.0.0.1" ? "sent" : "ENETUNREACH"])),
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(seen).toEqual([]);
        await expectRemoved(run);
      });

      it("by DNS: no resolver configuration, no name resolves, not even the host's own name for the pod", slow, async (t) => {
        const names = ["example.com", `${randomBytes(8).toString("hex")}.exfiltrate.example`, "host.containers.internal", "localhost"];

        const run = await runAlgorithm(t, { algorithm: "hostile-dns.py", parameters: { names } });

        expectVerified(run);
        await expectStatus(run, SUCCEEDED);
        const result = await fetchedJson(run);
        expect(result.resolvConf).toBe(false);
        // Names resolve from the pod's /etc/hosts only, which the runner writes: localhost and the pod's
        // own name, on its loopback. (podman 4.3 would write the host's entries and
        // host.containers.internal, despite --no-hosts.)
        expect(result.hosts).toEqual([
          ["127.0.0.1", "localhost"],
          ["::1", "localhost", "ip6-localhost", "ip6-loopback"],
          ["127.0.0.1", run.pod],
        ]);
        expect(result.names).toEqual({
          "example.com": "EAI_AGAIN",
          [names[1]]: "EAI_AGAIN",
          "host.containers.internal": "EAI_AGAIN",
          localhost: ["127.0.0.1"],
        });
        await expectRemoved(run);
      });
    });

    it(
      "writing into the inputs (world-writable on the host), the DDOs, its code, the image, the tools or the verdict: refused, the provider's file unchanged",
      slow,
      async (t) => {
        // World-writable on the host: only the read-only mounts stand in the way.
        const run = await runAlgorithm(t, {
          algorithm: "hostile-write-inputs.py",
          datasets: [
            { did: PATIENTS_DID, serviceId: "compute", files: [{ name: "patients.csv", content: PATIENTS_CSV, contentType: "text/csv", mode: 0o666 }] },
          ],
        });

        expectVerified(run);
        await expectStatus(run, SUCCEEDED);
        const result = await fetchedJson(run);
        expect(result).toEqual({
          "append service path": "EROFS",
          "append legacy path": "EROFS",
          "truncate flat path": "EROFS",
          "append mount": "EROFS",
          "chmod mount": "EROFS",
          "unlink flat path": "EROFS",
          "rename mount": "EXDEV",
          "create in inputs": "EROFS",
          "replace parameters": "EROFS",
          "write ddo": "EROFS",
          "write own code": "EROFS",
          // Root's file on the image: refused for the user before the read-only root file system is asked.
          "write image": "EACCES",
          "write supervisor": "EROFS",
          "write verdict": "EROFS",
        });
        expectProviderUnchanged(run);
        expect(readFileSync(join(run.dataDirs[0], "patients.csv"), "utf8")).toBe(PATIENTS_CSV);
        await expectRemoved(run);
      },
    );

    it("reading host paths: not the host's /etc/shadow, not the provider's other files beside the input, by no path", slow, async (t) => {
      const neighbour = "age,sex,region,diagnosis,stay\nNEIGHBOUR-SECRET-7731,F,east,Z,9\n";

      const run = await runAlgorithm(t, {
        algorithm: "hostile-read-host.py",
        datasets: [
          {
            did: PATIENTS_DID,
            serviceId: "compute",
            files: [{ name: "patients.csv", content: PATIENTS_CSV, contentType: "text/csv" }],
            neighbours: [{ name: "neighbour-secret.csv", content: neighbour }],
          },
        ],
      });

      expectVerified(run);
      await expectStatus(run, SUCCEEDED);
      const result = await fetchedJson(run);
      const hostShadow = existsSync("/etc/shadow") ? sha256(readFileSync("/etc/shadow")) : "none";
      expect(result.shadow).not.toBe(hostShadow);
      expect(result).toEqual({
        shadow: "ENOENT",
        "neighbour by name": "ENOENT",
        "neighbour through the parent": "ENOENT",
        "neighbour at the host path": "ENOENT",
        "input at the host path": "ENOENT",
        "mount folder": ["patients.csv"],
        "proc 1 root": "EACCES",
        "podman socket": "ENOENT",
        "files named like the neighbour": [],
        "files holding the marker": [],
        // The mount table names the input's path inside the run's staging overlay, not where it lies on the host.
        "host input path": "/patients.csv",
      });
      expectProviderUnchanged(run);
      await expectRemoved(run);
    });

    it("a memory hog: killed at the contract's memory limit, oomKilled, phase failed", slow, async (t) => {
      const run = await runAlgorithm(t, { algorithm: "hostile-memory.py", compute: { memory: "64Mi" } });

      expectVerified(run);
      await expectStatus(run, {
        phase: "failed" as const,
        exitCode: 137,
        signal: "SIGKILL",
        oomKilled: true,
        deadlineExceeded: false,
        reason: "killed for running out of memory (limit 64Mi)",
      });
      // The resident set also counts the interpreter's shared library pages, which the cgroup may not be charged for.
      const exact = (await ownerReport(run)).computing;
      expect(exact.maxRssBytes).toBeGreaterThan(32 * 1024 * 1024);
      expect(exact.maxRssBytes).toBeLessThan(80 * 1024 * 1024);
      // In public, the container's peak memory rounded up to a power of two MiB: no more than the limit's bucket.
      expect(exact.cgroupPeakMemoryBytes).not.toBeNull();
      expect(run.receipt!.predicate.usage.peakMemoryMiB).toBe(2 ** Math.ceil(Math.log2(Math.ceil(exact.cgroupPeakMemoryBytes! / 1024 / 1024))));
      expect(run.receipt!.predicate.usage.peakMemoryMiB).toBeLessThanOrEqual(64);
      const log = (await fetchRun(run, CONSUMER)).logs["algorithm.log"];
      const last = Number(/allocated (\d+) MiB\n$/.exec(log)?.[1]);
      // 8 MiB steps: the last one that fitted under 64 MiB beside the interpreter (56 MiB measured).
      expect(last).toBeGreaterThanOrEqual(40);
      expect(last).toBeLessThan(64);
      await expectRemoved(run);
    });

    it("a disk filler: the outputs' size limit stops it (ENOSPC at 8 MiB), the policy refuses the outputs, sealed for the data owner only", slow, async (t) => {
      const run = await runAlgorithm(t, { algorithm: "hostile-disk.py", compute: { outputSize: "8Mi" } });

      expectVerified(run);
      const p = run.receipt!.predicate;
      expect(p.status).toEqual({ phase: "policy-violation", reason: PUBLIC_REASONS["policy-violation"] });
      expect(p.outputs.policy).toEqual({ ok: false, rules: ["file-type", "max-bytes"] });
      expect(p.outputs.sealedFor).toEqual([PROVIDER.address]);
      expect(run.receipt!.subject.map((s) => s.name)).toEqual(["outputs/0", "logs/0", "logs/datomspace-out"]);
      const owner = await fetchRun(run, PROVIDER);
      expect(owner.report.policy.violations.map((v: any) => [v.rule, v.name])).toEqual([
        ["file-type", "fill.bin"],
        ["max-bytes", null],
      ]);
      expect(owner.report.status).toMatchObject({ phase: "succeeded", exitCode: 0 });
      expect(owner.result.code, owner.result.stderr).toBe(0);
      const log = owner.logs["algorithm.log"];
      const written = [...log.matchAll(/^(\S+) stopped with ENOSPC after (\d+) bytes$/gm)].map((m) => [m[1], Number(m[2])]);
      expect(written.map(([target]) => target)).toEqual(["/data/outputs/fill.bin", "/tmp/fill.bin"]);
      // Exactly the contract's outputSize, in /data/outputs and in /tmp alike.
      expect(written.map(([, bytes]) => bytes)).toEqual([8 * 1024 * 1024, 8 * 1024 * 1024]);
      expect((await fetchRun(run, CONSUMER)).result.code).not.toBe(0);
      await expectRemoved(run);
    });

    it("running past the deadline and ignoring SIGTERM: killed after the grace period, deadlineExceeded, phase failed", slow, async (t) => {
      const run = await runAlgorithm(t, { algorithm: "hostile-deadline.py", compute: { maxDurationSeconds: 3 } });

      expectVerified(run);
      await expectStatus(run, {
        phase: "failed" as const,
        exitCode: 137,
        signal: "SIGKILL",
        oomKilled: false,
        deadlineExceeded: true,
        reason: "stopped at the deadline of 3 s",
      });
      const duration = (await ownerReport(run)).computing.durationMs;
      expect(run.receipt!.predicate.usage.durationSeconds).toBe(16);
      // SIGTERM at 3 s is ignored; SIGKILL follows after the supervisor's 10 s grace.
      expect(duration).toBeGreaterThanOrEqual(13_000);
      expect(duration).toBeLessThan(15_000);
      await expectRemoved(run);
    });

    it("copying raw input rows into an output: phase policy-violation, only the logs sealed, for the data owner only", slow, async (t) => {
      const run = await runAlgorithm(t, { algorithm: "hostile-raw-copy.py", policy: { fileTypes: ["csv", "json"] } });

      expectVerified(run);
      const p = run.receipt!.predicate;
      expect(p.status.phase).toBe("policy-violation");
      expect(p.outputs.policy).toEqual({ ok: false, rules: ["no-raw-records"] });
      expect(p.outputs.sealedFor).toEqual([PROVIDER.address]);
      expect(run.receipt!.subject.map((s) => s.name)).toEqual(["outputs/0", "logs/0", "logs/datomspace-out"]);
      const consumer = await fetchRun(run, CONSUMER);
      expect(consumer.result.code).not.toBe(0);
      expect(consumer.outputs).toEqual({});
      const owner = await fetchRun(run, PROVIDER);
      expect(owner.result.code, owner.result.stderr).toBe(0);
      expect(owner.outputs).toEqual({});
      expect(owner.report.policy.violations.map((v: any) => [v.rule, v.area, v.name])).toEqual([
        ["no-raw-records", "output", "result.csv"],
        ["no-raw-records", "log", "algorithm.log"],
      ]);
      expect(owner.logs["algorithm.log"]).toBe("34,F,north,J,3\n");
      await expectRemoved(run);
    });

    it(
      "a daemon escaping the process group: the status it forges is overwritten, its raw row is caught by the policy, what it writes after the run never arrives",
      slow,
      async (t) => {
        const run = await runAlgorithm(t, { algorithm: "hostile-daemon.py", policy: { fileTypes: ["csv", "json"] } });

        expectVerified(run);
        const p = run.receipt!.predicate;
        expect(p.status).toEqual({ phase: "policy-violation", reason: PUBLIC_REASONS["policy-violation"] });
        expect(p.outputs.policy).toEqual({ ok: false, rules: ["no-raw-records"] });
        expect(p.outputs.sealedFor).toEqual([PROVIDER.address]);
        const owner = await fetchRun(run, PROVIDER);
        expect(owner.report.status).toMatchObject({ exitCode: 5, signal: null, oomKilled: false, deadlineExceeded: false });
        // late.csv only (the daemon's raw row); later.json, 4 s after the algorithm ended, never came: the daemon died with the supervisor.
        expect(owner.report.files.filter((f: any) => f.kind === "output")).toEqual([]);
        expect(owner.report.policy.violations).toEqual([expect.objectContaining({ rule: "no-raw-records", name: "late.csv" })]);
        expect(owner.logs["algorithm.log"]).toBe("leaving a daemon behind\n");
        await expectRemoved(run);
      },
    );

    it(
      "forging the status and filling the status volume (the supervisor cannot write the real one): not evidence, phase failed, the deadline seen by podman",
      slow,
      async (t) => {
        const run = await runAlgorithm(t, { algorithm: "hostile-forge-status.py", compute: { maxDurationSeconds: 3 } });

        expectVerified(run);
        const p = run.receipt!.predicate;
        // Nothing of what it forged, nor how long it ran, shows: the phase, fixed text, no usage.
        expect(p.status).toEqual({ phase: "failed", reason: PUBLIC_REASONS.failed });
        // The algorithm's own usage is not metered; the runner still meters the whole pod from its cgroup.
        expect(p.usage).toEqual({
          durationSeconds: null,
          cpuSeconds: null,
          peakMemoryMiB: null,
          gpuSeconds: null,
          notes: [],
          pod: { cpuSeconds: expect.any(Number), peakMemoryMiB: expect.any(Number) },
        });
        expect(p.startedAt).toBeNull();
        await expectRemoved(run);
      },
    );

    it("going after the supervisor (PID 1, the same user): no ptrace, no /proc/1/mem, fd or environ", slow, async (t) => {
      const run = await runAlgorithm(t, { algorithm: "hostile-ptrace.py" });

      expectVerified(run);
      await expectStatus(run, SUCCEEDED);
      expect(await fetchedJson(run)).toEqual({
        pid: expect.any(Number),
        supervisor: "supervise",
        mem: "EACCES",
        environ: "EACCES",
        fds: "EACCES",
        stdout: "EACCES",
        ptrace: "EPERM",
        // Signals reach it (it forwards SIGTERM as a stop, which ends the algorithm itself), as they reach any process of the user.
        kill: "signalable",
      });
      await expectRemoved(run);
    });

    describe("code or data changed after approval", () => {
      it("the committed algorithm changed: `run` refuses before anything starts, naming the file and the sha256; so does compile", slow, async (t) => {
        const prepared = await prepareRun(t, { algorithm: "ocean-env.py" });
        const file = join(prepared.repo, "contracts", prepared.id, "algorithm", "ocean-env.py");
        writeFileSync(file, `${readFileSync(file, "utf8")}import socket  # added after the approval\n`);
        const actual = sha256(readFileSync(file));

        const run = await runPrepared(prepared);
        const compiled = await dp(prepared.repo, "compile", "--check");

        expect(run.result.code).toBe(2);
        expect(run.result.stderr).toContain(
          `error: contracts/${prepared.id}/contract.json: contract ${prepared.id} is signed; only an active contract runs (fix: see \`datomspod contract status\`)`,
        );
        expect(run.result.stderr).toContain(
          `contracts/${prepared.id}/contract.json $.inputs.algorithm.code.sha256: does not match contracts/${prepared.id}/algorithm/ocean-env.py (its sha256 is ${actual}) (fix: the code changed after the contract was written: restore it, or update the contract and sign it again)`,
        );
        expect(run.receipt).toBeUndefined();
        expect(compiled.code).not.toBe(0);
        expect(compiled.stdout + compiled.stderr).toContain(`does not match contracts/${prepared.id}/algorithm/ocean-env.py (its sha256 is ${actual})`);
        const job = readdirSync(join(prepared.repo, "clusters", "local", prepared.id)).find((name) => name.startsWith("job-"))!;
        expect(await podLeftovers(job.replace(/^job-/, "").replace(/\.yaml$/, ""))).toEqual([]);
      });

      it("the committed ConfigMap carries other code than the contract: `run` refuses, nothing starts", slow, async (t) => {
        const prepared = await prepareRun(t, { algorithm: "ocean-env.py" });
        const file = join(prepared.repo, "clusters", "local", prepared.id, "configmap-algorithm.yaml");
        writeFileSync(file, readFileSync(file, "utf8").replace("import hashlib, json, os, sys", "import hashlib, json, os, sys, socket"));

        const run = await runPrepared(prepared);

        expect(run.result.code).toBe(2);
        expect(run.result.stdout + run.result.stderr).toContain(
          `clusters/local/${prepared.id}: is not what contract ${prepared.id} compiles to (configmap-algorithm.yaml)`,
        );
        expect(run.receipt).toBeUndefined();
      });

      it("an input changed after signing: datomspace-in refuses it before the algorithm starts, phase rejected, the receipt names it", slow, async (t) => {
        const prepared = await prepareRun(t, { algorithm: "ocean-env.py" });
        const changed = PATIENTS_CSV.replace("34,F", "35,F");
        writeFileSync(join(prepared.dataDirs[0], "patients.csv"), changed);

        const run = await runPrepared(prepared);

        expect(run.result.code).toBe(0);
        const p = run.receipt!.predicate;
        expect(p.inputs.verified).toBe(false);
        expect(p.inputs.failures).toEqual([
          {
            file: "patients.csv",
            path: "$.inputs.data[0].files[0]",
            reason: "sha256-mismatch",
            expected: sha256(PATIENTS_CSV),
            actual: sha256(changed),
            message: "has another sha256 than the contract says: it changed after the contract was signed",
          },
        ]);
        expect(p.status.phase).toBe("rejected");
        expect(p.status.reason).toMatch(/^verification failed before the run: patients.csv \(\$\.inputs\.data\[0\]\.files\[0\]\) has another sha256/);
        // The runner's own output (not the receipt) says how each role ended: datomspace-in wrote its refusal and
        // ended; it handed no supervisor over, so the computing container could not even be created; nothing after it started.
        const output = JSON.parse(run.result.stdout) as { roles: { container: string; status: string; exitCode: number }[]; refused: string[] };
        expect(output.roles.map((r) => [r.container, r.status])).toEqual([
          ["datomspace-in", "exited"],
          ["computing", "created"],
          ["datomspace-out", "created"],
          ["oracle", "created"],
        ]);
        expect(output.refused).toEqual([expect.stringMatching(/computing: .*\/datomspod\/bin\/supervise: no such file or directory/)]);
        // The algorithm's own usage is not metered; the runner still meters the whole pod from its cgroup.
        expect(p.usage).toEqual({
          durationSeconds: null,
          cpuSeconds: null,
          peakMemoryMiB: null,
          gpuSeconds: null,
          notes: [],
          pod: { cpuSeconds: expect.any(Number), peakMemoryMiB: expect.any(Number) },
        });
        await expectRemoved(run);
      });
    });

    describe("an image tag moved to another digest after pinning", () => {
      /**
       * A test-only image built FROM `base` with a label of its own (so a digest of its own), tagged
       * `reference` in a repository the test's profile allows; shared images are never retagged.
       */
      async function testImage(base: string, reference: string): Promise<{ digest: string; id: string }> {
        const context = mkdtempSync(join(tmpdir(), "datomspod-tag-"));
        try {
          writeFileSync(join(context, "Containerfile"), `FROM ${base}\nLABEL io.datomspod.test=${randomBytes(8).toString("hex")}\n`);
          await execEngine(
            "podman",
            ["build", "--pull=never", "--quiet", "--timestamp", "0", "--identity-label=false", "-t", reference, "-f", join(context, "Containerfile"), context],
            {
              timeoutMs: 120_000,
            },
          );
        } finally {
          rmSync(context, { recursive: true, force: true });
        }
        const [digest = "", id = ""] = (await execEngine("podman", ["image", "inspect", "--format", "{{.Digest}} {{.Id}}", reference])).stdout
          .trim()
          .split(" ");
        return { digest, id };
      }

      /** Pins a copy of the python image, prepares the run, then builds another image (from node) under the same tag. */
      async function pinThenMoveTag(t: Scope): Promise<{
        prepared: PreparedRun;
        reference: string;
        pinned: { digest: string; id: string };
        moved: { digest: string; id: string };
        cleanup: () => Promise<void>;
      }> {
        const built = await runImages();
        const repository = `localhost/datomspod-test/python-${randomBytes(4).toString("hex")}`;
        const reference = `${repository}:3.11`;
        const ids: string[] = [];
        const cleanup = async (): Promise<void> => {
          if (ids.length > 0) await execEngine("podman", ["rmi", "--force", ...ids], { allowFailure: true });
        };
        try {
          const pinned = await testImage(built.python.reference, reference);
          ids.push(pinned.id);
          const prepared = await prepareRun(t, {
            algorithm: "ocean-env.py",
            image: { image: repository, tag: "3.11", digest: pinned.digest },
            allowedRepositories: ["localhost/datomspod-test/"],
          });
          const moved = await testImage(built.node.reference, reference);
          ids.push(moved.id);
          expect(moved.digest).not.toBe(pinned.digest);
          return { prepared, reference, pinned, moved, cleanup };
        } catch (error) {
          await cleanup();
          throw error;
        }
      }

      it("the pinned image is gone: `run` writes a rejected receipt naming both digests, and creates no pod", slow, async (t) => {
        const { prepared, reference, pinned, moved, cleanup } = await pinThenMoveTag(t);
        try {
          await execEngine("podman", ["rmi", pinned.id]);

          const run = await runPrepared(prepared);

          expect(run.result.code, run.result.stderr).toBe(0);
          const p = run.receipt!.predicate;
          expect(p.status).toEqual({
            phase: "rejected",
            reason: `the algorithm image ${reference} now names ${moved.digest}, not the pinned ${pinned.digest} the parties approved, and the pinned image is not on this machine; nothing ran`,
          });
          expect(p.algorithm).toMatchObject({ image: reference, imageDigest: pinned.digest });
          expect(p.inputs).toEqual({ verified: false, checked: [], failures: [] });
          expect(p.deletion).toEqual({ pod: null, reason: "no pod was created" });
          expect(run.receipt!.subject).toEqual([]);
          expect(readReceipt(prepared.repo, prepared.id)).toEqual(run.receipt);
        } finally {
          await cleanup();
        }
      });

      it("the pinned image is still here, untagged: the pinned digest runs, not the image the tag names now", slow, async (t) => {
        const { prepared, cleanup } = await pinThenMoveTag(t);
        try {
          const run = await runPrepared(prepared);

          // The image the tag names now is node's, without python3: only the pinned python copy runs this.
          expectVerified(run);
          await expectStatus(run, SUCCEEDED);
          expect((await fetchedJson(run)).codeSha256).toBe(prepared.contract.inputs.algorithm.code.sha256);
          await expectRemoved(run);
        } finally {
          await cleanup();
        }
      });
    });
  });
});
