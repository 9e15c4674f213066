// How fast a caller's Envoy learns that replicas came or went: the timings the
// generated clusters use, and what a leaving replica must wait out because of them.

/** How often a caller's Envoy re-resolves a service name (Envoy's default dns_refresh_rate). */
export const DNS_REFRESH_SECONDS = 5;

/**
 * The longest a cluster DNS answer can be stale: the TTL CoreDNS's kubernetes
 * plugin gives its records (5 s on kind and kubeadm clusters), which its cache honours.
 */
export const CLUSTER_DNS_TTL_SECONDS = 5;

/** Active health checks of every upstream. */
export const HEALTH_CHECK_TIMING = {
  timeoutSeconds: 1,
  intervalSeconds: 3,
  unhealthyIntervalSeconds: 2,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
} as const;

/**
 * How long after a replica leaves DNS until every caller has re-resolved the name
 * and checked the replicas that stay: the endpoint update reaching DNS (about a
 * second), a stale answer's TTL, the caller's next re-resolution and a health
 * check interval, with two seconds to spare.
 */
export const CALLER_DISCOVERY_SECONDS = 1 + CLUSTER_DNS_TTL_SECONDS + DNS_REFRESH_SECONDS + HEALTH_CHECK_TIMING.intervalSeconds + 2;

/**
 * How long after a replica starts failing health checks until every caller has
 * marked it unhealthy: up to an interval before the next check, then the failures
 * that make it unhealthy, with two seconds to spare. (A caller that sends it a
 * request learns at once: the answer carries x-envoy-immediate-health-check-fail.)
 */
export const CALLER_HEALTH_NOTICE_SECONDS =
  HEALTH_CHECK_TIMING.intervalSeconds + (HEALTH_CHECK_TIMING.unhealthyThreshold - 1) * HEALTH_CHECK_TIMING.unhealthyIntervalSeconds + 2;

/**
 * How long a leaving replica keeps serving before its app is told to stop: first
 * until its callers know the replicas that stay, then failing health checks until
 * they have moved away. In that order: a caller excludes a host that answers with
 * the immediate-fail header even from panic routing, so failing first leaves a
 * caller that has not yet resolved the new replica with no host at all. Measured
 * on the real node: failing first answered 2 to 7 % of a one-replica service's
 * requests with 503 "no healthy upstream" during a rollout.
 */
export const ENDPOINT_DRAIN_SECONDS = CALLER_DISCOVERY_SECONDS + CALLER_HEALTH_NOTICE_SECONDS;
