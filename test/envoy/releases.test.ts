// Releases, faults and rate limits between real Envoys from the rendered configs, with
// routes and service clusters read from dynamic directories: an edge, catalog's stable
// and canary sidecars and cart's sidecar on loopback addresses of their own, over mutual
// TLS, each in front of a stand-in app that answers with its release. Every change of
// traffic policy here rewrites dynamic directories only; the bootstraps stay the same
// and no Envoy restarts.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RATE_LIMIT_STAT_PREFIX } from "../../envoy-templates/names.js";
import { renderDynamicFiles, renderProxyConfig } from "../../envoy-templates/index.js";
import { LocalIdentities, localProxyDir } from "../../infra/local/identities.js";
import { randomBlockPrefix } from "../../infra/local/layout.js";
import { writeSwappedDir } from "../../infra/local/swapped-dir.js";
import { EDGE_PROXY, type MeshModel, PORTS, buildMeshModel, sidecarName } from "../../infra/model.js";
import { NO_TRAFFIC_POLICY, RELEASE_HEADER, type Release, type TrafficPolicy } from "../../infra/traffic.js";
import { type RunningEnvoy, startEnvoy } from "../support/envoy.js";
import { waitFor } from "../support/net.js";
import { loopbackAddressing } from "./loopback.js";
import { LocalLayout } from "../../infra/local/layout.js";

const block = randomBlockPrefix();
const layout = new LocalLayout(block);
const identityRoot = mkdtempSync(join(tmpdir(), "mesh-identity-"));
const dynamicRoot = mkdtempSync(join(tmpdir(), "mesh-dynamic-"));
const addressing = loopbackAddressing(block, {
  // No DNS: each release of a service is its replica 0's pod address.
  serviceHost: (service, release) => layout.servicePod(service, 0, release),
  dataStoreHost: () => "127.0.0.1",
  identityRoot,
  dynamicRoot,
});
const withTraffic = (traffic: TrafficPolicy) => buildMeshModel({}, { traceSamplingPercent: 0, traffic });
const canaryAt = (weightPercent: number): TrafficPolicy => ({ ...NO_TRAFFIC_POLICY, canaries: { catalog: { weightPercent, replicas: 1 } } });
const edgeUrl = `http://${layout.edge}:${PORTS.edgeHttp}`;

/** The proxies of the test: the edge, catalog's two releases, cart. */
const PROXIES: ReadonlyArray<{ proxy: string; release: Release }> = [
  { proxy: EDGE_PROXY, release: "stable" },
  { proxy: sidecarName("catalog"), release: "stable" },
  { proxy: sidecarName("catalog"), release: "canary" },
  { proxy: sidecarName("cart"), release: "stable" },
];

/** Writes every proxy's dynamic directory for `model`: what a change of traffic policy does. */
function publish(model: MeshModel): void {
  for (const { proxy, release } of PROXIES) writeSwappedDir(localProxyDir(dynamicRoot, proxy, 0, release), renderDynamicFiles(model, proxy, addressing, 0, release));
}

/** A stand-in app on a pod's app port: 200 with its release for every path. */
function startApp(address: string, release: Release): Promise<Server> {
  const server = createServer((req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ release, path: req.url })));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(PORTS.app, address, () => resolve(server));
  });
}

interface Answer {
  readonly status: number;
  readonly release?: Release;
  readonly headers: Headers;
  readonly body: string;
  readonly ms: number;
}

async function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${edgeUrl}${path}`, { headers, signal: AbortSignal.timeout(5000) });
  const body = await res.text();
  const ms = performance.now() - started;
  let release: Release | undefined;
  try {
    release = (JSON.parse(body) as { release?: Release }).release;
  } catch {
    release = undefined;
  }
  return { status: res.status, release, headers: res.headers, body, ms };
}

/** `count` requests, `concurrency` at a time. */
async function many(count: number, path: string, headers: Record<string, string> = {}, concurrency = 16): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        answers.push(await get(path, headers));
      }
    }),
  );
  return answers;
}

const share = (answers: Answer[], release: Release) => answers.filter((a) => a.release === release).length / answers.length;

async function uptimeSeconds(envoy: RunningEnvoy): Promise<number> {
  const info = (await (await fetch(`${envoy.adminUrl}/server_info`)).json()) as { uptime_current_epoch: string };
  return Number.parseFloat(info.uptime_current_epoch);
}

async function counter(envoy: RunningEnvoy, name: string): Promise<number> {
  const text = await (await fetch(`${envoy.adminUrl}/stats?filter=^${name.replaceAll(".", "\\.")}$`)).text();
  const match = /: (\d+)/.exec(text);
  return match ? Number(match[1]) : 0;
}

describe("releases, faults and rate limits through dynamic resources (real Envoys)", () => {
  const apps: Server[] = [];
  const envoys = new Map<string, RunningEnvoy>();
  const initial = withTraffic(canaryAt(10));

  beforeAll(async () => {
    apps.push(await startApp(layout.servicePod("catalog", 0, "stable"), "stable"));
    apps.push(await startApp(layout.servicePod("catalog", 0, "canary"), "canary"));
    apps.push(await startApp(layout.servicePod("cart", 0, "stable"), "stable"));
    const identities = new LocalIdentities(identityRoot, initial);
    publish(initial);
    for (const { proxy, release } of PROXIES) {
      identities.write(proxy, 0, new Date(), release);
      envoys.set(`${proxy}/${release}`, await startEnvoy(renderProxyConfig(initial, proxy, addressing, 0, release)));
    }
    await waitFor("the edge to route to both releases and to cart", async () => {
      const answers = await Promise.all([get("/api/products", { [RELEASE_HEADER]: "canary" }), get("/api/products", { [RELEASE_HEADER]: "stable" }), get("/api/carts/x")]);
      return answers.every((a) => a.status === 200);
    }, 30_000, 250);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...envoys.values()].map((e) => e.stop()));
    await Promise.all(apps.map((app) => new Promise((resolve) => app.close(resolve))));
    rmSync(identityRoot, { recursive: true, force: true });
    rmSync(dynamicRoot, { recursive: true, force: true });
  });

  const edge = () => envoys.get(`${EDGE_PROXY}/stable`) as RunningEnvoy;

  it("changes no bootstrap for a new weight, fault or rate limit: only the dynamic files differ", () => {
    const changed = withTraffic({
      canaries: { catalog: { weightPercent: 50, replicas: 1 } },
      faults: { catalog: { release: "canary", abortPercent: 20, abortStatus: 500, delayPercent: 0, delayMs: 0, fromHeaders: true } },
      rateLimits: { "/api/carts": { requestsPerSecond: 1, burst: 5 } },
    });
    for (const { proxy, release } of PROXIES) {
      expect(renderProxyConfig(changed, proxy, addressing, 0, release), `${proxy} ${release}`).toBe(renderProxyConfig(initial, proxy, addressing, 0, release));
    }
    expect(renderDynamicFiles(changed, EDGE_PROXY, addressing)).not.toEqual(renderDynamicFiles(initial, EDGE_PROXY, addressing));
  });

  it("sends 10 ± 2 % of 2,000 requests to a canary weighted 10", async () => {
    const answers = await many(2000, "/api/products");
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const canary = share(answers, "canary");
    console.log(`[releases] canary share at weight 10: ${(canary * 100).toFixed(1)} % of ${answers.length}`);
    expect(canary).toBeGreaterThanOrEqual(0.08);
    expect(canary).toBeLessThanOrEqual(0.12);
  });

  it(`pins a request to a release by ${RELEASE_HEADER}`, async () => {
    for (const release of ["canary", "stable"] as const) {
      const answers = await many(100, "/api/products", { [RELEASE_HEADER]: release });
      expect(answers.map((a) => a.release), release).toEqual(answers.map(() => release));
    }
  });

  it("moves the weight under steady load without one failed request and without restarting the edge", async () => {
    const uptime = await uptimeSeconds(edge());
    const pid = edge().process.child.pid;
    let stop = false;
    const during: Answer[] = [];
    const load = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (!stop) during.push(await get("/api/products"));
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    publish(withTraffic(canaryAt(50)));
    await waitFor("half of the requests at the canary", async () => Math.abs(share(await many(400, "/api/products"), "canary") - 0.5) < 0.08, 20_000, 250);
    stop = true;
    await load;
    expect(during.length).toBeGreaterThan(100);
    expect(during.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.body}`)).toEqual([]);
    expect(edge().process.child.pid).toBe(pid);
    expect(await uptimeSeconds(edge())).toBeGreaterThanOrEqual(uptime);
    expect(await counter(edge(), "cluster_manager.cds.update_success")).toBeGreaterThanOrEqual(2);
  });

  it("injects a configured abort into the canary only, and a delay and an abort a request asks for where the stack allows it", async () => {
    publish(
      withTraffic({
        ...canaryAt(50),
        faults: { catalog: { release: "canary", abortPercent: 50, abortStatus: 500, delayPercent: 0, delayMs: 0, fromHeaders: true } },
      }),
    );
    await waitFor("the canary to inject aborts", async () => (await many(40, "/api/products", { [RELEASE_HEADER]: "canary" })).some((a) => a.status === 500), 20_000, 250);
    const canary = await many(400, "/api/products", { [RELEASE_HEADER]: "canary" });
    const aborted = canary.filter((a) => a.status === 500);
    console.log(`[releases] canary aborts at 50 %: ${aborted.length} of ${canary.length}`);
    expect(aborted.length / canary.length).toBeGreaterThan(0.4);
    expect(aborted.length / canary.length).toBeLessThan(0.6);
    // The mesh's JSON error shape, from the fault filter's local reply.
    expect(JSON.parse(aborted[0]?.body ?? "{}")).toMatchObject({ error: "proxy_error", message: "fault filter abort" });
    const stable = await many(200, "/api/products", { [RELEASE_HEADER]: "stable" });
    expect(stable.filter((a) => a.status !== 200)).toEqual([]);
    // Only header-driven faults now: a request asks the canary for a 300 ms delay, or for a 418.
    const fromHeadersOnly = { release: "canary", abortPercent: 0, abortStatus: 503, delayPercent: 0, delayMs: 0, fromHeaders: true } as const;
    publish(withTraffic({ ...canaryAt(50), faults: { catalog: fromHeadersOnly } }));
    await waitFor("the canary to stop its configured aborts", async () => (await many(40, "/api/products", { [RELEASE_HEADER]: "canary" })).every((a) => a.status === 200), 20_000, 250);
    const delayed = await get("/api/products", { [RELEASE_HEADER]: "canary", "x-envoy-fault-delay-request": "300" });
    expect(delayed.status).toBe(200);
    expect(delayed.ms).toBeGreaterThanOrEqual(290);
    const teapot = await get("/api/products", { [RELEASE_HEADER]: "canary", "x-envoy-fault-abort-request": "418" });
    expect(teapot.status).toBe(418);
    // The stable release allows no header faults: its sidecars ignore them.
    const ignored = await get("/api/products", { [RELEASE_HEADER]: "stable", "x-envoy-fault-abort-request": "418", "x-envoy-fault-delay-request": "300" });
    expect(ignored.status).toBe(200);
    expect(ignored.ms).toBeLessThan(290);
  });

  it("lets a rate-limited route's budget through and answers 429 with rate-limit headers beyond it, counted", async () => {
    publish(withTraffic({ ...canaryAt(10), rateLimits: { "/api/carts": { requestsPerSecond: 1, burst: 5 } } }));
    const statName = `${RATE_LIMIT_STAT_PREFIX}.http_local_rate_limit.rate_limited`;
    await waitFor("the edge to limit /api/carts", async () => (await many(10, "/api/carts/x", {}, 1)).some((a) => a.status === 429), 20_000, 1500);
    // A fresh second: the bucket holds at most 5.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const before = await counter(edge(), statName);
    const answers = await many(12, "/api/carts/x", {}, 1);
    const passed = answers.filter((a) => a.status === 200).length;
    const limited = answers.filter((a) => a.status === 429);
    expect(passed).toBeGreaterThanOrEqual(5);
    expect(passed).toBeLessThanOrEqual(7);
    expect(limited.length).toBe(12 - passed);
    expect(JSON.parse(limited[0]?.body ?? "{}")).toMatchObject({ error: "too_many_requests" });
    expect(limited[0]?.headers.get("x-ratelimit-limit")).toBeTruthy();
    expect(limited[0]?.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(await counter(edge(), statName)).toBe(before + limited.length);
    // Other routes are not limited.
    expect((await many(40, "/api/products")).filter((a) => a.status !== 200)).toEqual([]);
  });
});
