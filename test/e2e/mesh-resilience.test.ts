// Service discovery and failure end to end (local runner): two catalog replicas
// share the traffic; killing one under load keeps errors below 1% and the
// survivor serves everything until it returns; scaling through DNS restarts no
// Envoy; a data store restarted under load is recovered from without crashes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalMesh, type LocalMesh } from "../../infra/local/mesh.js";
import { PORTS } from "../../infra/model.js";
import { waitFor } from "../support/net.js";
import { formatLoad, getStatus, request, startLoad, upstreamRequestCounts } from "./support.js";

describe("the mesh under failure", () => {
  let mesh: LocalMesh;
  let stateDir: string;
  let gateway: string;
  let edgeAdmin: string;
  const catalogHost = (replica: number) => `${mesh.addressing.binding("catalog-sidecar", replica).listenAddress}:${PORTS.sidecarIngress}`;

  /** Requests the edge sent to each catalog replica since `before`. */
  async function catalogShares(before: Map<string, number>, replicas: number): Promise<number[]> {
    const after = await upstreamRequestCounts(edgeAdmin);
    return Array.from({ length: replicas }, (_, r) => (after.get(catalogHost(r)) ?? 0) - (before.get(catalogHost(r)) ?? 0));
  }

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "mesh-e2e-faults-"));
    mesh = await startLocalMesh({ stateDir, replicas: { catalog: 2 }, onProgress: (m) => console.log(`[mesh] ${m}`) });
    gateway = mesh.endpoints.gateway;
    edgeAdmin = mesh.endpoints.admin["edge-0"] as string;
    // A product to read, so catalog answers come from Postgres.
    const created = await request("POST", `${gateway}/api/products`, { sku: "E2E-FAULTS", name: "Lamp", priceCents: 2500 });
    expect(created.status).toBe(201);
  }, 240_000);

  afterAll(async () => {
    await mesh?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it("spreads traffic over both catalog replicas", async () => {
    await mesh.waitForUpstreams("catalog", [0, 1].map((r) => mesh.addressing.binding("catalog-sidecar", r).listenAddress));
    const before = await upstreamRequestCounts(edgeAdmin);
    const load = startLoad({ send: () => getStatus(`${gateway}/api/products`), concurrency: 4, maxRequests: 200, maxDurationMs: 30_000 });
    const result = await load.done;
    const shares = await catalogShares(before, 2);
    console.log(`${formatLoad("spread", result)}; per replica ${shares.join(" / ")}`);
    expect(result.errors).toBe(0);
    for (const share of shares) expect(share).toBeGreaterThanOrEqual(result.total * 0.2);
  });

  it("keeps errors below 1% when a replica is killed under load, and the survivor serves everything until it returns", async () => {
    const pidsBefore = mesh.envoyPids();
    const load = startLoad({ send: () => getStatus(`${gateway}/api/products`), concurrency: 4, maxRequests: 1500, maxDurationMs: 45_000 });
    await waitFor("load to warm up", async () => load.snapshot().total >= 150, 20_000, 50);
    await mesh.killReplica("catalog", 1);
    const atKill = load.snapshot().total;
    await waitFor("load to go on after the kill", async () => load.snapshot().total >= atKill + 600, 40_000, 50);
    const result = await load.stop();
    console.log(`${formatLoad("replica killed under load", result)}; killed after ${atKill} requests`);
    expect(result.total).toBeGreaterThanOrEqual(atKill + 600);
    expect(result.ratio).toBeLessThan(0.01);

    // Now everything goes to the survivor.
    const before = await upstreamRequestCounts(edgeAdmin);
    const survivorOnly = await startLoad({ send: () => getStatus(`${gateway}/api/products`), concurrency: 4, maxRequests: 200, maxDurationMs: 30_000 }).done;
    const shares = await catalogShares(before, 2);
    console.log(`${formatLoad("survivor alone", survivorOnly)}; per replica ${shares.join(" / ")}`);
    expect(survivorOnly.errors).toBe(0);
    expect(shares[0]).toBeGreaterThanOrEqual(survivorOnly.total);
    expect(shares[1]).toBe(0);

    // The replica returns on the same address; health checks let it back in.
    await mesh.reviveReplica("catalog", 1);
    await waitFor("the revived replica to get traffic again", async () => {
      const mark = await upstreamRequestCounts(edgeAdmin);
      const r = await startLoad({ send: () => getStatus(`${gateway}/api/products`), concurrency: 4, maxRequests: 40, maxDurationMs: 10_000 }).done;
      expect(r.errors).toBe(0);
      return ((await catalogShares(mark, 2))[1] ?? 0) > 0;
    }, 60_000, 500);

    // No Envoy but the killed replica's sidecar was restarted.
    const pidsAfter = mesh.envoyPids();
    for (const [name, pid] of Object.entries(pidsBefore)) {
      if (name !== "catalog-sidecar-1") expect(pidsAfter[name], name).toBe(pid);
    }
  });

  it("picks up scaling through DNS without restarting any Envoy", async () => {
    const pidsBefore = mesh.envoyPids();
    const scaledAt = Date.now();
    await mesh.scale("catalog", 3);
    // The edge found the new replica by DNS; it gets traffic once its first health checks settle.
    let batches = 0;
    await waitFor("the new replica to get traffic", async () => {
      const mark = await upstreamRequestCounts(edgeAdmin);
      const batch = await startLoad({ send: () => getStatus(`${gateway}/api/products`), concurrency: 4, maxRequests: 60, maxDurationMs: 10_000 }).done;
      batches++;
      expect(batch.errors).toBe(0);
      return ((await catalogShares(mark, 3))[2] ?? 0) > 0;
    }, 30_000, 250);
    console.log(`scaled catalog to 3: the new replica got traffic ${((Date.now() - scaledAt) / 1000).toFixed(1)} s after the scale call (${batches} batches of 60)`);
    // Orders reaches catalog through its sidecar, which found the new replica too.
    const ordersAdmin = mesh.endpoints.admin["orders-sidecar-0"] as string;
    expect([...(await upstreamRequestCounts(ordersAdmin)).keys()]).toContain(catalogHost(2));

    const down = startLoad({ send: () => getStatus(`${gateway}/api/products`), concurrency: 4, maxRequests: 2000, maxDurationMs: 60_000 });
    await mesh.scale("catalog", 2);
    const downResult = await down.stop();
    const edgeRetries = await (await fetch(`${edgeAdmin}/stats?filter=^cluster\\.catalog\\.upstream_rq_retry(_overflow|_success)?$`)).text();
    console.log(`${formatLoad("scaling down to 2 under load", downResult)}; edge ${edgeRetries.trim().replace(/\n/g, ", ")}`);
    // The leaving replica answers 503 from the moment it is told to stop until the health
    // checks notice (the app closes as soon as readiness fails); the edge retries those on the
    // other replicas within its retry budget, so scaling down holds the same 1% bar as a crash.
    for (const status of Object.keys(downResult.statuses)) expect(["200", "503"]).toContain(status);
    expect(downResult.ratio).toBeLessThan(0.01);

    const pidsAfter = mesh.envoyPids();
    for (const [name, pid] of Object.entries(pidsBefore)) expect(pidsAfter[name], name).toBe(pid);
    expect(pidsAfter["catalog-sidecar-2"]).toBeUndefined();
    expect(mesh.unexpectedExits()).toEqual([]);
  });

  it("recovers by itself when Postgres and Redis restart under load, with 503s (never crashes) meanwhile", async () => {
    const cartId = "e2e-faults-cart";
    const send = (i: number) => getStatus(i % 2 ? `${gateway}/api/products` : `${gateway}/api/carts/${cartId}`);
    const load = startLoad({ send, concurrency: 4, maxRequests: 20_000, maxDurationMs: 90_000, isError: (s) => s !== 200 });
    // Every app and Envoy: none may crash or be restarted while the stores restart.
    const meshPids = () => Object.fromEntries(Object.entries(mesh.processPids()).filter(([name]) => name !== "postgres" && name !== "redis"));
    const before = meshPids();
    await waitFor("load to warm up", async () => load.snapshot().total >= 100, 20_000, 50);

    for (const store of ["postgres", "redis"] as const) {
      await mesh.stopDataStore(store);
      const down = load.snapshot().total;
      // Keep it down for a while: requests needing it must fail cleanly meanwhile.
      await waitFor(`load to run against stopped ${store}`, async () => load.snapshot().total >= down + 100, 30_000, 50);
      await mesh.startDataStore(store);
    }
    // Every route recovers by itself.
    await waitFor("products and carts to answer 200 again", async () => {
      const statuses = await Promise.all([getStatus(`${gateway}/api/products`), getStatus(`${gateway}/api/carts/${cartId}`)]);
      return statuses.every((s) => s === 200);
    }, 60_000, 250);
    const result = await load.stop();
    console.log(formatLoad("Postgres and Redis restarted under load", result));
    const failures = Object.entries(result.statuses).filter(([status]) => status !== "200");
    // Failures are clean "backend missing" answers, never dropped connections or other 5xx.
    for (const [status] of failures) expect(["503"]).toContain(status);
    expect(result.total).toBeGreaterThan(200);

    const after = await startLoad({ send, concurrency: 4, maxRequests: 200, maxDurationMs: 30_000, isError: (s) => s !== 200 }).done;
    console.log(formatLoad("after recovery", after));
    expect(after.errors).toBe(0);

    // Writes go through Postgres again too.
    const created = await request("POST", `${gateway}/api/products`, { sku: "E2E-AFTER", name: "Chair", priceCents: 9000 });
    expect(created.status).toBe(201);
    expect(mesh.unexpectedExits()).toEqual([]);
    expect(meshPids()).toEqual(before);
  });
});
