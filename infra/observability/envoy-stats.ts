// Names the Envoy configs give their stats: the edge's public HTTP connection
// manager's stat_prefix, the cluster of each upstream service, and the
// sidecar's cluster for its own app.
export const EDGE_HTTP_STAT_PREFIX = "edge_http";
export const LOCAL_APP_CLUSTER = "local_app";

/** Takes a plain string so dashboards can pass a Grafana variable ("$service"). */
export function serviceClusterName(service: string): string {
  return service;
}
