// The metrics-only listener every proxy has: Prometheus reaches /stats/prometheus on it,
// and nothing else of the admin interface is reachable from the mesh. It also answers
// whether the proxy can reach what it routes to, for the targets' start-up checks.
import { PORTS } from "../infra/model.js";
import type { HostPort } from "../infra/addressing.js";
import { type EnvoyObject, makeCluster, makeHttpConnectionManager, makeListener, makeRoute, notFoundRoute } from "./builders/index.js";
import { CLUSTER, LISTENER } from "./names.js";

const SCRAPE_TIMEOUT_MS = 5000;

/**
 * 200 once every service cluster of the proxy has a healthy host, 503 before (and
 * while the proxy fails its health checks to drain). A freshly started proxy's
 * first checks can fail for a moment (on a real node, until the NetworkPolicy
 * engine has admitted the new pod's address), and a proxy taking traffic then
 * answers 503 "no healthy upstream": start-up waits for this instead.
 */
export const UPSTREAMS_READY_PATH = "/upstreams-ready";

/** Paths of a sidecar's app served on the metrics listener too, and where they go. */
export interface AppProbes {
  readonly paths: readonly string[];
  readonly cluster: string;
  readonly timeoutMs: number;
}

/**
 * `upstreamClusters`: the service clusters the proxy routes to (not data stores: an app's
 * own readiness covers those). `appProbes`: a sidecar's app's probe paths.
 */
export function metricsListener(listenAddress: string, upstreamClusters: readonly string[], appProbes?: AppProbes): EnvoyObject {
  // This listener traces nothing: probes and scrapes never start traces.
  const probes = appProbes ? appProbes.paths.map((path) => makeRoute(`app${path.replace("/", "-")}`, { path }, appProbes.cluster, appProbes.timeoutMs)) : [];
  const hcm = makeHttpConnectionManager({
    statPrefix: LISTENER.metrics,
    virtualHostName: "metrics",
    // Exact paths only (query strings are not part of them); every other path 404s.
    routes: [makeRoute("prometheus-stats", { path: "/stats/prometheus" }, CLUSTER.admin, SCRAPE_TIMEOUT_MS), ...probes, notFoundRoute()],
    edge: false,
    upstreamsReady: { path: UPSTREAMS_READY_PATH, clusters: upstreamClusters },
  });
  return makeListener(LISTENER.metrics, { address: listenAddress, port: PORTS.envoyMetrics }, "INBOUND", [hcm]);
}

export function adminCluster(admin: HostPort): EnvoyObject {
  return makeCluster({ name: CLUSTER.admin, endpoint: admin, protocol: "http1", connectTimeoutMs: 1000, maxConnections: 16 });
}
