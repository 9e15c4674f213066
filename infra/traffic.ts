// How the mesh steers traffic, beyond where it goes: a service's releases and the
// weights between them, faults injected on purpose, and the edge's rate limits.
// All of it reaches running Envoys as dynamic resources (envoy-templates/dynamic.ts),
// so changing it restarts no proxy.
import type { ServiceName, ServiceSpec } from "./model.js";

export const RELEASES = ["stable", "canary"] as const;
export type Release = (typeof RELEASES)[number];

/** The request header that pins one request to a release, e.g. `x-mesh-release: canary`. */
export const RELEASE_HEADER = "x-mesh-release";

/** A canary release of a service: its own workloads, taking `weightPercent` % of the service's traffic. */
export interface CanaryRelease {
  /** 0 to 100; the stable release takes the rest. */
  readonly weightPercent: number;
  readonly replicas: number;
  /**
   * The canary's app image on Docker and Kubernetes (a reference, as mesh:appImages takes);
   * the stable release's image when absent. The local runner runs this checkout's apps for both.
   */
  readonly image?: string;
}

/**
 * Faults a service's sidecars inject into requests to its app, for a game day or a test:
 * a share of requests delayed, a share answered with an error. `release` limits them to
 * one release's sidecars. With `fromHeaders`, a request may also ask for a fault itself
 * (Envoy's x-envoy-fault-abort-request / x-envoy-fault-delay-request headers).
 */
export interface FaultPolicy {
  readonly release: Release | "all";
  readonly abortPercent: number;
  readonly abortStatus: number;
  readonly delayPercent: number;
  readonly delayMs: number;
  readonly fromHeaders: boolean;
}

/** A token bucket at the edge for one public route: `burst` requests at once, refilled at `requestsPerSecond`. */
export interface RateLimit {
  readonly requestsPerSecond: number;
  readonly burst: number;
}

export interface TrafficPolicy {
  readonly canaries: Readonly<Partial<Record<ServiceName, CanaryRelease>>>;
  readonly faults: Readonly<Partial<Record<ServiceName, FaultPolicy>>>;
  /** Keyed by a public route's prefix, e.g. "/api/orders". */
  readonly rateLimits: Readonly<Record<string, RateLimit>>;
}

export const NO_TRAFFIC_POLICY: TrafficPolicy = { canaries: {}, faults: {}, rateLimits: {} };

/**
 * What a release's workloads, DNS name and Envoy cluster are called: the stable release
 * keeps the service's name, so a mesh without canaries looks as it always did.
 */
export function releaseName(service: ServiceName, release: Release): string {
  return release === "stable" ? service : `${service}${CANARY_SUFFIX}`;
}

/**
 * The node name of a release's sidecars (Envoy's node.cluster): what Zipkin names their
 * spans' service and what callers' health checks expect back, so traces and checks tell
 * the releases apart. The stable release's is the proxy's own name, `<service>-sidecar`.
 */
export function releaseSidecarNode(service: ServiceName, release: Release): string {
  return `${releaseName(service, release)}-sidecar`;
}

/** What a canary release's name adds to its service's. */
export const CANARY_SUFFIX = "-canary";

/** The releases a service runs: stable always, canary when the policy gives it one. */
export function releasesOf(policy: TrafficPolicy, service: ServiceName): Release[] {
  return policy.canaries[service] !== undefined ? ["stable", "canary"] : ["stable"];
}

/** How many replicas a release of a service runs: the service's own for stable, the canary's (0 without one). */
export function releaseReplicas(policy: TrafficPolicy, service: ServiceSpec, release: Release): number {
  return release === "stable" ? service.replicas : (policy.canaries[service.name]?.replicas ?? 0);
}

/**
 * How `npm run rollout` moves a canary to stable: through `steps` (canary weight, %),
 * holding each for `holdSeconds` while it compares the canary with the stable release
 * as their callers see them. It rolls back when the canary's 5xx share exceeds the
 * stable's by more than `maxErrorPercentIncrease` points, or its p99 exceeds the
 * stable's `maxP99Ratio` times and by more than `p99SlackMs` (a fresh canary's first
 * requests are slower while its app warms up, and Envoy's latency buckets are coarse);
 * with fewer than `minRequests` canary requests in a hold,
 * it decides nothing yet.
 */
export interface RolloutPolicy {
  readonly steps: readonly number[];
  readonly holdSeconds: number;
  readonly maxErrorPercentIncrease: number;
  readonly maxP99Ratio: number;
  readonly p99SlackMs: number;
  readonly minRequests: number;
}

export const DEFAULT_ROLLOUT_POLICY: RolloutPolicy = {
  steps: [5, 25, 50, 100],
  holdSeconds: 60,
  maxErrorPercentIncrease: 1,
  maxP99Ratio: 1.5,
  p99SlackMs: 50,
  minRequests: 20,
};
