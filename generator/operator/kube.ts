/**
 * The operator's one seam to the Kubernetes API: HTTPS with the credentials of a kubeconfig (read by
 * generator/cluster/kube.ts's readKubeconfig, as `cluster doctor` reads it) or of the pod's service account, list, get and watch (from a
 * resourceVersion, newline-delimited JSON events). Every answer keeps the API server's `Date`
 * header: the deletion evidence records the time as the cluster's own server saw it.
 */

import { existsSync, readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { ServiceError } from "../errors.js";

export interface KubeAccess {
  /** https://host:port */
  readonly server: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  /** Where the access came from, for messages. */
  readonly source: string;
}

export interface KubeAnswer<T> {
  readonly status: number;
  readonly body: T;
  /** The API server's clock (RFC 7231 Date header, to the second), as ISO 8601. */
  readonly date: string | undefined;
}

export interface WatchEvent<T> {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: T;
}

export interface KubeMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly deletionTimestamp?: string;
  readonly creationTimestamp?: string;
}

export interface KubeObject<Spec = unknown, Status = unknown> {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: KubeMeta;
  readonly spec?: Spec;
  readonly status?: Status;
}

export interface JobSpec {
  readonly template?: {
    readonly spec?: { readonly volumes?: readonly { readonly name: string; readonly persistentVolumeClaim?: { readonly claimName?: string } }[] };
  };
}
export interface JobStatus {
  readonly conditions?: readonly { readonly type: string; readonly status: string; readonly lastTransitionTime?: string }[];
  readonly completionTime?: string;
}
export type JobObject = KubeObject<JobSpec, JobStatus>;
export type ClaimObject = KubeObject<{ readonly volumeName?: string }, { readonly phase?: string }>;
export type VolumeObject = KubeObject<{
  readonly hostPath?: { readonly path?: string };
  readonly local?: { readonly path?: string };
  readonly claimRef?: { readonly uid?: string };
}>;

const IN_CLUSTER = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The access of the pod's service account (the operator's Deployment). */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env): KubeAccess | undefined {
  const host = env["KUBERNETES_SERVICE_HOST"];
  if (host === undefined || !existsSync(`${IN_CLUSTER}/token`)) return undefined;
  const port = env["KUBERNETES_SERVICE_PORT"] ?? "443";
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca: readFileSync(`${IN_CLUSTER}/ca.crt`),
    token: readFileSync(`${IN_CLUSTER}/token`, "utf8").trim(),
    source: IN_CLUSTER,
  };
}

export class KubeClient {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(private readonly access: KubeAccess) {
    this.url = new URL(access.server);
    this.agent = new Agent({
      ...(access.ca === undefined ? {} : { ca: access.ca }),
      ...(access.cert === undefined ? {} : { cert: access.cert }),
      ...(access.key === undefined ? {} : { key: access.key }),
      keepAlive: true,
      maxSockets: 4,
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private headers(): Record<string, string> {
    return { accept: "application/json", ...(this.access.token === undefined ? {} : { authorization: `Bearer ${this.access.token}` }) };
  }

  /** One GET; a status of 404 resolves (callers ask whether something is gone), others >= 300 throw. */
  get<T = KubeObject>(path: string): Promise<KubeAnswer<T | undefined>> {
    return new Promise((resolvePromise, reject) => {
      const req = request(
        { host: this.url.hostname, port: this.url.port, method: "GET", path, agent: this.agent, timeout: 30_000, headers: this.headers() },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8");
            const date = typeof res.headers.date === "string" ? new Date(res.headers.date).toISOString().replace(".000Z", "Z") : undefined;
            if (status === 404) return resolvePromise({ status, body: undefined, date });
            if (status >= 300)
              return reject(
                new ServiceError(`the API server answered GET ${path} with ${status}: ${text.slice(0, 300)}`, [apiIssue(this.access, path, status)]),
              );
            try {
              resolvePromise({ status, body: JSON.parse(text) as T, date });
            } catch {
              reject(new ServiceError(`the API server's answer to GET ${path} is not JSON`));
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new ServiceError(`GET ${path}: no answer from ${this.access.server} within 30 s`)));
      req.on("error", (error) => reject(error instanceof ServiceError ? error : new ServiceError(`GET ${path} on ${this.access.server}: ${error.message}`)));
      req.end();
    });
  }

  /** The items of a collection and the list's resourceVersion (where a watch starts). */
  async list<T = KubeObject>(path: string, query: Record<string, string> = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const search = new URLSearchParams(query).toString();
    const answer = await this.get<{ items: T[]; metadata: { resourceVersion: string } }>(search === "" ? path : `${path}?${search}`);
    if (answer.body === undefined) throw new ServiceError(`the API server has no ${path}`);
    return { items: answer.body.items, resourceVersion: answer.body.metadata.resourceVersion };
  }

  /**
   * Watches a collection from `resourceVersion`, calling `onEvent` in order (awaited); resolves when
   * the server ends the stream (a timeout: watch again from the last version seen) or `signal` aborts.
   * Resolves with the last resourceVersion seen; rejects with status 410 when the version is too old.
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
        { host: this.url.hostname, port: this.url.port, method: "GET", path: `${path}?${search}`, agent: this.agent, headers: this.headers(), signal },
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
}

export class WatchError extends ServiceError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

function apiIssue(access: KubeAccess, path: string, status: number): { file: string; path: string; message: string; fix: string } {
  const fix =
    status === 401
      ? "the credentials were refused: check the kubeconfig's user or the service account token"
      : status === 403
        ? "grant the operator's role what it needs (clusters/<cluster>/operator/clusterrole-*.yaml)"
        : "check the API server";
  return { file: access.source, path: "$", message: `GET ${path} answered ${status}`, fix };
}
