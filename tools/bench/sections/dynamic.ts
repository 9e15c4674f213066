// What routes and clusters as dynamic resources cost per request (envoy-templates/dynamic.ts).
// The mesh's edge and catalog sidecar with routes and service clusters inline in the
// bootstrap (as the Docker and Kubernetes targets run them) against the same pair reading
// them from files (RDS and CDS from a watched directory, as the local runner runs them),
// everything else identical. On the dynamic pair, what the traffic policy adds once a route
// uses it: a catalog canary taking a share by weight (its own sidecar behind the edge,
// answering too), and a rate limit whose bucket no run empties. And the inline pair without
// the fault and rate-limit filters every chain now carries idle: what carrying them costs.
// Every pair is set against the inline one, a second inline pair included, whose ratio
// shows the noise; envoy-pairs.ts runs and measures them.
import { RATE_LIMIT_STAT_PREFIX } from "../../../envoy-templates/index.js";
import { NO_TRAFFIC_POLICY, releaseName, type TrafficPolicy } from "../../../infra/traffic.js";
import { withoutFeature } from "../envoy-features.js";
import { CATALOG_ROUTE, type Pair, type PairSectionOptions, UPSTREAM, counterSum, measurePairs, meshPair, printPairFigures } from "../envoy-pairs.js";
import { ratio, round } from "../stats.js";

const INLINE = "inline routes and clusters";
const CONTROL = "inline again (control)";
const DYNAMIC = "dynamic routes and clusters";
const CANARY_PERCENT = 10;
const CANARY = `dynamic, canary at ${CANARY_PERCENT} %`;
const RATE_LIMIT = "dynamic, rate limit never reached";
const NO_TRAFFIC_FILTERS = "inline, no traffic filters";

/** A bucket no run here can empty: the filter takes a token for every request and lets each pass. */
const UNREACHED_LIMIT = { requestsPerSecond: 1_000_000, burst: 1_000_000 };

export async function dynamicResourceCosts(options: PairSectionOptions) {
  const canary: TrafficPolicy = { ...NO_TRAFFIC_POLICY, canaries: { catalog: { weightPercent: CANARY_PERCENT, replicas: 1 } } };
  const rateLimit: TrafficPolicy = { ...NO_TRAFFIC_POLICY, rateLimits: { [CATALOG_ROUTE]: UNREACHED_LIMIT } };
  const pairs = [
    meshPair(INLINE, INLINE, options),
    // The same as the floor: how far apart two identical pairs come out is this run's noise.
    meshPair(CONTROL, INLINE, options),
    meshPair(DYNAMIC, INLINE, options, { dynamic: true }),
    meshPair(CANARY, INLINE, options, { dynamic: true, traffic: canary }),
    meshPair(RATE_LIMIT, INLINE, options, { dynamic: true, traffic: rateLimit }),
    meshPair(NO_TRAFFIC_FILTERS, INLINE, options, { change: (c) => withoutFeature(c, "traffic filters") }),
  ];
  const named = (name: string) => pairs.find((p) => p.name === name)!;
  const { maxThroughput, fixedRate, inspected } = await measurePairs("dynamic", pairs, options, () => trafficFigures(named(CANARY), named(RATE_LIMIT)));
  return { upstream: UPSTREAM, samplingPercent: options.samplingPercent, maxThroughput, fixedRate, traffic: inspected };
}

export type DynamicResourceCosts = Awaited<ReturnType<typeof dynamicResourceCosts>>;

/**
 * What the traffic policy did over the whole section, read from each pair's edge: the
 * canary's share of the catalog requests (both releases answered), and the requests the
 * rate limit let through and refused (it checked them all, refused none).
 */
async function trafficFigures(canaryPair: Pair, rateLimitPair: Pair) {
  const counter = (pair: Pair, name: string) => counterSum(pair.envoys[0]!.admin, `^${name.replaceAll(".", "\\.")}$`);
  const routed = (release: "stable" | "canary") => counter(canaryPair, `cluster.${releaseName("catalog", release)}.upstream_rq_total`);
  const stable = await routed("stable");
  const canary = await routed("canary");
  const limit = `${RATE_LIMIT_STAT_PREFIX}.http_local_rate_limit`;
  return {
    canary: { pair: canaryPair.name, weightPercent: CANARY_PERCENT, stableRequests: stable, canaryRequests: canary, canarySharePercent: round(ratio(canary * 100, stable + canary), 2) },
    rateLimit: { pair: rateLimitPair.name, passed: await counter(rateLimitPair, `${limit}.ok`), limited: await counter(rateLimitPair, `${limit}.rate_limited`) },
  };
}

export function printDynamicResources(figures: DynamicResourceCosts): void {
  console.log(`\n1c. Routes and clusters inline or dynamic (from files), the mesh's edge and catalog sidecar (upstream: ${figures.upstream}); maximum throughput, CPU µs per request`);
  printPairFigures(figures, "÷ inline");
  const { canary, rateLimit: limit } = figures.traffic;
  console.log(
    `${canary.pair}: ${canary.canaryRequests} of the edge's catalog requests to the canary, ${canary.stableRequests} to stable (${canary.canarySharePercent} %, weight ${canary.weightPercent} %)`,
  );
  console.log(`${limit.pair}: ${limit.passed} requests passed the rate limit, ${limit.limited} refused`);
}
