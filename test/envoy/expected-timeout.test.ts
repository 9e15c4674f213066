// Real Envoys on rendered configs: the sidecar tells its app how long the route
// may take (x-envoy-expected-rq-timeout-ms, the model's timeout for the route),
// which bounds the app's wait for a Postgres connection (apps/shared/src/postgres.ts);
// and the edge forwards no such header of its own or of the client's, so the
// value the app sees is always its sidecar's.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PORTS, buildMeshModel, getService } from "../../infra/model.js";
import { renderProxyConfig } from "../../envoy-templates/index.js";
import { startEnvoy, type RunningEnvoy } from "../support/envoy.js";
import { waitFor } from "../support/net.js";
import { loopbackAddressing, loopbackPod } from "./loopback.js";
import { randomBlockPrefix } from "../../infra/local/layout.js";

/** Envoy's header (the apps read it as EXPECTED_TIMEOUT_HEADER in apps/shared/src/postgres.ts). */
const EXPECTED_TIMEOUT_HEADER = "x-envoy-expected-rq-timeout-ms";
const block = randomBlockPrefix();
const edgePod = loopbackPod(block, "edge", 0);
const ordersPod = loopbackPod(block, "orders-sidecar", 0);
const model = buildMeshModel();
const addressing = loopbackAddressing(block, { serviceHost: (service) => loopbackPod(block, `${service}-sidecar`, 0), dataStoreHost: () => "127.0.0.1" });

describe("the route timeout the app is told, on real Envoys", () => {
  let app: Server;
  const envoys: RunningEnvoy[] = [];
  const seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    // A stand-in orders app: ready, and it records the headers of every API request.
    app = createServer((req, res) => {
      if (req.url?.startsWith("/orders")) seen.push(req.headers);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve, reject) => {
      app.once("error", reject);
      app.listen(PORTS.app, ordersPod, () => resolve());
    });
    envoys.push(await startEnvoy(renderProxyConfig(model, "orders-sidecar", addressing)));
    envoys.push(await startEnvoy(renderProxyConfig(model, "edge", addressing)));
    await waitFor("the edge to route to the orders sidecar", async () => {
      const res = await fetch(`http://${edgePod}:${PORTS.edgeHttp}/api/orders/x`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    });
  });

  afterAll(async () => {
    await Promise.all(envoys.map((e) => e.stop()));
    await new Promise((resolve) => app?.close(resolve));
  });

  it("is the model's timeout for the route, set by the sidecar, whatever the client sent", async () => {
    const routeTimeout = getService(model, "orders").routes[0]!.timeoutMs;
    seen.length = 0;
    const direct = await fetch(`http://${ordersPod}:${PORTS.sidecarIngress}/orders`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    await direct.arrayBuffer();
    const viaEdge = await fetch(`http://${edgePod}:${PORTS.edgeHttp}/api/orders`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json", [EXPECTED_TIMEOUT_HEADER]: "1" },
    });
    await viaEdge.arrayBuffer();
    expect([direct.status, viaEdge.status]).toEqual([200, 200]);
    expect(seen.map((h) => h[EXPECTED_TIMEOUT_HEADER])).toEqual([String(routeTimeout), String(routeTimeout)]);
  });
});
