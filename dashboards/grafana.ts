// Grafana's own metrics (its /metrics, scraped as job "grafana").
import { DashboardBuilder, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { PanelIds, RATE, stat, timeseries } from "./panels.js";

const self = 'job="grafana"';

export function grafanaDashboard(): DashboardBuilder {
  const ids = new PanelIds();
  return new DashboardBuilder("Grafana")
    .uid("mesh-grafana")
    .tags(["mesh", "grafana"])
    .description("The mesh's Grafana: HTTP traffic, datasource requests, dashboards and users, its process.")
    .refresh("30s")
    .time({ from: "now-1h", to: "now" })
    .withRow(new RowBuilder("Grafana"))
    .withPanel(stat(ids, "Up", [{ expr: `up{${self}}`, legend: "up" }], { unit: "none" }))
    .withPanel(stat(ids, "Dashboards", [{ expr: `grafana_stat_totals_dashboard{${self}}`, legend: "dashboards" }], { unit: "none" }))
    .withPanel(stat(ids, "Active users", [{ expr: `grafana_stat_active_users{${self}}`, legend: "users" }], { unit: "none" }))
    .withPanel(stat(ids, "Version", [{ expr: `count by (version) (grafana_build_info{${self}})`, legend: "{{version}}" }], { unit: "none" }))
    .withPanel(
      timeseries(ids, "HTTP requests by status", [{ expr: `sum by (status_code) (rate(grafana_http_request_duration_seconds_count{${self}}[${RATE}]))`, legend: "{{status_code}}" }], {
        unit: "reqps",
      }),
    )
    .withPanel(
      timeseries(
        ids,
        "HTTP latency p99 by handler",
        [{ expr: `histogram_quantile(0.99, sum by (le, handler) (rate(grafana_http_request_duration_seconds_bucket{${self}}[${RATE}])))`, legend: "{{handler}}" }],
        { unit: "s" },
      ),
    )
    .withPanel(
      timeseries(ids, "Datasource requests", [{ expr: `sum by (datasource, code) (rate(grafana_datasource_request_total{${self}}[${RATE}]))`, legend: "{{datasource}} {{code}}" }], {
        unit: "reqps",
      }),
    )
    .withPanel(
      timeseries(
        ids,
        "Process",
        [
          { expr: `process_resident_memory_bytes{${self}}`, legend: "resident memory" },
          { expr: `go_goroutines{${self}}`, legend: "goroutines" },
        ],
        { unit: "short" },
      ),
    );
}
