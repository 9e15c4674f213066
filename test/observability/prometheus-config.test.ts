// The generated Prometheus config and rules, checked by promtool for every
// target, and each alert unit-tested with `promtool test rules`: once where it
// must fire and once where it must stay quiet.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { dockerAddressing } from "../../infra/docker/addressing.js";
import { kubernetesAddressing } from "../../infra/kubernetes/addressing.js";
import { buildMeshModel } from "../../infra/model.js";
import { LISTENER } from "../../envoy-templates/names.js";
import { ALERT_RULES_FILE, PROMETHEUS_DIR, renderPrometheusArtifacts } from "../../infra/observability/prometheus.js";
import { renderLocalScrapeTargets } from "../../infra/observability/scrape.js";
import { localAddressing } from "../../infra/local/addressing.js";
import { LocalLayout } from "../../infra/local/layout.js";
import { promtool, writeArtifacts } from "./support.js";

const model = buildMeshModel({ catalog: 2, orders: 3 });
const work = mkdtempSync(join(tmpdir(), "mesh-prometheus-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const targets = {
  docker: dockerAddressing(),
  kubernetes: kubernetesAddressing("mesh"),
  local: localAddressing(new LocalLayout("127.31.4"), () => "127.0.0.1"),
};

describe("prometheus.yml and rules", () => {
  for (const [name, addressing] of Object.entries(targets)) {
    it(`pass promtool check config and check rules (${name})`, async () => {
      const dir = join(work, name);
      writeArtifacts(dir, renderPrometheusArtifacts(model, addressing));
      const config = await promtool(["check", "config", join(dir, PROMETHEUS_DIR, "prometheus.yml")]);
      expect(config).toContain("is valid prometheus config file syntax");
      const rules = await promtool(["check", "rules", join(dir, PROMETHEUS_DIR, ALERT_RULES_FILE)]);
      expect(rules).toMatch(/SUCCESS: \d+ rules found/);
    });
  }

  it("finds replicas by DNS on Docker and Kubernetes, labelling service and role from the name", () => {
    const config = parse(renderPrometheusArtifacts(model, targets.kubernetes)["prometheus/prometheus.yml"]!);
    const envoy = config.scrape_configs.find((j: { job_name: string }) => j.job_name === "envoy");
    expect(envoy.dns_sd_configs[0].names).toEqual([
      "edge.mesh.svc.cluster.local",
      "catalog.mesh.svc.cluster.local",
      "cart.mesh.svc.cluster.local",
      "orders.mesh.svc.cluster.local",
      "order-worker.mesh.svc.cluster.local",
    ]);
    expect(envoy.dns_sd_configs[0].port).toBe(9902);
    expect(envoy.metrics_path).toBe("/stats/prometheus");
    expect(envoy.relabel_configs).toContainEqual({
      source_labels: ["__meta_dns_name"],
      regex: "order-worker\\.mesh\\.svc\\.cluster\\.local",
      target_label: "service",
      replacement: "order-worker",
    });
    const app = config.scrape_configs.find((j: { job_name: string }) => j.job_name === "app");
    expect(app.dns_sd_configs[0].port).toBe(9902);
    expect(app.relabel_configs).toContainEqual({ source_labels: ["service"], regex: "order-worker", target_label: "role", replacement: "worker" });
    expect(config.scrape_configs.map((j: { job_name: string }) => j.job_name)).toEqual(["envoy", "app", "prometheus", "grafana"]);
  });

  it("labels the release of every Envoy cluster named after a service's release, on every target", () => {
    const release = [
      { source_labels: ["envoy_cluster_name"], regex: "catalog|cart|orders|order-worker", target_label: "release", replacement: "stable" },
      { source_labels: ["envoy_cluster_name"], regex: "catalog-canary|cart-canary|orders-canary|order-worker-canary", target_label: "release", replacement: "canary" },
    ];
    for (const [name, addressing] of Object.entries(targets)) {
      const config = parse(renderPrometheusArtifacts(model, addressing)["prometheus/prometheus.yml"]!);
      const job = (jobName: string) => config.scrape_configs.find((j: { job_name: string }) => j.job_name === jobName);
      expect(job("envoy").metric_relabel_configs, name).toEqual(release);
      expect(job("app").metric_relabel_configs, name).toBeUndefined();
    }
  });

  it("lists every local replica in file_sd targets with service, role, replica and release labels", () => {
    const files = renderLocalScrapeTargets(model, targets.local);
    const envoy = JSON.parse(files["targets/envoy.json"]!);
    const app = JSON.parse(files["targets/app.json"]!);
    expect(envoy).toHaveLength(1 + 2 + 1 + 3 + 1);
    expect(envoy[0]).toEqual({ targets: ["127.31.4.1:9902"], labels: { service: "edge", role: "edge", replica: "0" } });
    expect(app).toContainEqual({ targets: ["127.31.4.51:9902"], labels: { service: "orders", role: "app", replica: "1", release: "stable" } });
    expect(app).toContainEqual({ targets: ["127.31.4.70:9902"], labels: { service: "order-worker", role: "worker", replica: "0", release: "stable" } });
  });

  it("lists a canary's local replicas too, labelled release canary", () => {
    const withCanary = buildMeshModel({ catalog: 2 }, { traffic: { canaries: { catalog: { weightPercent: 10, replicas: 2 } }, faults: {}, rateLimits: {} } });
    const app = JSON.parse(renderLocalScrapeTargets(withCanary, targets.local)["targets/app.json"]!) as Array<{ targets: string[]; labels: Record<string, string> }>;
    const catalog = app.filter((g) => g.labels.service === "catalog");
    expect(catalog.map((g) => `${g.labels.release} ${g.labels.replica} ${g.targets[0]}`)).toEqual([
      "stable 0 127.31.4.10:9902",
      "stable 1 127.31.4.11:9902",
      // The canaries' address range follows the four services' stable ranges (infra/local/layout.ts).
      "canary 0 127.31.4.90:9902",
      "canary 1 127.31.4.91:9902",
    ]);
  });
});

// ---- promtool test rules: one firing and one quiet scenario per alert ------

interface Scenario {
  name: string;
  series: Array<{ series: string; values: string }>;
  evalTime: string;
  alert: string;
  expected: Array<{ exp_labels: Record<string, string>; exp_annotations: Record<string, string> }>;
}

const edge = `role="edge",service="edge",job="envoy",instance="edge:9902",replica="10.0.0.2"`;
const edgeHttp = `${edge},envoy_http_conn_manager_prefix="${LISTENER.edgeHttp}"`;
// The edge's metrics-only listener has its own connection manager; its requests must never count.
const edgeMetricsHttp = `${edge},envoy_http_conn_manager_prefix="metrics"`;
const catalogApp = `job="app",service="catalog",role="app",instance="catalog:9902",replica="10.0.0.5"`;
const edgeToCatalog = `${edge},envoy_cluster_name="catalog"`;

function edgeTraffic(fivexxPerMinute: number): Scenario["series"] {
  return [
    { series: `envoy_http_downstream_rq_xx{${edgeHttp},envoy_response_code_class="5"}`, values: `0+${fivexxPerMinute}x20` },
    { series: `envoy_http_downstream_rq_total{${edgeHttp}}`, values: "0+100x20" },
    { series: `envoy_http_downstream_rq_xx{${edgeMetricsHttp},envoy_response_code_class="5"}`, values: "0+500x20" },
    { series: `envoy_http_downstream_rq_total{${edgeMetricsHttp}}`, values: "0+500x20" },
  ];
}

function latency(bucketWithRequests: string): Scenario["series"] {
  return ["0.1", "0.5", "1", "+Inf"].map((le) => ({
    series: `http_request_duration_seconds_bucket{${catalogApp},method="GET",route="/products",status_code="200",le="${le}"}`,
    values: Number(le) >= Number(bucketWithRequests) || le === "+Inf" ? "0+10x20" : "0x20",
  }));
}

const queues = (backlog: number, dead: number): Scenario["series"] => [
  { series: `amqp_queue_messages{job="app",service="order-worker",role="worker",queue="orders.placed"}`, values: `${backlog}x20` },
  { series: `amqp_queue_messages{job="app",service="order-worker",role="worker",queue="orders.placed.dead"}`, values: `${dead}x20` },
];

/** The one outbox as two orders replicas report it (each reads the same table). */
const outboxAge = (values: string): Scenario["series"] =>
  ["10.0.0.7", "10.0.0.8"].map((replica) => ({
    series: `outbox_oldest_pending_age_seconds{job="app",service="orders",role="app",instance="orders:9902",replica="${replica}"}`,
    values,
  }));

/** RBAC denials at a sidecar's ingress, and its metrics listener's own connection manager (never counted). */
const denials = (perMinute: number): Scenario["series"] => [
  { series: `envoy_http_rbac_denied{role="sidecar",service="catalog",job="envoy",instance="catalog:9902",replica="10.0.0.5",envoy_http_conn_manager_prefix="${LISTENER.ingress}"}`, values: `0+${perMinute}x20` },
  { series: `envoy_http_rbac_denied{role="sidecar",service="catalog",job="envoy",instance="catalog:9902",replica="10.0.0.5",envoy_http_conn_manager_prefix="metrics"}`, values: "0+600x20" },
];

const scenarios: Scenario[] = [
  {
    name: "a caller refused 30 times a minute fires for the callee",
    series: denials(30),
    evalTime: "15m",
    alert: "MeshCallsDenied",
    expected: [
      {
        exp_labels: { severity: "ticket", service: "catalog" },
        exp_annotations: {
          summary: "catalog refuses calls from workloads the mesh does not allow",
          description:
            "catalog's sidecars answered 0.50 requests/s with 403 over the last 5 minutes (threshold 0.1): a workload with a valid mesh certificate calls a service it is not listed as a caller of. Find it in the sidecars' access logs (response code 403, the peer's identity), then add it to the model's calls or stop it.",
        },
      },
    ],
  },
  { name: "a refused call now and then is quiet", series: denials(3), evalTime: "15m", alert: "MeshCallsDenied", expected: [] },
  {
    name: "edge 5xx ratio of 10% fires",
    series: edgeTraffic(10),
    evalTime: "10m",
    alert: "EdgeHighErrorRatio",
    expected: [
      {
        exp_labels: { severity: "page", service: "edge" },
        exp_annotations: {
          summary: "The edge answers too many requests with a 5xx",
          description: "10% of public requests failed with a 5xx over the last 5 minutes (threshold 5%).",
        },
      },
    ],
  },
  { name: "edge 5xx ratio of 1% is quiet, whatever the metrics listener does", series: edgeTraffic(1), evalTime: "10m", alert: "EdgeHighErrorRatio", expected: [] },
  {
    name: "an ejected host fires",
    series: [{ series: `envoy_cluster_outlier_detection_ejections_active{${edgeToCatalog}}`, values: "0 0 1 1 1 1 1" }],
    evalTime: "5m",
    alert: "UpstreamHostsEjected",
    expected: [
      {
        exp_labels: { severity: "ticket", service: "edge", envoy_cluster_name: "catalog" },
        exp_annotations: {
          summary: "edge ejected hosts of catalog",
          description: "Outlier detection in edge's Envoy keeps 1 host(s) of cluster catalog out of load balancing.",
        },
      },
    ],
  },
  {
    name: "an ejection shorter than a minute is quiet",
    series: [{ series: `envoy_cluster_outlier_detection_ejections_active{${edgeToCatalog}}`, values: "0 0 1 0 0 0 0" }],
    evalTime: "5m",
    alert: "UpstreamHostsEjected",
    expected: [],
  },
  {
    name: "an unhealthy host fires",
    series: [
      { series: `envoy_cluster_membership_total{${edgeToCatalog}}`, values: "2x10" },
      { series: `envoy_cluster_membership_healthy{${edgeToCatalog}}`, values: "1x10" },
    ],
    evalTime: "5m",
    alert: "UpstreamHostsUnhealthy",
    expected: [
      {
        exp_labels: { severity: "ticket", service: "edge", envoy_cluster_name: "catalog" },
        exp_annotations: {
          summary: "edge sees unhealthy hosts in catalog",
          description: "1 host(s) of cluster catalog fail health checks, as edge's Envoy sees them.",
        },
      },
    ],
  },
  {
    name: "all hosts healthy is quiet",
    series: [
      { series: `envoy_cluster_membership_total{${edgeToCatalog}}`, values: "2x10" },
      { series: `envoy_cluster_membership_healthy{${edgeToCatalog}}`, values: "2x10" },
    ],
    evalTime: "5m",
    alert: "UpstreamHostsUnhealthy",
    expected: [],
  },
  {
    name: "catalog p99 near one second fires for catalog only",
    series: latency("1"),
    evalTime: "15m",
    alert: "ServiceP99LatencyHigh",
    expected: [
      {
        exp_labels: { severity: "ticket", service: "catalog" },
        exp_annotations: {
          summary: "catalog p99 latency is over 300 ms",
          description: "The slowest 1% of catalog requests took 995ms or more over the last 5 minutes (target 300 ms).",
        },
      },
    ],
  },
  { name: "catalog p99 under 100 ms is quiet", series: latency("0.1"), evalTime: "15m", alert: "ServiceP99LatencyHigh", expected: [] },
  {
    name: "a backlog of 500 orders fires",
    series: queues(500, 0),
    evalTime: "15m",
    alert: "WorkerBacklogHigh",
    expected: [
      {
        exp_labels: { severity: "ticket", queue: "orders.placed" },
        exp_annotations: {
          summary: "Queue orders.placed is backing up",
          description: "500 messages wait in orders.placed (threshold 100): the worker is slow, failing or down.",
        },
      },
    ],
  },
  { name: "a backlog of 50 is quiet, and dead letters are not backlog", series: queues(50, 500), evalTime: "15m", alert: "WorkerBacklogHigh", expected: [] },
  {
    name: "dead letters fire",
    series: queues(0, 3),
    evalTime: "5m",
    alert: "DeadLettersPresent",
    expected: [
      {
        exp_labels: { severity: "ticket", queue: "orders.placed.dead" },
        exp_annotations: {
          summary: "Messages were dead-lettered to orders.placed.dead",
          description: "3 message(s) in orders.placed.dead gave up after retries; inspect and replay or drop them.",
        },
      },
    ],
  },
  { name: "an empty dead-letter queue is quiet", series: queues(5, 0), evalTime: "5m", alert: "DeadLettersPresent", expected: [] },
  {
    // The broker went away at minute 0: the oldest order ages a minute per minute.
    name: "an outbox message waiting over a minute for 2 minutes fires once, whatever the replica count",
    series: outboxAge("0+60x10"),
    evalTime: "5m",
    alert: "OutboxPublishingStalled",
    expected: [
      {
        exp_labels: { severity: "page", service: "orders" },
        exp_annotations: {
          summary: "Accepted orders are not reaching the broker",
          description:
            "The oldest order in the outbox has waited 5m 0s to be published (threshold 60 s): RabbitMQ is unreachable or the relay fails (amqp_published_total, outbox_relay_errors_total). Orders are still accepted and will be fulfilled once it publishes.",
        },
      },
    ],
  },
  {
    name: "an outbox drained within seconds is quiet, even after a long outage ended",
    // Old orders (up to 90 s) published after a restart, then milliseconds again.
    series: outboxAge("90 30 0.01 0.02 0.01 0.01 0.02 0.01 0.01 0.01"),
    evalTime: "8m",
    alert: "OutboxPublishingStalled",
    expected: [],
  },
  {
    name: "a target down for 2 minutes fires",
    series: [{ series: `up{${catalogApp}}`, values: "0x10" }],
    evalTime: "5m",
    alert: "TargetDown",
    expected: [
      {
        exp_labels: { severity: "page", job: "app", service: "catalog", role: "app", instance: "catalog:9902", replica: "10.0.0.5" },
        exp_annotations: {
          summary: "app target catalog (catalog:9902) is down",
          description: "Prometheus could not scrape catalog:9902 (job app, replica 10.0.0.5) for 2 minutes.",
        },
      },
    ],
  },
  { name: "a target that answers is quiet", series: [{ series: `up{${catalogApp}}`, values: "1x10" }], evalTime: "5m", alert: "TargetDown", expected: [] },
];

describe("alert rules under promtool test rules", () => {
  const dir = join(work, "rules-test");
  writeArtifacts(dir, renderPrometheusArtifacts(model, targets.docker));
  const rulesDir = join(dir, PROMETHEUS_DIR);
  const alertNames = parse(renderPrometheusArtifacts(model, targets.docker)[`${PROMETHEUS_DIR}/${ALERT_RULES_FILE}`]!)
    .groups.flatMap((g: { rules: Array<{ alert: string }> }) => g.rules.map((r) => r.alert));

  it("has a firing and a quiet scenario for every alert", () => {
    for (const alert of new Set(alertNames)) {
      const mine = scenarios.filter((s) => s.alert === alert);
      expect(mine.some((s) => s.expected.length > 0), `${alert} firing`).toBe(true);
      expect(mine.some((s) => s.expected.length === 0), `${alert} quiet`).toBe(true);
    }
  });

  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      const file = join(rulesDir, `test-${scenarios.indexOf(scenario)}.yml`);
      const doc = {
        rule_files: [ALERT_RULES_FILE],
        evaluation_interval: "1m",
        tests: [
          {
            interval: "1m",
            input_series: scenario.series,
            alert_rule_test: [{ eval_time: scenario.evalTime, alertname: scenario.alert, exp_alerts: scenario.expected }],
          },
        ],
      };
      writeFileSync(file, stringify(doc));
      const output = await promtool(["test", "rules", file]);
      expect(output).toContain("SUCCESS");
    });
  }
});
