/**
 * The one seam to a Kubernetes API server: a small client over node:https that authenticates as a
 * kubeconfig says (client certificate and key, or a bearer token) or as the pod's service account
 * (the operator's Deployment), with no kubectl at run time. get, list, create, server-side apply
 * (optionally as a dry run), delete, and watch from a resourceVersion (newline-delimited JSON
 * events); each answer's warnings (Pod Security's "would violate …") are kept, never dropped, and
 * so is the API server's `Date` header: the operator's deletion evidence records the time as the
 * cluster's own server saw it.
 *
 * Supported kubeconfig entries: clusters[].cluster.server, certificate-authority(-data);
 * users[].user.client-certificate(-data), client-key(-data), token, tokenFile. Anything else that
 * authenticates (exec plugins, auth providers, username/password) or skips verification
 * (insecure-skip-tls-verify) is refused with the file and field, so the client never talks to a
 * server it cannot verify.
 */

import { existsSync, readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse } from "yaml";
import { InputError, ServiceError, formatIssue } from "../errors.js";

export interface KubeMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: readonly { readonly kind?: string; readonly name?: string; readonly uid?: string; readonly controller?: boolean }[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeMeta;
  [key: string]: unknown;
}

/** A pod spec's volumes, as far as datomspod reads them. */
export interface PodVolumes {
  readonly volumes?: readonly { readonly name: string; readonly persistentVolumeClaim?: { readonly claimName?: string } }[];
}
export type JobObject = KubeObject & {
  readonly spec?: { readonly template?: { readonly spec?: PodVolumes } };
  readonly status?: {
    readonly conditions?: readonly { readonly type: string; readonly status: string; readonly lastTransitionTime?: string }[];
    readonly completionTime?: string;
  };
};
export type PodObject = KubeObject & { readonly spec?: PodVolumes };
export type ClaimObject = KubeObject & { readonly spec?: { readonly volumeName?: string }; readonly status?: { readonly phase?: string } };
export type VolumeObject = KubeObject & {
  readonly spec?: {
    readonly hostPath?: { readonly path?: string };
    readonly local?: { readonly path?: string };
    readonly claimRef?: { readonly uid?: string };
  };
};

export interface WatchEvent<T> {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: T;
}

export interface KubeAccess {
  /** https://host:port */
  readonly server: string;
  readonly ca: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  /** The kubeconfig (or service-account folder) the access came from (for messages). */
  readonly source: string;
}

/** An answer of the API server with a status of 300 or more. */
export class KubeError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    /** The API server's clock when it answered (ISO 8601, to the second). */
    readonly date?: string,
  ) {
    super(message);
  }
}

/** A watch that ended with an error status (410: the resourceVersion is too old, relist). */
export class WatchError extends ServiceError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface Answer<T> {
  readonly body: T;
  /** The `Warning` headers, text only (e.g. Pod Security's "would violate PodSecurity …"). */
  readonly warnings: readonly string[];
  /** The API server's clock (RFC 7231 Date header, to the second), as ISO 8601. */
  readonly date: string | undefined;
}

const IN_CLUSTER = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The access of the pod's service account (the operator's Deployment), or undefined outside a pod. */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env, folder = IN_CLUSTER): KubeAccess | undefined {
  const host = env["KUBERNETES_SERVICE_HOST"];
  if (host === undefined || !existsSync(`${folder}/token`)) return undefined;
  const port = env["KUBERNETES_SERVICE_PORT"] ?? "443";
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca: readFileSync(`${folder}/ca.crt`),
    token: readFileSync(`${folder}/token`, "utf8").trim(),
    source: folder,
  };
}

function serverDate(header: unknown): string | undefined {
  return typeof header === "string" ? new Date(header).toISOString().replace(".000Z", "Z") : undefined;
}

/** The issue of an answer >= 300 on a read, with the fix for the usual causes. */
function apiIssue(access: KubeAccess, path: string, status: number, message: string): { file: string; path: string; message: string; fix: string } {
  const fix =
    status === 401
      ? "the credentials were refused: check the kubeconfig's user or the service account token"
      : status === 403
        ? "grant the role what it needs (for the operator: clusters/<cluster>/operator/clusterrole.yaml)"
        : "check the API server";
  return { file: access.source, path: "$", message: `GET ${path} answered ${status}: ${message.slice(0, 300)}`, fix };
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
            const date = serverDate(res.headers.date);
            if (status >= 300) {
              const problem = typeof parsed === "object" && parsed !== null ? (parsed as { message?: unknown; reason?: unknown }) : {};
              const message = typeof problem.message === "string" ? problem.message : text.slice(0, 500);
              const reason = typeof problem.reason === "string" ? problem.reason : "";
              reject(new KubeError(message, status, reason, date));
              return;
            }
            const header = res.headers["warning"] as string | string[] | undefined;
            const warnings = (Array.isArray(header) ? header : header === undefined ? [] : [header]).map((w) =>
              w.replace(/^\d{3} \S+ "?/, "").replace(/"$/, ""),
            );
            resolvePromise({ body: parsed as T, warnings, date });
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
    return (await this.listFrom<T>(path, query)).items;
  }

  /**
   * A read for a decision: the object (undefined when the API server answers 404: callers ask
   * whether something is gone) with the API server's Date; any other answer >= 300 is a
   * ServiceError naming the credentials' source and the fix.
   */
  async read<T = KubeObject>(path: string): Promise<{ readonly body: T | undefined; readonly date: string | undefined }> {
    try {
      const answer = await this.call<T>("GET", path);
      return { body: answer.body, date: answer.date };
    } catch (error) {
      if (!(error instanceof KubeError)) throw error;
      if (error.status === 404) return { body: undefined, date: error.date };
      const issue = apiIssue(this.access, path, error.status, error.message);
      throw new ServiceError(`the API server answered GET ${path} with ${error.status}: ${error.message.slice(0, 300)}`, [issue]);
    }
  }

  /** The items of a collection and the list's resourceVersion (where a watch starts). */
  async listFrom<T = KubeObject>(path: string, query: Record<string, string> = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const search = new URLSearchParams(query).toString();
    const answer = await this.read<{ items: T[]; metadata: { resourceVersion: string } }>(search === "" ? path : `${path}?${search}`);
    if (answer.body === undefined) throw new ServiceError(`the API server has no ${path}`);
    return { items: answer.body.items, resourceVersion: answer.body.metadata.resourceVersion };
  }

  /**
   * Watches a collection from `resourceVersion`, calling `onEvent` in order (awaited); resolves when
   * the server ends the stream (a timeout: watch again from the last version seen) or `signal` aborts.
   * Resolves with the last resourceVersion seen; rejects with a WatchError of status 410 when the
   * version is too old (relist, then watch from the list's version).
   */
  watch<T extends KubeObject>(
    path: string,
    query: Record<string, string>,
    resourceVersion: string,
    onEvent: (event: WatchEvent<T>) => Promise<void>,
    signal: AbortSignal,
  ): Promise<string> {
    const search = new URLSearchParams({ ...query, watch: "1", resourceVersion, allowWatchBookmarks: "true", timeoutSeconds: "240" }).toString();
    let last = resourceVersion;
    return new Promise((resolvePromise, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method: "GET",
          path: `${path}?${search}`,
          agent: this.agent,
          headers: { accept: "application/json", ...(this.access.token !== undefined ? { authorization: `Bearer ${this.access.token}` } : {}) },
          signal,
        },
        (res) => {
          if ((res.statusCode ?? 0) >= 300) {
            res.resume();
            reject(new WatchError(`watch ${path}: ${res.statusCode}`, res.statusCode ?? 0));
            return;
          }
          let buffered = "";
          let chain = Promise.resolve();
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            buffered += chunk;
            let newline = buffered.indexOf("\n");
            while (newline >= 0) {
              const line = buffered.slice(0, newline).trim();
              buffered = buffered.slice(newline + 1);
              newline = buffered.indexOf("\n");
              if (line === "") continue;
              const event = JSON.parse(line) as WatchEvent<T>;
              chain = chain.then(async () => {
                if (event.type === "ERROR")
                  throw new WatchError(`watch ${path}: ${JSON.stringify(event.object).slice(0, 200)}`, Number((event.object as { code?: unknown }).code ?? 0));
                last = event.object.metadata.resourceVersion ?? last;
                if (event.type !== "BOOKMARK") await onEvent(event);
              });
              chain.catch(() => req.destroy());
            }
          });
          res.on("end", () => {
            void chain.then(() => resolvePromise(last), reject);
          });
          res.on("error", (error) => {
            if (signal.aborted) void chain.then(() => resolvePromise(last), reject);
            else reject(error);
          });
        },
      );
      req.on("error", (error) =>
        signal.aborted ? resolvePromise(last) : reject(new ServiceError(`watch ${path} on ${this.access.server}: ${error.message}`)),
      );
      req.end();
    });
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
