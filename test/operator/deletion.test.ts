/**
 * The deletion record through a real git remote (git http-backend on loopback, pushed to over smart
 * HTTP as the operator's Deployment does): recorded once, signed by the runner over exactly what it
 * says, committed and pushed; not recorded while the instance's folder is still in git.
 */

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadContract } from "../../generator/contract/load.js";
import { deletionMessage, recordDeletion } from "../../generator/operator/deletion.js";
import type { Kube } from "../../generator/cluster/kube.js";
import type { OperatorSetup } from "../../generator/operator/receipt.js";
import { GitSink } from "../../generator/operator/sink.js";
import { verifyRecord } from "../../generator/signatures/records.js";
import { testWallet } from "../helpers/keys.js";
import { tempDir, tempRepo } from "../helpers/repo.js";
import { startGitServer, type GitServer } from "../cluster/lab/git-server.js";

const ID = "hospital-stats";
const OBSERVED = {
  contract: ID,
  namespace: `dp-${ID}`,
  uid: "0b8f4c7e-1111-4222-8333-444455556666",
  deletionRequestedAt: "2026-12-03T08:10:00Z",
  goneAt: "2026-12-03T08:10:04Z",
};

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t.invalid", ...args], {
    encoding: "utf8",
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" },
  });
}

const servers: GitServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

/** A bare remote holding the example repository, served over HTTP, and the operator's clone of it. */
async function operatorClone(withFolder: boolean): Promise<{ setup: OperatorSetup; remote: string }> {
  const source = tempRepo([ID]);
  if (withFolder) {
    mkdirSync(join(source, "clusters", "local", ID), { recursive: true });
    writeFileSync(join(source, "clusters", "local", ID, "namespace.yaml"), "kind: Namespace\n");
  }
  const server = await startGitServer({ root: tempDir(), acceptPush: true });
  servers.push(server);
  const remote = join(server.root, "remote.git");
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", remote]);
  git(source, "init", "--quiet", "--initial-branch=main");
  git(source, "add", "--all");
  git(source, "commit", "--quiet", "-m", "contracts");
  git(source, "push", "--quiet", remote, "HEAD:main");
  const clone = join(tempDir(), "clone");
  mkdirSync(clone);
  const sink = new GitSink(clone);
  await sink.cloneInto(server.repoUrl("remote"));
  const setup: OperatorSetup = {
    repo: clone,
    cluster: "local",
    runner: await testWallet("hospital-provider"),
    kube: undefined as unknown as Kube,
    sealedRoot: tempDir(),
    git: sink,
    now: () => new Date("2026-12-03T08:11:00Z"),
  };
  return { setup, remote };
}

describe("the deletion record", () => {
  it("is signed by the runner over the namespace, its uid and the API server's times, committed and pushed once", async () => {
    const { setup, remote } = await operatorClone(false);

    const first = await recordDeletion(setup, OBSERVED);
    const second = await recordDeletion(setup, OBSERVED);

    expect(first.kind).toBe("recorded");
    expect(second).toEqual({ kind: "already", where: `contracts/${ID}/deletion.json` });
    const check = join(tempDir(), "check");
    execFileSync("git", ["clone", "--quiet", remote, check]);
    expect(git(check, "log", "--format=%s%n%an").split("\n").slice(0, 2)).toEqual([
      `Deletion of ${ID}: namespace dp-${ID} (uid ${OBSERVED.uid}) gone at ${OBSERVED.goneAt} (datomspod operator, cluster local)`,
      "datomspod operator",
    ]);
    const record = JSON.parse(readFileSync(join(check, "contracts", ID, "deletion.json"), "utf8")) as { signer: string };
    const loaded = loadContract(check, ID);
    const expected = {
      kind: "deletion" as const,
      contractId: ID,
      chainId: loaded.contract.chainId,
      message: deletionMessage(ID, loaded.hash, "local", OBSERVED),
    };
    expect(verifyRecord(record, expected, "deletion.json")).toEqual([]);
    expect(loaded.contract.evidence.runners).toContain(record.signer);
    // a record that claims another uid does not verify
    const forged = { ...expected, message: deletionMessage(ID, loaded.hash, "local", { ...OBSERVED, uid: "another" }) };
    expect(verifyRecord(record, forged, "deletion.json").map((issue) => issue.path)).toEqual(["$.message.namespaceUid"]);
  });

  it("is not recorded while the instance's folder is still in git (a namespace deleted by hand comes back)", async () => {
    const { setup } = await operatorClone(true);

    const handled = await recordDeletion(setup, OBSERVED);

    expect(handled).toEqual({ kind: "not-removed-from-git", where: `clusters/local/${ID}` });
    expect(existsSync(join(setup.repo, "contracts", ID, "deletion.json"))).toBe(false);
  });

  it("a crash between writing and pushing leaves nothing: the clone is reset to the remote before the next decision", async () => {
    const { setup: crashed } = await operatorClone(false);
    writeFileSync(join(crashed.repo, "contracts", ID, "deletion.json"), "{}\n");
    rmSync(join(crashed.repo, "contracts", ID, "contract.json"));
    // the restart: a new process on the same clone
    const setup = { ...crashed, git: new GitSink(crashed.repo) };
    await setup.git.assertOwned();

    const handled = await recordDeletion(setup, OBSERVED);

    expect(handled.kind).toBe("recorded");
    expect(JSON.parse(readFileSync(join(setup.repo, "contracts", ID, "deletion.json"), "utf8"))).toMatchObject({ kind: "deletion" });
  });
});
