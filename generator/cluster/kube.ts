/**
 * The one seam to a Kubernetes API server: a small client over node:https that authenticates as a
 * kubeconfig says (client certificate and key, or a bearer token), with no kubectl at run time.
 * get, list, create, server-side apply (optionally as a dry run), delete; each answer's warnings
 * (Pod Security's "would violate …") are kept, never dropped.
 *
 * Supported kubeconfig entries: clusters[].cluster.server, certificate-authority(-data);
 * users[].user.client-certificate(-data), client-key(-data), token, tokenFile. Anything else that
 * authenticates (exec plugins, auth providers, username/password) or skips verification
 * (insecure-skip-tls-verify) is refused with the file and field, so the client never talks to a
 * server it cannot verify.
 */

import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse } from "yaml";
import { InputError, ServiceError, formatIssue } from "../errors.js";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

export interface KubeAccess {
  /** https://host:port */
  readonly server: string;
  readonly ca: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  /** The kubeconfig the access came from (for messages). */
  readonly source: string;
}

/** An answer of the API server with a status of 300 or more. */
export class KubeError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(message);
  }
}

export interface Answer<T> {
  readonly body: T;
  /** The `Warning` headers, text only (e.g. Pod Security's "would violate PodSecurity …"). */
  readonly warnings: readonly string[];
}

/** Plural resource names of the kinds datomspod renders or checks (and its lab's tests use), by apiVersion/kind. */
const RESOURCES: Readonly<Record<string, { plural: string; namespaced: boolean }>> = {
  "v1/Namespace": { plural: "namespaces", namespaced: false },
  "v1/Node": { plural: "nodes", namespaced: false },
  "v1/PersistentVolume": { plural: "persistentvolumes", namespaced: false },
  "v1/PersistentVolumeClaim": { plural: "persistentvolumeclaims", namespaced: true },
  "v1/Pod": { plural: "pods", namespaced: true },
  "v1/ConfigMap": { plural: "configmaps", namespaced: true },
  "v1/Event": { plural: "events", namespaced: true },
  "v1/Secret": { plural: "secrets", namespaced: true },
  "v1/ServiceAccount": { plural: "serviceaccounts", namespaced: true },
  "v1/ResourceQuota": { plural: "resourcequotas", namespaced: true },
  "v1/LimitRange": { plural: "limitranges", namespaced: true },
  "batch/v1/Job": { plural: "jobs", namespaced: true },
  "apps/v1/Deployment": { plural: "deployments", namespaced: true },
  "networking.k8s.io/v1/NetworkPolicy": { plural: "networkpolicies", namespaced: true },
  "storage.k8s.io/v1/StorageClass": { plural: "storageclasses", namespaced: false },
  "node.k8s.io/v1/RuntimeClass": { plural: "runtimeclasses", namespaced: false },
  "rbac.authorization.k8s.io/v1/Role": { plural: "roles", namespaced: true },
  "rbac.authorization.k8s.io/v1/RoleBinding": { plural: "rolebindings", namespaced: true },
  "rbac.authorization.k8s.io/v1/ClusterRole": { plural: "clusterroles", namespaced: false },
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": { plural: "clusterrolebindings", namespaced: false },
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy": { plural: "validatingadmissionpolicies", namespaced: false },
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding": { plural: "validatingadmissionpolicybindings", namespaced: false },
  "argoproj.io/v1alpha1/Application": { plural: "applications", namespaced: true },
  "argoproj.io/v1alpha1/ApplicationSet": { plural: "applicationsets", namespaced: true },
  "argoproj.io/v1alpha1/AppProject": { plural: "appprojects", namespaced: true },
  "apiextensions.k8s.io/v1/CustomResourceDefinition": { plural: "customresourcedefinitions", namespaced: false },
  "coordination.k8s.io/v1/Lease": { plural: "leases", namespaced: true },
};

/** Whether this client knows the kind's API path. */
export function knownKind(apiVersion: string, kind: string): boolean {
  return RESOURCES[`${apiVersion}/${kind}`] !== undefined;
}

/** The API path of a collection (`name` undefined) or of one object. */
export function resourcePath(apiVersion: string, kind: string, namespace: string | undefined, name?: string): string {
  const resource = RESOURCES[`${apiVersion}/${kind}`];
  if (resource === undefined) throw new Error(`generator/cluster/kube.ts: no API path for ${apiVersion} ${kind}`);
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = resource.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? "default")}` : "";
  return `${base}${ns}/${resource.plural}${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
}

/** The kubeconfig to use: --kubeconfig, else $KUBECONFIG (its first file), else ~/.kube/config. */
export function kubeconfigPath(given: string | undefined, env: NodeJS.ProcessEnv, home: string, cwd: string): string {
  if (given !== undefined) return resolve(cwd, given);
  const fromEnv = (env["KUBECONFIG"] ?? "").split(":").find((part) => part !== "");
  return fromEnv !== undefined ? resolve(cwd, fromEnv) : resolve(home, ".kube", "config");
}

function bytes(file: string, base: string, path: string, data: unknown, at: unknown): Buffer | undefined {
  if (typeof data === "string" && data !== "") return Buffer.from(data, "base64");
  if (typeof at === "string" && at !== "") {
    const target = isAbsolute(at) ? at : resolve(base, at);
    try {
      return readFileSync(target);
    } catch (error) {
      throw InputError.of({ file, path, message: `cannot read ${target}: ${(error as Error).message}`, fix: "point it at a readable file" });
    }
  }
  return undefined;
}

type Entry = Record<string, unknown>;

function named(list: unknown, name: string, key: string): Entry | undefined {
  if (!Array.isArray(list)) return undefined;
  const found = (list as Entry[]).find((item) => item !== null && typeof item === "object" && item["name"] === name);
  const value = found?.[key];
  return value !== null && typeof value === "object" ? (value as Entry) : undefined;
}

/** Reads the current context's server and credentials from a kubeconfig file. */
export function readKubeconfig(file: string): KubeAccess {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw InputError.of({
      file,
      path: "$",
      message: `cannot read the kubeconfig: ${(error as Error).message}`,
      fix: "give --kubeconfig FILE or set KUBECONFIG",
    });
  }
  let config: Entry;
  try {
    config = parse(text, { maxAliasCount: 0 }) as Entry;
  } catch (error) {
    throw InputError.of({ file, path: "$", message: `not YAML: ${(error as Error).message.split("\n")[0]}`, fix: "give a kubeconfig file" });
  }
  if (config === null || typeof config !== "object") throw InputError.of({ file, path: "$", message: "is not a kubeconfig", fix: "give a kubeconfig file" });
  const current = config["current-context"];
  if (typeof current !== "string" || current === "")
    throw InputError.of({ file, path: "$.current-context", message: "is not set", fix: "kubectl config use-context NAME" });
  const context = named(config["contexts"], current, "context");
  if (context === undefined)
    throw InputError.of({ file, path: "$.contexts", message: `has no context ${JSON.stringify(current)}`, fix: "set current-context to a listed context" });
  const cluster = named(config["clusters"], String(context["cluster"]), "cluster");
  if (cluster === undefined)
    throw InputError.of({ file, path: "$.clusters", message: `has no cluster ${JSON.stringify(context["cluster"])}`, fix: "add the cluster" });
  const user = named(config["users"], String(context["user"]), "user") ?? {};
  const base = dirname(file);
  const server = cluster["server"];
  if (typeof server !== "string" || !server.startsWith("https://"))
    throw InputError.of({ file, path: "$.clusters[].cluster.server", message: `is ${JSON.stringify(server)}`, fix: "use the API server's https:// address" });
  if (cluster["insecure-skip-tls-verify"] === true) {
    throw InputError.of({
      file,
      path: "$.clusters[].cluster.insecure-skip-tls-verify",
      message: "turns off verification of the API server",
      fix: "give the cluster's CA (certificate-authority or certificate-authority-data)",
    });
  }
  const ca = bytes(file, base, "$.clusters[].cluster.certificate-authority", cluster["certificate-authority-data"], cluster["certificate-authority"]);
  if (ca === undefined) {
    throw InputError.of({
      file,
      path: "$.clusters[].cluster",
      message: "names no certificate authority",
      fix: "set certificate-authority or certificate-authority-data: the API server is verified against it",
    });
  }
  for (const unsupported of ["exec", "auth-provider", "username", "password"]) {
    if (user[unsupported] !== undefined) {
      throw InputError.of({
        file,
        path: `$.users[].user.${unsupported}`,
        message: "is not supported by datomspod's client",
        fix: "use a client certificate and key or a token (e.g. a ServiceAccount token) in this kubeconfig",
      });
    }
  }
  const cert = bytes(file, base, "$.users[].user.client-certificate", user["client-certificate-data"], user["client-certificate"]);
  const key = bytes(file, base, "$.users[].user.client-key", user["client-key-data"], user["client-key"]);
  const tokenFile = bytes(file, base, "$.users[].user.tokenFile", undefined, user["tokenFile"]);
  const token = typeof user["token"] === "string" ? user["token"] : tokenFile?.toString("utf8").trim();
  if ((cert === undefined) !== (key === undefined))
    throw InputError.of({
      file,
      path: "$.users[].user",
      message: "has a client certificate without its key (or a key without a certificate)",
      fix: "give both",
    });
  if (cert === undefined && (token === undefined || token === "")) {
    throw InputError.of({ file, path: "$.users[].user", message: "has no credentials", fix: "give a client certificate and key, or a token" });
  }
  return {
    server,
    ca,
    source: file,
    ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
    ...(token !== undefined && token !== "" ? { token } : {}),
  };
}

export class Kube {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(private readonly access: KubeAccess) {
    this.url = new URL(access.server);
    this.agent = new Agent({ ca: access.ca, ...(access.cert !== undefined ? { cert: access.cert, key: access.key } : {}), keepAlive: true, maxSockets: 4 });
  }

  get server(): string {
    return this.access.server;
  }

  close(): void {
    this.agent.destroy();
  }

  /** One request; resolves with the parsed JSON answer and its warnings, throws KubeError on a status >= 300 and ServiceError when the server cannot be reached. */
  call<T = unknown>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<Answer<T>> {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    return new Promise((resolvePromise, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method,
          path,
          agent: this.agent,
          timeout: 30_000,
          headers: {
            accept: "application/json",
            ...(this.access.token !== undefined ? { authorization: `Bearer ${this.access.token}` } : {}),
            ...(payload === undefined ? {} : { "content-type": contentType, "content-length": payload.length }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            let parsed: unknown;
            try {
              parsed = text === "" ? undefined : JSON.parse(text);
            } catch {
              parsed = text;
            }
            if (status >= 300) {
              const problem = typeof parsed === "object" && parsed !== null ? (parsed as { message?: unknown; reason?: unknown }) : {};
              const message = typeof problem.message === "string" ? problem.message : text.slice(0, 500);
              const reason = typeof problem.reason === "string" ? problem.reason : "";
              reject(new KubeError(message, status, reason));
              return;
            }
            const header = res.headers["warning"] as string | string[] | undefined;
            const warnings = (Array.isArray(header) ? header : header === undefined ? [] : [header]).map((w) =>
              w.replace(/^\d{3} \S+ "?/, "").replace(/"$/, ""),
            );
            resolvePromise({ body: parsed as T, warnings });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
      req.on("error", (error) => {
        const issue = {
          file: this.access.source,
          path: "$.clusters[].cluster.server",
          message: `the API server ${this.access.server} cannot be reached: ${error.message}`,
          fix: "check the address, the network and the CA of the kubeconfig",
        };
        reject(new ServiceError(formatIssue(issue), [issue]));
      });
      req.end(payload);
    });
  }

  async get<T = unknown>(path: string): Promise<T> {
    return (await this.call<T>("GET", path)).body;
  }

  /** The object, or undefined when the API server answers 404. */
  async find<T = unknown>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return undefined;
      throw error;
    }
  }

  async list<T = unknown>(path: string, query: Record<string, string> = {}): Promise<T[]> {
    const search = new URLSearchParams(query).toString();
    return (await this.get<{ items: T[] }>(search === "" ? path : `${path}?${search}`)).items;
  }

  /** Creates `object` (POST to its collection). */
  async create<T extends KubeObject>(object: T): Promise<T> {
    const path = resourcePath(object.apiVersion ?? "", object.kind ?? "", object.metadata.namespace);
    return (await this.call<T>("POST", path, object)).body;
  }

  /** Server-side apply as field manager `manager` (conflicts forced); dryRun=All when `dryRun`. */
  apply<T extends KubeObject>(object: T, manager: string, dryRun = false): Promise<Answer<T>> {
    const path = resourcePath(object.apiVersion ?? "", object.kind ?? "", object.metadata.namespace, object.metadata.name);
    const query = `fieldManager=${encodeURIComponent(manager)}&force=true${dryRun ? "&dryRun=All" : ""}`;
    return this.call<T>("PATCH", `${path}?${query}`, object, "application/apply-patch+yaml");
  }

  /** Deletes; resolves false when it was not there. */
  async delete(path: string, propagationPolicy: "Background" | "Foreground" | "Orphan" = "Background"): Promise<boolean> {
    try {
      await this.call("DELETE", path, { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy });
      return true;
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return false;
      throw error;
    }
  }
}
