// Every metric a dashboard panel, dashboard variable or alert uses exists, with
// the labels it filters and groups on. The local runner stands the mesh up
// (real Envoys from the generated configs, real apps, real data stores) and a
// real Prometheus scrapes it from the generated config; after traffic (and a
// short Postgres and Redis outage, so the error counters have samples), the
// series Prometheus holds are the catalogue every query is checked against,
// and every query runs on it. Grafana's own metrics cannot be checked here:
// there is no Grafana server on this machine (see GRAFANA_UNCHECKED).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboards } from "../../dashboards/index.js";
import { startLocalMesh, type LocalMesh } from "../../infra/local/mesh.js";
import { meshAlertRules } from "../../infra/observability/alerts.js";
import { LISTENER } from "../../envoy-templates/names.js";
import { buildMeshModel } from "../../infra/model.js";
import { waitFor } from "../support/net.js";
import { GRAFANA_UNCHECKED, meshQueryUses, unmetUses, type MetricCatalogue } from "./metric-uses.js";
import { prometheusApi } from "./prometheus-api.js";
import { substituteGrafanaVariables } from "./promql.js";

let mesh: LocalMesh;
let prometheus: ReturnType<typeof prometheusApi>;
const stateDir = mkdtempSync(join(tmpdir(), "mesh-live-metrics-"));

async function api(method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${mesh.endpoints.gateway}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Requests that make every route, status class, backend call and message outcome happen at least once. */
async function sendTraffic(): Promise<void> {
  const created = await fetch(`${mesh.endpoints.gateway}/api/products`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sku: `live-${Date.now()}`, name: "Live metrics probe", priceCents: 1234 }),
    signal: AbortSignal.timeout(10_000),
  });
  expect(created.status).toBe(201);
  const product = (await created.json()) as { id: string | number };
  expect(await api("GET", "/api/products?limit=5")).toBe(200);
  expect(await api("GET", `/api/products/${product.id}`)).toBe(200);
  expect(await api("POST", "/api/products", { name: "no sku" })).toBe(400);
  expect(await api("PUT", `/api/carts/live-cart/items/${product.id}`, { quantity: 2 })).toBe(200);
  expect(await api("GET", "/api/carts/live-cart")).toBe(200);
  const order = await fetch(`${mesh.endpoints.gateway}/api/orders`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ items: [{ productId: product.id, quantity: 1 }] }),
    signal: AbortSignal.timeout(10_000),
  });
  expect(order.status).toBe(202);
  const { id } = (await order.json()) as { id: string };
  await waitFor("the worker to fulfil the order", async () => {
    const res = await fetch(`${mesh.endpoints.gateway}/api/orders/${id}`, { signal: AbortSignal.timeout(5000) });
    return res.ok && ((await res.json()) as { status: string }).status === "fulfilled";
  });
}

/** Backend errors, so the error counters get samples (their labels exist only once counted). */
async function sendTrafficDuringOutage(): Promise<void> {
  await mesh.stopDataStore("postgres");
  await mesh.stopDataStore("redis");
  try {
    expect(await api("GET", "/api/products")).toBe(503);
    expect(await api("GET", "/api/carts/live-cart")).toBe(503);
  } finally {
    await mesh.startDataStore("postgres");
    await mesh.startDataStore("redis");
  }
}

const model = buildMeshModel();
const dashboards = buildDashboards(model);
const checkedQueries = meshQueryUses(model);
let catalogue: MetricCatalogue;

beforeAll(async () => {
  // Two catalog replicas: each must be its own target with its own replica label.
  mesh = await startLocalMesh({ stateDir, replicas: { catalog: 2 } });
  prometheus = prometheusApi(mesh);
  await sendTraffic();
  await sendTrafficDuringOutage();
  // Envoy publishes histograms to /stats/prometheus on its stats flush; wait for the edge's.
  const edgeAdmin = mesh.endpoints.admin["edge-0"];
  await waitFor("the edge's upstream latency histogram", async () => {
    const text = await (await fetch(`${edgeAdmin}/stats/prometheus`)).text();
    return /envoy_cluster_upstream_rq_time_count\{envoy_cluster_name="catalog"\} [1-9]/.test(text);
  });
  const since = Date.now() / 1000;
  await prometheus.waitForScrapesAfter(since);
  catalogue = await prometheus.seriesCatalogue(since);
}, 240_000);

afterAll(async () => {
  await mesh?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("a real Prometheus on the generated config", () => {
  it("is ready and has loaded every alert rule", async () => {
    expect((await fetch(`${mesh.endpoints.prometheus}/-/ready`)).status).toBe(200);
    const { groups } = await prometheus.get<{ groups: Array<{ name: string; rules: Array<{ name: string; health: string }> }> }>("rules", {});
    const loaded = groups.flatMap((g) => g.rules.map((r) => `${g.name}/${r.name}/${r.health}`));
    const expected = meshAlertRules(model, LISTENER.edgeHttp, LISTENER.ingress).flatMap((g) => g.rules.map((r) => `${g.name}/${r.alert}/ok`));
    expect(loaded.sort()).toEqual(expected.sort());
  });

  it("scrapes every Envoy and every app with service, role and replica labels", async () => {
    const up = await prometheus.instant('up{job=~"envoy|app"}');
    const seen = up.map((s) => `${s.metric.job} ${s.metric.service} ${s.metric.role} ${s.metric.replica} ${s.value[1]}`).sort();
    const expected = [
      "envoy edge edge 0 1",
      ...mesh.model.services.flatMap((s) =>
        Array.from({ length: s.replicas }, (_, r) => [`envoy ${s.name} sidecar ${r} 1`, `app ${s.name} ${s.kind === "worker" ? "worker" : "app"} ${r} 1`]).flat(),
      ),
    ].sort();
    expect(expected).toContain("app catalog app 1 1");
    expect(seen).toEqual(expected);
  });
});

describe("every metric a dashboard or alert uses", () => {
  it("exists with the labels it filters and groups on", () => {
    expect(checkedQueries.length).toBeGreaterThan(50);
    expect(unmetUses(checkedQueries, catalogue)).toEqual([]);
  });

  it("gives a valid query on the real Prometheus", async () => {
    for (const { where, expr } of checkedQueries.filter((q) => !q.expr.startsWith("label_values("))) {
      await expect(prometheus.instant(substituteGrafanaVariables(expr).replaceAll("$service", "catalog")), where).resolves.toBeDefined();
    }
  });

  it("leaves no dashboard variable without values", async () => {
    for (const [name, dashboard] of Object.entries(dashboards)) {
      if (name === GRAFANA_UNCHECKED) continue;
      for (const variable of dashboard.templating?.list ?? []) {
        const query = (variable.query as { query: string }).query;
        const [, selector, label] = /^label_values\((.+),\s*(\w+)\)$/.exec(query)!;
        const values = await prometheus.get<string[]>(`label/${label}/values`, { "match[]": selector! });
        expect(values.length, `${name} $${variable.name}`).toBeGreaterThan(0);
      }
    }
  });
});
