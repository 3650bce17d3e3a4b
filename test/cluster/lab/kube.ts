/**
 * A small client of the lab's API server over HTTPS with the admin's client certificate (node:https,
 * no kubectl process per call, so polling stays cheap on 2 cores): get, list, server-side apply,
 * patch, delete, and the paths of the kinds the lab and its tests use.
 */

import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; [key: string]: any };
  [key: string]: any;
}

export interface KubeAccess {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly caCert: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export class KubeError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** Plural resource names of the kinds used here, by apiVersion/kind. */
const RESOURCES: Readonly<Record<string, { plural: string; namespaced: boolean }>> = {
  "v1/Namespace": { plural: "namespaces", namespaced: false },
  "v1/Node": { plural: "nodes", namespaced: false },
  "v1/Pod": { plural: "pods", namespaced: true },
  "v1/ConfigMap": { plural: "configmaps", namespaced: true },
  "v1/Secret": { plural: "secrets", namespaced: true },
  "v1/ServiceAccount": { plural: "serviceaccounts", namespaced: true },
  "v1/Event": { plural: "events", namespaced: true },
  "batch/v1/Job": { plural: "jobs", namespaced: true },
  "apps/v1/Deployment": { plural: "deployments", namespaced: true },
  "networking.k8s.io/v1/NetworkPolicy": { plural: "networkpolicies", namespaced: true },
  "apiextensions.k8s.io/v1/CustomResourceDefinition": { plural: "customresourcedefinitions", namespaced: false },
  "argoproj.io/v1alpha1/Application": { plural: "applications", namespaced: true },
  "argoproj.io/v1alpha1/ApplicationSet": { plural: "applicationsets", namespaced: true },
  "argoproj.io/v1alpha1/AppProject": { plural: "appprojects", namespaced: true },
  "coordination.k8s.io/v1/Lease": { plural: "leases", namespaced: true },
};

/** The API path of a collection (`name` undefined) or of one object. */
export function resourcePath(apiVersion: string, kind: string, namespace: string | undefined, name?: string): string {
  const resource = RESOURCES[`${apiVersion}/${kind}`];
  if (resource === undefined) throw new Error(`kube.ts: add ${apiVersion}/${kind} to RESOURCES`);
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = resource.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? "default")}` : "";
  return `${base}${ns}/${resource.plural}${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
}

export class Kube {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(access: KubeAccess) {
    this.url = new URL(access.server);
    this.agent = new Agent({
      ca: readFileSync(access.caCert),
      cert: readFileSync(access.clientCert),
      key: readFileSync(access.clientKey),
      keepAlive: true,
      maxSockets: 8,
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** One request; resolves with the parsed JSON answer, throws KubeError on a status >= 300. */
  request<T = any>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    return new Promise((resolve, reject) => {
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
            ...(payload === undefined ? {} : { "content-type": contentType, "content-length": payload.length }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            let parsed: any;
            try {
              parsed = text === "" ? undefined : JSON.parse(text);
            } catch {
              parsed = text;
            }
            if (status >= 300) {
              const message = typeof parsed === "object" && parsed !== null && typeof parsed.message === "string" ? parsed.message : text.slice(0, 500);
              const reason = typeof parsed === "object" && parsed !== null && typeof parsed.reason === "string" ? parsed.reason : "";
              reject(new KubeError(`${method} ${path}: ${status} ${message}`, status, reason));
              return;
            }
            resolve(parsed as T);
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  get<T = any>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  /** The object, or undefined when the API server answers 404. */
  async find<T = any>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return undefined;
      throw error;
    }
  }

  async list<T = any>(path: string, query: Record<string, string> = {}): Promise<T[]> {
    const search = new URLSearchParams(query).toString();
    const answer = await this.get<{ items: T[] }>(search === "" ? path : `${path}?${search}`);
    return answer.items;
  }

  /** Server-side apply (field manager datomspod-lab, conflicts forced). */
  apply<T extends KubeObject>(object: T): Promise<T> {
    if (object.apiVersion === undefined || object.kind === undefined) throw new Error("apply: apiVersion and kind are required");
    const path = resourcePath(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name);
    return this.request<T>("PATCH", `${path}?fieldManager=datomspod-lab&force=true`, object, "application/apply-patch+yaml");
  }

  /** JSON merge patch. */
  patch<T = any>(path: string, patch: unknown): Promise<T> {
    return this.request<T>("PATCH", path, patch, "application/merge-patch+json");
  }

  /** Deletes; resolves false when it was not there. Background propagation unless said otherwise. */
  async delete(path: string, propagationPolicy: "Background" | "Foreground" | "Orphan" = "Background"): Promise<boolean> {
    try {
      await this.request("DELETE", path, { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy });
      return true;
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return false;
      throw error;
    }
  }
}

/** The status of the condition `type` ("True", "False", …) of an object's status.conditions. */
export function conditionStatus(object: { status?: { conditions?: { type: string; status: string }[] } } | undefined, type: string): string | undefined {
  return object?.status?.conditions?.find((condition) => condition.type === type)?.status;
}
