// Routes: per-route timeouts, and retries only where a retry is safe.
import { type EnvoyObject, duration, typed } from "./common.js";

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

/**
 * The path a request had before its route rewrote it, for the access log
 * (`%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%`). Envoy's router sets it itself unless told not
 * to add x-envoy headers, as the edge is.
 */
export const ORIGINAL_PATH_HEADER = "x-envoy-original-path";

/** One cluster of a traffic split, with its share (weights are relative). */
export interface WeightedCluster {
  readonly name: string;
  readonly weight: number;
}

export interface UpstreamRoute {
  /** Route name prefix; the two routes are `<name>-idempotent` and `<name>`. */
  readonly name: string;
  readonly match: EnvoyObject;
  /** One cluster, or a split between several by weight. */
  readonly cluster: string | readonly WeightedCluster[];
  readonly timeoutMs: number;
  readonly prefixRewrite?: string;
  /** Per-route config of HTTP filters (fault injection, rate limits), by filter name. */
  readonly filterConfig?: EnvoyObject;
}

/**
 * Two routes for one upstream: idempotent methods with generous retries first, then every
 * other method with retries only for requests that never left the proxy.
 */
export function makeRetryingRoutes(route: UpstreamRoute): EnvoyObject[] {
  const action = (retryOn: string): EnvoyObject => ({
    ...(typeof route.cluster === "string" ? { cluster: route.cluster } : { weighted_clusters: { clusters: route.cluster.map((c) => ({ name: c.name, weight: c.weight })) } }),
    timeout: duration(route.timeoutMs),
    ...(route.prefixRewrite !== undefined ? { prefix_rewrite: route.prefixRewrite } : {}),
    retry_policy: retryPolicy(retryOn),
  });
  const idempotent = { name: ":method", string_match: { safe_regex: { regex: `^(${IDEMPOTENT_METHODS.join("|")})$` } } };
  const headers = Array.isArray(route.match.headers) ? (route.match.headers as EnvoyObject[]) : [];
  const filters = route.filterConfig !== undefined ? { typed_per_filter_config: route.filterConfig } : {};
  // A route's headers are set before its rewrite: this keeps the path the client asked for
  // (overwriting any a client sent), so the edge's access log shows the public path.
  const originalPath =
    route.prefixRewrite !== undefined
      ? { request_headers_to_add: [{ header: { key: ORIGINAL_PATH_HEADER, value: "%REQ(:PATH)%" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }] }
      : {};
  return [
    { name: `${route.name}-idempotent`, match: { ...route.match, headers: [...headers, idempotent] }, route: action(IDEMPOTENT_RETRY_ON), ...filters, ...originalPath },
    { name: route.name, match: route.match, route: action(UNSENT_RETRY_ON), ...filters, ...originalPath },
  ];
}

/** A route without retries (health, metrics and the app behind its own sidecar). */
export function makeRoute(name: string, match: EnvoyObject, cluster: string, timeoutMs: number, extra: EnvoyObject = {}): EnvoyObject {
  return { name, match, route: { cluster, timeout: duration(timeoutMs) }, ...extra };
}

/** The catch-all answer for paths nothing else routes: a 404, in the API's error shape by the local-reply config. */
export function notFoundRoute(): EnvoyObject {
  return { name: "not-found", match: { prefix: "/" }, direct_response: { status: 404, body: { inline_string: "no route for this path" } } };
}
