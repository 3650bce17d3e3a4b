/**
 * The shipped compute environments and the `datomspod env` commands that need no container
 * engine and no network: show, list's rows, new's checks, the refusals of lock and build, pinning,
 * what approvals print, and a GPU environment rendered for a cluster with GPUs.
 */

import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pinDigest } from "../../generator/cli/commands/env.js";
import { environmentNames, loadEnvironment } from "../../generator/environment/environment.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { BANK, KEYS, cli, editContract, readJson, tempRepo } from "../compile/repo.js";

const SOURCE = { file: "test", path: "$" };
const SHIPPED = ["python-data", "python-privacy", "python-torch", "python-torch-gpu"] as const;

describe("the shipped environments", () => {
  it("are the base ones and the four with locked packages", () => {
    expect(environmentNames(PACKAGE_ROOT)).toEqual(["node", "python", ...SHIPPED]);
  });

  it.each(SHIPPED)("%s locks every package it installs, with its hash, and builds FROM the python base", (name) => {
    const environment = loadEnvironment(PACKAGE_ROOT, name, SOURCE);

    expect(environment.definition.base).toBe("python");
    expect(environment.definition.packages).toMatchObject({ format: "pip", lock: "requirements.lock", requirements: "requirements.in" });
    expect(environment.packages.length).toBeGreaterThan(5);
    expect(environment.lockSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ["python-data", ["numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "pillow", "pyarrow"]],
    ["python-privacy", ["opendp", "diffprivlib", "numpy", "pandas"]],
    ["python-torch", ["torch", "numpy"]],
    ["python-torch-gpu", ["torch", "numpy", "triton"]],
  ])("%s installs what it promises", (name, wanted) => {
    const names = loadEnvironment(PACKAGE_ROOT, name, SOURCE).packages.map((p) => p.name);

    expect(names).toEqual(expect.arrayContaining(wanted));
  });

  it("keeps the GPU-only packages out of the CPU torch environment, and pins the same torch in both", () => {
    const cpu = loadEnvironment(PACKAGE_ROOT, "python-torch", SOURCE);
    const gpu = loadEnvironment(PACKAGE_ROOT, "python-torch-gpu", SOURCE);
    const version = (e: typeof cpu, name: string): string | undefined => e.packages.find((p) => p.name === name)?.version;

    expect(cpu.packages.map((p) => p.name)).not.toContain("triton");
    expect(cpu.definition.gpu).toBeUndefined();
    expect(gpu.definition.gpu).toBe(true);
    expect(version(cpu, "torch")).toBe(version(gpu, "torch"));
    // Every NVIDIA library the CPU build carries is the one the GPU build locks.
    for (const p of cpu.packages.filter((p) => p.name.startsWith("nvidia-"))) expect(version(gpu, p.name)).toBe(p.version);
  });

  it.each(["python-data", "python-privacy"])("%s pins the image digest its build gives (CI builds it and checks)", (name) => {
    expect(loadEnvironment(PACKAGE_ROOT, name, SOURCE).definition.image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe("a repository's own environment", () => {
  function repoWithEnvironment(files: Record<string, string>): string {
    const repo = tempRepo();
    mkdirSync(join(repo, "environments", "mine"), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(repo, "environments", "mine", name), text);
    return repo;
  }
  const definition = (extra: Record<string, unknown> = {}): string =>
    JSON.stringify({
      name: "mine",
      description: "mine",
      base: "python",
      image: { repository: "localhost/datomspod/mine", tag: "1" },
      interpreters: [{ command: "python3", language: "python" }],
      packages: { format: "pip", lock: "requirements.lock" },
      ...extra,
    });

  it("is refused with every problem of its lock, by line, wherever it is loaded", () => {
    const repo = repoWithEnvironment({
      "environment.json": definition(),
      "requirements.lock": `numpy==2.2.6 --hash=sha256:${"a".repeat(64)}\npandas>=2\n--extra-index-url https://mirror.example/simple\n`,
    });

    expect(() => loadEnvironment(repo, "mine", SOURCE)).toThrow(
      expect.objectContaining({
        issues: [
          expect.objectContaining({ file: "environments/mine/requirements.lock", path: "line 2", message: "is not pinned with == (pandas>=2)" }),
          expect.objectContaining({ file: "environments/mine/requirements.lock", path: "line 3", message: expect.stringContaining("--extra-index-url") }),
        ],
      }),
    );
  });

  it("is refused when a pip lock sits on a node base", () => {
    const repo = repoWithEnvironment({
      "environment.json": definition({ base: "node", interpreters: [{ command: "node", language: "node" }] }),
      "requirements.lock": `numpy==2.2.6 --hash=sha256:${"a".repeat(64)}\n`,
    });

    expect(() => loadEnvironment(repo, "mine", SOURCE)).toThrow(expect.objectContaining({ message: expect.stringContaining("1 problem") }));
  });

  it("shows every package it installs (env show)", async () => {
    const repo = repoWithEnvironment({
      "environment.json": definition(),
      "requirements.lock": `pandas==2.2.3 --hash=sha256:${"b".repeat(64)}\nnumpy==2.2.6 --hash=sha256:${"a".repeat(64)}\n`,
    });

    const text = await cli(repo, "env", "show", "mine");
    const json = await cli(repo, "env", "show", "mine", "--format", "json");

    expect(text.code).toBe(0);
    expect(text.stdout).toContain("  packages      2, environments/mine/requirements.lock sha256:");
    expect(text.stdout).toContain("    numpy==2.2.6\n    pandas==2.2.3");
    expect(text.stdout).toContain("(digest not pinned)");
    expect(JSON.parse(json.stdout)).toMatchObject({
      name: "mine",
      source: "repository",
      packages: [
        { name: "numpy", version: "2.2.6" },
        { name: "pandas", version: "2.2.3" },
      ],
    });
  });

  it("is listed beside the shipped ones, with its package count (env list)", async () => {
    const repo = repoWithEnvironment({ "environment.json": definition(), "requirements.lock": `numpy==2.2.6 --hash=sha256:${"a".repeat(64)}\n` });

    const result = await cli(repo, "env", "list", "--format", "json");

    expect(result.code, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as { name: string; source: string; packages: number; digest: string | null }[];
    expect(rows.map((r) => r.name)).toEqual(["mine", "node", "python", ...SHIPPED]);
    expect(rows[0]).toMatchObject({ name: "mine", source: "repository", packages: 1, digest: null });
    expect(rows.find((r) => r.name === "python-data")).toMatchObject({ source: "datomspod", packages: 19 });
  });
});

describe("env new, env lock and env build refuse what they cannot do", () => {
  it("new refuses a requirements file with an index, a URL or a path, naming the line, and writes nothing", async () => {
    const repo = tempRepo();
    writeFileSync(join(repo, "reqs.txt"), "pandas\n--index-url https://mirror.example/simple\nnumpy @ https://x/numpy.whl\n./vendored\n");

    const result = await cli(repo, "env", "new", "mine", "--from", join(repo, "reqs.txt"));

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("line 2: has the option --index-url");
    expect(result.stderr).toContain("line 3: names a URL, path or VCS location");
    expect(result.stderr).toContain("line 4: names a URL, path or VCS location");
    expect(existsSync(join(repo, "environments", "mine"))).toBe(false);
  });

  it("new refuses to overwrite an environment, and names that are not labels", async () => {
    const repo = tempRepo();
    writeFileSync(join(repo, "reqs.txt"), "pandas\n");
    mkdirSync(join(repo, "environments", "python-data"), { recursive: true });
    writeFileSync(join(repo, "environments", "python-data", "environment.json"), "{}");

    expect((await cli(repo, "env", "new", "python-data", "--from", join(repo, "reqs.txt"))).stderr).toContain("exists already");
    expect((await cli(repo, "env", "new", "../x", "--from", join(repo, "reqs.txt"))).stderr).toContain("is not an environment name");
  });

  it("lock refuses to rewrite the copy shipped with datomspod, and a base environment", async () => {
    const repo = tempRepo();

    expect((await cli(repo, "env", "lock", "python-data")).stderr).toContain("is the copy shipped with datomspod");
    expect((await cli(repo, "env", "lock", "python")).stderr).toContain("has no packages to lock");
  });

  it("build refuses a base environment and an unknown one", async () => {
    const repo = tempRepo();

    const base = await cli(repo, "env", "build", "python");
    const unknown = await cli(repo, "env", "build", "nope");

    expect(base.code).toBe(2);
    expect(base.stderr).toContain("has no packages to build (it is a base image)");
    expect(unknown.stderr).toContain('names the environment "nope", which neither environments/nope/ nor datomspod provides');
  });
});

describe("pinDigest", () => {
  const digest = `sha256:${"c".repeat(64)}`;

  it("adds the digest beside the tag, keeping the layout", () => {
    const text = '{\n  "image": { "repository": "localhost/datomspod/x", "tag": "1" },\n  "name": "x"\n}\n';

    expect(pinDigest(text, digest)).toBe(`{\n  "image": { "repository": "localhost/datomspod/x", "tag": "1", "digest": "${digest}" },\n  "name": "x"\n}\n`);
  });

  it("replaces a pinned digest, and only the image's", () => {
    const text = `{ "image": { "repository": "r", "tag": "1", "digest": "sha256:${"a".repeat(64)}" }, "other": { "digest": "sha256:${"b".repeat(64)}" } }`;

    const pinned = pinDigest(text, digest);

    expect(pinned).toContain(`"tag": "1", "digest": "${digest}"`);
    expect(pinned).toContain(`"other": { "digest": "sha256:${"b".repeat(64)}" }`);
  });
});

describe("what data owners approve", () => {
  it("approve prints the packages of the environment that will run", async () => {
    const repo = tempRepo();
    await editContract(repo, BANK.id, (c) => c, BANK.signers, []);

    const result = await cli(repo, "approve", BANK.id, "--key", join(KEYS, "bank-provider.json"));

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("  packages     none beyond the base image's");
  });

  it("a GPU environment renders nvidia.com/gpu, its node selector and tolerations, validates, and warns that its image is not pinned", async () => {
    const repo = tempRepo();
    const gpu = loadEnvironment(PACKAGE_ROOT, "python-torch-gpu", SOURCE);
    const algorithm = "algorithm/train.py";
    writeFileSync(join(repo, "contracts", BANK.id, algorithm), "import torch\nprint(torch.cuda.is_available())\n");
    const code = readFileSync(join(repo, "contracts", BANK.id, algorithm));
    const { createHash } = await import("node:crypto");
    await editContract(
      repo,
      BANK.id,
      (c) => {
        c.inputs.algorithm.environment = "python-torch-gpu";
        c.inputs.algorithm.container = {
          image: gpu.definition.image.repository,
          tag: gpu.definition.image.tag,
          digest: `sha256:${"d".repeat(64)}`,
          entrypoint: "python3 $ALGO",
        };
        c.inputs.algorithm.code = { path: algorithm, sha256: createHash("sha256").update(code).digest("hex"), size: code.length };
        c.inputs.compute.gpu = 1;
      },
      BANK.signers,
      BANK.approvers,
    );
    const approval = await cli(repo, "approve", BANK.id, "--key", join(KEYS, "bank-provider.json"));
    const requested = await cli(repo, "request", BANK.id, "run-1", "--key", join(KEYS, "fintech-consumer.json"));

    const compiled = await cli(repo, "compile");
    const checked = await cli(repo, "check", BANK.id, "--report", "json");

    expect(approval.stdout).toMatch(/ {2}packages {5}\d+ locked \(requirements\.lock sha256:[0-9a-f]{64}\): .*torch==/);
    expect(requested.code, requested.stderr).toBe(0);
    expect(compiled.code, compiled.stderr).toBe(0);
    const instance = join(repo, "clusters", "self-built-example", BANK.id);
    const jobFile = readdirSync(instance).find((name) => name.startsWith("job-"));
    const job = readFileSync(join(instance, jobFile ?? "job.yaml"), "utf8");
    expect(job).toContain('nvidia.com/gpu: "1"');
    expect(job).toContain("datomspod.io/gpu:");
    expect(job).toContain("key: nvidia.com/gpu");
    const report = JSON.parse(checked.stdout) as { contracts: { id: string; stages: Record<string, unknown>; warnings?: { rule: string; msg: string }[] }[] };
    const bank = report.contracts.find((c) => c.id === BANK.id);
    expect(bank?.stages).toMatchObject({ kubernetes: { status: "ok" }, policy: { status: "ok" } });
    expect(JSON.stringify(bank)).toContain("runs in environment python-torch-gpu, whose environment.json pins no image digest");
    expect(readJson(join(repo, "contracts", BANK.id, "contract.json"))).toMatchObject({ inputs: { compute: { gpu: 1 } } });
  });
});
