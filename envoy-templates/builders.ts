// Small builders for Envoy v3 bootstrap pieces, as plain proto3-JSON objects
// (snake_case field names, durations as "5s"). The edge and sidecar configs are
// assembled from these; every listener and network filter gets a stat_prefix.
import { isIP } from "node:net";
import type { HostPort } from "../infra/addressing.js";

export type EnvoyObject = Record<string, unknown>;

/** An `Any`/`typed_config` value of the given Envoy message type. */
export function typed(typeName: string, body: EnvoyObject = {}): EnvoyObject {
  return { "@type": `type.googleapis.com/${typeName}`, ...body };
}

/** proto3-JSON duration from milliseconds ("5s", "0.25s"). */
export function duration(ms: number): string {
  return `${ms / 1000}s`;
}

export function socketAddress({ address, port }: HostPort): EnvoyObject {
  return { socket_address: { address, port_value: port } };
}

// Edge-proxy best practice: cap what one connection may buffer, both ways.
const CONNECTION_BUFFER_LIMIT_BYTES = 32_768;
// HTTP/2 flow-control windows and stream cap from Envoy's edge-proxy guidance.
const HTTP2_LIMITS = {
  max_concurrent_streams: 100,
  initial_stream_window_size: 65_536,
  initial_connection_window_size: 1_048_576,
};
// Below Fastify's 72 s keep-alive timeout, so Envoy never reuses a connection the app is closing.
const UPSTREAM_IDLE_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------- clusters

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
    circuit_breakers: {
      thresholds: [
        {
          priority: "DEFAULT",
          max_connections: options.maxConnections,
          max_pending_requests: options.maxConnections,
          max_requests: options.maxConnections,
          // A budget instead of a fixed max_retries: when a replica leaves (scale-down, crash) every
          // in-flight request to it may need one retry at once, which a small fixed cap overflows.
          // Retries stay bounded to a quarter of active requests, so they never amplify an outage.
          retry_budget: { budget_percent: { value: 25 }, min_retry_concurrency: 10 },
          track_remaining: true,
        },
      ],
    },
    // Panic mode off: with active readiness checks, an unhealthy host really cannot serve, so
    // traffic goes only to the healthy ones (even if few) and fails fast with 503 when none are,
    // instead of being spread over known-broken hosts once half of them fail.
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
  };
  if (options.healthCheck) cluster.health_checks = [makeHealthCheck(options.healthCheck, options.protocol)];
  if (options.outlierDetection) {
    cluster.outlier_detection = {
      consecutive_5xx: 5,
      consecutive_gateway_failure: 3,
      interval: "5s",
      base_ejection_time: "15s",
      max_ejection_percent: 50,
    };
  }
  if (options.protocol === "tcp") {
    // Pool connections to data stores sit idle for long; keep-alive probes notice dead peers.
    cluster.upstream_connection_options = { tcp_keepalive: { keepalive_probes: 3, keepalive_time: 60, keepalive_interval: 10 } };
  } else {
    cluster.typed_extension_protocol_options = {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": typed("envoy.extensions.upstreams.http.v3.HttpProtocolOptions", {
        common_http_protocol_options: { idle_timeout: duration(UPSTREAM_IDLE_TIMEOUT_MS) },
        explicit_http_config:
          options.protocol === "http2" ? { http2_protocol_options: HTTP2_LIMITS } : { http_protocol_options: {} },
      }),
    };
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
    // Re-resolved at Envoy's default 5 s refresh (Envoy 1.40 deprecates setting
    // dns_refresh_rate here). Not respect_dns_ttl: Docker's embedded DNS answers with a
    // 600 s TTL, which would hide scaling for ten minutes.
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
  const timing = {
    timeout: "1s",
    interval: "3s",
    // A cluster that has not had traffic yet is otherwise checked only once a minute,
    // which would keep a freshly started mesh unhealthy for that long.
    no_traffic_interval: "3s",
    unhealthy_interval: "2s",
    unhealthy_threshold: 2,
    healthy_threshold: 1,
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

// ------------------------------------------------------------------ routes

const IDEMPOTENT_METHODS = ["GET", "HEAD", "PUT", "DELETE"];

/** Retries for idempotent requests: any failure where the answer is known not to be the app's. */
const IDEMPOTENT_RETRY_ON = "reset,connect-failure,refused-stream,gateway-error";
/** Retries for other requests: only where the request never reached the upstream. */
const UNSENT_RETRY_ON = "connect-failure,refused-stream,reset-before-request";

function retryPolicy(retryOn: string): EnvoyObject {
  return {
    retry_on: retryOn,
    num_retries: 2,
    retry_back_off: { base_interval: "0.025s", max_interval: "0.25s" },
    // Retry on another replica where there is one.
    retry_host_predicate: [
      { name: "envoy.retry_host_predicates.previous_hosts", typed_config: typed("envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate") },
    ],
    host_selection_retry_max_attempts: 3,
  };
}

export interface UpstreamRoute {
  /** Route name prefix; the two routes are `<name>-idempotent` and `<name>`. */
  readonly name: string;
  readonly match: EnvoyObject;
  readonly cluster: string;
  readonly timeoutMs: number;
  readonly prefixRewrite?: string;
}

/**
 * Two routes for one upstream: idempotent methods with generous retries first, then every
 * other method with retries only for requests that never left the proxy.
 */
export function makeRetryingRoutes(route: UpstreamRoute): EnvoyObject[] {
  const action = (retryOn: string): EnvoyObject => ({
    cluster: route.cluster,
    timeout: duration(route.timeoutMs),
    ...(route.prefixRewrite !== undefined ? { prefix_rewrite: route.prefixRewrite } : {}),
    retry_policy: retryPolicy(retryOn),
  });
  const idempotent = { name: ":method", string_match: { safe_regex: { regex: `^(${IDEMPOTENT_METHODS.join("|")})$` } } };
  return [
    { name: `${route.name}-idempotent`, match: { ...route.match, headers: [idempotent] }, route: action(IDEMPOTENT_RETRY_ON) },
    { name: route.name, match: route.match, route: action(UNSENT_RETRY_ON) },
  ];
}

/** A route without retries (health, metrics and the app behind its own sidecar). */
export function makeRoute(name: string, match: EnvoyObject, cluster: string, timeoutMs: number, extra: EnvoyObject = {}): EnvoyObject {
  return { name, match, route: { cluster, timeout: duration(timeoutMs) }, ...extra };
}

/** The catch-all answer for paths nothing else routes: a JSON 404 in the API's error shape. */
export function notFoundRoute(): EnvoyObject {
  return {
    name: "not-found",
    match: { prefix: "/" },
    direct_response: { status: 404, body: { inline_string: JSON.stringify({ error: "not_found", message: "no route for this path" }) } },
    response_headers_to_add: [{ header: { key: "content-type", value: "application/json" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }],
  };
}

// ------------------------------------------------------ listeners, filters

export function makeListener(name: string, address: HostPort, direction: "INBOUND" | "OUTBOUND", filters: EnvoyObject[]): EnvoyObject {
  return {
    name,
    stat_prefix: name,
    address: socketAddress(address),
    traffic_direction: direction,
    per_connection_buffer_limit_bytes: CONNECTION_BUFFER_LIMIT_BYTES,
    filter_chains: [{ filters }],
  };
}

const HTTP_ACCESS_LOG_FORMAT = {
  start_time: "%START_TIME%",
  method: "%REQ(:METHOD)%",
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  protocol: "%PROTOCOL%",
  response_code: "%RESPONSE_CODE%",
  response_flags: "%RESPONSE_FLAGS%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  duration_ms: "%DURATION%",
  upstream_cluster: "%UPSTREAM_CLUSTER%",
  upstream_host: "%UPSTREAM_HOST%",
  route: "%ROUTE_NAME%",
  x_forwarded_for: "%REQ(X-FORWARDED-FOR)%",
  user_agent: "%REQ(USER-AGENT)%",
  x_request_id: "%REQ(X-REQUEST-ID)%",
  trace_id: "%TRACE_ID%",
};

const TCP_ACCESS_LOG_FORMAT = {
  start_time: "%START_TIME%",
  downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS%",
  upstream_cluster: "%UPSTREAM_CLUSTER%",
  upstream_host: "%UPSTREAM_HOST%",
  response_flags: "%RESPONSE_FLAGS%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  duration_ms: "%DURATION%",
};

function stdoutJsonLog(format: EnvoyObject): EnvoyObject {
  return {
    name: "envoy.access_loggers.stdout",
    typed_config: typed("envoy.extensions.access_loggers.stream.v3.StdoutAccessLog", { log_format: { json_format: format } }),
  };
}

export interface HttpConnectionManagerOptions {
  readonly statPrefix: string;
  readonly virtualHostName: string;
  readonly routes: EnvoyObject[];
  /** The public edge: trust no X-Forwarded-For, take the peer address, hide Envoy's headers. */
  readonly edge: boolean;
  /** Zipkin cluster for tracing; no tracing (and no access log) when absent. */
  readonly zipkinCluster?: string;
  /** Share of requests traced when no upstream decided (the stack's traceSamplingPercent). */
  readonly samplingPercent?: number;
  /**
   * A path whose requests are health checks: passed through to the upstream, and
   * answered with this proxy's node cluster in x-envoy-upstream-healthchecked-cluster,
   * which callers' health checks verify.
   */
  readonly healthCheckedPath?: string;
}

function healthCheckFilter(path: string): EnvoyObject {
  return {
    name: "envoy.filters.http.health_check",
    typed_config: typed("envoy.extensions.filters.http.health_check.v3.HealthCheck", {
      pass_through_mode: true,
      headers: [{ name: ":path", string_match: { exact: path } }],
    }),
  };
}

export function makeHttpConnectionManager(options: HttpConnectionManagerOptions): EnvoyObject {
  const hcm: EnvoyObject = {
    stat_prefix: options.statPrefix,
    codec_type: "AUTO",
    route_config: {
      name: options.statPrefix,
      virtual_hosts: [{ name: options.virtualHostName, domains: ["*"], routes: options.routes }],
    },
    http_filters: [
      ...(options.healthCheckedPath ? [healthCheckFilter(options.healthCheckedPath)] : []),
      {
        name: "envoy.filters.http.router",
        typed_config: typed("envoy.extensions.filters.http.router.v3.Router", options.edge ? { suppress_envoy_headers: true } : {}),
      },
    ],
    request_headers_timeout: "10s",
    stream_idle_timeout: "300s",
    common_http_protocol_options: { idle_timeout: "900s", headers_with_underscores_action: "REJECT_REQUEST" },
    http2_protocol_options: HTTP2_LIMITS,
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: "UNESCAPE_AND_REDIRECT",
  };
  if (options.edge) {
    hcm.use_remote_address = true;
    hcm.xff_num_trusted_hops = 0;
  }
  if (options.zipkinCluster !== undefined) {
    hcm.access_log = [stdoutJsonLog(HTTP_ACCESS_LOG_FORMAT)];
    hcm.tracing = {
      random_sampling: { value: options.samplingPercent ?? 100 },
      provider: {
        name: "envoy.tracers.zipkin",
        typed_config: typed("envoy.config.trace.v3.ZipkinConfig", {
          collector_cluster: options.zipkinCluster,
          collector_endpoint: "/api/v2/spans",
          collector_endpoint_version: "HTTP_JSON",
          trace_id_128bit: true,
          shared_span_context: false,
        }),
      },
    };
  }
  return {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: typed("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", hcm),
  };
}

export function makeTcpProxy(statPrefix: string, cluster: string): EnvoyObject {
  return {
    name: "envoy.filters.network.tcp_proxy",
    typed_config: typed("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", {
      stat_prefix: statPrefix,
      cluster,
      // Envoy's default, stated: idle pooled connections are closed after an hour.
      idle_timeout: "3600s",
      access_log: [stdoutJsonLog(TCP_ACCESS_LOG_FORMAT)],
    }),
  };
}

// --------------------------------------------------------------- bootstrap

export interface BootstrapOptions {
  readonly proxy: string;
  readonly admin: HostPort;
  readonly listeners: EnvoyObject[];
  readonly clusters: EnvoyObject[];
  readonly maxHeapBytes: number;
  readonly maxDownstreamConnections: number;
}

const FIXED_HEAP = "envoy.resource_monitors.fixed_heap";

export function makeBootstrap(options: BootstrapOptions): EnvoyObject {
  return {
    // node.cluster names the proxy in Zipkin and in Envoy's own stats.
    node: { id: options.proxy, cluster: options.proxy },
    admin: { address: socketAddress(options.admin) },
    // An admin runtime layer, so a proxy's runtime can be changed through its admin interface
    // (POST /runtime_modify?key=value) without a restart: e.g. `tracing.random_sampling=10` on the
    // edge traces 10 % of requests instead of the configured 100 % (a whole percentage; sidecars and
    // apps follow the edge's B3 sampled flag). Admin is never reachable from the mesh.
    layered_runtime: { layers: [{ name: "admin", admin_layer: {} }] },
    static_resources: { listeners: options.listeners, clusters: options.clusters },
    overload_manager: {
      refresh_interval: "0.25s",
      resource_monitors: [
        {
          name: FIXED_HEAP,
          typed_config: typed("envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig", { max_heap_size_bytes: options.maxHeapBytes }),
        },
        {
          name: "envoy.resource_monitors.global_downstream_max_connections",
          typed_config: typed("envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig", {
            max_active_downstream_connections: options.maxDownstreamConnections,
          }),
        },
      ],
      actions: [
        { name: "envoy.overload_actions.shrink_heap", triggers: [{ name: FIXED_HEAP, threshold: { value: 0.95 } }] },
        { name: "envoy.overload_actions.stop_accepting_requests", triggers: [{ name: FIXED_HEAP, threshold: { value: 0.98 } }] },
      ],
    },
  };
}
