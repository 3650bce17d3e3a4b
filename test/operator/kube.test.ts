import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../generator/errors.js";
import { accessFromKubeconfig } from "../../generator/operator/kube.js";
import { tempDir } from "../helpers/repo.js";

function kubeconfig(dir: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  const file = join(dir, "kubeconfig");
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster }],
      users: [{ name: "u", user }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
      "current-context": "x",
    }),
  );
  return file;
}

describe("accessFromKubeconfig", () => {
  it("reads the server, the CA and the client certificate (files relative to the kubeconfig, or -data)", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "ca.crt"), "CA");
    const file = kubeconfig(
      dir,
      { server: "https://127.0.0.1:6443", "certificate-authority": "ca.crt" },
      { "client-certificate-data": Buffer.from("CERT").toString("base64"), "client-key-data": Buffer.from("KEY").toString("base64") },
    );

    const access = accessFromKubeconfig(file);

    expect(access.server).toBe("https://127.0.0.1:6443");
    expect([access.ca?.toString(), access.cert?.toString(), access.key?.toString(), access.token]).toEqual(["CA", "CERT", "KEY", undefined]);
  });

  it.each([
    ["an http:// server", { server: "http://127.0.0.1:8080" }, "$.clusters[0].cluster.server"],
    ["TLS verification skipped", { server: "https://127.0.0.1:6443", "insecure-skip-tls-verify": true }, "$.clusters[0].cluster.insecure-skip-tls-verify"],
    [
      "a CA file that does not exist",
      { server: "https://127.0.0.1:6443", "certificate-authority": "missing.crt" },
      "$.clusters[0].cluster.certificate-authority",
    ],
  ])("refuses %s, naming the field", (_case, cluster, path) => {
    const file = kubeconfig(tempDir(), cluster, { token: "t" });

    let error: unknown;
    try {
      accessFromKubeconfig(file);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).issues.map((issue) => issue.path)).toEqual([path]);
  });
});
