// The mesh model: the one source of truth for services, routes, dependencies,
// replicas and ports. Generators and targets derive everything from it; nothing
// else spells a port or a service name by hand.
import { spiffeId } from "./pki/index.js";
import { NO_TRAFFIC_POLICY, type TrafficPolicy } from "./traffic.js";

export const SERVICE_NAMES = ["catalog", "cart", "orders", "order-worker"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const DATA_STORE_NAMES = ["postgres", "redis", "rabbitmq"] as const;
export type DataStoreName = (typeof DATA_STORE_NAMES)[number];

/** Ports inside a container, pod or local "pod"; identical on every target. */
export const PORTS = {
  /** The app's HTTP server (API, /healthz, /readyz, /metrics), on the pod's loopback only. */
  app: 3000,
  /** The sidecar's mesh-facing HTTP listener: the only way into an app. */
  sidecarIngress: 10000,
  /** Edge Envoy's public HTTP listener. */
  edgeHttp: 8080,
  /** Edge Envoy's public HTTPS listener (where the target gives the edge an identity). */
  edgeHttps: 8443,
  /** Envoy admin: loopback (or an operator-only address), never the mesh. */
  envoyAdmin: 9901,
  /** Metrics-only listener that serves just /stats/prometheus from admin. */
  envoyMetrics: 9902,
  prometheus: 9090,
  grafana: 3000,
  zipkin: 9411,
} as const;

export interface DataStore {
  readonly name: DataStoreName;
  /** The store's own port, and the port of the sidecar egress listener that fronts it. */
  readonly port: number;
}

export const DATA_STORES: Readonly<Record<DataStoreName, DataStore>> = {
  postgres: { name: "postgres", port: 5432 },
  redis: { name: "redis", port: 6379 },
  rabbitmq: { name: "rabbitmq", port: 5672 },
};

/** A public route at the edge: `prefix` is rewritten to `rewrite` before reaching the service. */
export interface PublicRoute {
  readonly prefix: string;
  readonly rewrite: string;
  /** Whole-request timeout at the edge and the service's ingress. */
  readonly timeoutMs: number;
}

export interface ServiceSpec {
  readonly name: ServiceName;
  /** "api" services serve public routes; a "worker" only exposes health and metrics. */
  readonly kind: "api" | "worker";
  readonly routes: readonly PublicRoute[];
  readonly dataStores: readonly DataStoreName[];
  /** Services this one calls over HTTP through its sidecar's egress listener. */
  readonly calls: readonly ServiceName[];
  /** Sidecar egress port on the pod loopback for calls to this service. */
  readonly egressPort: number;
  readonly replicas: number;
}

/** Where the mesh's workload identities live: `spiffe://<trustDomain>/ns/<namespace>/sa/<workload>`. */
export interface MeshIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
}

export interface MeshModel {
  readonly services: readonly ServiceSpec[];
  readonly dataStores: readonly DataStore[];
  /** Share of requests (0–100 %) the proxies trace when no upstream decided already. */
  readonly traceSamplingPercent: number;
  /** Which requests and connections every proxy writes an access log line for. */
  readonly accessLog: AccessLogMode;
  readonly identity: MeshIdentity;
  readonly gateway: GatewayOptions;
  /** Canary releases, faults and edge rate limits: the dynamic part of every proxy's config. */
  readonly traffic: TrafficPolicy;
}

/** The edge's public listeners. */
export interface GatewayOptions {
  /** Plain HTTP served as it is, or redirected to HTTPS (where the edge has HTTPS). */
  readonly plainHttp: PlainHttp;
  /** The HTTPS port clients use (the host's published port), for redirects. */
  readonly httpsPort: number;
}

export const PLAIN_HTTP_MODES = ["serve", "redirect"] as const;
export type PlainHttp = (typeof PLAIN_HTTP_MODES)[number];

/** Istio's default trust domain, and the one Kubernetes' own DNS suffix suggests. */
export const DEFAULT_TRUST_DOMAIN = "cluster.local";
export const DEFAULT_NAMESPACE = "mesh";

/**
 * Share of requests traced unless a stack says otherwise: 1 %, as Istio samples by
 * default. Tracing is the largest per-request cost measured (docs/benchmarks.md),
 * and under real traffic 1 % still records thousands of traces an hour. 100 is one
 * setting away (mesh:traceSamplingPercent), and a client can have any one request
 * traced by sending `x-b3-sampled: 1`.
 */
export const DEFAULT_TRACE_SAMPLING_PERCENT = 1;

/**
 * Which requests the proxies log: every one, only those that went wrong (answered
 * 4xx or 5xx, or ending with an Envoy response flag: no healthy upstream, a reset,
 * a timeout, a rate limit ...), or none.
 */
export const ACCESS_LOG_MODES = ["all", "errors", "off"] as const;
export type AccessLogMode = (typeof ACCESS_LOG_MODES)[number];

/**
 * Failed requests only, unless a stack says otherwise. A line per request at every
 * hop was the second-largest per-request cost of the hop (docs/benchmarks.md,
 * twelfth run) and writes three lines for each public request; the lines that
 * matter when something goes wrong are still written, and traces and metrics
 * cover the successful traffic. Every request is one setting away (mesh:accessLog).
 */
export const DEFAULT_ACCESS_LOG: AccessLogMode = "errors";

export interface MeshOptions {
  /** Default DEFAULT_TRACE_SAMPLING_PERCENT. */
  readonly traceSamplingPercent?: number;
  /** Default DEFAULT_ACCESS_LOG. */
  readonly accessLog?: AccessLogMode;
  readonly identity?: Partial<MeshIdentity>;
  readonly gateway?: Partial<GatewayOptions>;
  /** Default: no canary, no fault, no rate limit. */
  readonly traffic?: TrafficPolicy;
}

/** The services and their routes (the public API in README.md); replicas come from stack config. */
const SERVICE_BLUEPRINTS: readonly Omit<ServiceSpec, "replicas">[] = [
  {
    name: "catalog",
    kind: "api",
    routes: [{ prefix: "/api/products", rewrite: "/products", timeoutMs: 5000 }],
    dataStores: ["postgres"],
    calls: [],
    egressPort: 9101,
  },
  {
    name: "cart",
    kind: "api",
    routes: [{ prefix: "/api/carts", rewrite: "/carts", timeoutMs: 5000 }],
    dataStores: ["redis"],
    calls: [],
    egressPort: 9102,
  },
  {
    name: "orders",
    kind: "api",
    routes: [{ prefix: "/api/orders", rewrite: "/orders", timeoutMs: 10000 }],
    dataStores: ["postgres", "rabbitmq"],
    calls: ["catalog"],
    egressPort: 9103,
  },
  {
    name: "order-worker",
    kind: "worker",
    routes: [],
    dataStores: ["postgres", "rabbitmq"],
    calls: [],
    egressPort: 9104,
  },
];

export function buildMeshModel(replicas: Partial<Record<ServiceName, number>> = {}, options: MeshOptions = {}): MeshModel {
  return {
    services: SERVICE_BLUEPRINTS.map((s) => ({ ...s, replicas: replicas[s.name] ?? 1 })),
    dataStores: DATA_STORE_NAMES.map((n) => DATA_STORES[n]),
    traceSamplingPercent: options.traceSamplingPercent ?? DEFAULT_TRACE_SAMPLING_PERCENT,
    accessLog: options.accessLog ?? DEFAULT_ACCESS_LOG,
    identity: { trustDomain: DEFAULT_TRUST_DOMAIN, namespace: DEFAULT_NAMESPACE, ...options.identity },
    gateway: { plainHttp: "serve", httpsPort: PORTS.edgeHttps, ...options.gateway },
    traffic: options.traffic ?? NO_TRAFFIC_POLICY,
  };
}

export function getService(model: MeshModel, name: ServiceName): ServiceSpec {
  const service = model.services.find((s) => s.name === name);
  if (!service) throw new Error(`unknown service "${name}"`);
  return service;
}

/** Names of every Envoy in the mesh: the edge plus one sidecar per service. */
export const EDGE_PROXY = "edge";
export function sidecarName(service: ServiceName): string {
  return `${service}-sidecar`;
}
export function proxyNames(model: MeshModel): string[] {
  return [EDGE_PROXY, ...model.services.map((s) => sidecarName(s.name))];
}

/** A workload of the mesh with an identity: the edge, or a service (its sidecars). */
export type Workload = typeof EDGE_PROXY | ServiceName;

/** The workload a proxy (`edge` or `<service>-sidecar`) speaks for. */
export function workloadOfProxy(model: MeshModel, proxy: string): Workload {
  if (proxy === EDGE_PROXY) return EDGE_PROXY;
  const service = model.services.find((s) => sidecarName(s.name) === proxy);
  if (!service) throw new Error(`unknown proxy "${proxy}" (known: ${proxyNames(model).join(", ")})`);
  return service.name;
}

/** The SPIFFE id a workload's certificates carry, and its callers are authorised by. */
export function workloadIdentity(model: MeshModel, workload: Workload): string {
  return spiffeId(model.identity.trustDomain, model.identity.namespace, workload);
}

/**
 * The workloads allowed to call a service, from the model alone: the edge when the
 * service has public routes, and every service whose `calls` name it.
 */
export function callersOf(model: MeshModel, service: ServiceName): Workload[] {
  const callers: Workload[] = getService(model, service).routes.length > 0 ? [EDGE_PROXY] : [];
  return [...callers, ...model.services.filter((s) => s.calls.includes(service)).map((s) => s.name)];
}
