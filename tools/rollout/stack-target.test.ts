// The rollout on a Pulumi stack, against a stack that records its config and ups and a
// Prometheus whose answers the test scripts: what each decision does to the stack, in
// which order, and that a step waits for the callers' Envoys to reload their routes.
import { describe, expect, it } from "vitest";
import { DEFAULT_ROLLOUT_POLICY } from "../../infra/traffic.js";
import type { PrometheusQuery } from "./release-metrics.js";
import { runRollout } from "./rollout.js";
import { type StackControl, stackRolloutTarget } from "./stack-target.js";

/** A stack with `mesh:` config in memory; each `up` records the config it deployed. */
function fakeStack(initial: Record<string, unknown>, lastUpdateStartMs?: number) {
  const config = new Map(Object.entries(initial));
  const ups: Array<Record<string, unknown>> = [];
  const control: StackControl = {
    get: async (key) => structuredClone(config.get(key)),
    set: async (key, value) => {
      if (value === undefined) config.delete(key);
      else config.set(key, structuredClone(value));
    },
    up: async () => {
      ups.push(Object.fromEntries(config));
      return { update: 1 };
    },
    lastUpdateStartMs: async () => lastUpdateStartMs,
  };
  return { control, ups };
}

/** A clock the fake sleep moves on. */
function fakeClock() {
  let t = 1_000_000;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

/**
 * Prometheus as the stack target reads it: the callers' oldest route reload follows the
 * last `up` by `reloadDelayMs`; release figures are healthy unless the canary fails.
 */
function fakePrometheus(
  clock: { now: () => number },
  ups: unknown[],
  options: { reloadDelayMs: number; canaryErrors?: number; canaryRequests?: number; priorUpAt?: number },
): { query: PrometheusQuery; queries: string[] } {
  const queries: string[] = [];
  const upTimes: number[] = options.priorUpAt === undefined ? [] : [options.priorUpAt];
  let seenUps = 0;
  return {
    queries,
    query: async (promql) => {
      queries.push(promql);
      while (seenUps < ups.length) {
        upTimes.push(clock.now());
        seenUps++;
      }
      if (promql.includes("envoy_http_rds_update_time")) {
        const last = upTimes.at(-1) ?? 0;
        return clock.now() >= last + options.reloadDelayMs ? last + options.reloadDelayMs : last - 60_000;
      }
      const canary = promql.includes('envoy_cluster_name="catalog-canary"');
      if (promql.includes("upstream_rq_total")) return canary ? (options.canaryRequests ?? 500) : 500;
      if (promql.includes("upstream_rq_xx")) return canary ? (options.canaryErrors ?? 0) : 0;
      return 12;
    },
  };
}

const policy = { ...DEFAULT_ROLLOUT_POLICY, steps: [25, 100], holdSeconds: 20 };
const canaryOf = (up: Record<string, unknown>) => (up.canaries as Record<string, { weightPercent: number }> | undefined)?.catalog;

describe("rollout on a Pulumi stack", () => {
  it("promotes: each step one up and a wait for the callers' reload; then the canary's image to stable, weight 0, and the canary removed, each in its own up", async () => {
    const clock = fakeClock();
    const { control, ups } = fakeStack({
      target: "kubernetes",
      appImages: { catalog: "mesh/catalog:1", cart: "mesh/cart:1" },
      canaries: { catalog: { weightPercent: 5, replicas: 1, image: "mesh/catalog:2" }, cart: { weightPercent: 10, replicas: 1 } },
    });
    const prometheus = fakePrometheus(clock, ups, { reloadDelayMs: 45_000 });
    const lines: string[] = [];
    const target = await stackRolloutTarget(control, { service: "catalog", callers: ["edge", "orders"], query: prometheus.query, log: (l) => lines.push(l), ...clock });
    const result = await runRollout({ service: "catalog", policy, target, log: (l) => lines.push(l), sleep: clock.sleep });

    expect(result.decision).toBe("promoted");
    expect(ups.map((up) => [canaryOf(up)?.weightPercent ?? "none", (up.appImages as Record<string, string>).catalog])).toEqual([
      [25, "mesh/catalog:1"],
      [100, "mesh/catalog:1"],
      [100, "mesh/catalog:2"],
      [0, "mesh/catalog:2"],
      ["none", "mesh/catalog:2"],
    ]);
    // The other service's canary and images are left as they were.
    expect(ups.every((up) => JSON.stringify((up.canaries as Record<string, unknown>).cart) === JSON.stringify({ weightPercent: 10, replicas: 1 }))).toBe(true);
    expect((ups.at(-1)!.appImages as Record<string, string>).cart).toBe("mesh/cart:1");
    expect(lines.filter((l) => l.includes("reloaded its routes")).length).toBe(3);
    const reload = prometheus.queries.find((q) => q.includes("envoy_http_rds_update_time"));
    expect(reload).toBe('min(max by (service, replica) (envoy_http_rds_update_time{service=~"edge|orders",envoy_rds_route_config=~"egress_catalog|edge_http|edge_https"}))');
  });

  it("rolls back a failing canary: weight 0 in one up, then the canary removed (the key with it when it was the only one)", async () => {
    const clock = fakeClock();
    const { control, ups } = fakeStack({ target: "kubernetes", canaries: { catalog: { weightPercent: 5, replicas: 1 } } });
    const prometheus = fakePrometheus(clock, ups, { reloadDelayMs: 10_000, canaryErrors: 50 });
    const target = await stackRolloutTarget(control, { service: "catalog", callers: ["edge", "orders"], query: prometheus.query, log: () => {}, ...clock });
    const result = await runRollout({ service: "catalog", policy, target, log: () => {}, sleep: clock.sleep });

    expect(result.decision).toBe("rolled back");
    expect(result.atWeight).toBe(25);
    expect(ups.map((up) => canaryOf(up)?.weightPercent ?? "none")).toEqual([25, 0, "none"]);
    expect("canaries" in ups.at(-1)!).toBe(false);
  });

  it("rolls back rather than promote when a hold ends with too few canary requests to judge", async () => {
    const clock = fakeClock();
    const { control, ups } = fakeStack({ target: "kubernetes", canaries: { catalog: { weightPercent: 5, replicas: 1 } } });
    const prometheus = fakePrometheus(clock, ups, { reloadDelayMs: 10_000, canaryRequests: DEFAULT_ROLLOUT_POLICY.minRequests - 1 });
    const target = await stackRolloutTarget(control, { service: "catalog", callers: ["edge", "orders"], query: prometheus.query, log: () => {}, ...clock });
    const result = await runRollout({ service: "catalog", policy, target, log: () => {}, sleep: clock.sleep });

    expect(result.decision).toBe("rolled back");
    expect(result.reason).toBe("too little traffic to judge the canary at 25 %: 19 requests over the 20 s hold (minRequests 20)");
    expect(ups.map((up) => canaryOf(up)?.weightPercent ?? "none")).toEqual([25, 0, "none"]);
  });

  it("lets the stack's last update reach the callers before the first step, so its reload is not taken for the step's", async () => {
    const clock = fakeClock();
    const started = clock.now() - 20_000;
    const { control, ups } = fakeStack({ target: "kubernetes", canaries: { catalog: { weightPercent: 10, replicas: 1 } } }, started);
    const prometheus = fakePrometheus(clock, ups, { reloadDelayMs: 50_000, priorUpAt: started });
    const lines: string[] = [];
    await stackRolloutTarget(control, { service: "catalog", callers: ["edge", "orders"], query: prometheus.query, log: (l) => lines.push(l), ...clock });
    expect(lines).toEqual(["  waiting up to 100 s for the stack's last update to reach the Envoys of edge, orders", "  every Envoy of edge, orders reloaded its routes to catalog 50 s after the change"]);
    expect(clock.now()).toBe(started + 50_000);

    // An update that left the callers' routes alone: no reload comes, and the wait ends at the bound.
    const quiet = fakeStack({ target: "kubernetes", canaries: { catalog: { weightPercent: 10, replicas: 1 } } }, clock.now() - 20_000);
    const never = fakePrometheus(clock, quiet.ups, { reloadDelayMs: Number.POSITIVE_INFINITY, priorUpAt: clock.now() - 20_000 });
    const quietLines: string[] = [];
    await stackRolloutTarget(quiet.control, { service: "catalog", callers: ["edge", "orders"], query: never.query, log: (l) => quietLines.push(l), ...clock });
    expect(quietLines.at(-1)).toBe("  no reload since the last update: it left their routes as they were");
  });

  it("gives up with a clear error when the callers never reload, and refuses a service without a canary", async () => {
    const clock = fakeClock();
    const { control, ups } = fakeStack({ canaries: { catalog: { weightPercent: 5, replicas: 1 } } });
    const prometheus = fakePrometheus(clock, ups, { reloadDelayMs: Number.POSITIVE_INFINITY });
    const target = await stackRolloutTarget(control, { service: "catalog", callers: ["edge", "orders"], query: prometheus.query, log: () => {}, reloadTimeoutMs: 60_000, ...clock });
    await expect(target.setWeight(50)).rejects.toThrow(/the Envoys of edge, orders had not all reloaded their routes to catalog \d+ s after the change/);
    await expect(stackRolloutTarget(control, { service: "cart", callers: ["edge"], query: prometheus.query })).rejects.toThrow(
      "cart runs no canary on this stack: set mesh:canaries.cart and run pulumi up first",
    );
  });
});
