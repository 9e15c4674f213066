// Releases end to end on the local runner: catalog runs a canary beside its stable
// release; the edge splits traffic by weight and pins by header; weights, faults and
// rate limits change under load without restarting a proxy; and the rollout decides
// by itself from Prometheus: a faulty canary is rolled back, a healthy one promoted.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RATE_LIMIT_STAT_PREFIX } from "../../envoy-templates/names.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PROJECT_ROOT, startLocalMesh, type LocalMesh } from "../../infra/local/mesh.js";
import { requestTraffic, watchTrafficFile } from "../../infra/local/traffic-file.js";
import { DEFAULT_ROLLOUT_POLICY, NO_TRAFFIC_POLICY, RELEASE_HEADER, type Release, type TrafficPolicy } from "../../infra/traffic.js";
import { inProcess, localRolloutTarget } from "../../tools/rollout/local-target.js";
import { prometheusQuerier, releaseFigures } from "../../tools/rollout/release-metrics.js";
import { runRollout } from "../../tools/rollout/rollout.js";
import { waitFor } from "../support/net.js";
import { formatLoad, request, startLoad } from "./support.js";

const canaryAt = (weightPercent: number, traffic: TrafficPolicy = NO_TRAFFIC_POLICY): TrafficPolicy => ({
  ...traffic,
  canaries: { ...traffic.canaries, catalog: { weightPercent, replicas: 1 } },
});

describe("releases on the local runner", () => {
  let mesh: LocalMesh;
  let stateDir: string;
  let gateway: string;
  let stopWatching: (() => void) | undefined;

  /** GET /api/products: its status and the release that answered (the sidecar's x-mesh-release). */
  async function product(headers: Record<string, string> = {}): Promise<{ status: number; release: Release | undefined }> {
    const res = await fetch(`${gateway}/api/products`, { headers, signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return { status: res.status, release: (res.headers.get(RELEASE_HEADER) ?? undefined) as Release | undefined };
  }

  async function products(count: number, headers: Record<string, string> = {}, concurrency = 8) {
    const answers: Array<Awaited<ReturnType<typeof product>>> = [];
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next++ < count) answers.push(await product(headers));
    }));
    return answers;
  }

  /** Steady load on /api/products, counted by release, that always ends. */
  function steadyLoad(maxDurationMs: number) {
    const byRelease: Record<string, number> = {};
    const load = startLoad({
      concurrency: 4,
      maxRequests: 100_000,
      maxDurationMs,
      send: async () => {
        const answer = await product();
        const key = `${answer.release ?? "none"} ${answer.status}`;
        byRelease[key] = (byRelease[key] ?? 0) + 1;
        return answer.status;
      },
    });
    return { load, byRelease };
  }

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "mesh-e2e-releases-"));
    mesh = await startLocalMesh({ stateDir, traffic: canaryAt(10), onProgress: (m) => console.log(`[mesh] ${m}`) });
    gateway = mesh.endpoints.gateway;
    // What npm run mesh:local does: other processes (npm run rollout) change traffic through the state dir.
    stopWatching = watchTrafficFile(stateDir, mesh.model.traffic, (traffic) => mesh.setTraffic(traffic), (line) => console.log(`[mesh] ${line}`));
    const created = await request("POST", `${gateway}/api/products`, { sku: "E2E-RELEASES", name: "Kettle", priceCents: 3900 });
    expect(created.status).toBe(201);
  }, 240_000);

  afterAll(async () => {
    stopWatching?.();
    await mesh?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it("sends 10 ± 2 % of 2,000 requests to the canary, and the header pins a request to either release", async () => {
    const answers = await products(2000);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const share = answers.filter((a) => a.release === "canary").length / answers.length;
    console.log(`[releases] canary share at weight 10: ${(share * 100).toFixed(1)} %`);
    expect(share).toBeGreaterThanOrEqual(0.08);
    expect(share).toBeLessThanOrEqual(0.12);
    for (const release of ["canary", "stable"] as const) {
      const pinned = await products(50, { [RELEASE_HEADER]: release });
      expect(pinned.map((a) => `${a.status} ${a.release}`), release).toEqual(pinned.map(() => `200 ${release}`));
    }
  });

  it("moves the weight under steady load, through the run's traffic file, without one failed request and without restarting a proxy", async () => {
    const pids = mesh.envoyPids();
    const { load, byRelease } = steadyLoad(60_000);
    await waitFor("load to warm up", async () => load.snapshot().total >= 100, 20_000, 50);
    await requestTraffic(stateDir, canaryAt(50));
    const after = await products(400);
    const result = await load.stop();
    console.log(`[releases] ${formatLoad("weight 10 → 50", result)}; ${JSON.stringify(byRelease)}`);
    expect(result.errors).toBe(0);
    const share = after.filter((a) => a.release === "canary").length / after.length;
    expect(Math.abs(share - 0.5)).toBeLessThan(0.08);
    expect(mesh.envoyPids()).toEqual(pids);
    // A policy the stack config would refuse is refused with the same message, and nothing changes.
    const refused = requestTraffic(stateDir, canaryAt(150));
    await expect(refused).rejects.toThrow('the local mesh refused the traffic policy: stack config "mesh:canaries.catalog.weightPercent": expected an integer from 0 to 100, got 150');
    expect(mesh.model.traffic).toEqual(canaryAt(50));
  });

  it("rate-limits a route at the edge: its budget through, 429 beyond it with the rate-limit headers", async () => {
    await mesh.setTraffic({ ...canaryAt(50), rateLimits: { "/api/carts": { requestsPerSecond: 1, burst: 5 } } });
    // A second's wait refills nothing beyond the burst: 5 pass, then 1 a second.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await request("GET", `${gateway}/api/carts/e2e-rate-limit`));
    const limited = answers.filter((a) => a.status === 429);
    expect(answers.length - limited.length).toBeGreaterThanOrEqual(5);
    expect(answers.length - limited.length).toBeLessThanOrEqual(6);
    expect(limited[0]?.body).toMatchObject({ error: "too_many_requests" });
    expect(limited[0]?.headers.get("x-ratelimit-remaining")).toBe("0");
    const stats = await (await fetch(`${mesh.endpoints.admin["edge-0"]}/stats?filter=${RATE_LIMIT_STAT_PREFIX}.http_local_rate_limit.rate_limited`)).text();
    expect(stats).toContain(`rate_limited: ${limited.length}`);
    await mesh.setTraffic(canaryAt(50));
  });

  it("shows an injected abort and delay in the releases' figures", async () => {
    await mesh.setTraffic({
      ...canaryAt(50),
      faults: { catalog: { release: "canary", abortPercent: 30, abortStatus: 500, delayPercent: 100, delayMs: 200, fromHeaders: false } },
    });
    const { load } = steadyLoad(45_000);
    const query = prometheusQuerier(mesh.endpoints.prometheus);
    let canary = await releaseFigures(query, "catalog", "canary", 30);
    await waitFor("Prometheus to see the canary's faults", async () => {
      canary = await releaseFigures(query, "catalog", "canary", 30);
      return canary.requests >= 50 && canary.errorRatio > 0.15 && canary.p99Ms >= 200;
    }, 60_000, 3000);
    await load.stop();
    const stable = await releaseFigures(query, "catalog", "stable", 30);
    console.log(`[releases] faults in the figures: canary ${JSON.stringify(canary)}, stable ${JSON.stringify(stable)}`);
    expect(canary.errorRatio).toBeLessThan(0.45);
    expect(stable.errorRatio).toBe(0);
    expect(stable.p99Ms).toBeLessThan(200);
  }, 120_000);

  it("rolls a faulty canary (500 for a fifth of its requests) back within two steps while the stable serves", async () => {
    await mesh.setTraffic({ ...canaryAt(0), faults: { catalog: { release: "canary", abortPercent: 20, abortStatus: 500, delayPercent: 0, delayMs: 0, fromHeaders: false } } });
    const { load, byRelease } = steadyLoad(180_000);
    const lines: string[] = [];
    const result = await runRollout({
      service: "catalog",
      policy: { ...DEFAULT_ROLLOUT_POLICY, holdSeconds: 30 },
      target: localRolloutTarget(inProcess(mesh), "catalog", prometheusQuerier(mesh.endpoints.prometheus)),
      log: (line) => lines.push(line) && console.log(`[rollout] ${line}`),
    });
    const loadResult = await load.stop();
    console.log(`[releases] ${formatLoad("faulty canary rollout", loadResult)}; ${JSON.stringify(byRelease)}`);
    expect(result.decision).toBe("rolled back");
    expect(result.stepsHeld).toBeLessThanOrEqual(1);
    expect(lines.at(-1)).toMatch(/^decision: rolled back at \d+ %/);
    // Every failure came from the canary; the stable release answered everything it got.
    expect(Object.entries(byRelease).filter(([key]) => key.startsWith("stable ") && key !== "stable 200")).toEqual([]);
    expect(mesh.model.traffic.canaries.catalog).toBeUndefined();
    const after = await products(100);
    expect(after.map((a) => `${a.status} ${a.release}`)).toEqual(after.map(() => "200 stable"));
  }, 300_000);

  it("promotes a healthy canary after holding every step (npm run rollout)", async () => {
    // Through the traffic file, as everything but this test's own process does.
    await requestTraffic(stateDir, canaryAt(0));
    const { load } = steadyLoad(180_000);
    const rollout = await promisify(execFile)(process.execPath, ["--import", "tsx", "tools/rollout/main.ts", "catalog", "--state-dir", stateDir, "--steps", "25,100", "--hold", "30"], {
      cwd: PROJECT_ROOT,
      timeout: 240_000,
    });
    console.log(rollout.stdout.replace(/^/gm, "[npm run rollout] "));
    const loadResult = await load.stop();
    console.log(`[releases] ${formatLoad("healthy canary rollout", loadResult)}`);
    const lines = rollout.stdout.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("step "))).toEqual(["step 1/2: catalog canary at 25 %", "step 2/2: catalog canary at 100 %"]);
    expect(lines.filter((l) => l.startsWith("  holding")).length).toBeGreaterThanOrEqual(4);
    expect(lines.at(-1)).toMatch(/^decision: promoted catalog's canary: held through 2 steps within the limits/);
    expect(loadResult.errors).toBe(0);
    expect(mesh.model.traffic.canaries.catalog).toBeUndefined();
  }, 300_000);
});
