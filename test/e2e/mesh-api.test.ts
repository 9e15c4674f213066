// End to end through the real mesh (local runner): every public route through the
// edge, the order flow to fulfilment by the worker, admin interfaces on loopback
// only, Prometheus scraping every target, one order's whole trace in Zipkin, and
// the apps logging in to the data stores as unprivileged users, as on a deploy.
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqplib from "amqplib";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STORE_URL_VARIABLES } from "../../infra/app-environment.js";
import { ENDPOINTS_FILE, startLocalMesh, type LocalMesh } from "../../infra/local/mesh.js";
import { POSTGRES_APP_USER } from "../../infra/accounts.js";
import { PORTS } from "../../infra/model.js";
import { waitFor } from "../support/net.js";
import { prometheusQuery, prometheusTargets, request, upstreamRequestCounts, zipkinTraces, type ZipkinSpan } from "./support.js";

/** A running process's environment, as the kernel holds it. */
function environmentOf(pid: number): Record<string, string> {
  const pairs = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").filter(Boolean);
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]));
}

interface Product {
  id: string;
  sku: string;
  name: string;
  priceCents: number;
}

describe("the mesh end to end", () => {
  let mesh: LocalMesh;
  let stateDir: string;
  let gateway: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "mesh-e2e-api-"));
    const started = Date.now();
    // Every request traced: the Zipkin test looks for the trace of any order placed here.
    mesh = await startLocalMesh({ stateDir, traceSamplingPercent: 100, onProgress: (m) => console.log(`[mesh] ${m}`) });
    console.log(`[mesh] up in ${((Date.now() - started) / 1000).toFixed(1)} s at ${mesh.endpoints.gateway}`);
    gateway = mesh.endpoints.gateway;
  }, 240_000);

  afterAll(async () => {
    await mesh?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it("writes its endpoints to <state-dir>/endpoints.json", () => {
    const written = JSON.parse(readFileSync(join(stateDir, ENDPOINTS_FILE), "utf8")) as typeof mesh.endpoints;
    expect(written.gateway).toBe(gateway);
    expect(written.prometheus).toBe(mesh.endpoints.prometheus);
    expect(written.zipkin).toBe(mesh.endpoints.zipkin);
    expect(Object.keys(written.admin).sort()).toEqual(["cart-sidecar-0", "catalog-sidecar-0", "edge-0", "order-worker-sidecar-0", "orders-sidecar-0"]);
  });

  it("runs the apps logged in as on a deploy: the unprivileged Postgres role, the run's own RabbitMQ user", async () => {
    const pids = mesh.processPids();
    for (const spec of mesh.model.services) {
      const env = environmentOf(pids[`${spec.name}-0`] as number);
      const pod = mesh.endpoints.replicas.find((r) => r.service === spec.name && r.replica === 0)?.pod;
      for (const store of spec.dataStores) expect(env[STORE_URL_VARIABLES[store]], `${spec.name} ${store}`).toBe(mesh.appDataStoreUrl(store, pod));
      if (env.DATABASE_URL) {
        expect(new URL(env.DATABASE_URL).username, spec.name).toBe(POSTGRES_APP_USER);
        // With the app's own URL, through its sidecar.
        const client = new pg.Client({ connectionString: env.DATABASE_URL });
        await client.connect();
        try {
          expect((await client.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).rows, spec.name).toEqual([{ rolsuper: false }]);
        } finally {
          await client.end();
        }
      }
      if (env.AMQP_URL) {
        expect(new URL(env.AMQP_URL).username, spec.name).not.toBe("guest");
        await (await amqplib.connect(env.AMQP_URL)).close();
      }
    }
    const stores = mesh.model.services.flatMap((s) => s.dataStores);
    expect(stores).toContain("postgres");
    expect(stores).toContain("rabbitmq");
  });

  describe("catalog through the edge", () => {
    let product: Product;

    it("creates a product (201) and rejects bad input with a 400 JSON error", async () => {
      const sku = `SKU-${randomUUID().slice(0, 8)}`;
      const created = await request("POST", `${gateway}/api/products`, { sku, name: "Teapot", priceCents: 1999 });
      expect(created.status).toBe(201);
      product = created.body as Product;
      expect(product).toMatchObject({ sku, name: "Teapot", priceCents: 1999 });
      expect(typeof product.id).toBe("string");

      const bad = await request("POST", `${gateway}/api/products`, { sku: "X", priceCents: "free" });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    });

    it("lists, reads, updates and deletes it", async () => {
      const list = await request("GET", `${gateway}/api/products?limit=100&offset=0`);
      expect(list.status).toBe(200);
      const page = list.body as { items: Product[]; total: number };
      expect(page.total).toBeGreaterThanOrEqual(1);
      expect(page.items.map((p) => p.id)).toContain(product.id);

      const one = await request("GET", `${gateway}/api/products/${product.id}`);
      expect(one.status).toBe(200);
      expect(one.body).toEqual(product);

      const updated = await request("PUT", `${gateway}/api/products/${product.id}`, { sku: product.sku, name: "Big teapot", priceCents: 2999 });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ id: product.id, name: "Big teapot", priceCents: 2999 });

      expect((await request("DELETE", `${gateway}/api/products/${product.id}`)).status).toBe(204);
      const gone = await request("GET", `${gateway}/api/products/${product.id}`);
      expect(gone.status).toBe(404);
      expect(gone.body).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    });
  });

  describe("cart through the edge", () => {
    it("adds, changes and removes items, and deletes the cart", async () => {
      const cartId = `cart-${randomUUID()}`;
      const productId = randomUUID();
      const empty = await request("GET", `${gateway}/api/carts/${cartId}`);
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({ cartId, items: [] });

      const put = await request("PUT", `${gateway}/api/carts/${cartId}/items/${productId}`, { quantity: 3 });
      expect([200, 204]).toContain(put.status);
      const withItem = await request("GET", `${gateway}/api/carts/${cartId}`);
      expect(withItem.body).toMatchObject({ cartId, items: [{ productId, quantity: 3 }] });

      const bad = await request("PUT", `${gateway}/api/carts/${cartId}/items/${productId}`, { quantity: -1 });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: expect.any(String) });

      await request("PUT", `${gateway}/api/carts/${cartId}/items/${productId}`, { quantity: 0 });
      expect((await request("GET", `${gateway}/api/carts/${cartId}`)).body).toEqual({ cartId, items: [] });

      await request("PUT", `${gateway}/api/carts/${cartId}/items/${productId}`, { quantity: 1 });
      expect([200, 204]).toContain((await request("DELETE", `${gateway}/api/carts/${cartId}`)).status);
      expect((await request("GET", `${gateway}/api/carts/${cartId}`)).body).toEqual({ cartId, items: [] });
    });
  });

  describe("the order flow", () => {
    it("accepts an order (202 pending) that the worker then fulfils", async () => {
      const created = await request("POST", `${gateway}/api/products`, { sku: `SKU-${randomUUID().slice(0, 8)}`, name: "Kettle", priceCents: 4500 });
      const product = created.body as Product;
      const order = await request("POST", `${gateway}/api/orders`, { items: [{ productId: product.id, quantity: 2 }] });
      expect(order.status).toBe(202);
      const { id, status } = order.body as { id: string; status: string };
      expect(status).toBe("pending");

      let seen: unknown;
      await waitFor("the worker to fulfil the order", async () => {
        const res = await request("GET", `${gateway}/api/orders/${id}`);
        seen = res.body;
        return res.status === 200 && (res.body as { status: string }).status === "fulfilled";
      }, 30_000, 200);
      expect(seen).toMatchObject({ id, status: "fulfilled", items: [{ productId: product.id, quantity: 2 }] });
    });

    it("rejects orders for unknown products or bad bodies with a 4xx JSON error", async () => {
      const unknown = await request("POST", `${gateway}/api/orders`, { items: [{ productId: randomUUID(), quantity: 1 }] });
      expect(unknown.status).toBeGreaterThanOrEqual(400);
      expect(unknown.status).toBeLessThan(500);
      expect(unknown.body).toMatchObject({ error: expect.any(String) });

      const bad = await request("POST", `${gateway}/api/orders`, { items: "many" });
      expect(bad.status).toBe(400);
      expect((await request("GET", `${gateway}/api/orders/${randomUUID()}`)).status).toBe(404);
    });
  });

  describe("admin interfaces", () => {
    it("every Envoy's admin answers on its loopback address", async () => {
      for (const [name, admin] of Object.entries(mesh.endpoints.admin)) {
        const info = await request("GET", `${admin}/server_info`);
        expect(info.status, name).toBe(200);
        expect((info.body as { state: string }).state, name).toBe("LIVE");
        expect(new URL(admin).hostname.startsWith("127."), name).toBe(true);
      }
    });

    it("no admin path is reachable through the edge", async () => {
      const edgePid = mesh.envoyPids()["edge-0"];
      const paths = ["/stats", "/stats/prometheus", "/clusters", "/config_dump", "/server_info", "/listeners", "/runtime", "/ready", "/certs", "/memory", "/logging", "/help"];
      for (const path of paths) {
        for (const prefix of ["", "/api/products/..", "/api/orders/%2e%2e"]) {
          const res = await request("GET", `${gateway}${prefix}${path}`);
          const text = typeof res.body === "string" ? res.body : JSON.stringify(res.body);
          expect(res.status, `${prefix}${path}`).not.toBe(200);
          expect(text, `${prefix}${path}`).not.toMatch(/envoy_cluster|cluster_manager|"configs"|hot_restart_version/);
        }
      }
      for (const path of ["/quitquitquit", "/healthcheck/fail", "/drain_listeners", "/reset_counters", "/runtime_modify?x=1", "/logging?level=trace"]) {
        expect((await request("POST", `${gateway}${path}`)).status, path).not.toBe(200);
      }
      // The edge is still the same process and still serving.
      expect(mesh.envoyPids()["edge-0"]).toBe(edgePid);
      expect((await request("GET", `${gateway}/api/products`)).status).toBe(200);
      const edgeAdmin = mesh.endpoints.admin["edge-0"] as string;
      expect(((await request("GET", `${edgeAdmin}/server_info`)).body as { state: string }).state).toBe("LIVE");
    });

    it("the metrics-only listener serves /stats/prometheus and nothing else", async () => {
      const pod = new URL(mesh.endpoints.gateway).hostname;
      const metrics = await fetch(`http://${pod}:${PORTS.envoyMetrics}/stats/prometheus`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain("envoy_server_live");
      for (const path of ["/config_dump", "/clusters", "/stats", "/quitquitquit"]) {
        const res = await fetch(`http://${pod}:${PORTS.envoyMetrics}${path}`, { method: path === "/quitquitquit" ? "POST" : "GET" });
        await res.arrayBuffer();
        expect(res.status, path).not.toBe(200);
      }
    });
  });

  describe("observability", () => {
    it("Prometheus has every target up and the mesh's metrics", async () => {
      const expectedTargets = 1 + 2 * mesh.model.services.length + 1; // edge, each sidecar and app, Prometheus itself
      let last: Awaited<ReturnType<typeof prometheusTargets>> = [];
      await waitFor("every Prometheus target to be up", async () => {
        last = await prometheusTargets(mesh.endpoints.prometheus);
        return last.length === expectedTargets && last.every((t) => t.health === "up");
      }, 90_000, 1000).catch((err: Error) => {
        throw new Error(`${err.message}\n${last.map((t) => `${t.scrapeUrl} ${t.health} ${t.lastError}`).join("\n")}`);
      });
      const byJob = (job: string) => last.filter((t) => t.labels.job === job).map((t) => `${t.labels.service}/${t.labels.role}`).sort();
      expect(byJob("envoy")).toEqual(["cart/sidecar", "catalog/sidecar", "edge/edge", "order-worker/sidecar", "orders/sidecar"]);
      expect(byJob("app")).toEqual(["cart/app", "catalog/app", "order-worker/worker", "orders/app"]);

      // Traffic from the tests above shows in the edge's and the apps' own metrics.
      await waitFor("request metrics in Prometheus", async () => {
        const edge = await prometheusQuery(mesh.endpoints.prometheus, 'sum(envoy_cluster_upstream_rq_total{job="envoy",service="edge"})');
        const apps = await prometheusQuery(mesh.endpoints.prometheus, 'count by (service) (http_request_duration_seconds_count{job="app"})');
        return Number(edge[0]?.value[1] ?? 0) > 0 && ["catalog", "cart", "orders"].every((s) => apps.some((r) => r.metric.service === s));
      }, 60_000, 1000);
      const live = await prometheusQuery(mesh.endpoints.prometheus, "envoy_server_live");
      expect(live.map((r) => r.metric.service).sort()).toEqual(["cart", "catalog", "edge", "order-worker", "orders"]);
    });

    it("Zipkin holds the whole trace of one order: edge, sidecars, apps, catalog call, Postgres, AMQP, worker", async () => {
      const created = await request("POST", `${gateway}/api/products`, { sku: `SKU-${randomUUID().slice(0, 8)}`, name: "Tray", priceCents: 800 });
      const product = created.body as Product;
      const startTs = Date.now();
      const order = await request("POST", `${gateway}/api/orders`, { items: [{ productId: product.id, quantity: 1 }] });
      expect(order.status).toBe(202);
      const orderId = (order.body as { id: string }).id;
      await waitFor("the order to be fulfilled", async () => ((await request("GET", `${gateway}/api/orders/${orderId}`)).body as { status: string }).status === "fulfilled", 30_000, 200);

      const byService = (trace: ZipkinSpan[], service: string) => trace.filter((s) => s.localEndpoint?.serviceName === service);
      // Envoy records the URL after the edge's prefix rewrite (/api/orders → /orders).
      const isOrderPost = (s: ZipkinSpan) => s.tags?.["http.method"] === "POST" && /^\/(api\/)?orders$/.test(new URL(s.tags?.["http.url"] ?? "http://x/").pathname);
      let trace: ZipkinSpan[] = [];
      const missing = () => {
        const orders = byService(trace, "orders");
        const worker = byService(trace, "order-worker");
        const gaps: string[] = [];
        if (!byService(trace, "edge").some(isOrderPost)) gaps.push("edge span of POST /api/orders");
        if (!byService(trace, "orders-sidecar").length) gaps.push("orders sidecar span");
        if (!orders.some((s) => s.kind === "SERVER")) gaps.push("orders app server span");
        if (!orders.some((s) => s.kind === "CLIENT" && JSON.stringify(s).includes("catalog"))) gaps.push("orders' call to catalog");
        if (!byService(trace, "catalog-sidecar").length || !byService(trace, "catalog").some((s) => s.kind === "SERVER")) gaps.push("catalog sidecar and app spans");
        if (!orders.some((s) => /postgres/i.test(JSON.stringify(s.tags ?? {})) || /^pg /.test(s.name ?? ""))) gaps.push("orders' Postgres span");
        if (!orders.some((s) => s.kind === "PRODUCER")) gaps.push("orders' AMQP publish span");
        if (!worker.some((s) => s.kind === "CONSUMER")) gaps.push("the worker's consume span");
        return gaps;
      };
      await waitFor("the order's complete trace in Zipkin", async () => {
        const traces = await zipkinTraces(mesh.endpoints.zipkin, { serviceName: "edge", endTs: String(Date.now()), lookback: String(Date.now() - startTs + 1000), limit: "50" });
        trace = traces.find((t) => t.some(isOrderPost)) ?? [];
        return trace.length > 0 && missing().length === 0;
      }, 45_000, 1000).catch((err: Error) => {
        throw new Error(`${err.message}; missing: ${missing().join(", ")}; spans: ${trace.map((s) => `${s.localEndpoint?.serviceName}:${s.kind ?? "-"}:${s.name}`).join(" ")}`);
      });
      console.log(`[trace] one order → ${trace.length} spans in trace ${trace[0]?.traceId} from ${[...new Set(trace.map((s) => s.localEndpoint?.serviceName))].join(", ")}`);
      // One trace id, 128 bits.
      expect(new Set(trace.map((s) => s.traceId)).size).toBe(1);
      expect(trace[0]?.traceId).toMatch(/^[0-9a-f]{32}$/);
    });
  });

  it("edge upstream stats count the calls each service got", async () => {
    const counts = await upstreamRequestCounts(mesh.endpoints.admin["edge-0"] as string);
    for (const service of ["catalog", "cart", "orders"] as const) {
      const pod = mesh.endpoints.replicas.find((r) => r.service === service)?.pod;
      expect(counts.get(`${pod}:${PORTS.sidecarIngress}`) ?? 0, service).toBeGreaterThan(0);
    }
    expect(mesh.unexpectedExits()).toEqual([]);
  });
});
