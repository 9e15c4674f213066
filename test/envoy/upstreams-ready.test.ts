// The start-up check every proxy answers on its metrics listener (UPSTREAMS_READY_PATH),
// run for real: an edge is not ready while any service it routes to has no healthy
// sidecar, becomes ready once each has one, and stops being ready when told to fail
// its health checks (the drain); a sidecar is ready once the services it calls are.
// The Docker target's health check of a proxy (bash, in the container) reads the same.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { UPSTREAMS_READY_PATH, renderProxyConfig } from "../../envoy-templates/index.js";
import { upstreamsReadyProbe } from "../../infra/docker/envoy-proxy.js";
import { PORTS, type ServiceName } from "../../infra/model.js";
import { startEnvoy } from "../support/envoy.js";
import { waitFor } from "../support/net.js";
import { edgePairLayout, startEdgePair } from "./edge-pair.js";
import { loopbackPod } from "./loopback.js";

const layout = edgePairLayout();
const pod = (service: ServiceName) => loopbackPod(layout.block, `${service}-sidecar`, 0);

/** A stand-in app that answers 200 to everything, its readiness included. */
function startApp(address: string): Promise<Server> {
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(PORTS.app, address, () => resolve(server));
  });
}

async function ready(address: string): Promise<number> {
  const res = await fetch(`http://${address}:${PORTS.envoyMetrics}${UPSTREAMS_READY_PATH}`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status;
}

/** Whether the Docker target's health check of a proxy passes (bash exits 0). */
const dockerProbePasses = (address: string) =>
  promisify(execFile)("bash", ["-c", upstreamsReadyProbe(address)], { timeout: 5000 }).then(() => true, () => false);

describe("a proxy's upstreams-ready check, on real Envoys", () => {
  const apps: Server[] = [];
  const envoys: Array<{ stop(): Promise<void> }> = [];

  afterAll(async () => {
    await Promise.all(envoys.map((e) => e.stop()));
    await Promise.all(apps.map((a) => new Promise((resolve) => a.close(resolve))));
  });

  it("keeps the edge unready until every service it routes to has a healthy host, and unready again while it drains", async () => {
    apps.push(await startApp(layout.catalogPod));
    envoys.push(await startEdgePair(layout));
    // Catalog's sidecar answers the edge's checks; cart and orders have no sidecar yet.
    expect(await ready(layout.edgePod)).toBe(503);
    expect(await dockerProbePasses(layout.edgePod)).toBe(false);
    // Catalog calls no service: its sidecar is ready as soon as it runs.
    expect(await ready(layout.catalogPod)).toBe(200);

    for (const service of ["cart", "orders"] as const) {
      apps.push(await startApp(pod(service)));
      envoys.push(await startEnvoy(renderProxyConfig(layout.model, `${service}-sidecar`, layout.addressing)));
    }
    await waitFor("the edge ready once cart and orders pass its checks", async () => (await ready(layout.edgePod)) === 200, 15_000, 200);
    expect(await dockerProbePasses(layout.edgePod)).toBe(true);
    // Orders calls catalog, which is healthy.
    expect(await ready(pod("orders"))).toBe(200);

    const admin = layout.addressing.binding("edge", 0).admin;
    await fetch(`http://${admin.address}:${admin.port}/healthcheck/fail`, { method: "POST" });
    expect(await ready(layout.edgePod)).toBe(503);
  });
});
