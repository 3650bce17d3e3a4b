/**
 * The lab's API client: datomspod's own client (generator/cluster/kube.ts, what `cluster doctor`
 * and the operator use) with the admin's client certificate from the lab's PKI, and the typing and
 * defaults the tests want: answers as `any`, server-side apply as field manager datomspod-lab,
 * merge patches.
 */

import { readFileSync } from "node:fs";
import { Kube as ClusterKube, KubeError, resourcePath } from "../../../generator/cluster/kube.js";

export { KubeError, resourcePath };

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

export class Kube {
  private readonly client: ClusterKube;

  constructor(access: KubeAccess) {
    this.client = new ClusterKube({
      server: access.server,
      ca: readFileSync(access.caCert),
      cert: readFileSync(access.clientCert),
      key: readFileSync(access.clientKey),
      source: "the lab's admin kubeconfig",
    });
  }

  close(): void {
    this.client.close();
  }

  /** One request; the parsed answer. KubeError on a status of 300 or more. */
  async request<T = any>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    return (await this.client.call<T>(method, path, body, contentType)).body;
  }

  get<T = any>(path: string): Promise<T> {
    return this.client.get<T>(path);
  }

  /** The object, or undefined when the API server answers 404. */
  find<T = any>(path: string): Promise<T | undefined> {
    return this.client.find<T>(path);
  }

  list<T = any>(path: string, query: Record<string, string> = {}): Promise<T[]> {
    return this.client.list<T>(path, query);
  }

  /** Server-side apply (field manager datomspod-lab, conflicts forced). */
  async apply<T extends KubeObject>(object: T): Promise<T> {
    if (object.apiVersion === undefined || object.kind === undefined) throw new Error("apply: apiVersion and kind are required");
    return (await this.client.apply(object, "datomspod-lab")).body;
  }

  /** JSON merge patch. */
  patch<T = any>(path: string, patch: unknown): Promise<T> {
    return this.request<T>("PATCH", path, patch, "application/merge-patch+json");
  }

  /** Deletes; resolves false when it was not there. Background propagation unless said otherwise. */
  delete(path: string, propagationPolicy: "Background" | "Foreground" | "Orphan" = "Background"): Promise<boolean> {
    return this.client.delete(path, propagationPolicy);
  }
}

/** The status of the condition `type` ("True", "False", …) of an object's status.conditions. */
export function conditionStatus(object: { status?: { conditions?: { type: string; status: string }[] } } | undefined, type: string): string | undefined {
  return object?.status?.conditions?.find((condition) => condition.type === type)?.status;
}
