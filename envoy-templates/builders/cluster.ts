// Clusters: discovery (static or STRICT_DNS), load balancing, circuit breakers,
// outlier detection, protocol options and active health checks.
import { isIP } from "node:net";
import type { HostPort } from "../../infra/addressing.js";
import { HEALTH_CHECK_TIMING } from "../../infra/endpoint-discovery.js";
import { type EnvoyObject, HTTP2_LIMITS, CONNECTION_BUFFER_LIMIT_BYTES, UPSTREAM_IDLE_TIMEOUT_MS, duration, socketAddress, typed } from "./common.js";

export type UpstreamProtocol = "tcp" | "http1" | "http2";

/**
 * An HTTP check names the proxy it expects to answer (its node cluster): a
 * reused address now held by another service's sidecar answers 200 as well,
 * but with another name, and fails the check.
 */
export type HealthCheck = { kind: "http"; path: string; host: string; expectedProxy: string } | { kind: "tcp" };

export interface ClusterOptions {
  readonly name: string;
  readonly endpoint: HostPort;
  readonly protocol: UpstreamProtocol;
  readonly connectTimeoutMs: number;
  readonly healthCheck?: HealthCheck;
  /** Eject misbehaving hosts (not for single local upstreams like the app or admin). */
  readonly outlierDetection?: boolean;
  readonly maxConnections: number;
  /** Resolver for DNS names; the system resolver when absent. */
  readonly dnsResolver?: HostPort;
  /** TLS to the upstream (builders/tls.ts), health checks included; plaintext when absent. */
  readonly transportSocket?: EnvoyObject;
}

/** The same limit for connections, pending and active requests, and a retry budget. */
function circuitBreakers(maxConnections: number): EnvoyObject {
  return {
    thresholds: [
      {
        priority: "DEFAULT",
        max_connections: maxConnections,
        max_pending_requests: maxConnections,
        max_requests: maxConnections,
        // A budget instead of a fixed max_retries: when a replica leaves (scale-down, crash) every
        // in-flight request to it may need one retry at once, which a small fixed cap overflows.
        // Retries stay bounded to a quarter of active requests, so they never amplify an outage.
        retry_budget: { budget_percent: { value: 25 }, min_retry_concurrency: 10 },
        track_remaining: true,
      },
    ],
  };
}

/** Eject a host after a run of errors, for a while, never more than half of them. */
const OUTLIER_DETECTION: EnvoyObject = {
  consecutive_5xx: 5,
  consecutive_gateway_failure: 3,
  interval: "5s",
  base_ejection_time: "15s",
  max_ejection_percent: 50,
};

// Pool connections to data stores sit idle for long; keep-alive probes notice dead peers.
const TCP_KEEPALIVE: EnvoyObject = { tcp_keepalive: { keepalive_probes: 3, keepalive_time: 60, keepalive_interval: 10 } };

/** HTTP/1.1 or HTTP/2 to the upstream, idle connections closed before the app closes them. */
function httpProtocolOptions(protocol: "http1" | "http2"): EnvoyObject {
  return {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": typed("envoy.extensions.upstreams.http.v3.HttpProtocolOptions", {
      common_http_protocol_options: { idle_timeout: duration(UPSTREAM_IDLE_TIMEOUT_MS) },
      explicit_http_config: protocol === "http2" ? { http2_protocol_options: HTTP2_LIMITS } : { http_protocol_options: {} },
    }),
  };
}

export function makeCluster(options: ClusterOptions): EnvoyObject {
  const cluster: EnvoyObject = {
    name: options.name,
    connect_timeout: duration(options.connectTimeoutMs),
    ...discovery(options.endpoint, options.dnsResolver),
    lb_policy: options.protocol === "tcp" ? "ROUND_ROBIN" : "LEAST_REQUEST",
    load_assignment: {
      cluster_name: options.name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(options.endpoint) } }] }],
    },
    per_connection_buffer_limit_bytes: CONNECTION_BUFFER_LIMIT_BYTES,
    circuit_breakers: circuitBreakers(options.maxConnections),
    // Panic mode off: with active readiness checks, an unhealthy host really cannot serve, so
    // traffic goes only to the healthy ones (even if few) and fails fast with 503 when none are,
    // instead of being spread over known-broken hosts once half of them fail.
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
  };
  // A host that leaves DNS stays while it passes its checks (Envoy's default, kept on
  // purpose): a rollout of one replica swaps the old host for the new one in one DNS
  // answer, and dropping the old one at once left no healthy host until the new one
  // passed its first check (503 "no healthy upstream" for 7 % of requests on a real node).
  if (options.healthCheck) cluster.health_checks = [makeHealthCheck(options.healthCheck, options.protocol)];
  if (options.outlierDetection) cluster.outlier_detection = OUTLIER_DETECTION;
  if (options.transportSocket) cluster.transport_socket = options.transportSocket;
  if (options.protocol === "tcp") {
    cluster.upstream_connection_options = TCP_KEEPALIVE;
  } else {
    cluster.typed_extension_protocol_options = httpProtocolOptions(options.protocol);
  }
  return cluster;
}

/**
 * IP literals are STATIC; names are STRICT_DNS, re-resolved every few seconds so replicas
 * coming and going are picked up without a restart.
 */
function discovery(endpoint: HostPort, dnsResolver: HostPort | undefined): EnvoyObject {
  if (isIP(endpoint.address) !== 0) return { type: "STATIC" };
  const dns: EnvoyObject = {
    type: "STRICT_DNS",
    // Re-resolved at Envoy's default refresh, DNS_REFRESH_SECONDS in
    // infra/endpoint-discovery.ts (Envoy 1.40 deprecates setting dns_refresh_rate
    // here). Not respect_dns_ttl: Docker's embedded DNS answers with a 600 s TTL,
    // which would hide scaling for ten minutes.
    respect_dns_ttl: false,
    dns_lookup_family: "V4_ONLY",
  };
  if (dnsResolver) {
    dns.typed_dns_resolver_config = {
      name: "envoy.network.dns_resolver.cares",
      typed_config: typed("envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig", {
        resolvers: [socketAddress(dnsResolver)],
        dns_resolver_options: { no_default_search_domain: true },
      }),
    };
  }
  return dns;
}

function makeHealthCheck(check: HealthCheck, protocol: UpstreamProtocol): EnvoyObject {
  const t = HEALTH_CHECK_TIMING;
  const timing = {
    timeout: `${t.timeoutSeconds}s`,
    interval: `${t.intervalSeconds}s`,
    // A cluster that has not had traffic yet is otherwise checked only once a minute,
    // which would keep a freshly started mesh unhealthy for that long.
    no_traffic_interval: `${t.intervalSeconds}s`,
    unhealthy_interval: `${t.unhealthyIntervalSeconds}s`,
    unhealthy_threshold: t.unhealthyThreshold,
    healthy_threshold: t.healthyThreshold,
  };
  if (check.kind === "tcp") return { ...timing, tcp_health_check: {} };
  return {
    ...timing,
    http_health_check: {
      path: check.path,
      host: check.host,
      codec_client_type: protocol === "http2" ? "HTTP2" : "HTTP1",
      // Compared with the x-envoy-upstream-healthchecked-cluster header the upstream
      // proxy's health_check filter adds (see healthCheckedPath below).
      service_name_matcher: { exact: check.expectedProxy },
    },
  };
}
