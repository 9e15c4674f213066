// Listeners and their network filters: the HTTP connection manager (with tracing,
// the edge's settings and an optional health_check filter) and the TCP proxy.
import type { HostPort } from "../../infra/addressing.js";
import type { AccessLogMode } from "../../infra/model.js";
import { httpAccessLog, tcpAccessLog } from "./access-log.js";
import { type EnvoyObject, CONNECTION_BUFFER_LIMIT_BYTES, HTTP2_LIMITS, duration, socketAddress, typed } from "./common.js";
import { jsonLocalReplies } from "./local-reply.js";
import { type AuthorizedCaller, callerAuthorizationFilter } from "./tls.js";
import { faultFilters, rateLimitFilter } from "./traffic-filters.js";

/** A client has this long to send its request headers (Envoy's edge guidance). */
export const REQUEST_HEADERS_TIMEOUT_MS = 10_000;
/**
 * The edge's bound on a whole request, headers and body, against slow-drip clients.
 * The largest body any service takes (64 KiB) arrives in 8 s at 64 kbit/s, and no
 * route needs more than 10 s to answer, so nothing legitimate comes near it.
 */
export const EDGE_REQUEST_TIMEOUT_MS = 10_000;

/** `transportSocket`: TLS for the listener's connections (builders/tls.ts); plaintext when absent. */
export function makeListener(name: string, address: HostPort, direction: "INBOUND" | "OUTBOUND", filters: EnvoyObject[], transportSocket?: EnvoyObject): EnvoyObject {
  return {
    name,
    stat_prefix: name,
    address: socketAddress(address),
    traffic_direction: direction,
    per_connection_buffer_limit_bytes: CONNECTION_BUFFER_LIMIT_BYTES,
    filter_chains: [{ filters, ...(transportSocket ? { transport_socket: transportSocket } : {}) }],
  };
}

export interface HttpConnectionManagerOptions {
  readonly statPrefix: string;
  /** The route configuration's name (its RDS resource name where routes are dynamic); the stat prefix when absent. */
  readonly routeConfigName?: string;
  readonly virtualHostName: string;
  readonly routes: EnvoyObject[];
  /** The public edge: trust no X-Forwarded-For, take the peer address, hide Envoy's headers. */
  readonly edge: boolean;
  /** Zipkin cluster for tracing; no tracing when absent. */
  readonly zipkinCluster?: string;
  /** Which requests get an access log line (the stack's mesh:accessLog); none when absent. */
  readonly accessLog?: AccessLogMode;
  /** Share of requests traced when no upstream decided (the stack's traceSamplingPercent). */
  readonly samplingPercent?: number;
  /**
   * A path whose requests are health checks: passed through to the upstream, and
   * answered with this proxy's node cluster in x-envoy-upstream-healthchecked-cluster,
   * which callers' health checks verify.
   */
  readonly healthCheckedPath?: string;
  /**
   * A path this proxy answers itself: 200 once each of `clusters` has a healthy
   * host (and the proxy is not failing its health checks), 503 until then.
   */
  readonly upstreamsReady?: { readonly path: string; readonly clusters: readonly string[] };
  /** Only these callers, by their certificate's identity, get past the RBAC filter; no filter when absent. */
  readonly authorizedCallers?: readonly AuthorizedCaller[];
  /** The fault filters, for routes that inject faults (builders/traffic-filters.ts). */
  readonly faults?: boolean;
  /** The rate-limit filter, for routes with a token bucket (builders/traffic-filters.ts). */
  readonly rateLimit?: boolean;
  /** Headers set on every response this connection manager sends back. */
  readonly responseHeaders?: Readonly<Record<string, string>>;
  /** Request headers removed before the request goes upstream (and so from this proxy's access log). */
  readonly removeRequestHeaders?: readonly string[];
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

/**
 * The smallest healthy share that still means "a healthy host": 1 % is one host
 * in up to a hundred (a service runs at most 20 replicas).
 */
const ANY_HEALTHY_HOST_PERCENT = 1;

function upstreamsReadyFilter(gate: NonNullable<HttpConnectionManagerOptions["upstreamsReady"]>): EnvoyObject {
  return {
    name: "envoy.filters.http.health_check",
    typed_config: typed("envoy.extensions.filters.http.health_check.v3.HealthCheck", {
      pass_through_mode: false,
      headers: [{ name: ":path", string_match: { exact: gate.path } }],
      cluster_min_healthy_percentages: Object.fromEntries(gate.clusters.map((c) => [c, { value: ANY_HEALTHY_HOST_PERCENT }])),
    }),
  };
}

export function makeHttpConnectionManager(options: HttpConnectionManagerOptions): EnvoyObject {
  const hcm: EnvoyObject = {
    stat_prefix: options.statPrefix,
    codec_type: "AUTO",
    route_config: {
      name: options.routeConfigName ?? options.statPrefix,
      virtual_hosts: [{ name: options.virtualHostName, domains: ["*"], routes: options.routes }],
      ...(options.removeRequestHeaders !== undefined ? { request_headers_to_remove: [...options.removeRequestHeaders] } : {}),
      ...(options.responseHeaders !== undefined
        ? {
            response_headers_to_add: Object.entries(options.responseHeaders).map(([key, value]) => ({ header: { key, value }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" })),
          }
        : {}),
    },
    http_filters: [
      ...(options.authorizedCallers ? [callerAuthorizationFilter(options.authorizedCallers)] : []),
      ...(options.healthCheckedPath ? [healthCheckFilter(options.healthCheckedPath)] : []),
      ...(options.upstreamsReady ? [upstreamsReadyFilter(options.upstreamsReady)] : []),
      // Limits before faults: a request over its budget is refused before anything else happens to it.
      ...(options.rateLimit ? [rateLimitFilter()] : []),
      ...(options.faults ? faultFilters() : []),
      {
        name: "envoy.filters.http.router",
        typed_config: typed("envoy.extensions.filters.http.router.v3.Router", options.edge ? { suppress_envoy_headers: true } : {}),
      },
    ],
    request_headers_timeout: duration(REQUEST_HEADERS_TIMEOUT_MS),
    stream_idle_timeout: "300s",
    common_http_protocol_options: { idle_timeout: "900s", headers_with_underscores_action: "REJECT_REQUEST" },
    http2_protocol_options: HTTP2_LIMITS,
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: "UNESCAPE_AND_REDIRECT",
    local_reply_config: jsonLocalReplies(),
  };
  if (options.edge) {
    hcm.request_timeout = duration(EDGE_REQUEST_TIMEOUT_MS);
    hcm.use_remote_address = true;
    hcm.xff_num_trusted_hops = 0;
  }
  const accessLog = httpAccessLog(options.accessLog ?? "off");
  if (accessLog.length > 0) hcm.access_log = accessLog;
  if (options.zipkinCluster !== undefined) {
    hcm.tracing = {
      random_sampling: { value: options.samplingPercent ?? 100 },
      provider: {
        name: "envoy.tracers.zipkin",
        typed_config: typed("envoy.config.trace.v3.ZipkinConfig", {
          collector_cluster: options.zipkinCluster,
          collector_endpoint: "/api/v2/spans",
          // Zipkin's protobuf encoding: cheaper for Envoy to write than JSON (docs/benchmarks.md, fifth run).
          collector_endpoint_version: "HTTP_PROTO",
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

export function makeTcpProxy(statPrefix: string, cluster: string, accessLog: AccessLogMode): EnvoyObject {
  const log = tcpAccessLog(accessLog);
  return {
    name: "envoy.filters.network.tcp_proxy",
    typed_config: typed("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", {
      stat_prefix: statPrefix,
      cluster,
      // Envoy's default, stated: idle pooled connections are closed after an hour.
      idle_timeout: "3600s",
      ...(log.length > 0 ? { access_log: log } : {}),
    }),
  };
}
