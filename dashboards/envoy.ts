// Envoy: every proxy of the mesh (edge and sidecars), on Envoy v3 stat names
// as /stats/prometheus exports them. `service` and `replica` come from the scrape.
import { DashboardBuilder, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { labelVariable, PanelIds, RATE, stat, timeseries } from "./panels.js";

const proxies = 'service=~"$service"';

export function envoyDashboard(): DashboardBuilder {
  const ids = new PanelIds();
  return new DashboardBuilder("Envoy")
    .uid("mesh-envoy")
    .tags(["mesh", "envoy"])
    .description("Every Envoy of the mesh: servers, clusters, connections, requests, ejections and upstream latency.")
    .refresh("30s")
    .time({ from: "now-1h", to: "now" })
    .withVariable(labelVariable("service", "service", 'envoy_server_live{job="envoy"}', { multi: true }))
    .withRow(new RowBuilder("Servers"))
    .withPanel(stat(ids, "Live servers", [{ expr: `sum(envoy_server_live{${proxies}})`, legend: "live" }], { unit: "none" }))
    .withPanel(
      stat(ids, "Envoys scraped", [{ expr: `count(up{job="envoy",${proxies}} == 1)`, legend: "up" }], {
        unit: "none",
        description: "Envoys whose metrics-only listener answered the last scrape.",
      }),
    )
    .withPanel(timeseries(ids, "Uptime", [{ expr: `envoy_server_uptime{${proxies}}`, legend: "{{service}} {{replica}}" }], { unit: "s", width: 12, height: 4 }))
    .withPanel(
      timeseries(
        ids,
        "Memory",
        [
          { expr: `envoy_server_memory_allocated{${proxies}}`, legend: "allocated {{service}} {{replica}}" },
          { expr: `envoy_server_memory_heap_size{${proxies}}`, legend: "heap {{service}} {{replica}}" },
        ],
        { unit: "bytes" },
      ),
    )
    .withPanel(
      timeseries(
        ids,
        "Cluster health (healthy / total hosts)",
        [
          {
            expr: `sum by (service, envoy_cluster_name) (envoy_cluster_membership_healthy{${proxies}}) / sum by (service, envoy_cluster_name) (envoy_cluster_membership_total{${proxies}})`,
            legend: "{{service}} → {{envoy_cluster_name}}",
          },
        ],
        { unit: "percentunit" },
      ),
    )
    .withRow(new RowBuilder("Traffic"))
    .withPanel(
      timeseries(
        ids,
        "Active connections",
        [
          { expr: `sum by (service, envoy_http_conn_manager_prefix) (envoy_http_downstream_cx_active{${proxies}})`, legend: "downstream {{service}} {{envoy_http_conn_manager_prefix}}" },
          { expr: `sum by (service, envoy_cluster_name) (envoy_cluster_upstream_cx_active{${proxies}})`, legend: "upstream {{service}} → {{envoy_cluster_name}}" },
        ],
        { unit: "none" },
      ),
    )
    .withPanel(
      timeseries(
        ids,
        "Requests by response class",
        [
          { expr: `sum by (envoy_response_code_class) (rate(envoy_http_downstream_rq_xx{${proxies}}[${RATE}]))`, legend: "downstream {{envoy_response_code_class}}xx" },
          { expr: `sum by (envoy_response_code_class) (rate(envoy_cluster_upstream_rq_xx{${proxies}}[${RATE}]))`, legend: "upstream {{envoy_response_code_class}}xx" },
        ],
        { unit: "reqps" },
      ),
    )
    .withPanel(
      timeseries(
        ids,
        "Upstream traffic",
        [
          { expr: `sum by (service, envoy_cluster_name) (rate(envoy_cluster_upstream_cx_rx_bytes_total{${proxies}}[${RATE}]))`, legend: "rx {{service}} ← {{envoy_cluster_name}}" },
          { expr: `-sum by (service, envoy_cluster_name) (rate(envoy_cluster_upstream_cx_tx_bytes_total{${proxies}}[${RATE}]))`, legend: "tx {{service}} → {{envoy_cluster_name}}" },
        ],
        { unit: "Bps", description: "Received above the axis, sent below it." },
      ),
    )
    .withPanel(
      timeseries(
        ids,
        "Downstream traffic",
        [
          { expr: `sum by (service, envoy_http_conn_manager_prefix) (rate(envoy_http_downstream_cx_rx_bytes_total{${proxies}}[${RATE}]))`, legend: "rx {{service}} {{envoy_http_conn_manager_prefix}}" },
          { expr: `-sum by (service, envoy_http_conn_manager_prefix) (rate(envoy_http_downstream_cx_tx_bytes_total{${proxies}}[${RATE}]))`, legend: "tx {{service}} {{envoy_http_conn_manager_prefix}}" },
        ],
        { unit: "Bps", description: "Received above the axis, sent below it." },
      ),
    )
    .withRow(new RowBuilder("Resilience and latency"))
    .withPanel(
      timeseries(
        ids,
        "Outlier ejections",
        [
          { expr: `sum by (service, envoy_cluster_name) (envoy_cluster_outlier_detection_ejections_active{${proxies}})`, legend: "ejected now {{service}} → {{envoy_cluster_name}}" },
          { expr: `sum by (service, envoy_cluster_name) (rate(envoy_cluster_outlier_detection_ejections_enforced_total{${proxies}}[${RATE}]))`, legend: "ejections/s {{service}} → {{envoy_cluster_name}}" },
        ],
        { unit: "none" },
      ),
    )
    .withPanel(
      timeseries(
        ids,
        "Upstream latency p50 / p99",
        [0.5, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le, service, envoy_cluster_name) (rate(envoy_cluster_upstream_rq_time_bucket{${proxies}}[${RATE}])))`,
          legend: `p${q * 100} {{service}} → {{envoy_cluster_name}}`,
        })),
        { unit: "ms" },
      ),
    );
}
