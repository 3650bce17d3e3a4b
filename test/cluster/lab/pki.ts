/**
 * The lab's certificates and kubeconfigs, made with openssl at every `up` into the lab folder
 * (never committed): a CA, the API server's serving certificate (127.0.0.1 and the first service
 * address), client certificates for the admin (system:masters), the controller manager, the
 * scheduler, the node (system:node:<name>) and the API server's kubelet client, and the service
 * account signing key. P-256 keys: fast to make, accepted everywhere here. Valid for 2 days.
 */

import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./exec.js";

export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly apiserverCert: string;
  readonly apiserverKey: string;
  readonly kubeletClientCert: string;
  readonly kubeletClientKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
  /** Kubeconfig files by user: admin, controller-manager, scheduler, node. */
  readonly kubeconfigs: Readonly<Record<KubeconfigUser, string>>;
}

export type KubeconfigUser = "admin" | "controller-manager" | "scheduler" | "node";

export interface PkiOptions {
  readonly dir: string;
  readonly openssl: string;
  readonly apiserverUrl: string;
  /** The first address of the service range (the `kubernetes` service). */
  readonly serviceIp: string;
  readonly nodeName: string;
}

const DAYS = "2";

async function key(openssl: string, file: string): Promise<void> {
  await run(openssl, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file]);
  chmodSync(file, 0o600);
}

/** A certificate for `subject` signed by the CA, with the given extensions. */
async function signed(options: PkiOptions, name: string, subject: string, extensions: string): Promise<void> {
  const { dir, openssl } = options;
  const at = (ext: string): string => join(dir, `${name}.${ext}`);
  await key(openssl, at("key"));
  writeFileSync(at("ext"), extensions);
  await run(openssl, ["req", "-new", "-key", at("key"), "-subj", subject, "-out", at("csr")]);
  await run(openssl, [
    "x509",
    "-req",
    "-in",
    at("csr"),
    "-CA",
    join(dir, "ca.crt"),
    "-CAkey",
    join(dir, "ca.key"),
    // (no -CAcreateserial: the certificates are signed side by side, a shared serial file would race)
    "-set_serial",
    `0x${randomBytes(16).toString("hex")}`,
    "-days",
    DAYS,
    "-extfile",
    at("ext"),
    "-out",
    at("crt"),
  ]);
}

const CLIENT = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";

function kubeconfig(options: PkiOptions, user: string, namespace?: string): string {
  const { dir } = options;
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "lab", cluster: { server: options.apiserverUrl, "certificate-authority": join(dir, "ca.crt") } }],
      users: [{ name: user, user: { "client-certificate": join(dir, `${user}.crt`), "client-key": join(dir, `${user}.key`) } }],
      contexts: [{ name: "lab", context: { cluster: "lab", user, ...(namespace === undefined ? {} : { namespace }) } }],
      "current-context": "lab",
    },
    null,
    2,
  );
}

/** Makes the lab's PKI in `options.dir` (created; files there are replaced). */
export async function makePki(options: PkiOptions): Promise<Pki> {
  const { dir, openssl } = options;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await key(openssl, join(dir, "ca.key"));
  await run(openssl, [
    "req",
    "-x509",
    "-new",
    "-key",
    join(dir, "ca.key"),
    "-subj",
    "/CN=datomspod-lab-ca",
    "-days",
    DAYS,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    join(dir, "ca.crt"),
  ]);
  const sans = [
    "IP:127.0.0.1",
    `IP:${options.serviceIp}`,
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
  ];
  // The certificates do not depend on one another: make them side by side.
  await Promise.all([
    signed(
      options,
      "apiserver",
      "/CN=kube-apiserver",
      `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(",")}\n`,
    ),
    signed(options, "admin", "/O=system:masters/CN=lab-admin", CLIENT),
    signed(options, "controller-manager", "/CN=system:kube-controller-manager", CLIENT),
    signed(options, "scheduler", "/CN=system:kube-scheduler", CLIENT),
    signed(options, "node", `/O=system:nodes/CN=system:node:${options.nodeName}`, CLIENT),
    signed(options, "apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", CLIENT),
    (async () => {
      await key(openssl, join(dir, "sa.key"));
      await run(openssl, ["pkey", "-in", join(dir, "sa.key"), "-pubout", "-out", join(dir, "sa.pub")]);
    })(),
  ]);
  const kubeconfigs = {} as Record<KubeconfigUser, string>;
  for (const user of ["admin", "controller-manager", "scheduler", "node"] as const) {
    const file = join(dir, `${user}.kubeconfig`);
    writeFileSync(file, kubeconfig(options, user), { mode: 0o600 });
    kubeconfigs[user] = file;
  }
  return {
    dir,
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    apiserverCert: join(dir, "apiserver.crt"),
    apiserverKey: join(dir, "apiserver.key"),
    kubeletClientCert: join(dir, "apiserver-kubelet-client.crt"),
    kubeletClientKey: join(dir, "apiserver-kubelet-client.key"),
    serviceAccountKey: join(dir, "sa.key"),
    serviceAccountPub: join(dir, "sa.pub"),
    kubeconfigs,
  };
}

/** A kubeconfig for the admin whose context names `namespace` (Argo CD takes its namespace from it). */
export function writeAdminKubeconfig(options: PkiOptions, file: string, namespace: string): void {
  writeFileSync(file, kubeconfig(options, "admin", namespace), { mode: 0o600 });
}
