// How each release of a service is doing, as its callers' Envoys see it (the edge and
// every caller's sidecar count requests per upstream cluster, and a release is one
// cluster: infra/traffic.ts releaseName), from Prometheus.
import type { ServiceName, Workload } from "../../infra/model.js";
import { type Release, releaseName } from "../../infra/traffic.js";
import { LISTENER, serviceEgressListener } from "../../envoy-templates/names.js";

export interface ReleaseFigures {
  /** Requests answered in the window. */
  readonly requests: number;
  /** Share of them answered 5xx (0 to 1). */
  readonly errorRatio: number;
  /** 99th percentile of the upstream time in ms; NaN without requests. */
  readonly p99Ms: number;
}

export type PrometheusQuery = (promql: string) => Promise<number>;

/** One instant query's single value (NaN when the result is empty). */
export function prometheusQuerier(prometheusUrl: string): PrometheusQuery {
  return async (promql) => {
    const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; error?: string; data?: { result: Array<{ value: [number, string] }> } };
    if (body.status !== "success") throw new Error(`Prometheus refused ${promql}: ${body.error ?? res.status}`);
    const first = body.data?.result[0];
    return first ? Number(first.value[1]) : Number.NaN;
  };
}

export async function releaseFigures(query: PrometheusQuery, service: ServiceName, release: Release, windowSeconds: number): Promise<ReleaseFigures> {
  const cluster = `envoy_cluster_name="${releaseName(service, release)}"`;
  const window = `${windowSeconds}s`;
  const [requests, errors, p99Ms] = await Promise.all([
    query(`sum(increase(envoy_cluster_upstream_rq_total{${cluster}}[${window}]))`),
    query(`sum(increase(envoy_cluster_upstream_rq_xx{${cluster},envoy_response_code_class="5"}[${window}]))`),
    query(`histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{${cluster}}[${window}])))`),
  ]);
  const total = Number.isNaN(requests) ? 0 : requests;
  return { requests: total, errorRatio: total > 0 ? (Number.isNaN(errors) ? 0 : errors) / total : 0, p99Ms };
}

/** Both releases' figures over the last `windowSeconds`: what a rollout judges. */
export async function releasePairFigures(query: PrometheusQuery, service: ServiceName, windowSeconds: number): Promise<{ stable: ReleaseFigures; canary: ReleaseFigures }> {
  return { stable: await releaseFigures(query, service, "stable", windowSeconds), canary: await releaseFigures(query, service, "canary", windowSeconds) };
}

/**
 * When the Envoy of `callers` that reloaded its routes to `service` longest ago did so
 * (ms since the epoch; NaN before Prometheus has a figure). Each route configuration is
 * named after its listener: a sidecar's egress listener for the service, the edge's two.
 */
export async function oldestRouteReloadMs(query: PrometheusQuery, service: ServiceName, callers: readonly Workload[]): Promise<number> {
  const configs = [serviceEgressListener(service), LISTENER.edgeHttp, LISTENER.edgeHttps].join("|");
  const selector = `service=~"${callers.join("|")}",envoy_rds_route_config=~"${configs}"`;
  // Per proxy (service, replica) its latest reload; then the oldest of those.
  return query(`min(max by (service, replica) (envoy_http_rds_update_time{${selector}}))`);
}
