// Real Envoys on rendered configs: a caller's health check must tell services
// apart. Docker reuses a removed container's address, and every sidecar answers
// /readyz with 200, so here the edge's cart cluster points at the orders
// sidecar: that host must fail its check (and take no cart traffic), while the
// catalog cluster, pointing at the catalog sidecar, passes.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PORTS, buildMeshModel, type ServiceName } from "../../infra/model.js";
import { renderProxyConfig } from "../../envoy-templates/index.js";
import { startEnvoy, type RunningEnvoy } from "../support/envoy.js";
import { waitFor } from "../support/net.js";
import { loopbackAddressing, loopbackPod } from "./loopback.js";
import { randomBlockPrefix } from "../../infra/local/layout.js";

const block = randomBlockPrefix();
const edgePod = loopbackPod(block, "edge", 0);
const catalogPod = loopbackPod(block, "catalog-sidecar", 0);
const ordersPod = loopbackPod(block, "orders-sidecar", 0);
const model = buildMeshModel();
const addressing = loopbackAddressing(block, {
  // The stale address: the edge's cart cluster resolves to the orders sidecar.
  serviceHost: (service: ServiceName) => (service === "cart" ? ordersPod : loopbackPod(block, `${service}-sidecar`, 0)),
  dataStoreHost: () => "127.0.0.1",
});

/** A stand-in app that is ready and answers every request with its own name. */
function startApp(name: string, host: string): Promise<Server> {
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ app: name })));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(PORTS.app, host, () => resolve(server));
  });
}

async function edgeGet(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${edgePod}:${PORTS.edgeHttp}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

/** Health flags of each host of a cluster, from the edge's admin /clusters. */
async function healthFlags(edge: RunningEnvoy, cluster: string): Promise<string[]> {
  const text = await (await fetch(`${edge.adminUrl}/clusters`, { signal: AbortSignal.timeout(5000) })).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${cluster}::`) && line.includes("::health_flags::"))
    .map((line) => line.slice(line.lastIndexOf("::") + 2));
}

describe("health checks that tell services apart, on real Envoys", () => {
  const apps: Server[] = [];
  const envoys: RunningEnvoy[] = [];
  let edge: RunningEnvoy;

  beforeAll(async () => {
    apps.push(await startApp("catalog", catalogPod), await startApp("orders", ordersPod));
    envoys.push(
      ...(await Promise.all([
        startEnvoy(renderProxyConfig(model, "catalog-sidecar", addressing)),
        startEnvoy(renderProxyConfig(model, "orders-sidecar", addressing)),
      ])),
    );
    edge = await startEnvoy(renderProxyConfig(model, "edge", addressing));
    envoys.push(edge);
    // Both checks have run at least once: the catalog host passed, the cart host was judged.
    await waitFor("the edge's first health checks", async () => (await healthFlags(edge, "catalog")).includes("healthy") && (await healthFlags(edge, "cart")).length === 1);
  });

  afterAll(async () => {
    await Promise.all(envoys.map((e) => e.stop()));
    await Promise.all(apps.map((app) => new Promise((resolve) => app.close(resolve))));
  });

  it("passes the check of the service's own sidecar and routes to it", async () => {
    expect(await healthFlags(edge, "catalog")).toEqual(["healthy"]);
    const res = await edgeGet("/api/products");
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ app: "catalog" });
  });

  it("fails the check of another service's sidecar at the address, and sends it no traffic", async () => {
    await waitFor("the cart host to be marked failed", async () => (await healthFlags(edge, "cart")).some((f) => f.includes("/failed_active_hc")));
    const res = await edgeGet("/api/carts/c1");
    expect(res.status).toBe(503);
    expect(res.body).not.toContain("orders");
  });
});
