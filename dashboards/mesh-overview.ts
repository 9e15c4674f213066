// Mesh overview: every service-to-service edge the model has (the edge proxy to
// each API service, and each service to the services it calls), with request
// rate and success ratio as the calling Envoy sees them (all releases of the
// callee together), and what the mesh refuses.
import { DashboardBuilder, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { LISTENER, RATE_LIMIT_STAT_PREFIX } from "../envoy-templates/names.js";
import { deniedCallsMetric } from "../infra/observability/alerts.js";
import { EDGE_PROXY, type MeshModel, type ServiceName } from "../infra/model.js";
import { PanelIds, RATE, serviceClusters, stat, timeseries } from "./panels.js";

export interface MeshEdge {
  /** The `service` label of the calling Envoy: "edge" or the calling service. */
  readonly from: string;
  readonly to: ServiceName;
}

export function meshEdges(model: MeshModel): MeshEdge[] {
  const fromEdge = model.services.filter((s) => s.routes.length > 0).map((s) => ({ from: EDGE_PROXY, to: s.name }));
  const calls = model.services.flatMap((s) => s.calls.map((to) => ({ from: s.name as string, to })));
  return [...fromEdge, ...calls];
}

function selector(edge: MeshEdge): string {
  return `service="${edge.from}",${serviceClusters(edge.to)}`;
}

function requestRate(edge: MeshEdge): string {
  return `sum(rate(envoy_cluster_upstream_rq_total{${selector(edge)}}[${RATE}]))`;
}

/**
 * Share of requests that did not fail with a 5xx; 1 while there were none. Envoy
 * creates its per-class counters on the first answer of that class, so a missing
 * 5xx series counts as 0, and the request total (there from start-up) is the base.
 */
function successRatio(edge: MeshEdge): string {
  const failed = `(sum(rate(envoy_cluster_upstream_rq_xx{${selector(edge)},envoy_response_code_class="5"}[${RATE}])) or vector(0))`;
  return `1 - ${failed} / clamp_min(${requestRate(edge)}, 1e-9)`;
}

export function meshOverviewDashboard(model: MeshModel): DashboardBuilder {
  const ids = new PanelIds();
  const edges = meshEdges(model);
  const label = (e: MeshEdge) => `${e.from} → ${e.to}`;
  let dashboard = new DashboardBuilder("Mesh overview")
    .uid("mesh-overview")
    .tags(["mesh"])
    .description("Each service-to-service edge of the mesh: request rate and success ratio, as the calling Envoy sees them.")
    .refresh("30s")
    .time({ from: "now-1h", to: "now" })
    .withRow(new RowBuilder("Edges"));
  for (const edge of edges) {
    dashboard = dashboard
      .withPanel(stat(ids, `${label(edge)} requests/s`, [{ expr: requestRate(edge), legend: label(edge) }], { unit: "reqps" }))
      .withPanel(stat(ids, `${label(edge)} success`, [{ expr: successRatio(edge), legend: label(edge) }], { unit: "percentunit" }));
  }
  return dashboard
    .withRow(new RowBuilder("Over time"))
    .withPanel(timeseries(ids, "Request rate per edge", edges.map((e) => ({ expr: requestRate(e), legend: label(e) })), { unit: "reqps" }))
    .withPanel(timeseries(ids, "Success ratio per edge", edges.map((e) => ({ expr: successRatio(e), legend: label(e) })), { unit: "percentunit" }))
    .withRow(new RowBuilder("Security"))
    .withPanel(
      timeseries(ids, "Calls denied by the mesh", [{ expr: `sum by (service) (rate(${deniedCallsMetric(LISTENER.ingress)}[${RATE}]))`, legend: "{{service}}" }], {
        unit: "reqps",
        description: "Requests each service's sidecars answered 403 because the caller's certificate names a workload the model does not allow to call it.",
      }),
    )
    .withPanel(
      // Envoy exports the filter's stat prefix as a label, not as part of the metric name.
      timeseries(
        ids,
        "Rate-limited requests / s",
        [{ expr: `sum(rate(envoy_http_local_rate_limit_enforced{service="${EDGE_PROXY}",envoy_local_http_ratelimit_prefix="${RATE_LIMIT_STAT_PREFIX}"}[${RATE}]))`, legend: "429 at the edge" }],
        { unit: "reqps", description: "Public requests the edge answered 429 because their route's token bucket was empty (local rate limit)." },
      ),
    );
}
