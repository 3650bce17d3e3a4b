import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { objectFileName, planCompile } from "../../generator/compile/plan.js";
import { ordered } from "../../generator/compile/yaml.js";
import { PACKAGE_ROOT } from "../../generator/repo/package-root.js";
import { AT, BANK, HOSPITAL, KEYS, cli, cliAt, editContract, editEnvironment, readJson, tempRepo, tree, writeJson } from "./repo.js";

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

    const first = await cli(a, "compile");
    const second = await cli(b, "compile");
    const again = await cli(a, "compile");

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

    const result = await cliAt(at, repo, "compile");

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`skipped  hospital-stats`);
    expect(result.stdout).toContain(state);
    expect(existsSync(join(repo, "clusters", "local", "hospital-stats"))).toBe(false);
    expect(existsSync(join(repo, "clusters", "local", "argocd", "applicationset.yaml"))).toBe(true);
  });

  it("--at only previews: it writes nothing, so what runs is never rendered at a time of someone's choosing", async () => {
    const repo = tempRepo();
    const before = tree(join(repo, "clusters"));

    const result = await cli(repo, "compile", "--at", "2028-11-01T00:00:00Z");

    expect(result.code).toBe(1);
    expect(result.stdout).toContain("stale     clusters/local/hospital-stats/namespace.yaml");
    expect(tree(join(repo, "clusters"))).toEqual(before);
  });

  it("removes the instance of a contract that is no longer fully signed", async () => {
    const repo = tempRepo();
    rmSync(join(repo, "contracts", "hospital-stats", "approvals"), { recursive: true });

    const result = await cli(repo, "compile");

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/skipped {2}hospital-stats +signed/);
    expect(existsSync(join(repo, "clusters", "local", "hospital-stats"))).toBe(false);
  });

  it("renders one Job per requested run without a receipt, and none for a run with a receipt", async () => {
    const repo = tempRepo();
    const consumer = join(KEYS, "health-consumer.json");
    await cli(repo, "request", "hospital-stats", "run-2", "--key", consumer, "--param", "groupBy=sex");
    mkdirSync(join(repo, "contracts", "hospital-stats", "receipts"), { recursive: true });
    writeJson(join(repo, "contracts", "hospital-stats", "receipts", "run-1.json"), { _type: "https://in-toto.io/Statement/v1" });

    const result = await cli(repo, "compile");

    const files = Object.keys(tree(join(repo, "clusters", "local", "hospital-stats")));
    expect(result.code).toBe(0);
    expect(files.filter((f) => f.startsWith("job-"))).toHaveLength(1);
    expect(files.find((f) => f.startsWith("job-"))).toMatch(/^job-hospital-stats-run-2-[0-9a-f]{8}\.yaml$/);
    expect(parse(readFileSync(join(repo, "clusters", "local", "hospital-stats", "configmap-run-run-2.yaml"), "utf8")).data["algoCustomData.json"]).toBe(
      `${JSON.stringify({ groupBy: "sex", minGroupSize: 10 }, null, 2)}\n`,
    );
  });

  it("names a Job by a hash of its spec, so a changed spec is a new Job", async () => {
    const repo = tempRepo();
    const before = Object.keys(tree(join(repo, "clusters", "local", "hospital-stats"))).find((f) => f.startsWith("job-"));
    await editContract(repo, HOSPITAL.id, (c) => (c.inputs.compute.maxDurationSeconds = 120), HOSPITAL.signers, HOSPITAL.approvers);
    await cli(repo, "request", "hospital-stats", "run-1", "--key", join(KEYS, "health-consumer.json"));

    await cli(repo, "compile");

    const after = Object.keys(tree(join(repo, "clusters", "local", "hospital-stats"))).find((f) => f.startsWith("job-"));
    expect(before).toMatch(/^job-hospital-stats-run-1-[0-9a-f]{8}\.yaml$/);
    expect(after).toMatch(/^job-hospital-stats-run-1-[0-9a-f]{8}\.yaml$/);
    expect(after).not.toBe(before);
  });

  it("turns GPUs into limits, node selector and tolerations from the profile", async () => {
    const repo = tempRepo();
    editEnvironment(repo, "node", (environment) => (environment.gpu = true));
    await editContract(repo, BANK.id, (c) => (c.inputs.compute.gpu = 2), BANK.signers, BANK.approvers);
    await cli(repo, "request", "bank-credit-model", "run-1", "--key", join(KEYS, "fintech-consumer.json"));

    const result = await cli(repo, "compile");

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

  it("drops the instance of a contract whose code changed after approval, says why, and renders the others", async () => {
    const repo = tempRepo();
    writeFileSync(join(repo, "contracts", "hospital-stats", "algorithm", "aggregate.py"), "print('changed after approval')\n");
    rmSync(join(repo, "clusters", "self-built-example", "bank-credit-model"), { recursive: true });

    const result = await cli(repo, "compile");

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/skipped {2}hospital-stats +signed/);
    expect(result.stdout).toContain(
      "note: contracts/hospital-stats/contract.json $.inputs.algorithm.code.sha256: does not match contracts/hospital-stats/algorithm/aggregate.py",
    );
    expect(existsSync(join(repo, "clusters", "local", "hospital-stats"))).toBe(false);
    expect(existsSync(join(repo, "clusters", "self-built-example", "bank-credit-model", "namespace.yaml"))).toBe(true);
  });

  it("leaves clusters/ exactly as it was when a cluster profile is broken", async () => {
    const repo = tempRepo();
    const profile = join(repo, "clusters", "local", "cluster.yaml");
    writeFileSync(profile, readFileSync(profile, "utf8").replace("mode: local", "mode: nowhere"));
    rmSync(join(repo, "clusters", "self-built-example", "bank-credit-model"), { recursive: true });
    const before = tree(join(repo, "clusters"));

    const result = await cli(repo, "compile");

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("clusters/local/cluster.yaml $.mode");
    expect(tree(join(repo, "clusters"))).toEqual(before);
  });

  it("refuses to delete a folder with files it did not generate", async () => {
    const repo = tempRepo();
    writeFileSync(join(repo, "clusters", "local", "hospital-stats", "notes.txt"), "mine\n");

    const result = await cliAt("2028-11-01T00:00:00Z", repo, "compile");

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
        delete c.inputs.algorithm.consumerParameters;
      },
      HOSPITAL.signers,
      HOSPITAL.approvers,
    );
    await cli(repo, "request", "hospital-stats", "run-1", "--key", join(KEYS, "health-consumer.json"));

    const result = await cli(repo, "compile");

    const dir = join(repo, "clusters", "local", "hospital-stats");
    const contract = parse(readFileSync(join(dir, "configmap-contract.yaml"), "utf8"));
    const params = parse(readFileSync(join(dir, "configmap-run-run-1.yaml"), "utf8"));
    expect(result.code).toBe(0);
    expect(JSON.parse(contract.data["contract.json"]).title).toBe(tricky.slice(0, 200));
    expect(JSON.parse(params.data["algoCustomData.json"])).toEqual({ groupBy: "region\n- injected: true", minGroupSize: 10 });
  });
});

describe("a rendered file says exactly its object (the runner and the operator use the object once the file's text matched)", () => {
  it("parses back to the object as toYaml ordered it, every field and its order, for every example contract", () => {
    const plan = planCompile(tempRepo(), new Date(AT));
    const files = plan.contracts.flatMap((contract) =>
      contract.objects.map((object) => [`clusters/${contract.cluster}/${contract.id}/${objectFileName(object)}`, object] as const),
    );
    expect(files.length).toBeGreaterThan(10);

    for (const [path, object] of files) {
      const text = plan.files.get(path);
      expect(text, path).toBeDefined();
      const parsed = parseAllDocuments(text!).map((doc) => doc.toJS() as unknown);
      expect(JSON.stringify(parsed), path).toBe(JSON.stringify([ordered(object)]));
    }
  });
});

describe("an unsafe or impossible instance can never be approved, so it never runs", () => {
  it.each([
    [
      "hostPath outside the local profile",
      BANK,
      (c: any) => (c.inputs.data[0].location = { kind: "hostPath", path: "/srv/loans" }),
      "contracts/bank-credit-model/contract.json $.inputs.data[0].location.kind: hostPath is only allowed in the local profile, and cluster self-built-example is self-built without hostPathInputs (fix: use a pvc, csi or nfs location on a real cluster, or let the cluster profile serve node folders (hostPathInputs))",
    ],
    [
      "an image that is not the environment's",
      HOSPITAL,
      (c: any) => (c.inputs.algorithm.container.image = "localhost/datomspod/other"),
      "contracts/hospital-stats/contract.json $.inputs.algorithm.container.image: is localhost/datomspod/other, but the environment python builds localhost/datomspod/python",
    ],
    [
      "a digest that is not the one the environment pins",
      HOSPITAL,
      (c: any) => (c.inputs.algorithm.container.digest = `sha256:${"1".repeat(64)}`),
      "contracts/hospital-stats/contract.json $.inputs.algorithm.container.digest: is sha256:1111111111111111111111111111111111111111111111111111111111111111, but the environment python pins",
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
      "an entrypoint that runs a program of its own",
      HOSPITAL,
      (c: any) => (c.inputs.algorithm.container.entrypoint = "python3 -c exec(open('/data/inputs/x').read()) $ALGO"),
      "contracts/hospital-stats/contract.json $.inputs.algorithm.container.entrypoint: contains quotes or backslashes",
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
      "contracts/hospital-stats/contract.json $.cluster: no cluster profile clusters/nowhere/cluster.yaml",
    ],
  ])("%s: approve refuses naming the field, compile renders nothing, check fails at approvals", async (_, target, edit, message) => {
    const repo = tempRepo();
    await editContract(repo, target.id, edit, target.signers, []);

    const approved = await cli(repo, "approve", target.id, "--key", join(KEYS, `${target.approvers[0]}.json`));
    const compiled = await cli(repo, "compile");
    const checked = await cli(repo, "check", target.id, "--format", "json");

    expect(approved.code).toBe(2);
    expect(approved.stderr).toContain(message);
    expect(existsSync(join(repo, "contracts", target.id, "approvals", `${target.approvers[0]}.json`))).toBe(false);
    expect(compiled.code).toBe(0);
    expect(compiled.stdout).toMatch(new RegExp(`skipped {2}${target.id} +signed`));
    expect(Object.keys(tree(join(repo, "clusters")))).not.toContainEqual(expect.stringContaining(`${target.id}/namespace.yaml`));
    expect(checked.code).toBe(1);
    expect(JSON.stringify(JSON.parse(checked.stdout).contracts[0].stages.approvals)).toContain(
      message
        .replace(/^\S+ \$\S+: /, "")
        .split(" (fix:")[0]
        .slice(0, 60),
    );
  });

  it("an image from a repository the cluster does not allow", async () => {
    const repo = tempRepo();
    editEnvironment(repo, "python", (environment) => (environment.image.repository = "docker.io/library/python"));
    await editContract(repo, HOSPITAL.id, (c) => (c.inputs.algorithm.container.image = "docker.io/library/python"), HOSPITAL.signers, []);

    const approved = await cli(repo, "approve", HOSPITAL.id, "--key", join(KEYS, "hospital-provider.json"));

    expect(approved.code).toBe(2);
    expect(approved.stderr).toContain(
      "contracts/hospital-stats/contract.json $.inputs.algorithm.container.image: docker.io/library/python is not an allowed algorithm repository of cluster local (fix: use one of localhost/datomspod/)",
    );
  });

  it("a profile changed after approval voids the approvals: compile drops the instance and says why", async () => {
    const repo = tempRepo();
    const profile = join(repo, "clusters", "local", "cluster.yaml");
    writeFileSync(profile, readFileSync(profile, "utf8").replace("  gvisor: null\n", "  gvisor: runsc\n"));

    const compiled = await cli(repo, "compile");
    const status = await cli(repo, "contract", "status", HOSPITAL.id);

    expect(compiled.code).toBe(0);
    expect(compiled.stdout).toMatch(/skipped {2}hospital-stats +signed/);
    expect(existsSync(join(repo, "clusters", "local", "hospital-stats"))).toBe(false);
    expect(status.stdout).toContain("hospital-stats: signed");
    expect(status.stdout).toContain("$.message.clusterProfileDigest: approves another version of the cluster profile");
  });
});

describe("compile refuses invalid contracts and bad run requests, contract by contract", () => {
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

    const result = await cli(repo, "compile");

    expect(result.code).toBe(2);
    expect(result.stdout).toContain("REFUSED  hospital-stats");
    expect(result.stdout).toContain(`contracts/hospital-stats/contract.json ${message}`);
    expect(existsSync(join(repo, "clusters", "local", "hospital-stats"))).toBe(false);
    expect(existsSync(join(repo, "clusters", "self-built-example", "bank-credit-model", "namespace.yaml"))).toBe(true);
  });

  it("refuses a run request beyond the contract's max runs", async () => {
    const repo = tempRepo();
    const consumer = join(KEYS, "fintech-consumer.json");
    await cli(repo, "request", "bank-credit-model", "run-2", "--key", consumer);
    await cli(repo, "request", "bank-credit-model", "run-3", "--key", consumer);

    const result = await cli(repo, "compile");

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "contracts/bank-credit-model/runs/run-3.json: run run-3 would exceed the contract's maxRuns of 2 (fix: remove the run request; the contract allows no more runs)",
    );
  });

  it("refuses run requests outside the approved parameters or not by the consumer; a forged one does not count", async () => {
    const repo = tempRepo();
    const run = readJson(join(repo, "contracts", "hospital-stats", "runs", "run-1.json"));
    writeJson(join(repo, "contracts", "hospital-stats", "runs", "run-2.json"), { ...run, message: { ...(run.message as object), runId: "run-2" } });
    const consumer = join(KEYS, "health-consumer.json");
    const unknown = await cli(repo, "request", "hospital-stats", "run-3", "--key", consumer, "--param", "exportRows=true");
    const privacy = await cli(repo, "request", "hospital-stats", "run-3", "--key", consumer, "--param", "minGroupSize=1");
    const outside = await cli(repo, "request", "hospital-stats", "run-3", "--key", consumer, "--param", "groupBy=patient_id");
    const byProvider = await cli(repo, "request", "hospital-stats", "run-4", "--key", join(KEYS, "hospital-provider.json"));

    const result = await cli(repo, "compile");

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('command line --param exportRows: "exportRows" is not a parameter the consumer may set (fix: set only groupBy)');
    expect(privacy.code).toBe(2);
    expect(privacy.stderr).toContain('command line --param minGroupSize: "minGroupSize" is fixed by the approval; the consumer may not set it');
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('command line --param groupBy: "patient_id" must be one of "region", "sex", "diagnosis"');
    expect(existsSync(join(repo, "contracts", "hospital-stats", "runs", "run-3.json"))).toBe(false);
    expect(byProvider.code).toBe(2);
    expect(byProvider.stderr).toContain("is not the consumer of hospital-stats");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("note: contracts/hospital-stats/runs/run-2.json $.signature: recovers to");
    expect(Object.keys(tree(join(repo, "clusters", "local", "hospital-stats"))).filter((f) => f.startsWith("job-"))).toEqual([
      expect.stringMatching(/^job-hospital-stats-run-1-/),
    ]);
  });

  it("does not count a run request that sets a privacy control by hand, and never renders it", async () => {
    const repo = tempRepo();
    const path = join(repo, "contracts", "hospital-stats", "runs", "run-1.json");
    const run = readJson(path) as { parameters: Record<string, unknown> };
    run.parameters = { groupBy: "region", minGroupSize: 1 };
    writeJson(path, run);

    const result = await cli(repo, "compile");

    expect(result.stdout).toContain('note: contracts/hospital-stats/runs/run-1.json $.parameters.minGroupSize: "minGroupSize" is fixed by the approval');
    expect(existsSync(join(repo, "clusters", "local", "hospital-stats", "configmap-run-run-1.yaml"))).toBe(false);
  });

  it("reports a run request signed over an earlier version as stale, on its contract only, and lets the consumer replace it", async () => {
    const repo = tempRepo();
    await editContract(repo, HOSPITAL.id, (c) => (c.inputs.compute.maxDurationSeconds = 200), HOSPITAL.signers, HOSPITAL.approvers);
    const stale = readJson(join(PACKAGE_ROOT, "contracts", "hospital-stats", "runs", "run-1.json"));
    mkdirSync(join(repo, "contracts", "hospital-stats", "runs"), { recursive: true });
    writeJson(join(repo, "contracts", "hospital-stats", "runs", "run-1.json"), stale);

    const before = await cli(repo, "compile");
    const replaced = await cli(repo, "request", "hospital-stats", "run-1", "--key", join(KEYS, "health-consumer.json"));
    const after = await cli(repo, "compile");

    expect(before.code).toBe(0);
    expect(before.stdout).toContain("run run-1 was requested for an earlier version of the contract, so it does not count");
    expect(before.stdout).toMatch(/rendered bank-credit-model/);
    expect(replaced.code).toBe(0);
    expect(after.stdout).toContain("clusters/local/hospital-stats/ (1 run: run-1)");
  });

  it.each([
    [
      "a literal secret",
      "  token: s3cr3t-value\n",
      "clusters/local/cluster.yaml $.ipfs.token: is a literal secret (fix: reference a Kubernetes Secret instead",
    ],
    ["credentials in a URL", null, "clusters/local/cluster.yaml $.ipfs.endpoint: holds what looks like a password in the URL's user information"],
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

    const result = await cli(repo, "compile");

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("refuses a cluster profile whose name differs from its folder, or with duplicate keys", async () => {
    const repo = tempRepo();
    const path = join(repo, "clusters", "local", "cluster.yaml");
    writeFileSync(path, readFileSync(path, "utf8").replace("name: local", "name: other"));
    const renamed = await cli(repo, "compile");
    writeFileSync(path, readFileSync(path, "utf8").replace("name: other", "name: local\nmode: local"));

    const duplicated = await cli(repo, "compile");

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

    const result = await cli(repo, "compile");

    expect(result.code).toBe(2);
    expect(result.stdout).toContain("contracts/hospital-stats/algorithm/aggregate.py: is a symbolic link");
  });
});
