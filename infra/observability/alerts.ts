// Alert rules an operator of this mesh needs, on the stat names Envoy v3
// exports at /stats/prometheus and the apps' own metric names. `service`,
// `role` and `replica` are the labels Prometheus adds when it scrapes (scrape.ts).
import { EDGE_PROXY, type MeshModel, type ServiceName } from "../model.js";
import { SCRAPE_JOBS } from "./scrape.js";

/** p99 latency an API service should stay under, measured by the app itself. */
export const P99_LATENCY_TARGET_SECONDS: Partial<Readonly<Record<ServiceName, number>>> = {
  catalog: 0.3,
  cart: 0.2,
  // POST /orders checks every item with catalog through the mesh before it publishes.
  orders: 0.8,
};

/** Edge requests answered with a 5xx, as a share of all, above which someone should look. */
export const EDGE_5XX_RATIO_THRESHOLD = 0.05;
/**
 * Requests a second that sidecars refuse because the caller is not one the model allows.
 * Nothing in the mesh ever makes such a call: a steady trickle is a misconfigured client
 * or a workload probing its neighbours, not noise.
 */
export const DENIED_CALLS_RATE_THRESHOLD = 0.1;
/** Orders waiting for the worker; a healthy worker keeps this near zero. */
export const WORKER_BACKLOG_THRESHOLD = 100;
/**
 * Age of the oldest order not yet handed to the broker. The relay publishes
 * within milliseconds while RabbitMQ is reachable, so a minute means it is not.
 */
export const OUTBOX_AGE_THRESHOLD_SECONDS = 60;

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "page" | "ticket"; service?: string };
  annotations: { summary: string; description: string };
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

/** Dead-letter queues end in `.dead` (the worker's `orders.placed.dead`). */
const DEAD_LETTER_QUEUE = '.+\\\\.dead';

/** Requests a sidecar's ingress refused by its RBAC filter (envoy-templates/builders/tls.ts). */
export function deniedCallsMetric(ingressStatPrefix: string): string {
  return `envoy_http_rbac_denied{role="sidecar",envoy_http_conn_manager_prefix="${ingressStatPrefix}"}`;
}

function latencyRules(model: MeshModel): AlertRule[] {
  return model.services
    .filter((s) => s.kind === "api")
    .map((s) => {
      const target = P99_LATENCY_TARGET_SECONDS[s.name];
      if (target === undefined) throw new Error(`no p99 latency target for API service "${s.name}"`);
      return {
        alert: "ServiceP99LatencyHigh",
        expr: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="${SCRAPE_JOBS.app}",service="${s.name}"}[5m]))) > ${target}`,
        for: "10m",
        labels: { severity: "ticket", service: s.name },
        annotations: {
          summary: `${s.name} p99 latency is over ${target * 1000} ms`,
          description: `The slowest 1% of ${s.name} requests took {{ $value | humanizeDuration }} or more over the last 5 minutes (target ${target * 1000} ms).`,
        },
      };
    });
}

/**
 * The alert rules, grouped by what they watch. `edgeHttpStatPrefix` is the
 * stat_prefix of the edge's public HTTP connection manager: the edge's
 * metrics-only listener has one of its own, and its requests must not count.
 */
export function meshAlertRules(model: MeshModel, edgeHttpStatPrefix: string, ingressStatPrefix: string): RuleGroup[] {
  const edgeHttp = `role="edge",envoy_http_conn_manager_prefix="${edgeHttpStatPrefix}"`;
  return [
    {
      name: "mesh-traffic",
      rules: [
        {
          alert: "EdgeHighErrorRatio",
          expr:
            `sum(rate(envoy_http_downstream_rq_xx{${edgeHttp},envoy_response_code_class="5"}[5m]))` +
            ` / sum(rate(envoy_http_downstream_rq_total{${edgeHttp}}[5m])) > ${EDGE_5XX_RATIO_THRESHOLD}`,
          for: "5m",
          labels: { severity: "page", service: EDGE_PROXY },
          annotations: {
            summary: "The edge answers too many requests with a 5xx",
            description: `{{ $value | humanizePercentage }} of public requests failed with a 5xx over the last 5 minutes (threshold ${EDGE_5XX_RATIO_THRESHOLD * 100}%).`,
          },
        },
        {
          alert: "UpstreamHostsEjected",
          expr: "sum by (service, envoy_cluster_name) (envoy_cluster_outlier_detection_ejections_active) > 0",
          for: "1m",
          labels: { severity: "ticket" },
          annotations: {
            summary: "{{ $labels.service }} ejected hosts of {{ $labels.envoy_cluster_name }}",
            description: "Outlier detection in {{ $labels.service }}'s Envoy keeps {{ $value }} host(s) of cluster {{ $labels.envoy_cluster_name }} out of load balancing.",
          },
        },
        {
          alert: "UpstreamHostsUnhealthy",
          expr: "sum by (service, envoy_cluster_name) (envoy_cluster_membership_total - envoy_cluster_membership_healthy) > 0",
          for: "2m",
          labels: { severity: "ticket" },
          annotations: {
            summary: "{{ $labels.service }} sees unhealthy hosts in {{ $labels.envoy_cluster_name }}",
            description: "{{ $value }} host(s) of cluster {{ $labels.envoy_cluster_name }} fail health checks, as {{ $labels.service }}'s Envoy sees them.",
          },
        },
        ...latencyRules(model),
      ],
    },
    {
      name: "mesh-security",
      rules: [
        {
          alert: "MeshCallsDenied",
          expr: `sum by (service) (rate(${deniedCallsMetric(ingressStatPrefix)}[5m])) > ${DENIED_CALLS_RATE_THRESHOLD}`,
          for: "5m",
          labels: { severity: "ticket" },
          annotations: {
            summary: "{{ $labels.service }} refuses calls from workloads the mesh does not allow",
            description: `{{ $labels.service }}'s sidecars answered {{ printf "%.2f" $value }} requests/s with 403 over the last 5 minutes (threshold ${DENIED_CALLS_RATE_THRESHOLD}): a workload with a valid mesh certificate calls a service it is not listed as a caller of. Find it in the sidecars' access logs (response code 403, the peer's identity), then add it to the model's calls or stop it.`,
          },
        },
      ],
    },
    {
      name: "orders-outbox",
      rules: [
        {
          alert: "OutboxPublishingStalled",
          // Every orders replica reports the one shared outbox: max, not sum.
          expr: `max(outbox_oldest_pending_age_seconds{job="${SCRAPE_JOBS.app}",service="orders"}) > ${OUTBOX_AGE_THRESHOLD_SECONDS}`,
          for: "2m",
          labels: { severity: "page", service: "orders" },
          annotations: {
            summary: "Accepted orders are not reaching the broker",
            description: `The oldest order in the outbox has waited {{ $value | humanizeDuration }} to be published (threshold ${OUTBOX_AGE_THRESHOLD_SECONDS} s): RabbitMQ is unreachable or the relay fails (amqp_published_total, outbox_relay_errors_total). Orders are still accepted and will be fulfilled once it publishes.`,
          },
        },
      ],
    },
    {
      name: "order-worker",
      rules: [
        {
          alert: "WorkerBacklogHigh",
          expr: `max by (queue) (amqp_queue_messages{queue!~"${DEAD_LETTER_QUEUE}"}) > ${WORKER_BACKLOG_THRESHOLD}`,
          for: "10m",
          labels: { severity: "ticket" },
          annotations: {
            summary: "Queue {{ $labels.queue }} is backing up",
            description: `{{ $value }} messages wait in {{ $labels.queue }} (threshold ${WORKER_BACKLOG_THRESHOLD}): the worker is slow, failing or down.`,
          },
        },
        {
          alert: "DeadLettersPresent",
          expr: `max by (queue) (amqp_queue_messages{queue=~"${DEAD_LETTER_QUEUE}"}) > 0`,
          for: "1m",
          labels: { severity: "ticket" },
          annotations: {
            summary: "Messages were dead-lettered to {{ $labels.queue }}",
            description: "{{ $value }} message(s) in {{ $labels.queue }} gave up after retries; inspect and replay or drop them.",
          },
        },
      ],
    },
    {
      name: "targets",
      rules: [
        {
          alert: "TargetDown",
          expr: "up == 0",
          for: "2m",
          labels: { severity: "page" },
          annotations: {
            summary: "{{ $labels.job }} target {{ $labels.service }} ({{ $labels.instance }}) is down",
            description: "Prometheus could not scrape {{ $labels.instance }} (job {{ $labels.job }}, replica {{ $labels.replica }}) for 2 minutes.",
          },
        },
      ],
    },
  ];
}
