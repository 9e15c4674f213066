// HTTP filters that steer traffic per route: fault injection and local rate limits.
// Each sits in its connection manager's filter chain doing nothing by itself; a route
// switches it on with its own config (typed_per_filter_config). Routes are dynamic
// resources (envoy-templates/dynamic.ts), so turning a fault or a limit on, off or
// up changes no listener and restarts no proxy.
import type { FaultPolicy, RateLimit } from "../../infra/traffic.js";
import { RATE_LIMIT_STAT_PREFIX } from "../names.js";
import { type EnvoyObject, duration, typed } from "./common.js";

const FAULT = "envoy.extensions.filters.http.fault.v3.HTTPFault";
const LOCAL_RATE_LIMIT = "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";

/** The filter names routes refer to in typed_per_filter_config. */
export const TRAFFIC_FILTER = {
  /** Faults from stack config. */
  fault: "mesh.fault",
  /** Faults a request asks for itself (x-envoy-fault-* headers), where the stack allows it. */
  faultFromHeaders: "mesh.fault_from_headers",
  rateLimit: "mesh.rate_limit",
} as const;

/** A share of requests as Envoy's FractionalPercent, to a ten-thousandth of a percent. */
function fraction(percent: number): EnvoyObject {
  return { numerator: Math.round(percent * 10_000), denominator: "MILLION" };
}

/** The two fault filters of a sidecar's ingress, inactive until a route configures them. */
export function faultFilters(): EnvoyObject[] {
  return [
    { name: TRAFFIC_FILTER.fault, typed_config: typed(FAULT) },
    { name: TRAFFIC_FILTER.faultFromHeaders, typed_config: typed(FAULT) },
  ];
}

/** A route's config for the fault filters: `policy`'s delay and abort, and header-driven faults when it allows them. */
export function faultRouteConfig(policy: FaultPolicy): EnvoyObject {
  const configured: EnvoyObject = {};
  if (policy.delayPercent > 0 && policy.delayMs > 0) configured.delay = { fixed_delay: duration(policy.delayMs), percentage: fraction(policy.delayPercent) };
  if (policy.abortPercent > 0) configured.abort = { http_status: policy.abortStatus, percentage: fraction(policy.abortPercent) };
  return {
    [TRAFFIC_FILTER.fault]: typed(FAULT, configured),
    // header_abort/header_delay: the request's x-envoy-fault-abort-request (a status) and
    // x-envoy-fault-delay-request (milliseconds) decide; without them, nothing happens.
    ...(policy.fromHeaders
      ? { [TRAFFIC_FILTER.faultFromHeaders]: typed(FAULT, { abort: { header_abort: {}, percentage: fraction(100) }, delay: { header_delay: {}, percentage: fraction(100) } }) }
      : {}),
  };
}

/** The edge's rate-limit filter: passes everything until a route gives it a bucket. */
export function rateLimitFilter(): EnvoyObject {
  return { name: TRAFFIC_FILTER.rateLimit, typed_config: typed(LOCAL_RATE_LIMIT, { stat_prefix: RATE_LIMIT_STAT_PREFIX }) };
}

/**
 * A route's token bucket: `burst` requests at once, `requestsPerSecond` more each second,
 * shared by the edge's workers. Beyond it, 429 with the draft-03 RateLimit headers
 * (x-ratelimit-limit, -remaining, -reset), in the mesh's JSON error shape (local-reply.ts).
 */
export function rateLimitRouteConfig(limit: RateLimit): EnvoyObject {
  const always = (key: string) => ({ runtime_key: `${RATE_LIMIT_STAT_PREFIX}.${key}`, default_value: fraction(100) });
  return {
    [TRAFFIC_FILTER.rateLimit]: typed(LOCAL_RATE_LIMIT, {
      stat_prefix: RATE_LIMIT_STAT_PREFIX,
      token_bucket: { max_tokens: limit.burst, tokens_per_fill: limit.requestsPerSecond, fill_interval: "1s" },
      filter_enabled: always("enabled"),
      filter_enforced: always("enforced"),
      enable_x_ratelimit_headers: "DRAFT_VERSION_03",
    }),
  };
}
