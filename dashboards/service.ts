// Service: one service at a time (the `service` variable). RED from the app's
// own histogram and from the Envoys in front of it, its releases side by side,
// then its backends.
import { DashboardBuilder, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { CLUSTER } from "../envoy-templates/names.js";
import { labelVariable, PanelIds, RATE, serviceClusters, stat, timeseries } from "./panels.js";

const app = 'job="app",service="$service"';
const requests = `http_request_duration_seconds_count{${app}}`;
/** Every caller's clusters for this service (the edge and the sidecars that call it), all releases. */
const callers = serviceClusters("$service");
/** The service's own sidecar, forwarding to its app. */
const ownSidecar = `service="$service",role="sidecar",envoy_cluster_name="${CLUSTER.localApp}"`;

export function serviceDashboard(): DashboardBuilder {
  const ids = new PanelIds();
  const rateOf = (selector: string, by: string) => `sum by (${by}) (rate(${selector}[${RATE}]))`;
  const byRelease = rateOf(`envoy_cluster_upstream_rq_total{${callers}}`, "release");
  // Envoy creates a response class's counter on its first answer of that class: a
  // release with no 5xx yet shows 0, not "No data", through `or 0 * <its requests>`.
  const fivexxByRelease = rateOf(`envoy_cluster_upstream_rq_xx{${callers},envoy_response_code_class="5"}`, "release");
  return new DashboardBuilder("Service")
    .uid("mesh-service")
    .tags(["mesh", "service"])
    .description("One service: request rate, errors and duration from the app and its Envoys, and its backends.")
    .refresh("30s")
    .time({ from: "now-1h", to: "now" })
    .withVariable(labelVariable("service", "service", 'up{job="app"}', { multi: false }))
    .withRow(new RowBuilder("Requests (app)"))
    .withPanel(stat(ids, "Replicas up", [{ expr: `sum(up{${app}})`, legend: "up" }], { unit: "none" }))
    .withPanel(stat(ids, "Requests / s", [{ expr: `sum(rate(${requests}[${RATE}]))`, legend: "rate" }], { unit: "reqps" }))
    .withPanel(
      // 0, not NaN, while there are no requests.
      stat(ids, "5xx ratio", [{ expr: `sum(rate(http_request_duration_seconds_count{${app},status_code=~"5.."}[${RATE}])) / clamp_min(sum(rate(${requests}[${RATE}])), 1e-9)`, legend: "errors" }], {
        unit: "percentunit",
      }),
    )
    .withPanel(
      stat(ids, "p99 latency", [{ expr: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{${app}}[${RATE}])))`, legend: "p99" }], {
        unit: "s",
      }),
    )
    .withPanel(timeseries(ids, "Rate by route", [{ expr: rateOf(requests, "route, method"), legend: "{{method}} {{route}}" }], { unit: "reqps" }))
    .withPanel(
      timeseries(ids, "Errors by route", [{ expr: rateOf(`http_request_duration_seconds_count{${app},status_code=~"5.."}`, "route, status_code"), legend: "{{route}} {{status_code}}" }], {
        unit: "reqps",
      }),
    )
    .withPanel(
      timeseries(
        ids,
        "Duration by route p50 / p99",
        [0.5, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le, route) (rate(http_request_duration_seconds_bucket{${app}}[${RATE}])))`,
          legend: `p${q * 100} {{route}}`,
        })),
        { unit: "s", width: 24 },
      ),
    )
    .withRow(new RowBuilder("Requests (Envoy)"))
    .withPanel(
      timeseries(
        ids,
        "Callers → service by response class",
        [{ expr: rateOf(`envoy_cluster_upstream_rq_xx{${callers}}`, "service, envoy_response_code_class"), legend: "from {{service}} {{envoy_response_code_class}}xx" }],
        { unit: "reqps", description: "What the edge and calling sidecars see of this service." },
      ),
    )
    .withPanel(
      timeseries(
        ids,
        "Sidecar → app by response class",
        [{ expr: rateOf(`envoy_cluster_upstream_rq_xx{${ownSidecar}}`, "replica, envoy_response_code_class"), legend: "{{replica}} {{envoy_response_code_class}}xx" }],
        { unit: "reqps" },
      ),
    )
    .withPanel(
      timeseries(
        ids,
        "Envoy-measured latency p99",
        [
          { expr: `histogram_quantile(0.99, sum by (le, service) (rate(envoy_cluster_upstream_rq_time_bucket{${callers}}[${RATE}])))`, legend: "from {{service}}" },
          { expr: `histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{${ownSidecar}}[${RATE}])))`, legend: "sidecar → app" },
        ],
        { unit: "ms", width: 24 },
      ),
    )
    .withRow(new RowBuilder("Releases"))
    .withPanel(
      timeseries(ids, "Request rate by release", [{ expr: byRelease, legend: "{{release}}" }], {
        unit: "reqps",
        width: 8,
        description: "Requests the edge and calling sidecars sent to each release; the split follows the canary's weight.",
      }),
    )
    .withPanel(
      timeseries(ids, "5xx ratio by release", [{ expr: `(${fivexxByRelease} or 0 * ${byRelease}) / clamp_min(${byRelease}, 1e-9)`, legend: "{{release}}" }], {
        unit: "percentunit",
        width: 8,
      }),
    )
    .withPanel(
      timeseries(
        ids,
        "p99 latency by release",
        [{ expr: `histogram_quantile(0.99, sum by (le, release) (rate(envoy_cluster_upstream_rq_time_bucket{${callers}}[${RATE}])))`, legend: "{{release}}" }],
        { unit: "ms", width: 8, description: "As the callers' Envoys measure it." },
      ),
    )
    .withRow(new RowBuilder("Postgres"))
    .withPanel(timeseries(ids, "Pool connections", [{ expr: "sum by (state) (db_pool_connections{" + app + "})", legend: "{{state}}" }], { unit: "none", width: 6 }))
    .withPanel(
      timeseries(
        ids,
        "Waiting for a connection",
        [
          { expr: `histogram_quantile(0.99, sum by (le) (rate(db_pool_wait_seconds_bucket{${app}}[${RATE}])))`, legend: "wait p99 (s)" },
          { expr: `sum(rate(db_pool_busy_total{${app}}[${RATE}]))`, legend: "refused busy / s" },
        ],
        { unit: "short", width: 6, description: "A saturated pool answers 503 busy with Retry-After once a request's deadline passes; that is load, not a Postgres outage." },
      ),
    )
    .withPanel(
      timeseries(
        ids,
        "Query duration p99",
        [{ expr: `histogram_quantile(0.99, sum by (le, operation) (rate(db_query_duration_seconds_bucket{${app}}[${RATE}])))`, legend: "{{operation}}" }],
        { unit: "s", width: 6 },
      ),
    )
    .withPanel(timeseries(ids, "Query errors", [{ expr: rateOf(`db_query_errors_total{${app}}`, "operation"), legend: "{{operation}}" }], { unit: "ops", width: 6 }))
    .withRow(new RowBuilder("Redis"))
    .withPanel(timeseries(ids, "Commands", [{ expr: rateOf(`redis_command_duration_seconds_count{${app}}`, "command"), legend: "{{command}}" }], { unit: "ops", width: 8 }))
    .withPanel(
      timeseries(
        ids,
        "Command duration p99",
        [{ expr: `histogram_quantile(0.99, sum by (le, command) (rate(redis_command_duration_seconds_bucket{${app}}[${RATE}])))`, legend: "{{command}}" }],
        { unit: "s", width: 8 },
      ),
    )
    .withPanel(timeseries(ids, "Command errors", [{ expr: rateOf(`redis_command_errors_total{${app}}`, "command"), legend: "{{command}}" }], { unit: "ops", width: 8 }))
    .withRow(new RowBuilder("RabbitMQ"))
    .withPanel(timeseries(ids, "Published", [{ expr: rateOf(`amqp_published_total{${app}}`, "outcome"), legend: "{{outcome}}" }], { unit: "ops", width: 8 }))
    .withPanel(timeseries(ids, "Consumed", [{ expr: rateOf(`amqp_consumed_total{${app}}`, "outcome"), legend: "{{outcome}}" }], { unit: "ops", width: 8 }))
    .withPanel(
      timeseries(
        ids,
        "Publish / consume duration p99",
        [
          { expr: `histogram_quantile(0.99, sum by (le) (rate(amqp_publish_duration_seconds_bucket{${app}}[${RATE}])))`, legend: "publish" },
          { expr: `histogram_quantile(0.99, sum by (le) (rate(amqp_consume_duration_seconds_bucket{${app}}[${RATE}])))`, legend: "consume" },
        ],
        { unit: "s", width: 8 },
      ),
    )
    .withPanel(
      timeseries(
        ids,
        "Queue backlog and dead letters",
        [
          { expr: `max by (queue) (amqp_queue_messages{${app}})`, legend: "{{queue}}" },
          { expr: rateOf(`amqp_consumed_total{${app},outcome="dead_lettered"}`, "service"), legend: "dead-lettered / s" },
        ],
        { unit: "none", width: 24 },
      ),
    )
    .withRow(new RowBuilder("Orders outbox"))
    // Every orders replica reports the one shared outbox: max over replicas, not sum.
    .withPanel(timeseries(ids, "Unpublished orders", [{ expr: `max(outbox_pending_messages{${app}})`, legend: "in the outbox" }], { unit: "none", width: 6 }))
    .withPanel(
      timeseries(ids, "Oldest unpublished order", [{ expr: `max(outbox_oldest_pending_age_seconds{${app}})`, legend: "age" }], {
        unit: "s",
        width: 6,
        description: "Grows while RabbitMQ is unreachable; the OutboxPublishingStalled alert fires past a minute.",
      }),
    )
    .withPanel(
      timeseries(
        ids,
        "Commit → broker confirm",
        [0.5, 0.99].map((q) => ({ expr: `histogram_quantile(${q}, sum by (le) (rate(outbox_publish_lag_seconds_bucket{${app}}[${RATE}])))`, legend: `p${q * 100}` })),
        { unit: "s", width: 6 },
      ),
    )
    .withPanel(timeseries(ids, "Relay batches failed", [{ expr: rateOf(`outbox_relay_errors_total{${app}}`, "replica"), legend: "{{replica}}" }], { unit: "ops", width: 6 }))
    .withRow(new RowBuilder("Process"))
    .withPanel(timeseries(ids, "CPU", [{ expr: `rate(process_cpu_seconds_total{${app}}[${RATE}])`, legend: "{{replica}}" }], { unit: "percentunit", width: 8 }))
    .withPanel(timeseries(ids, "Resident memory", [{ expr: `process_resident_memory_bytes{${app}}`, legend: "{{replica}}" }], { unit: "bytes", width: 8 }))
    .withPanel(timeseries(ids, "Event loop lag p99", [{ expr: `nodejs_eventloop_lag_p99_seconds{${app}}`, legend: "{{replica}}" }], { unit: "s", width: 8 }));
}
