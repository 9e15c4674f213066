// The metrics-only listener every proxy has: Prometheus reaches /stats/prometheus on it,
// and nothing else of the admin interface is reachable from the mesh.
import { PORTS } from "../infra/model.js";
import type { HostPort } from "../infra/addressing.js";
import { type EnvoyObject, makeCluster, makeHttpConnectionManager, makeListener, makeRoute, notFoundRoute } from "./builders/index.js";
import { CLUSTER, LISTENER } from "./names.js";

const SCRAPE_TIMEOUT_MS = 5000;

export function metricsListener(listenAddress: string): EnvoyObject {
  const hcm = makeHttpConnectionManager({
    statPrefix: LISTENER.metrics,
    virtualHostName: "metrics",
    // Exact path only (query strings are not part of it); every other path 404s.
    routes: [makeRoute("prometheus-stats", { path: "/stats/prometheus" }, CLUSTER.admin, SCRAPE_TIMEOUT_MS), notFoundRoute()],
    edge: false,
  });
  return makeListener(LISTENER.metrics, { address: listenAddress, port: PORTS.envoyMetrics }, "INBOUND", [hcm]);
}

export function adminCluster(admin: HostPort): EnvoyObject {
  return makeCluster({ name: CLUSTER.admin, endpoint: admin, protocol: "http1", connectTimeoutMs: 1000, maxConnections: 16 });
}
