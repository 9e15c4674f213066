// Small builders for Envoy v3 bootstrap pieces, as plain proto3-JSON objects. The edge
// and sidecar configs are assembled from these; every listener and network filter gets
// a stat_prefix.
export { type EnvoyObject, duration, socketAddress, typed } from "./common.js";
export { type ClusterOptions, type HealthCheck, type UpstreamProtocol, makeCluster } from "./cluster.js";
export { ORIGINAL_PATH_HEADER, type UpstreamRoute, type WeightedCluster, makeRetryingRoutes, makeRoute, notFoundRoute } from "./route.js";
export { TRAFFIC_FILTER, faultRouteConfig, rateLimitRouteConfig } from "./traffic-filters.js";
export { type HttpConnectionManagerOptions, makeHttpConnectionManager, makeListener, makeTcpProxy } from "./listener.js";
export { type BootstrapOptions, makeBootstrap } from "./bootstrap.js";
export { type AuthorizedCaller, IDENTITY_FILES, identitySdsFiles, meshClientTls, meshServerTls, publicServerTls } from "./tls.js";
