// Rendered configs run for real: an edge and a catalog sidecar, each on its own loopback
// address, in front of a tiny app. Requests go edge -> sidecar -> app with the prefix
// rewritten; only /api routes and /stats/prometheus are reachable; retries happen only
// where safe; the Postgres egress reaches the real Postgres.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATA_STORES, PORTS } from "../../infra/model.js";
import { edgePairLayout, startEdgePair } from "./edge-pair.js";

const layout = edgePairLayout();
const { edgePod, catalogPod } = layout;

interface Seen {
  method: string;
  path: string;
  requestId: string | undefined;
}

/** A stand-in catalog app: echoes what reached it; /products/flaky-* fails its first attempt. */
function startApp(): Promise<{ server: Server; attempts: Map<string, number> }> {
  const attempts = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res) => {
    const path = req.url ?? "";
    const count = (attempts.get(path) ?? 0) + 1;
    attempts.set(path, count);
    const seen: Seen = { method: req.method ?? "", path, requestId: req.headers["x-request-id"] as string | undefined };
    const status = path.startsWith("/products/flaky-") && count === 1 ? 503 : 200;
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(seen));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(PORTS.app, catalogPod, () => resolve({ server, attempts }));
  });
}

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

describe("rendered Envoy configs, running", () => {
  let app: { server: Server; attempts: Map<string, number> };
  let envoys: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    app = await startApp();
    envoys = await startEdgePair(layout);
  });

  afterAll(async () => {
    await envoys?.stop();
    await new Promise((resolve) => app?.server.close(resolve));
  });

  it("the sidecar ingress forwards every path to the app", async () => {
    const res = await get(`http://${catalogPod}:${PORTS.sidecarIngress}/products/7?x=1`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ method: "GET", path: "/products/7?x=1" });
  });

  it("the edge rewrites /api/products to /products and passes an x-request-id", async () => {
    const res = await get(`http://${edgePod}:${PORTS.edgeHttp}/api/products/7`);
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body) as Seen;
    expect(seen.path).toBe("/products/7");
    expect(seen.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each(["/", "/stats", "/ready", "/config_dump", "/api/productsX", "/products/7", "/api"])("the edge answers 404 for %s", async (path) => {
    const res = await get(`http://${edgePod}:${PORTS.edgeHttp}${path}`);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: "not_found" });
  });

  it("the edge retries an idempotent request after a 503, but not a POST", async () => {
    const getRes = await get(`http://${edgePod}:${PORTS.edgeHttp}/api/products/flaky-get`);
    expect(getRes.status).toBe(200);
    expect(app.attempts.get("/products/flaky-get")).toBe(2);
    const postRes = await get(`http://${edgePod}:${PORTS.edgeHttp}/api/products/flaky-post`, { method: "POST", body: "{}" });
    expect(postRes.status).toBe(503);
    expect(app.attempts.get("/products/flaky-post")).toBe(1);
  });

  it("the metrics listener serves /stats/prometheus and nothing else of admin", async () => {
    const metrics = await get(`http://${catalogPod}:${PORTS.envoyMetrics}/stats/prometheus`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^envoy_cluster_upstream_rq_total\{envoy_cluster_name="local_app"\} \d+$/m);
    for (const path of ["/stats", "/config_dump", "/quitquitquit", "/stats/prometheus/x", "/"]) {
      expect((await get(`http://${catalogPod}:${PORTS.envoyMetrics}${path}`)).status, path).toBe(404);
    }
  });

  it("the Postgres egress listener reaches the real Postgres", async () => {
    // An SSLRequest is the one Postgres message answered without a login: 'S' or 'N'.
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(DATA_STORES.postgres.port, catalogPod, () => {
        const request = Buffer.alloc(8);
        request.writeInt32BE(8, 0);
        request.writeInt32BE(80877103, 4);
        socket.write(request);
      });
      socket.setTimeout(5000, () => socket.destroy(new Error("no answer through the Postgres egress (is Postgres up? run scripts/setup.sh)")));
      socket.once("data", (data) => {
        socket.destroy();
        resolve(data.toString("latin1", 0, 1));
      });
      socket.once("error", reject);
      socket.once("close", () => reject(new Error("the Postgres egress closed the connection (is Postgres up? run scripts/setup.sh)")));
    });
    expect(["S", "N"]).toContain(reply);
  });
});
