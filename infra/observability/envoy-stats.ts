// Names the Envoy configs give their stats: the edge's public HTTP connection
// manager's stat_prefix and the cluster of each upstream service.
import type { ServiceName } from "../model.js";

export const EDGE_HTTP_STAT_PREFIX = "edge_http";

export function serviceClusterName(service: ServiceName): string {
  return service;
}
