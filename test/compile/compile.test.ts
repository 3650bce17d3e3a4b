import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { planCompile } from "../../generator/compile/plan.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { AT, BANK, HOSPITAL, KEYS, cli, editContract, readJson, tempRepo, tree, writeJson } from "./repo.js";

describe("datomspod compile", () => {
  it("renders exactly the committed clusters/ (the golden test)", () => {
    const plan = planCompile(PACKAGE_ROOT, new Date(AT));

    const committed = Object.fromEntries(
      Object.entries(tree(join(PACKAGE_ROOT, "clusters"))).filter(([path]) => path.endsWith(".yaml") && !path.endsWith("cluster.yaml")),
    );

    expect([...plan.files.keys()].map((p) => p.replace(/^clusters\//, "")).sort()).toEqual(Object.keys(committed).sort());
    for (const [path, content] of plan.files) expect(content, path).toBe(committed[path.replace(/^clusters\//, "")]);
  });

  it("gives byte-identical output in two repositories and on a second run", async () => {
    const a = tempRepo();
    const b = tempRepo();
    rmSync(join(b, "clusters", "local", "hospital-stats"), { recursive: true });

    const first = await cli(a, "compile", "--at", AT);
    const second = await cli(b, "compile", "--at", AT);
    const again = await cli(a, "compile", "--at", AT);

    expect([first.code, second.code, again.code]).toEqual([0, 0, 0]);
    expect(tree(join(a, "clusters"))).toEqual(tree(join(b, "clusters")));
    expect(again.stdout).toContain("clusters/ is up to date");
  });

  it("--check exits 0 when clusters/ is current and 1 listing every difference otherwise", async () => {
    const repo = tempRepo();
    const clean = await cli(repo, "compile", "--check", "--at", AT);
    const job = Object.keys(tree(join(repo, "clusters", "local", "hospital-stats"))).find((f) => f.startsWith("job-"))!;
    writeFileSync(join(repo, "clusters", "local", "hospital-stats", job), "tampered\n");
    rmSync(join(repo, "clusters", "local", "hospital-stats", "namespace.yaml"));
    writeFileSync(join(repo, "clusters", "local", "hospital-stats", "extra.yaml"), "kind: Pod\n");
    const before = tree(join(repo, "clusters"));

    const dirty = await cli(repo, "compile", "--check", "--at", AT);

    expect(clean.code).toBe(0);
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toContain(`differs   clusters/local/hospital-stats/${job}`);
    expect(dirty.stdout).toContain("missing   clusters/local/hospital-stats/namespace.yaml");
    expect(dirty.stdout).toContain("stale     clusters/local/hospital-stats/extra.yaml");
    expect(tree(join(repo, "clusters"))).toEqual(before);
  });

  it.each([
    ["expired", "2028-11-01T00:00:00Z", "expired"],
    ["not yet valid", "2026-10-01T00:00:00Z", "approved"],
  ])("removes the instance of a contract that is %s, which deletes its pod", async (_, at, state) => {
    const repo = tempRepo();

    const result = await cli(repo, "compile", "--at", at);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`skipped  hospital-stats`);
    expect(result.stdout).toContain(state);
    expect(existsSync(join(repo, "clusters", "local", "hospital-stats"))).toBe(false);
    expect(existsSync(join(repo, "clusters", "local", "argocd", "applicationset.yaml"))).toBe(true);
  });

  it("removes the instance of a contract that is no longer fully signed", async () => {
    const repo = tempRepo();
    rmSync(join(repo, "contracts", "hospital-stats", "approvals"), { recursive: true });

    const result = await cli(repo, "compile", "--at", AT);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/skipped {2}hospital-stats +signed/);
    expect(existsSync(join(repo, "clusters", "local", "hospital-stats"))).toBe(false);
  });

  it("renders one Job per requested run without a receipt, and none for a run with a receipt", async () => {
    const repo = tempRepo();
    const consumer = join(KEYS, "health-consumer.json");
    await cli(repo, "request", "hospital-stats", "run-2", "--key", consumer, "--param", "groupBy=sex", "--param", "minGroupSize=20");
    mkdirSync(join(repo, "contracts", "hospital-stats", "receipts"), { recursive: true });
    writeJson(join(repo, "contracts", "hospital-stats", "receipts", "run-1.json"), { _type: "https://in-toto.io/Statement/v1" });

    const result = await cli(repo, "compile", "--at", AT);

    const files = Object.keys(tree(join(repo, "clusters", "local", "hospital-stats")));
    expect(result.code).toBe(0);
    expect(files.filter((f) => f.startsWith("job-"))).toHaveLength(1);
    expect(files.find((f) => f.startsWith("job-"))).toMatch(/^job-run-run-2-[0-9a-f]{8}\.yaml$/);
    expect(parse(readFileSync(join(repo, "clusters", "local", "hospital-stats", "configmap-run-run-2.yaml"), "utf8")).data["algoCustomData.json"]).toBe(
      `${JSON.stringify({ groupBy: "sex", minGroupSize: 20 }, null, 2)}\n`,
    );
  });

  it("names a Job by a hash of its spec, so a changed spec is a new Job", async () => {
    const repo = tempRepo();
    const before = Object.keys(tree(join(repo, "clusters", "local", "hospital-stats"))).find((f) => f.startsWith("job-"));
    await editContract(repo, HOSPITAL.id, (c) => (c.inputs.compute.maxDurationSeconds = 120), HOSPITAL.signers, HOSPITAL.approvers);
    await cli(repo, "request", "hospital-stats", "run-1", "--key", join(KEYS, "health-consumer.json"));

    await cli(repo, "compile", "--at", AT);

    const after = Object.keys(tree(join(repo, "clusters", "local", "hospital-stats"))).find((f) => f.startsWith("job-"));
    expect(before).toMatch(/^job-run-run-1-[0-9a-f]{8}\.yaml$/);
    expect(after).toMatch(/^job-run-run-1-[0-9a-f]{8}\.yaml$/);
    expect(after).not.toBe(before);
  });

  it("turns GPUs into limits, node selector and tolerations from the profile", async () => {
    const repo = tempRepo();
    await editContract(repo, BANK.id, (c) => (c.inputs.compute.gpu = 2), BANK.signers, BANK.approvers);
    await cli(repo, "request", "bank-credit-model", "run-1", "--key", join(KEYS, "fintech-consumer.json"));

    const result = await cli(repo, "compile", "--at", AT);

    const dir = join(repo, "clusters", "self-built-example", "bank-credit-model");
    const job = parse(
      readFileSync(
        join(
          dir,
          Object.keys(tree(dir)).find((f) => f.startsWith("job-"))!,
        ),
        "utf8",
      ),
    );
    const pod = job.spec.template.spec;
    const computing = pod.initContainers.find((c: { name: string }) => c.name === "computing");
    expect(result.code).toBe(0);
    expect(computing.resources.limits).toEqual({ cpu: "2", memory: "1Gi", "nvidia.com/gpu": "2" });
    expect(pod.nodeSelector).toEqual({ "datomspod.io/gpu": "true" });
    expect(pod.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(pod.runtimeClassName).toBe("gvisor");
  });

  it("leaves clusters/ exactly as it was when any contract fails", async () => {
    const repo = tempRepo();
    writeFileSync(join(repo, "contracts", "hospital-stats", "algorithm", "aggregate.py"), "print('changed after approval')\n");
    rmSync(join(repo, "clusters", "self-built-example", "bank-credit-model"), { recursive: true });
    const before = tree(join(repo, "clusters"));

    const result = await cli(repo, "compile", "--at", AT);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("nothing was written");
    expect(result.stderr).toContain(
      "contracts/hospital-stats/contract.json $.inputs.algorithm.code.sha256: does not match contracts/hospital-stats/algorithm/aggregate.py",
    );
    expect(tree(join(repo, "clusters"))).toEqual(before);
  });

  it("refuses to delete a folder with files it did not generate", async () => {
    const repo = tempRepo();
    writeFileSync(join(repo, "clusters", "local", "hospital-stats", "notes.txt"), "mine\n");

    const result = await cli(repo, "compile", "--at", "2028-11-01T00:00:00Z");

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("clusters/local/hospital-stats/notes.txt: is not a generated manifest, but sits in a generated folder");
    expect(existsSync(join(repo, "clusters", "local", "hospital-stats", "notes.txt"))).toBe(true);
  });

  it("writes YAML that reads back as exactly the objects, whatever characters the contract holds", async () => {
    const repo = tempRepo();
    const tricky = "Stats: \"quoted\" 'single' # not a comment & *not an alias* {braces} [brackets] 数悦坊 ---";
    await editContract(
      repo,
      HOSPITAL.id,
      (c) => {
        c.title = tricky.slice(0, 200);
        c.inputs.algorithm.parameters = { groupBy: "region\n- injected: true", minGroupSize: 10 };
      },
      HOSPITAL.signers,
      HOSPITAL.approvers,
    );
    await cli(repo, "request", "hospital-stats", "run-1", "--key", join(KEYS, "health-consumer.json"));

    const result = await cli(repo, "compile", "--at", AT);

    const dir = join(repo, "clusters", "local", "hospital-stats");
    const contract = parse(readFileSync(join(dir, "configmap-contract.yaml"), "utf8"));
    const params = parse(readFileSync(join(dir, "configmap-run-run-1.yaml"), "utf8"));
    expect(result.code).toBe(0);
    expect(JSON.parse(contract.data["contract.json"]).title).toBe(tricky.slice(0, 200));
    expect(JSON.parse(params.data["algoCustomData.json"])).toEqual({ groupBy: "region\n- injected: true", minGroupSize: 10 });
  });
});

describe("compile refuses unsafe or invalid instances before writing anything", () => {
  it.each([
    [
      "hostPath outside the local profile",
      BANK,
      (c: any) => (c.inputs.data[0].location = { kind: "hostPath", path: "/srv/loans" }),
      "contracts/bank-credit-model/contract.json $.inputs.data[0].location.kind: hostPath is only allowed in the local profile, and cluster self-built-example is self-built (fix: use a pvc, csi or nfs location on a real cluster)",
    ],
    [
      "an image from a repository the cluster does not allow",
      HOSPITAL,
      (c: any) => (c.inputs.algorithm.container.image = "docker.io/library/python"),
      "contracts/hospital-stats/contract.json $.inputs.algorithm.container.image: docker.io/library/python is not an allowed algorithm repository of cluster local (fix: use one of localhost/datomspod/)",
    ],
    [
      "a runtime the cluster does not offer",
      HOSPITAL,
      (c: any) => (c.inputs.compute.runtimeClass = "kata"),
      "contracts/hospital-stats/contract.json $.inputs.compute.runtimeClass: cluster local offers no kata runtime (fix: use one of runc, gvisor or add it to the cluster profile)",
    ],
    [
      "GPUs on a cluster without GPUs",
      HOSPITAL,
      (c: any) => (c.inputs.compute.gpu = 1),
      "contracts/hospital-stats/contract.json $.inputs.compute.gpu: cluster local has no GPUs (fix: set gpu to 0 or choose a cluster with a gpu section)",
    ],
    [
      "an entrypoint with shell quoting",
      HOSPITAL,
      (c: any) => (c.inputs.algorithm.container.entrypoint = "sh -c 'python3 $ALGO'"),
      "contracts/hospital-stats/contract.json $.inputs.algorithm.container.entrypoint: contains quotes or backslashes; it is split on spaces and run without a shell (fix: write the command as plain words, e.g. python3 $ALGO)",
    ],
    [
      "an input on IPFS, which cannot be mounted",
      HOSPITAL,
      (c: any) => (c.inputs.data[0].location = { kind: "ipfs", cid: "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi" }),
      "contracts/hospital-stats/contract.json $.inputs.data[0].location.kind: ipfs input locations cannot be mounted by this version (fix: pin the data on a volume the provider controls and use a pvc, csi, nfs or (local) hostPath location)",
    ],
    [
      "a contract on a cluster without a profile",
      HOSPITAL,
      (c: any) => (c.cluster = "nowhere"),
      "contracts/hospital-stats/contract.json $.cluster: no cluster profile clusters/nowhere/cluster.yaml (fix: use one of local, self-built-example or add the profile)",
    ],
  ])("%s", async (_, target, edit, message) => {
    const repo = tempRepo();
    await editContract(repo, target.id, edit, target.signers, target.approvers);
    const before = tree(join(repo, "clusters"));

    const result = await cli(repo, "compile", "--at", AT);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(tree(join(repo, "clusters"))).toEqual(before);
  });

  it.each([
    [
      "an image without a digest",
      (c: any) => delete c.inputs.algorithm.container.digest,
      '$.inputs.algorithm.container.digest: missing required field "digest"',
    ],
    ["missing cpu limit", (c: any) => delete c.inputs.compute.cpu, '$.inputs.compute.cpu: missing required field "cpu"'],
    ["missing memory limit", (c: any) => delete c.inputs.compute.memory, '$.inputs.compute.memory: missing required field "memory"'],
    ["an id whose namespace would overflow 63 characters", (c: any) => (c.id = "a".repeat(61)), "$.id: must NOT have more than 40 characters"],
    [
      "a quantity that would break YAML",
      (c: any) => (c.inputs.compute.memory = "1Gi\nkind: Pod"),
      "$.inputs.compute.memory: does not match the required format",
    ],
  ])("%s is refused by the schema", async (_, edit, message) => {
    const repo = tempRepo();
    const path = join(repo, "contracts", "hospital-stats", "contract.json");
    const contract = readJson(path);
    edit(contract);
    writeJson(path, contract);

    const result = await cli(repo, "compile", "--at", AT);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`contracts/hospital-stats/contract.json ${message}`);
  });

  it("refuses a run request beyond the contract's max runs", async () => {
    const repo = tempRepo();
    const consumer = join(KEYS, "fintech-consumer.json");
    await cli(repo, "request", "bank-credit-model", "run-2", "--key", consumer);
    await cli(repo, "request", "bank-credit-model", "run-3", "--key", consumer);

    const result = await cli(repo, "compile", "--at", AT);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "contracts/bank-credit-model/runs/run-3.json: run run-3 would exceed the contract's maxRuns of 2 (fix: remove the run request; the contract allows no more runs)",
    );
  });

  it("refuses a run request with a parameter the contract does not list, and one not signed by the consumer", async () => {
    const repo = tempRepo();
    const run = readJson(join(repo, "contracts", "hospital-stats", "runs", "run-1.json"));
    writeJson(join(repo, "contracts", "hospital-stats", "runs", "run-2.json"), { ...run, message: { ...(run.message as object), runId: "run-2" } });
    const request = await cli(repo, "request", "hospital-stats", "run-3", "--key", join(KEYS, "health-consumer.json"), "--param", "exportRows=true");
    const byProvider = await cli(repo, "request", "hospital-stats", "run-4", "--key", join(KEYS, "hospital-provider.json"));

    const result = await cli(repo, "compile", "--at", AT);

    expect(request.code).toBe(2);
    expect(request.stderr).toContain("command line --param exportRows: is not a parameter of contract hospital-stats (fix: use one of groupBy, minGroupSize)");
    expect(byProvider.code).toBe(2);
    expect(byProvider.stderr).toContain("is not the consumer of hospital-stats");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("contracts/hospital-stats/runs/run-2.json $.signature: recovers to");
  });

  it.each([
    [
      "a literal secret",
      "  token: s3cr3t-value\n",
      "clusters/local/cluster.yaml $.ipfs.token: is a literal secret (fix: reference a Kubernetes Secret instead",
    ],
    ["credentials in a URL", null, "clusters/local/cluster.yaml $.ipfs.endpoint: contains what looks like a credential"],
  ])("refuses a cluster profile with %s", async (_, extra, message) => {
    const repo = tempRepo();
    const path = join(repo, "clusters", "local", "cluster.yaml");
    const text = readFileSync(path, "utf8");
    writeFileSync(
      path,
      extra === null
        ? text.replace("http://127.0.0.1:5001", "http://admin:somesecret@127.0.0.1:5001")
        : text.replace("  endpoint: http://127.0.0.1:5001\n", `  endpoint: http://127.0.0.1:5001\n${extra}`),
    );

    const result = await cli(repo, "compile", "--at", AT);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("refuses a cluster profile whose name differs from its folder, or with duplicate keys", async () => {
    const repo = tempRepo();
    const path = join(repo, "clusters", "local", "cluster.yaml");
    writeFileSync(path, readFileSync(path, "utf8").replace("name: local", "name: other"));
    const renamed = await cli(repo, "compile", "--at", AT);
    writeFileSync(path, readFileSync(path, "utf8").replace("name: other", "name: local\nmode: local"));

    const duplicated = await cli(repo, "compile", "--at", AT);

    expect(renamed.stderr).toContain('clusters/local/cluster.yaml $.name: is "other" but the folder is "local" (fix: set name: local)');
    expect(duplicated.code).toBe(2);
    expect(duplicated.stderr).toContain("clusters/local/cluster.yaml: Map keys must be unique");
  });

  it("refuses a symlinked algorithm file", async () => {
    const repo = tempRepo();
    const code = join(repo, "contracts", "hospital-stats", "algorithm", "aggregate.py");
    writeFileSync(join(repo, "elsewhere.py"), readFileSync(code));
    rmSync(code);
    symlinkSync(join(repo, "elsewhere.py"), code);

    const result = await cli(repo, "compile", "--at", AT);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("contracts/hospital-stats/algorithm/aggregate.py: is a symbolic link");
  });
});
