// Prometheus itself: targets and scrapes, the TSDB, queries and rule evaluation.
// Metric names stable across the 2.x line Debian ships and the image's.
import { DashboardBuilder, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { PanelIds, RATE, stat, timeseries } from "./panels.js";

const self = 'job="prometheus"';

export function prometheusDashboard(): DashboardBuilder {
  const ids = new PanelIds();
  return new DashboardBuilder("Prometheus")
    .uid("mesh-prometheus")
    .tags(["mesh", "prometheus"])
    .description("The mesh's Prometheus: what it scrapes, how its TSDB grows, how fast it answers.")
    .refresh("30s")
    .time({ from: "now-1h", to: "now" })
    .withRow(new RowBuilder("Scrapes"))
    .withPanel(stat(ids, "Targets up", [{ expr: "sum(up)", legend: "up" }], { unit: "none" }))
    .withPanel(stat(ids, "Targets down", [{ expr: "count(up == 0) or vector(0)", legend: "down" }], { unit: "none" }))
    .withPanel(stat(ids, "Head series", [{ expr: `prometheus_tsdb_head_series{${self}}`, legend: "series" }], { unit: "short" }))
    .withPanel(stat(ids, "Storage", [{ expr: `prometheus_tsdb_storage_blocks_bytes{${self}}`, legend: "bytes" }], { unit: "bytes" }))
    .withPanel(timeseries(ids, "Targets up by job", [{ expr: "sum by (job) (up)", legend: "{{job}}" }], { unit: "none", width: 8 }))
    .withPanel(timeseries(ids, "Scrape duration (slowest per job)", [{ expr: "max by (job) (scrape_duration_seconds)", legend: "{{job}}" }], { unit: "s", width: 8 }))
    .withPanel(timeseries(ids, "Samples scraped per job", [{ expr: "sum by (job) (scrape_samples_scraped)", legend: "{{job}}" }], { unit: "short", width: 8 }))
    .withRow(new RowBuilder("TSDB"))
    .withPanel(timeseries(ids, "Samples appended", [{ expr: `rate(prometheus_tsdb_head_samples_appended_total{${self}}[${RATE}])`, legend: "samples/s" }], { unit: "short", width: 8 }))
    .withPanel(
      timeseries(
        ids,
        "Compactions and reloads",
        [
          { expr: `rate(prometheus_tsdb_compactions_total{${self}}[${RATE}])`, legend: "compactions" },
          { expr: `rate(prometheus_tsdb_compactions_failed_total{${self}}[${RATE}])`, legend: "failed compactions" },
          { expr: `rate(prometheus_tsdb_reloads_failures_total{${self}}[${RATE}])`, legend: "failed reloads" },
        ],
        { unit: "ops", width: 8 },
      ),
    )
    .withPanel(timeseries(ids, "Memory", [{ expr: `process_resident_memory_bytes{${self}}`, legend: "resident" }], { unit: "bytes", width: 8 }))
    .withRow(new RowBuilder("Queries and rules"))
    .withPanel(
      timeseries(ids, "Query engine time (p90)", [{ expr: `prometheus_engine_query_duration_seconds{${self},quantile="0.9"}`, legend: "{{slice}}" }], { unit: "s", width: 8 }),
    )
    .withPanel(
      timeseries(ids, "HTTP requests by handler", [{ expr: `sum by (handler) (rate(prometheus_http_requests_total{${self}}[${RATE}]))`, legend: "{{handler}}" }], {
        unit: "reqps",
        width: 8,
      }),
    )
    .withPanel(
      timeseries(
        ids,
        "Rule evaluation",
        [
          { expr: `max by (rule_group) (prometheus_rule_group_last_duration_seconds{${self}})`, legend: "{{rule_group}} duration" },
          { expr: `sum(rate(prometheus_rule_evaluation_failures_total{${self}}[${RATE}]))`, legend: "failures/s" },
        ],
        { unit: "s", width: 8 },
      ),
    );
}
