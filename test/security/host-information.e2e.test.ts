/**
 * Slow (real podman, `datomspod run` through the CLI): a hostile algorithm gathers everything it
 * can see of the machine (algorithms/hostile-host-info.py: mount tables, cgroups, environment,
 * host names, resolver, users, kernel, links, error messages) and delivers it. Nothing of the
 * host's own may arrive: not where the provider's data or the run's scratch lie, not the host's
 * name, its /etc/hosts entries or addresses, not the runner's environment, not its users.
 */

import { randomBytes } from "node:crypto";
import { readFileSync, realpathSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { podmanMissing, skipMessage } from "../run/podman.js";
import {
  CONSUMER,
  PATIENTS_CSV,
  PATIENTS_DID,
  expectRemoved,
  fetchRun,
  prepareRun,
  runAlgorithm,
  runImages,
  runPrepared,
  type RunOutcome,
} from "../run/run-helpers.js";

const missing = await podmanMissing();
skipMessage(missing);

const slow = { timeout: 300_000 };

/** What the algorithm saw, decoded, and its log as delivered. */
async function seen(run: RunOutcome): Promise<{ seen: Record<string, any>; text: string }> {
  const fetched = await fetchRun(run, CONSUMER);
  expect(fetched.result.code, fetched.result.stderr).toBe(0);
  const packed = JSON.parse(fetched.outputs["result.json"] ?? "{}") as { z: string };
  const json = inflateSync(Buffer.from(packed.z, "base64")).toString("utf8");
  if (process.env["DATOMSPOD_DUMP_SEEN"] !== undefined) writeFileSync(process.env["DATOMSPOD_DUMP_SEEN"], json);
  return { seen: JSON.parse(json) as Record<string, any>, text: `${json}\n${fetched.logs["algorithm.log"] ?? ""}` };
}

/** The words of a text: runs of letters, digits, '.', '-' and '_' (names and addresses are such runs). */
function words(text: string): Set<string> {
  return new Set(text.split(/[^A-Za-z0-9._-]+/).filter((w) => w !== ""));
}

/** The names the host's /etc/hosts gives, other than the loopback's usual ones. */
function hostHostsNames(): string[] {
  const usual = new Set([
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
  ]);
  return readFileSync("/etc/hosts", "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "")
    .flatMap((line) => line.split(/\s+/).slice(1))
    .filter((name) => !usual.has(name));
}

function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal)
    .map((a) => a!.address);
}

/** One mountinfo line: its mount root, mount point, file system type, source and super options. */
function mounts(table: string): { root: string; point: string; type: string; source: string; options: string }[] {
  return table
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const fields = line.split(" ");
      const dash = fields.indexOf("-");
      return { root: fields[3], point: fields[4], type: fields[dash + 1], source: fields[dash + 2], options: fields[dash + 3] };
    });
}

describe.skipIf(missing !== undefined)("what the algorithm can learn of the host, under `datomspod run`", () => {
  const marker = `host-env-marker-${randomBytes(6).toString("hex")}`;

  beforeAll(async () => {
    await runImages();
    // The runner's own environment (podman inherits it): none of it may reach the pod.
    process.env["DATOMSPOD_TEST_HOST_MARKER"] = marker;
  }, 900_000);
  afterAll(() => {
    delete process.env["DATOMSPOD_TEST_HOST_MARKER"];
  });

  it("no host path, host name, host entry, address, environment variable or user arrives in its outputs or logs", slow, async (t) => {
    const run = await runAlgorithm(t, {
      algorithm: "hostile-host-info.py",
      datasets: [
        {
          did: PATIENTS_DID,
          serviceId: "compute",
          files: [
            { name: "patients.csv", content: PATIENTS_CSV, contentType: "text/csv" },
            { name: "wards.csv", content: "ward,beds\nnorth,12\n", contentType: "text/csv" },
          ],
        },
      ],
    });

    expect(run.result.code, run.result.stdout + run.result.stderr).toBe(0);
    expect(run.receipt!.predicate.status.phase).toBe("succeeded");
    const { seen: s, text } = await seen(run);
    // Where things lie on the host: the provider's folder, the repository, the run's scratch.
    for (const path of [run.dataDirs[0], realpathSync(run.dataDirs[0]), run.repo, `${tmpdir()}/datomspod-run-`]) expect(text).not.toContain(path);
    // The host's name, its /etc/hosts names, its addresses, the runner's environment.
    const seenWords = words(text);
    for (const name of [hostname(), ...hostHostsNames(), "host.containers.internal", ...hostAddresses(), marker]) expect(seenWords.has(name), name).toBe(false);
    // Nothing of the host's disk is mounted in the pod: every mount is a tmpfs, an overlay or a kernel file system.
    const table = mounts(s["/proc/self/mountinfo"] as string);
    expect(table.filter((m) => m.source.startsWith("/dev/")).map((m) => `${m.point} ${m.source}`)).toEqual([]);
    expect(new Set(table.map((m) => m.type))).toEqual(
      new Set(["overlay", "tmpfs", "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2"].filter((t) => table.some((m) => m.type === t))),
    );
    // Only the container's root file system names a host path (podman's storage, /var/lib/containers: see docs/local-runner.md).
    expect(table.filter((m) => /(^|[,=:])\//.test(m.options)).map((m) => m.point)).toEqual(["/"]);
    expect(table.find((m) => m.point === "/datomspod/inputs/0/patients.csv")).toMatchObject({
      root: "/patients.csv",
      type: "overlay",
      options: expect.stringContaining("lowerdir=stage/0:empty"),
    });
    expect(s["/proc/1/mountinfo"]).toBe(s["/proc/self/mountinfo"]);
    // Names: the pod's own, which says which contract and run it is.
    const pod = run.pod!;
    expect(pod).toMatch(new RegExp(`^${run.id}-${run.runId}-[0-9a-f]{8}$`));
    expect(s["/etc/hosts"]).toBe(`127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\t${pod}\n`);
    expect([s["/etc/hostname"], s["/proc/sys/kernel/hostname"], s["gethostname"], s["uname"][1], s["environ"]["HOSTNAME"]]).toEqual([
      `${pod}\n`,
      `${pod}\n`,
      pod,
      pod,
      pod,
    ]);
    expect(s["/etc/resolv.conf"]).toMatch(/^ERROR ENOENT/);
    expect(s["/run/.containerenv"]).toBe("");
    // Users: the image's, not the host's.
    expect(s["/etc/passwd"]).toBe("root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/tmp:/usr/sbin/nologin\n");
    // The environment: the image's and the rendered pod's, nothing of the runner's.
    // (PWD is the supervisor's: it starts the algorithm in /.)
    expect(Object.keys(s["environ"]).sort()).toEqual([
      "ALGO",
      "DIDS",
      "HOME",
      "HOSTNAME",
      "LANG",
      "PATH",
      "PWD",
      "PYTHONDONTWRITEBYTECODE",
      "TRANSFORMATION_DID",
    ]);
    expect(s["/proc/1/environ"]).toMatch(/^ERROR EACCES/);
    // Links point into the pod's own paths.
    for (const [from, to] of Object.entries(s["links"] as Record<string, string>)) {
      if (from.startsWith("/data/")) expect(to, from).toMatch(/^\/datomspod\/inputs\/0\/(patients|wards)\.csv$/);
    }
    await expectRemoved(run);
  });

  it(
    "an input folder reached through a symbolic link, its real folder named with spaces and quotes: neither path arrives, the run succeeds",
    slow,
    async (t) => {
      const prepared = await prepareRun(t, { algorithm: "hostile-host-info.py" });
      const link = prepared.dataDirs[0];
      const real = join(prepared.repo, 'the provider\'s "real" folder');
      renameSync(link, real);
      symlinkSync(real, link);

      const run = await runPrepared(prepared);

      expect(run.result.code, run.result.stdout + run.result.stderr).toBe(0);
      expect(run.receipt!.predicate.status.phase).toBe("succeeded");
      const { seen: s, text } = await seen(run);
      for (const path of [link, real, "provider's", prepared.repo]) expect(text).not.toContain(path);
      expect(mounts(s["/proc/self/mountinfo"] as string).find((m) => m.point === "/datomspod/inputs/0/patients.csv")).toMatchObject({
        root: "/patients.csv",
        type: "overlay",
      });
      await expectRemoved(run);
    },
  );
});
