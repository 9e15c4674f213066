// The Docker target through the real Pulumi engine on this machine's Docker
// Engine (28 or newer): opt-in, `MESH_DEPLOY_TARGET=docker npm run test:deploy`.
// It builds the app images, pulls the pinned ones, publishes the default host
// ports (8080, 9090, 3000, 9411 and 9901-10000 on 127.0.0.1) and tears it all down.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminPorts, parseStackSettings } from "../../infra/config.js";
import { request, prometheusTargets, startLoad, zipkinTraces } from "../e2e/support.js";
import { waitFor } from "../support/net.js";
import { changedBetween, declared, operations, providedPasswords, resourceKey, stackConfig, throwawayStack } from "./workspace.js";

const STACK = "deploy-test-docker";
const passwords = providedPasswords();
// Every request traced (the stack default is 1 %): the Zipkin test looks for the trace of an order placed here.
const settings = (replicas: Record<string, number>) => ({ target: "docker", replicas, traceSamplingPercent: 100 });
const declaredFor = (replicas: Record<string, number>) => declared({ ...settings(replicas), ...passwords }, Object.keys(passwords));
const defaults = parseStackSettings({ target: "docker" });
const gateway = `http://127.0.0.1:${defaults.gatewayPort}`;

function docker(...args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** Docker objects of the stack's state (containers, networks, volumes), by provider id. */
async function dockerObjects(stack: Stack): Promise<Array<{ kind: string; id: string }>> {
  const state = (await stack.exportStack()).deployment as { resources?: Array<{ type: string; id?: string }> };
  const kinds: Record<string, string> = { "docker:index/container:Container": "container", "docker:index/network:Network": "network", "docker:index/volume:Volume": "volume" };
  return (state.resources ?? []).filter((r) => kinds[r.type] && r.id).map((r) => ({ kind: kinds[r.type] as string, id: r.id as string }));
}

/** Requests to the services that a scaling of catalog must not disturb. */
function otherServicesLoad() {
  return startLoad({
    concurrency: 4,
    maxRequests: 20_000,
    maxDurationMs: 600_000,
    send: async (i) => (await request(i % 2 ? "GET" : "PUT", i % 2 ? `${gateway}/api/carts/load-${i % 7}` : `${gateway}/api/carts/load-${i % 7}/items/1`, i % 2 ? undefined : { quantity: 1 })).status,
  });
}

describe("the docker target through the real Pulumi engine", () => {
  const work = mkdtempSync(join(tmpdir(), "mesh-deploy-docker-"));
  let stack: Stack;
  const expected = declaredFor({ catalog: 2 });

  beforeAll(async () => {
    stack = await throwawayStack(STACK, work);
    await stack.setAllConfig(stackConfig(settings({ catalog: 2 }), passwords));
  });

  afterAll(async () => {
    await stack?.destroy({ color: "never" }).catch(() => undefined);
    await stack?.workspace.removeStack(STACK).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  it("previews exactly the resources the program declares", async () => {
    const events: EngineEvent[] = [];
    await stack.preview({ onEvent: (e) => events.push(e), color: "never" });
    expect([...operations(events).keys()].sort()).toEqual(expected.map(resourceKey).sort());
  });

  it("stands the mesh up, every container with a health check healthy", async () => {
    const up = await stack.up({ color: "never" });
    expect(up.summary.result).toBe("succeeded");
    const containers = (await dockerObjects(stack)).filter((o) => o.kind === "container");
    await waitFor(
      "every health-checked container to be healthy",
      async () => {
        const health = docker("inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.Running}}", ...containers.map((c) => c.id)).split("\n");
        return health.every((h) => h === "healthy true" || h === "none true" || h === "none false");
      },
      180_000,
      2000,
    );
  });

  it("serves the public API through the gateway, an order all the way to fulfilled", async () => {
    const product = await request("POST", `${gateway}/api/products`, { sku: `DEPLOY-${Date.now()}`, name: "deploy test", priceCents: 100 });
    expect(product.status).toBe(201);
    const id = (product.body as { id: number }).id;
    expect((await request("PUT", `${gateway}/api/carts/deploy/items/${id}`, { quantity: 2 })).status).toBe(200);
    const order = await request("POST", `${gateway}/api/orders`, { items: [{ productId: id, quantity: 2 }] });
    expect(order.status).toBe(202);
    const orderId = (order.body as { id: string }).id;
    await waitFor("the order to be fulfilled", async () => ((await request("GET", `${gateway}/api/orders/${orderId}`)).body as { status: string }).status === "fulfilled", 60_000, 500);
  });

  it("answers every admin interface on 127.0.0.1 only, and none through the gateway", async () => {
    for (const { port } of adminPorts(parseStackSettings(settings({ catalog: 2 })))) {
      expect(await (await fetch(`http://127.0.0.1:${port}/ready`)).text(), String(port)).toBe("LIVE\n");
    }
    // Docker's own record of the edge's admin port: bound to 127.0.0.1 and nothing else.
    const published = docker("ps", "--filter", `publish=${defaults.adminPortBase}`, "--format", "{{.Ports}}").split(", ");
    const admin = published.filter((p) => p.includes(`:${defaults.adminPortBase}->`));
    expect(admin).toEqual([`127.0.0.1:${defaults.adminPortBase}->${defaults.adminPortBase}/tcp`]);
    expect((await fetch(`${gateway}/stats`)).status).toBe(404);
  });

  it("has every Prometheus target up", async () => {
    let down: string[] = [];
    await waitFor(
      "every Prometheus target up",
      async () => {
        const targets = await prometheusTargets("http://127.0.0.1:9090");
        down = targets.filter((t) => t.health !== "up").map((t) => `${t.scrapeUrl}: ${t.health} ${t.lastError}`);
        return targets.length > 0 && down.length === 0;
      },
      90_000,
      2000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; not up: ${down.join("; ")}`);
    });
  });

  it("joins an order's trace in Zipkin across the edge and the services", async () => {
    await waitFor(
      "a trace through the edge, orders and catalog",
      async () => (await zipkinTraces("http://127.0.0.1:9411", { serviceName: "edge", spanName: "all", limit: "50" })).some((trace) => new Set(trace.map((s) => s.localEndpoint?.serviceName)).size >= 3),
      60_000,
      2000,
    );
  });

  it("changes nothing on a second up", async () => {
    const up = await stack.up({ color: "never" });
    expect(Object.keys(up.summary.resourceChanges ?? {})).toEqual(["same"]);
  });

  it.each([
    ["up", { catalog: 3 }],
    ["down", { catalog: 2 }],
  ])("scales catalog %s under traffic: only its replicas change, the other services answer throughout", async (_direction, replicas) => {
    const before = (await stack.getAllConfig())["mesh:replicas"]?.value ?? "{}";
    const touched = changedBetween(declaredFor(JSON.parse(before) as Record<string, number>), declaredFor(replicas));
    expect(touched).toEqual([]);
    await stack.setAllConfig(stackConfig(settings(replicas), passwords));
    const load = otherServicesLoad();
    const events: EngineEvent[] = [];
    const up = await stack.up({ onEvent: (e) => events.push(e), color: "never" });
    const result = await load.stop();
    expect(up.summary.result).toBe("succeeded");
    const changed = [...operations(events)].filter(([, op]) => op !== "same");
    expect(changed.length).toBeGreaterThan(0);
    for (const [name, op] of changed) {
      expect(name, op).toMatch(/::mesh-catalog-(app|sidecar)-2(-|$)/);
      expect(["create", "delete"]).toContain(op);
    }
    expect(result.total).toBeGreaterThan(0);
    expect(result.errors, JSON.stringify(result.statuses)).toBe(0);
  });

  it("recovers from a crashed sidecar on its own", async () => {
    const sidecar = docker("ps", "--filter", "name=mesh-cart-sidecar-0-envoy", "--format", "{{.ID}}");
    expect(sidecar).not.toBe("");
    // A crash, as the kernel's OOM killer or a fault would make it: SIGKILL to Envoy's process.
    // (`docker kill` would be an operator's stop, which Docker's restart policy leaves stopped.)
    const pid = Number(docker("inspect", "--format", "{{.State.Pid}}", sidecar));
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, "SIGKILL");
    await waitFor("Docker to restart the sidecar", async () => Number(docker("inspect", "--format", "{{.RestartCount}}", sidecar)) > 0, 60_000, 500);
    await waitFor("cart to answer again", async () => (await request("GET", `${gateway}/api/carts/recovered`).catch(() => ({ status: 0 }))).status === 200, 90_000, 1000);
    await waitFor("the sidecar healthy again", async () => docker("inspect", "--format", "{{.State.Health.Status}}", sidecar) === "healthy", 90_000, 1000);
  });

  it("destroys everything: no container, network or volume left", async () => {
    const objects = await dockerObjects(stack);
    expect(objects.length).toBeGreaterThan(30);
    const destroy = await stack.destroy({ color: "never" });
    expect(destroy.summary.result).toBe("succeeded");
    for (const { kind, id } of objects) {
      expect(() => docker(kind, "inspect", id), `${kind} ${id}`).toThrow();
    }
  });
});
