/**
 * The newcomer path (issue 10): what a first-time data owner, consumer or auditor meets, following
 * only the README — the public half of a key without its password, copying a contract with its
 * algorithm, filling digests, placing the data where the signed contract says, the OPS-C factors
 * in the text report, `datomspod` on PATH, and the receipt committed by the run.
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ServiceError } from "../../generator/errors.js";
import { commitFiles } from "../../generator/repo/git.js";
import { inPodImage } from "../../generator/run/build-images.js";
import { failureFix, execTool } from "../../generator/run/exec.js";
import { pinPodImage } from "../../generator/run/images.js";
import { cli, jsonOut, runCli } from "../helpers/cli.js";
import { testKey } from "../helpers/keys.js";
import { ROOT, contractJson, editJson, readJson, readText, tempDir, tempRepo, writeText } from "../helpers/repo.js";

const ID = "hospital-stats";
const PATIENTS = join(ROOT, "generator", "demo", "data", "hospital-stats", "patients.csv");

function sha256(bytes: string | Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The example with its data at `folder` (a hostPath of the test's own). */
function repoWithDataAt(folder: string): string {
  const repo = tempRepo([ID]);
  editJson(repo, contractJson(ID), (c: any) => {
    c.inputs.data[0].location = { kind: "hostPath", path: folder };
  });
  return repo;
}

describe("keys show needs no password", () => {
  it("keys new records the public half beside the keystore; keys show reads it with no password at all", async () => {
    const dir = tempDir();
    const created = jsonOut(
      await runCli(["keys", "new", "--out", "party.json", "--scrypt-n", "1024", "--format", "json"], { cwd: dir, password: "correct horse battery" }),
    );

    const shown = await runCli(["keys", "show", "--key", "party.json"], { cwd: dir, password: "" });

    expect(created.publicFile).toBe(join(dir, "party.pub.json"));
    expect(JSON.parse(readFileSync(join(dir, "party.pub.json"), "utf8"))).toEqual({ address: created.address, publicKey: created.publicKey });
    expect(statSync(join(dir, "party.pub.json")).mode & 0o777).toBe(0o644);
    expect(shown).toEqual({ code: 0, stdout: `address    ${created.address}\npublicKey  ${created.publicKey}\n`, stderr: "" });
  });

  it("a keystore made elsewhere: the address from the keystore, the public key with --derive", async () => {
    const key = testKey("hospital-provider");

    const plain = await runCli(["keys", "show", "--key", key.file, "--format", "json"], { password: "" });
    const derived = await runCli(["keys", "show", "--key", key.file, "--derive", "--format", "json"]);

    expect(jsonOut(plain)).toEqual({ address: key.address, publicKey: null });
    expect(jsonOut(derived)).toEqual({ address: key.address, publicKey: key.publicKey });
    expect(existsSync(key.file.replace(/\.json$/, ".pub.json"))).toBe(false);
  });

  it("refuses a public half that belongs to another key", async () => {
    const dir = tempDir();
    await runCli(["keys", "new", "--out", "party.json", "--scrypt-n", "1024"], { cwd: dir, password: "correct horse battery" });
    const other = testKey("bank-provider");
    writeFileSync(join(dir, "party.pub.json"), JSON.stringify({ address: other.address, publicKey: other.publicKey }));

    const result = await runCli(["keys", "show", "--key", "party.json", "--format", "json"], { cwd: dir, password: "" });

    expect(result.code).toBe(2);
    expect(jsonOut(result).issues[0]).toMatchObject({ file: join(dir, "party.pub.json"), path: "$.publicKey" });
  });
});

describe("contract new --from ID", () => {
  it("copies the algorithm folder with the contract, so the copy's code hash still holds", async () => {
    const repo = tempRepo([ID]);

    const result = await cli(repo, "contract", "new", "hospital-stats-2027", "--from", ID);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`copied contracts/${ID}/algorithm/aggregate.py to contracts/hospital-stats-2027/algorithm/aggregate.py`);
    expect(readText(repo, "contracts/hospital-stats-2027/algorithm/aggregate.py")).toBe(readText(repo, `contracts/${ID}/algorithm/aggregate.py`));
    const copy = readJson<any>(repo, contractJson("hospital-stats-2027"));
    expect(sha256(readFileSync(join(repo, "contracts/hospital-stats-2027/algorithm/aggregate.py")))).toBe(copy.inputs.algorithm.code.sha256);
  });

  it("refuses a target whose algorithm folder exists, writing nothing", async () => {
    const repo = tempRepo([ID]);
    writeText(repo, "contracts/copy/algorithm/mine.py", "print(1)\n");

    const result = await cli(repo, "contract", "new", "copy", "--from", ID, "--format", "json");

    expect(result.code).toBe(2);
    expect(jsonOut(result).issues[0]).toMatchObject({ file: "contracts/copy/algorithm", message: "already exists" });
    expect(existsSync(join(repo, contractJson("copy")))).toBe(false);
  });
});

describe("contract fill", () => {
  it("fills the data files' and the code's sha256 and size, and names the signatures the change leaves behind", async () => {
    const data = tempDir();
    writeFileSync(join(data, "patients.csv"), "age,sex\n34,F\n");
    const repo = repoWithDataAt(data);

    const result = await cli(repo, "contract", "fill", ID);

    const contract = readJson<any>(repo, contractJson(ID));
    expect(contract.inputs.data[0].files[0]).toMatchObject({ name: "patients.csv", sha256: sha256("age,sex\n34,F\n"), size: 13 });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`filled   $.inputs.data[0].files[0]  ${sha256("age,sex\n34,F\n")}  13 bytes`);
    expect(result.stdout).toContain("correct  $.inputs.algorithm.code");
    expect(result.stdout).toContain(`contracts/${ID}/signatures/${testKey("hospital-provider").address}.json`);
    expect(result.stdout).toContain(`every party signs again: datomspod contract sign ${ID} --key FILE`);
    expect(existsSync(join(repo, `contracts/${ID}/signatures/${testKey("hospital-provider").address}.json`))).toBe(true);
  });

  it("writes nothing when every digest is right", async () => {
    const data = tempDir();
    writeFileSync(join(data, "patients.csv"), readFileSync(PATIENTS));
    const repo = repoWithDataAt(data);
    const before = readText(repo, contractJson(ID));

    const result = await cli(repo, "contract", "fill", ID);

    expect(result.stdout).toContain("already holds every digest; nothing was written");
    expect(readText(repo, contractJson(ID))).toBe(before);
  });

  it("refuses every file it cannot read, all at once, and writes nothing", async () => {
    const data = tempDir();
    const repo = repoWithDataAt(data);
    writeText(repo, `contracts/${ID}/algorithm/aggregate.py`, "changed\n");
    editJson(repo, contractJson(ID), (c: any) => {
      c.inputs.data.push({ ...c.inputs.data[0], location: { kind: "pvc", volumeName: "elsewhere" } });
      c.inputs.algorithm.code.path = "algorithm/missing.py";
    });
    const before = readText(repo, contractJson(ID));

    const result = await cli(repo, "contract", "fill", ID, "--format", "json");

    expect(result.code).toBe(2);
    expect(jsonOut(result).issues.map((i: { path: string; message: string }) => `${i.path}: ${i.message}`)).toEqual([
      `$.inputs.data[0].files[0]: cannot read ${join(data, "patients.csv")}: does not exist`,
      "$.inputs.data[1].location: a pvc location cannot be read from this machine",
      `$.inputs.algorithm.code: cannot read contracts/${ID}/algorithm/missing.py: does not exist`,
    ]);
    expect(readText(repo, contractJson(ID))).toBe(before);
  });
});

describe("data place", () => {
  it("puts the agreed data where the signed location says, read-only; a second time it is in place", async () => {
    const target = join(tempDir(), "data", ID);
    const repo = repoWithDataAt(target);

    const placed = await cli(repo, "data", "place", ID, "--from", join(ROOT, "generator", "demo", "data", ID));
    const again = await cli(repo, "data", "place", ID);

    expect(placed).toEqual({ code: 0, stdout: `placed     ${join(target, "patients.csv")}\n`, stderr: "" });
    expect(again).toEqual({ code: 0, stdout: `in place   ${join(target, "patients.csv")}\n`, stderr: "" });
    expect(readFileSync(join(target, "patients.csv"))).toEqual(readFileSync(PATIENTS));
    expect(statSync(join(target, "patients.csv")).mode & 0o777).toBe(0o444);
  });

  it("refuses a file that is not the data the parties signed, writing nothing", async () => {
    const target = join(tempDir(), "data");
    const offered = tempDir();
    writeFileSync(join(offered, "patients.csv"), "not,the,agreed,data\n");
    const repo = repoWithDataAt(target);

    const result = await cli(repo, "data", "place", ID, "--from", offered, "--format", "json");

    expect(result.code).toBe(2);
    expect(jsonOut(result).issues[0]).toMatchObject({ file: join(offered, "patients.csv"), path: "$" });
    expect(jsonOut(result).issues[0].message).toMatch(
      /^is not the data contracts\/hospital-stats\/contract.json \$\.inputs\.data\[0\]\.files\[0\] was signed over/,
    );
    expect(existsSync(target)).toBe(false);
  });

  it("never overwrites other data at the location", async () => {
    const target = tempDir();
    writeFileSync(join(target, "patients.csv"), "someone else's\n");
    const repo = repoWithDataAt(target);

    const result = await cli(repo, "data", "place", ID, "--from", join(ROOT, "generator", "demo", "data", ID), "--format", "json");

    expect(result.code).toBe(2);
    expect(jsonOut(result).issues[0].fix).toBe("data is never overwritten: move that file away if it is not needed, or correct the contract and sign it again");
    expect(readFileSync(join(target, "patients.csv"), "utf8")).toBe("someone else's\n");
  });

  it("without --from, checks: a missing file exits 1 with the command that places it", async () => {
    const repo = repoWithDataAt(join(tempDir(), "nothing-here"));

    const result = await cli(repo, "data", "place", ID);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`is missing (fix: the data owner places it: datomspod data place ${ID} --from DIR (the folder holding patients.csv))`);
  });
});

describe("check in text shows the OPS-C factors", () => {
  it("each score with the points of every factor and what it saw", async () => {
    const repo = tempRepo([ID]);

    const result = await cli(repo, "check", ID);

    expect(result.stdout).toContain("\n  privacy 80\n");
    expect(result.stdout).toMatch(/\n {4}15\/20 {2}smallest group every output table must show \([^)]*\): 10\n/);
    expect(result.stdout).toMatch(/\n {5}0\/10 {2}sandboxed runtime class \(gvisor, kata\): \{"provided":false,"runtime":"runc"\}\n/);
  });
});

describe("podman errors say which step failed, what podman said, and the fix", () => {
  it("names the step and carries the tool's stderr", async () => {
    const error = (await execTool("bash", ["-c", "echo 'Error: crun: setrlimit `RLIMIT_NPROC`: Operation not permitted' >&2; exit 125"], {
      step: "creating the run's pod (podman kube play)",
    }).then(
      () => undefined,
      (e: unknown) => e,
    )) as ServiceError;

    expect(error.issues[0].message).toBe(
      "creating the run's pod (podman kube play) failed: exited with 125: Error: crun: setrlimit `RLIMIT_NPROC`: Operation not permitted",
    );
    expect(error.issues[0].fix).toMatch(/^this machine refuses podman's default rlimits: add default_ulimits = /);
  });

  it.each([
    ["Error: localhost/datomspod/pod@sha256:00: image not known", /^build the images this machine runs: datomspod images build/],
    ["Error: mount /var/tmp/x: permission denied", /^run as root/],
    ['Error: pod "dp-x" already exists', /^a pod or volume of an earlier run is left over/],
    ["Error: something else", /^the cause is podman's error shown above; fix it and run again \(`podman info`/],
  ])("%s", (stderr, fix) => {
    expect(failureFix("podman", stderr)).toMatch(fix);
  });

  it("never tells the user to run the command by hand", () => {
    const source = readFileSync(join(ROOT, "generator", "run", "exec.ts"), "utf8");

    expect(source).not.toMatch(/by hand/);
  });
});

describe("the pod image the local profile pins", () => {
  it("pins a digest by rewriting only the pod image's tag and digest lines", () => {
    const text = readFileSync(join(ROOT, "clusters", "local", "cluster.yaml"), "utf8");
    const digest = `sha256:${"ab".repeat(32)}`;

    const pinned = pinPodImage(text, "0.2.0", digest);

    expect(pinned.split("\n").filter((line, i) => line !== text.split("\n")[i])).toEqual(['    tag: "0.2.0"', `    digest: ${digest}`]);
  });

  it("leaves the cluster profiles out of the pod image, which they pin (else no digest could match)", () => {
    expect(["clusters/local/cluster.yaml", "dist/generator/cli/main.js", "environments/python/environment.json"].map(inPodImage)).toEqual([false, true, true]);
  });

  it("the committed local profile pins a real digest, not a placeholder", () => {
    const text = readFileSync(join(ROOT, "clusters", "local", "cluster.yaml"), "utf8");

    expect(text).toMatch(/\n {4}digest: sha256:[0-9a-f]{64}\n/);
    expect(text).not.toContain(`sha256:${"0".repeat(64)}`);
  });
});

describe("the receipt is committed", () => {
  it("commits exactly the given files, leaving other changes as they were", async () => {
    const repo = tempDir();
    const git = (...args: string[]): string => execFileSync("git", ["-C", repo, ...args], { encoding: "utf8" });
    git("init", "--quiet");
    git("config", "user.name", "runner");
    git("config", "user.email", "runner@example.invalid");
    writeText(repo, "contracts/x/receipts/run-1.json", "{}\n");
    writeText(repo, "contracts/x/receipt-signatures/run-1.json", "{}\n");
    writeText(repo, "unrelated.txt", "work in progress\n");
    git("add", "unrelated.txt");

    const outcome = await commitFiles(repo, ["contracts/x/receipts/run-1.json", "contracts/x/receipt-signatures/run-1.json"], "Receipt of run run-1 of x");

    expect(outcome.committed).toBe(true);
    expect(git("show", "--name-only", "--format=%s", "HEAD").trim().split("\n")).toEqual([
      "Receipt of run run-1 of x",
      "",
      "contracts/x/receipt-signatures/run-1.json",
      "contracts/x/receipts/run-1.json",
    ]);
    expect(git("status", "--porcelain")).toBe("A  unrelated.txt\n");
  });

  it("outside a git repository, says how to commit them", async () => {
    const dir = tempDir();

    const outcome = await commitFiles(dir, ["contracts/x/receipts/run-1.json"], "Receipt of run run-1 of x");

    expect(outcome).toEqual({
      committed: false,
      reason: `${dir} is not a git repository`,
      fix: 'commit them where the contracts are kept: git add contracts/x/receipts/run-1.json && git commit -m "Receipt of run run-1 of x"',
    });
  });
});

describe("datomspod on PATH", () => {
  it(".ci/tools/link-cli writes a launcher of this checkout's CLI", () => {
    const launcher = join(tempDir(), "bin", "datomspod");
    mkdirSync(join(launcher, ".."), { recursive: true });

    execFileSync("bash", [join(ROOT, ".ci", "tools", "link-cli")], { env: { ...process.env, DATOMSPOD_LAUNCHER: launcher }, encoding: "utf8" });
    const help = execFileSync(launcher, ["--help"], { encoding: "utf8" });

    expect(statSync(launcher).mode & 0o777).toBe(0o755);
    expect(help).toMatch(/^datomspod: use data without handing it over\n/);
    expect(readFileSync(launcher, "utf8")).toContain(join(ROOT, "dist", "bundle", "datomspod.js"));
  });

  it("leaves alone a datomspod it did not write", () => {
    const launcher = join(tempDir(), "datomspod");
    writeFileSync(launcher, "#!/bin/sh\necho mine\n");
    chmodSync(launcher, 0o755);

    const out = execFileSync("bash", [join(ROOT, ".ci", "tools", "link-cli")], { env: { ...process.env, DATOMSPOD_LAUNCHER: launcher }, encoding: "utf8" });

    expect(out).toContain("was not written by datomspod: left alone");
    expect(readFileSync(launcher, "utf8")).toBe("#!/bin/sh\necho mine\n");
  });
});
