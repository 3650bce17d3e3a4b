/**
 * `datomspod cluster doctor` on the command line, without a cluster: bad usage and an unknown
 * profile exit 2, an API server that cannot be reached exits 3 naming the kubeconfig's server.
 */

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir, tempRepo, writeText } from "../helpers/repo.js";

function kubeconfig(dir: string, server: string): string {
  writeText(
    dir,
    "kubeconfig",
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server, "certificate-authority-data": Buffer.from("not a certificate").toString("base64") } }],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
      "current-context": "x",
    }),
  );
  return join(dir, "kubeconfig");
}

describe("datomspod cluster doctor", () => {
  it("exits 3 when the API server cannot be reached, naming the kubeconfig and its server", async () => {
    const repo = tempRepo([]);
    const file = kubeconfig(tempDir(), "https://127.0.0.1:1");

    const result = await runCli(["cluster", "doctor", "--cluster", "lab", "--kubeconfig", file], { repo });

    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`${file} $.clusters[].cluster.server: the API server https://127.0.0.1:1 cannot be reached`);
  });

  it.each([
    [["--cluster", "nowhere"], "clusters/nowhere/cluster.yaml: no such cluster profile"],
    [[], "--cluster is required"],
    [["--cluster", "lab", "--egress-url", "https://example.org/"], "is not a plain http:// URL"],
    [["--cluster", "lab", "--settle", "forever"], '"forever" is not a whole number up to 120'],
  ])("exits 2 for %j", async (args, message) => {
    const repo = tempRepo([]);

    const result = await runCli(["cluster", "doctor", ...args, "--kubeconfig", kubeconfig(tempDir(), "https://127.0.0.1:1")], { repo });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
