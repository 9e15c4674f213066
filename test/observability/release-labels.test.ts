// The Releases row and the rate-limit panel, on what a real Envoy exports and a
// real Prometheus stores through the generated Envoy job (its
// metric_relabel_configs). A small Envoy plays a caller: it sends `/` to
// catalog's stable cluster and `/canary` to its canary cluster (a backend that
// answers 503 there), and rate-limits `/limited` with the filter and stat prefix
// the edge uses. Every request goes to 127.0.0.1 only.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { buildDashboards } from "../../dashboards/index.js";
import { type EnvoyObject, socketAddress, typed } from "../../envoy-templates/builders/common.js";
import { CLUSTER, RATE_LIMIT_STAT_PREFIX } from "../../envoy-templates/names.js";
import { releaseName } from "../../infra/traffic.js";
import { dockerAddressing } from "../../infra/docker/addressing.js";
import { EDGE_PROXY, buildMeshModel } from "../../infra/model.js";
import { prometheusConfig } from "../../infra/observability/prometheus.js";
import { SCRAPE_JOBS, type ScrapeConfig } from "../../infra/observability/scrape.js";
import { type RunningEnvoy, startEnvoy } from "../support/envoy.js";
import { freePort, waitFor } from "../support/net.js";
import { type RunningProcess, startProcess } from "../support/process.js";
import { panelExprs, unmetUses, type QueryUse } from "./metric-uses.js";
import { prometheusClient } from "./prometheus-api.js";
import { expressionUses, substituteGrafanaVariables } from "./promql.js";

const model = buildMeshModel();
const dashboards = buildDashboards(model);
const stable = releaseName("catalog", "stable");
const canary = releaseName("catalog", "canary");
const RATE_LIMIT_FILTER = "envoy.filters.http.local_ratelimit";
const LOCAL_RATE_LIMIT = "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
const RELEASE_PANELS = ["Request rate by release", "5xx ratio by release", "p99 latency by release"];
const RATE_LIMIT_PANEL = "Rate-limited requests / s";

const work = mkdtempSync(join(tmpdir(), "mesh-release-labels-"));
let envoy: RunningEnvoy | undefined;
let prometheus: RunningProcess | undefined;
let api: ReturnType<typeof prometheusClient>;
let front = "";
let admin = "";
const limitedStatuses: number[] = [];

function httpManager(statPrefix: string, routes: EnvoyObject[], filters: EnvoyObject[] = []): EnvoyObject {
  return {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: typed("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", {
      stat_prefix: statPrefix,
      route_config: { virtual_hosts: [{ name: statPrefix, domains: ["*"], routes }] },
      http_filters: [...filters, { name: "envoy.filters.http.router", typed_config: typed("envoy.extensions.filters.http.router.v3.Router") }],
    }),
  };
}

const always = (key: string) => ({ runtime_key: key, default_value: { numerator: 100, denominator: "HUNDRED" } });

function envoyConfig(ports: { admin: number; front: number; backend: number }): string {
  const at = (port: number) => socketAddress({ address: "127.0.0.1", port });
  const cluster = (name: string) => ({
    name,
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: at(ports.backend) } }] }] },
  });
  // One token and no refill within the test: the first request passes, every later one gets 429.
  const bucket = typed(LOCAL_RATE_LIMIT, {
    stat_prefix: RATE_LIMIT_STAT_PREFIX,
    token_bucket: { max_tokens: 1, tokens_per_fill: 1, fill_interval: "3600s" },
    filter_enabled: always("rate_limit_enabled"),
    filter_enforced: always("rate_limit_enforced"),
  });
  const caller = httpManager(
    "caller",
    [
      { match: { prefix: "/limited" }, direct_response: { status: 200 }, typed_per_filter_config: { [RATE_LIMIT_FILTER]: bucket } },
      { match: { prefix: "/canary" }, route: { cluster: canary, timeout: "5s" } },
      { match: { prefix: "/" }, route: { cluster: stable, timeout: "5s" } },
    ],
    [{ name: RATE_LIMIT_FILTER, typed_config: typed(LOCAL_RATE_LIMIT, { stat_prefix: RATE_LIMIT_STAT_PREFIX }) }],
  );
  const backend = httpManager("backend", [
    { match: { prefix: "/canary" }, direct_response: { status: 503 } },
    { match: { prefix: "/" }, direct_response: { status: 200 } },
  ]);
  return stringify({
    admin: { address: at(ports.admin) },
    // Histograms reach /stats/prometheus on each flush: flush often so the test waits little.
    stats_flush_interval: "1s",
    static_resources: {
      listeners: [
        { name: "caller", address: at(ports.front), filter_chains: [{ filters: [caller] }] },
        { name: "backend", address: at(ports.backend), filter_chains: [{ filters: [backend] }] },
      ],
      // The local app's cluster stands for every cluster that is no service's release.
      clusters: [cluster(stable), cluster(canary), cluster(CLUSTER.localApp)],
    },
  });
}

async function get(path: string): Promise<number> {
  const res = await fetch(`${front}${path}`, { signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status;
}

/** Waits until Envoy's flushed latency histograms hold `count` requests to each release. */
async function histogramsFlushed(count: number): Promise<void> {
  await waitFor(`${count} requests in each release's latency histogram`, async () => {
    const text = await (await fetch(`${admin}/stats/prometheus`)).text();
    return [stable, canary].every((name) => {
      const match = new RegExp(`envoy_cluster_upstream_rq_time_count\\{envoy_cluster_name="${name}"\\} (\\d+)`).exec(text);
      return Number(match?.[1] ?? 0) >= count;
    });
  });
}

async function scrapedAfter(since: number): Promise<void> {
  await waitFor("a scrape of the Envoy", async () => {
    const [up] = await api.instant(`timestamp(up{job="${SCRAPE_JOBS.envoy}"})`);
    return up !== undefined && Number(up.value[1]) > since;
  });
}

/** The generated Envoy job, scraping this Envoy's admin as the edge (the labels discovery gives the edge). */
function envoyJobFor(target: string): ScrapeConfig {
  const config = prometheusConfig(model, dockerAddressing()) as { scrape_configs: ScrapeConfig[] };
  const job = config.scrape_configs.find((j) => j.job_name === SCRAPE_JOBS.envoy)!;
  return {
    job_name: job.job_name,
    metrics_path: job.metrics_path,
    static_configs: [{ targets: [target], labels: { service: EDGE_PROXY, role: "edge", replica: "0" } }],
    metric_relabel_configs: job.metric_relabel_configs,
  };
}

async function startPrometheus(target: string): Promise<void> {
  const file = join(work, "prometheus.yml");
  writeFileSync(file, stringify({ global: { scrape_interval: "1s" }, scrape_configs: [envoyJobFor(target)] }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  api = prometheusClient(url);
  const started = startProcess("prometheus", [`--config.file=${file}`, `--storage.tsdb.path=${join(work, "data")}`, `--web.listen-address=127.0.0.1:${port}`]);
  prometheus = started;
  await waitFor("Prometheus ready", async () => {
    if (started.output().includes("[spawn error]")) throw new Error('prometheus not found: run "bash scripts/setup.sh" first');
    if (started.child.exitCode !== null) throw new Error(`prometheus exited:\n${started.output()}`);
    return (await fetch(`${url}/-/ready`)).ok;
  });
}

beforeAll(async () => {
  const ports = { admin: await freePort(), front: await freePort(), backend: await freePort() };
  envoy = await startEnvoy(envoyConfig(ports));
  front = `http://127.0.0.1:${ports.front}`;
  admin = envoy.adminUrl;
  // Before the first scrape: every series (a 5xx counter is created by the first 5xx,
  // histograms by a flush) already exists, so rate() sees all the traffic that follows.
  expect([await get("/"), await get("/canary")]).toEqual([200, 503]);
  limitedStatuses.push(await get("/limited"), await get("/limited"));
  await histogramsFlushed(1);
  await startPrometheus(`127.0.0.1:${ports.admin}`);
  await scrapedAfter(Date.now() / 1000);
  for (let i = 0; i < 4; i++) expect([await get(`/products/${i}`), await get(`/canary/${i}`)]).toEqual([200, 503]);
  for (let i = 0; i < 3; i++) limitedStatuses.push(await get("/limited"));
  await histogramsFlushed(5);
  await scrapedAfter(Date.now() / 1000);
}, 90_000);

afterAll(async () => {
  await prometheus?.stop();
  await envoy?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** The panels checked here have one query each. */
function panelExpr(dashboard: string, title: string): string {
  const [expr] = panelExprs(dashboards[dashboard]!, title);
  return expr!;
}

/** A panel's value per release, for the catalog service. */
async function byRelease(title: string): Promise<Record<string, number>> {
  const result = await api.instant(substituteGrafanaVariables(panelExpr("service", title)).replaceAll("$service", "catalog"));
  return Object.fromEntries(result.map((s) => [s.metric.release ?? "(none)", Number(s.value[1])]));
}

describe("release labels on a caller's cluster stats", () => {
  it("say stable for the service's own cluster and canary for its canary's, keep the cluster names, and leave other clusters alone", async () => {
    const series = await api.instant(`envoy_cluster_upstream_rq_total{job="${SCRAPE_JOBS.envoy}"}`);
    expect(Object.fromEntries(series.map((s) => [s.metric.envoy_cluster_name, s.metric.release ?? "(none)"]))).toEqual({
      catalog: "stable",
      "catalog-canary": "canary",
      [CLUSTER.localApp]: "(none)",
    });
  });

  it("give the Releases row each release's request rate, 5xx ratio and p99", async () => {
    const rates = await byRelease("Request rate by release");
    expect(Object.keys(rates).sort()).toEqual(["canary", "stable"]);
    for (const rate of Object.values(rates)) expect(rate).toBeGreaterThan(0);
    const ratios = await byRelease("5xx ratio by release");
    expect(ratios.stable).toBe(0);
    expect(ratios.canary).toBeCloseTo(1, 6);
    const p99 = await byRelease("p99 latency by release");
    expect(Object.keys(p99).sort()).toEqual(["canary", "stable"]);
    for (const ms of Object.values(p99)) expect(Number.isFinite(ms) && ms > 0).toBe(true);
  });
});

describe("the edge's rate-limit panel", () => {
  it("counts exactly the requests the local rate limit answered 429", async () => {
    expect(limitedStatuses).toEqual([200, 429, 429, 429, 429]);
    const expr = panelExpr("mesh-overview", RATE_LIMIT_PANEL);
    const [counter] = expressionUses(expr).selectors;
    const [total] = await api.instant(counter!.text);
    expect(Number(total?.value[1])).toBe(limitedStatuses.filter((s) => s === 429).length);
    const [rate] = await api.instant(substituteGrafanaVariables(expr));
    expect(Number(rate?.value[1])).toBeGreaterThan(0);
  });
});

it("finds every metric and label these panels use in what Envoy exports", async () => {
  const panels = [...RELEASE_PANELS.map((title) => ["service", title] as const), ["mesh-overview", RATE_LIMIT_PANEL] as const];
  const queries: QueryUse[] = panels.map(([dashboard, title]) => {
    const expr = panelExpr(dashboard, title);
    return { where: `${dashboard} / ${title}`, expr, uses: expressionUses(expr) };
  });
  expect(unmetUses(queries, await api.seriesCatalogue(Date.now() / 1000))).toEqual([]);
});
