import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cgroupEmpty, cgroupProcsFiles, conmonExitFile, processArgv, readExitCode, readPid, waitCgroupEmpty, waitExitFile } from "../../generator/run/exits.js";

const ID = "8715fc9800e90ef071412502b0f0530cf4caddfa9fe4d0ebcb3195c0398052d6";

/** conmon's arguments as podman 4.3 starts it (taken from /proc/<pid>/cmdline on this machine). */
const CONMON = [
  "/usr/bin/conmon",
  "--api-version",
  "1",
  "-c",
  ID,
  "-u",
  ID,
  "-r",
  "/usr/bin/runc",
  "-b",
  `/var/lib/containers/storage/overlay-containers/${ID}/userdata`,
  "-n",
  "seqtest-a",
  "--exit-dir",
  "/run/libpod/exits",
  "--full-attach",
  "--exit-command",
  "/usr/bin/podman",
  "--exit-command-arg",
  "container",
  "--exit-command-arg",
  "cleanup",
];

const dirs: string[] = [];
const processes: ChildProcess[] = [];

/** A process that stays up with conmon's arguments for the container `ID` and the exit dir `dir`. */
async function fakeConmon(dir: string): Promise<number> {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)", "--", "-c", ID, "--exit-dir", dir], { stdio: "ignore" });
  processes.push(child);
  // Until it has exec'd, /proc shows the parent's command line.
  while (!(processArgv(child.pid!) ?? []).includes("--exit-dir")) await new Promise((resolve) => setTimeout(resolve, 10));
  return child.pid!;
}
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "datomspod-exits-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const child of processes.splice(0)) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The ID of a process that has ended. */
function endedPid(): number {
  return spawnSync("true").pid;
}

describe("conmonExitFile", () => {
  it("is conmon's exit dir joined with the container's ID", () => {
    expect(conmonExitFile(CONMON, ID)).toBe(`/run/libpod/exits/${ID}`);
  });

  it("is unknown when the arguments are another container's conmon, name no absolute exit dir, or the ID is not podman's", () => {
    expect(conmonExitFile(CONMON, ID.replace(/^8/, "9"))).toBeUndefined();
    expect(
      conmonExitFile(
        CONMON.filter((a) => a !== "--exit-dir" && a !== "/run/libpod/exits"),
        ID,
      ),
    ).toBeUndefined();
    expect(
      conmonExitFile(
        CONMON.map((a) => (a === "/run/libpod/exits" ? "exits" : a)),
        ID,
      ),
    ).toBeUndefined();
    expect(conmonExitFile([...CONMON.slice(0, -1), "--exit-dir"], ID)).toBe(`/run/libpod/exits/${ID}`);
    expect(conmonExitFile(CONMON, "../../etc/passwd")).toBeUndefined();
  });
});

describe("reading what conmon wrote", () => {
  it("reads an exit code, and nothing from a missing, empty or foreign file", () => {
    const dir = scratch();
    const file = join(dir, ID);
    expect(readExitCode(file)).toBeUndefined();
    writeFileSync(file, "");
    expect(readExitCode(file)).toBeUndefined();
    writeFileSync(file, "137\n");
    expect(readExitCode(file)).toBe(137);
    writeFileSync(file, "0 but more");
    expect(readExitCode(file)).toBeUndefined();
    writeFileSync(file, "-1");
    expect(readExitCode(file)).toBe(-1);
  });

  it("reads a pid file and a process's argument vector", async () => {
    const dir = scratch();
    writeFileSync(join(dir, "conmon.pid"), "4242\n");
    writeFileSync(join(dir, "bad.pid"), "0");
    expect(readPid(join(dir, "conmon.pid"))).toBe(4242);
    expect(readPid(join(dir, "bad.pid"))).toBeUndefined();
    expect(readPid("")).toBeUndefined();
    expect((processArgv(await fakeConmon(dir)) ?? []).slice(-4)).toEqual(["-c", ID, "--exit-dir", dir]);
    expect(processArgv(0)).toBeUndefined();
  });
});

describe("waitExitFile", () => {
  it("resolves once conmon's file appears (written aside and renamed)", async () => {
    const dir = scratch();
    const file = join(dir, ID);
    const conmonPid = await fakeConmon(dir);
    const started = Date.now();
    setTimeout(() => {
      writeFileSync(join(dir, `${ID}.tmp`), "3");
      renameSync(join(dir, `${ID}.tmp`), file);
    }, 30);
    const outcome = await waitExitFile({ file, conmonPid }, Date.now() + 10_000);
    expect(outcome).toEqual({ code: 3 });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("reads a file already there", async () => {
    const dir = scratch();
    writeFileSync(join(dir, ID), "0");
    expect(await waitExitFile({ file: join(dir, ID), conmonPid: await fakeConmon(dir) }, Date.now() + 10_000)).toEqual({ code: 0 });
  });

  it("gives up, for podman to tell, when conmon ended without writing the code", async () => {
    const dir = scratch();
    expect(await waitExitFile({ file: join(dir, ID), conmonPid: endedPid() }, Date.now() + 10_000)).toEqual({ gone: true });
  });

  it("gives up too when the process of that ID is no longer that container's conmon (an ID used again)", async () => {
    const dir = scratch();
    expect(await waitExitFile({ file: join(dir, ID), conmonPid: process.pid }, Date.now() + 10_000)).toEqual({ gone: true });
  });

  it("stops at the deadline while the container runs", async () => {
    const dir = scratch();
    const conmon = await fakeConmon(dir);
    const started = Date.now();
    expect(await waitExitFile({ file: join(dir, ID), conmonPid: conmon }, Date.now() + 250)).toEqual({ timedOut: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
  });

  it("waits on the file alone when conmon's process is not known, and still ends at the deadline", async () => {
    const dir = scratch();
    expect(await waitExitFile({ file: join(dir, ID) }, Date.now() + 150)).toEqual({ timedOut: true });
    setTimeout(() => writeFileSync(join(dir, ID), "1"), 20);
    expect(await waitExitFile({ file: join(dir, ID) }, Date.now() + 10_000)).toEqual({ code: 1 });
  });

  it("looks even where the folder cannot be watched", async () => {
    const dir = scratch();
    const file = join(dir, "missing-folder", ID);
    expect(await waitExitFile({ file }, Date.now() + 150)).toEqual({ timedOut: true });
  });
});

/** A pod's cgroup as podman 4.3 lays it out with cgroupfs: the pod, a cgroup per container, conmon's beside them. */
function podCgroup(procs: Record<string, string>): string {
  const pod = join(scratch(), "libpod_parent", "5c3b");
  for (const [cgroup, pids] of Object.entries({ ".": "", ...procs })) {
    mkdirSync(join(pod, cgroup), { recursive: true });
    writeFileSync(join(pod, cgroup, "cgroup.procs"), pids);
    writeFileSync(join(pod, cgroup, "pids.max"), "512\n");
  }
  return pod;
}

describe("waitCgroupEmpty: the pod is taken down only once podman's own processes of it ended", () => {
  it("finds the procs of the pod, of each container and of conmon's cgroup", () => {
    const pod = podCgroup({ "libpod-aa": "", conmon: "" });
    expect(cgroupProcsFiles(pod).map((file) => file.slice(pod.length))).toEqual(
      expect.arrayContaining(["/cgroup.procs", "/libpod-aa/cgroup.procs", "/conmon/cgroup.procs"]),
    );
    expect(cgroupProcsFiles(pod)).toHaveLength(3);
    expect(cgroupEmpty(pod)).toBe(true);
  });

  it("is not empty while a process is left in a child cgroup (conmon's cleanup)", () => {
    expect(cgroupEmpty(podCgroup({ "libpod-aa": "", conmon: "4242\n" }))).toBe(false);
    expect(cgroupEmpty(podCgroup({ "libpod-aa": "17\n", conmon: "" }))).toBe(false);
  });

  it("waits until the last process is gone", async () => {
    const pod = podCgroup({ conmon: "4242\n4250\n" });
    setTimeout(() => writeFileSync(join(pod, "conmon", "cgroup.procs"), "4250\n"), 30);
    setTimeout(() => writeFileSync(join(pod, "conmon", "cgroup.procs"), ""), 60);
    const started = Date.now();

    expect(await waitCgroupEmpty(pod, started + 5_000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("gives up at the deadline when a process stays", async () => {
    const pod = podCgroup({ conmon: "4242\n" });
    const started = Date.now();

    expect(await waitCgroupEmpty(pod, started + 80)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
  });

  it("counts a cgroup that is gone, or went while it was read, as empty", async () => {
    expect(await waitCgroupEmpty(join(scratch(), "libpod_parent", "gone"), Date.now())).toBe(true);
    const pod = podCgroup({ conmon: "4242\n" });
    setTimeout(() => rmSync(pod, { recursive: true, force: true }), 30);
    expect(await waitCgroupEmpty(pod, Date.now() + 5_000)).toBe(true);
  });
});
