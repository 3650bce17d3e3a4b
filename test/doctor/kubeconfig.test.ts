/**
 * The doctor's kubeconfig reader: the current context's server and credentials (files relative to
 * the kubeconfig, or inline data, or a token), and a refusal naming the field for anything that
 * would talk to an unverified server or authenticate in a way this client does not support.
 */

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kubeconfigPath, readKubeconfig } from "../../generator/cluster/kube.js";
import { InputError } from "../../generator/errors.js";
import { tempDir, writeText } from "../helpers/repo.js";

function config(cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:6443", ...cluster } }],
    users: [{ name: "u", user }],
    contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
    "current-context": "x",
  });
}

function refusal(dir: string, text: string): { path: string; message: string } {
  writeText(dir, "kubeconfig", text);
  try {
    readKubeconfig(join(dir, "kubeconfig"));
  } catch (error) {
    if (error instanceof InputError) return { path: error.issues[0].path, message: error.issues[0].message };
    throw error;
  }
  throw new Error("not refused");
}

describe("readKubeconfig", () => {
  it("reads client certificate files relative to the kubeconfig, and inline data", () => {
    const dir = tempDir();
    writeText(dir, "pki/ca.crt", "CA");
    writeText(dir, "pki/admin.crt", "CERT");
    writeText(dir, "pki/admin.key", "KEY");
    writeText(
      dir,
      "kubeconfig",
      config({ "certificate-authority": "pki/ca.crt" }, { "client-certificate": "pki/admin.crt", "client-key": join(dir, "pki/admin.key") }),
    );
    writeText(dir, "inline", config({ "certificate-authority-data": Buffer.from("CA2").toString("base64") }, { token: "t0ken" }));

    const files = readKubeconfig(join(dir, "kubeconfig"));
    const inline = readKubeconfig(join(dir, "inline"));

    expect([files.server, files.ca.toString(), files.cert?.toString(), files.key?.toString(), files.token]).toEqual([
      "https://127.0.0.1:6443",
      "CA",
      "CERT",
      "KEY",
      undefined,
    ]);
    expect([inline.ca.toString(), inline.cert, inline.token]).toEqual(["CA2", undefined, "t0ken"]);
  });

  it.each([
    [
      "an unverified server",
      { "insecure-skip-tls-verify": true, "certificate-authority-data": "QQ==" },
      { token: "t" },
      "$.clusters[].cluster.insecure-skip-tls-verify",
    ],
    ["no certificate authority", {}, { token: "t" }, "$.clusters[].cluster"],
    ["an exec plugin", { "certificate-authority-data": "QQ==" }, { exec: { command: "aws" } }, "$.users[].user.exec"],
    ["no credentials", { "certificate-authority-data": "QQ==" }, {}, "$.users[].user"],
    ["a certificate without its key", { "certificate-authority-data": "QQ==" }, { "client-certificate-data": "QQ==" }, "$.users[].user"],
    ["plain http", { server: "http://127.0.0.1:8080", "certificate-authority-data": "QQ==" }, { token: "t" }, "$.clusters[].cluster.server"],
    ["a CA file that does not exist", { "certificate-authority": "missing.crt" }, { token: "t" }, "$.clusters[].cluster.certificate-authority"],
  ])("refuses %s, naming the field", (_name, cluster, user, path) => {
    const dir = tempDir();

    expect(refusal(dir, config(cluster, user)).path).toBe(path);
  });

  it("refuses a missing file and a context that is not there", () => {
    const dir = tempDir();

    expect(() => readKubeconfig(join(dir, "none"))).toThrow(/cannot read the kubeconfig/);
    expect(refusal(dir, config({}, {}).replace('"current-context":"x"', '"current-context":"y"')).message).toBe('has no context "y"');
  });

  it("finds the kubeconfig: the option, else $KUBECONFIG's first file, else ~/.kube/config", () => {
    expect(kubeconfigPath("k", {}, "/home/a", "/w")).toBe("/w/k");
    expect(kubeconfigPath(undefined, { KUBECONFIG: ":/etc/one:/etc/two" }, "/home/a", "/w")).toBe("/etc/one");
    expect(kubeconfigPath(undefined, {}, "/home/a", "/w")).toBe("/home/a/.kube/config");
  });
});
