// What a running local mesh tells its users: every URL, written to endpoints.json
// (the API examples and tools read it) after start-up and after every scale.
import { writeFileSync } from "node:fs";
import type { Addressing } from "../addressing.js";
import { DATA_STORES, EDGE_PROXY, PORTS, sidecarName, type DataStoreName, type MeshModel, type ServiceName } from "../model.js";
import { adminUrl, envoyProcessName } from "./envoy.js";
import { DNS_PORT, type LocalLayout } from "./layout.js";

export const ENDPOINTS_FILE = "endpoints.json";

export interface ReplicaEndpoints {
  readonly service: ServiceName;
  readonly replica: number;
  /** The pod's address: app on PORTS.app, sidecar ingress on PORTS.sidecarIngress. */
  readonly pod: string;
  readonly app: string;
  /** The sidecar's ingress: mutual TLS, a mesh certificate of an allowed caller required. */
  readonly sidecar: string;
  readonly admin: string;
}

export interface LocalMeshEndpoints {
  readonly gateway: string;
  /** The edge's HTTPS listener: its certificate names the loopback and is issued by the run's CA. */
  readonly gatewayHttps: string;
  /** The run's CA certificate (PEM file): what clients of gatewayHttps trust. */
  readonly caCertificateFile: string;
  /** Every Envoy's admin interface by process name (`edge-0`, `catalog-sidecar-1`, ...). */
  readonly admin: Readonly<Record<string, string>>;
  readonly prometheus: string;
  readonly zipkin: string;
  readonly dns: string;
  readonly replicas: readonly ReplicaEndpoints[];
  readonly dataStores: Readonly<Record<DataStoreName, string>>;
  readonly stateDir: string;
  readonly pid: number;
}

export interface EndpointSources {
  readonly model: MeshModel;
  readonly activeServices: ReadonlySet<ServiceName>;
  readonly layout: LocalLayout;
  readonly addressing: Addressing;
  readonly prometheusUrl: string;
  readonly dataStoreHost: (store: DataStoreName) => string;
  readonly vhost: string;
  readonly stateDir: string;
  readonly caCertificateFile: string;
}

export function localEndpoints(from: EndpointSources): LocalMeshEndpoints {
  const { addressing, layout } = from;
  const admin: Record<string, string> = { [envoyProcessName(EDGE_PROXY, 0)]: adminUrl(addressing, EDGE_PROXY, 0) };
  const replicas: ReplicaEndpoints[] = [];
  for (const s of from.model.services.filter((spec) => from.activeServices.has(spec.name))) {
    for (let r = 0; r < s.replicas; r++) {
      const proxy = sidecarName(s.name);
      admin[envoyProcessName(proxy, r)] = adminUrl(addressing, proxy, r);
      const p = layout.servicePod(s.name, r);
      replicas.push({
        service: s.name,
        replica: r,
        pod: p,
        app: `http://${p}:${PORTS.app}`,
        sidecar: `https://${p}:${PORTS.sidecarIngress}`,
        admin: adminUrl(addressing, proxy, r),
      });
    }
  }
  return {
    gateway: `http://${layout.edge}:${PORTS.edgeHttp}`,
    gatewayHttps: `https://${layout.edge}:${PORTS.edgeHttps}`,
    caCertificateFile: from.caCertificateFile,
    admin,
    prometheus: from.prometheusUrl,
    zipkin: `http://${layout.zipkin}:${PORTS.zipkin}`,
    dns: `${layout.dns}:${DNS_PORT}`,
    replicas,
    dataStores: {
      postgres: `${from.dataStoreHost("postgres")}:${DATA_STORES.postgres.port}`,
      redis: `${from.dataStoreHost("redis")}:${DATA_STORES.redis.port}`,
      rabbitmq: `${from.dataStoreHost("rabbitmq")}:${DATA_STORES.rabbitmq.port} (vhost ${from.vhost})`,
    },
    stateDir: from.stateDir,
    pid: process.pid,
  };
}

export function writeEndpointsFile(file: string, endpoints: LocalMeshEndpoints): void {
  writeFileSync(file, `${JSON.stringify(endpoints, null, 2)}\n`);
}
