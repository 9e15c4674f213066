// Cluster and listener names shared by the generated configs and by anything that reads
// Envoy's stats (dashboards, alerts, tests): one place spells them.
import type { DataStoreName, ServiceName } from "../infra/model.js";

export const CLUSTER = {
  /** The app behind a sidecar, on the pod loopback. */
  localApp: "local_app",
  /** The proxy's own admin interface, reached only by the metrics-only listener. */
  admin: "envoy_admin",
  zipkin: "zipkin",
} as const;

/** Cluster of every replica's sidecar ingress of a service (its stable release). */
export function serviceCluster(service: ServiceName): string {
  return service;
}

export function dataStoreCluster(store: DataStoreName): string {
  return store;
}

/**
 * Stat prefix of the edge's local rate limits. Envoy's Prometheus output turns it into
 * a label: envoy_http_local_rate_limit_enforced{envoy_local_http_ratelimit_prefix="edge_rate_limit"}.
 */
export const RATE_LIMIT_STAT_PREFIX = "edge_rate_limit";

export const LISTENER = {
  edgeHttp: "edge_http",
  edgeHttps: "edge_https",
  ingress: "ingress_http",
  metrics: "metrics",
  zipkinEgress: "egress_zipkin",
} as const;

export function serviceEgressListener(service: ServiceName): string {
  return `egress_${service.replaceAll("-", "_")}`;
}

export function dataStoreEgressListener(store: DataStoreName): string {
  return `egress_${store}`;
}
