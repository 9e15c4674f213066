// A small client for the test control plane's API (client-certificate auth, as
// its kubeconfig says): enough to check what `pulumi up` left in the cluster.
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { parse } from "yaml";

interface Kubeconfig {
  clusters: Array<{ name: string; cluster: { server: string; "certificate-authority": string } }>;
  users: Array<{ name: string; user: { "client-certificate": string; "client-key": string } }>;
  contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
  "current-context": string;
}

export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface KubeObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export class KubeApi {
  private readonly server: URL;
  private readonly tls: { ca: Buffer; cert: Buffer; key: Buffer };

  constructor(kubeconfigPath: string) {
    const config = parse(readFileSync(kubeconfigPath, "utf8")) as Kubeconfig;
    const context = config.contexts.find((c) => c.name === config["current-context"])?.context;
    const cluster = config.clusters.find((c) => c.name === context?.cluster)?.cluster;
    const user = config.users.find((u) => u.name === context?.user)?.user;
    if (!cluster || !user) throw new Error(`${kubeconfigPath}: no cluster or user for context "${config["current-context"]}"`);
    this.server = new URL(cluster.server);
    this.tls = {
      ca: readFileSync(cluster["certificate-authority"]),
      cert: readFileSync(user["client-certificate"]),
      key: readFileSync(user["client-key"]),
    };
  }

  send(method: string, path: string, body?: unknown): Promise<KubeResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.server.hostname,
          port: this.server.port,
          method,
          path,
          ...this.tls,
          headers: { accept: "application/json", ...(payload ? { "content-type": "application/json" } : {}) },
          timeout: 15_000,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          // Most answers are JSON; a pod's log is plain text.
          const json = (res.headers["content-type"] ?? "").includes("json");
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text === "" ? undefined : json ? JSON.parse(text) : text }));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 15 s`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  async get<T = KubeObject>(path: string): Promise<T> {
    const res = await this.send("GET", path);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as T;
  }

  async list(path: string): Promise<KubeObject[]> {
    return (await this.get<{ items: KubeObject[] }>(path)).items;
  }
}
