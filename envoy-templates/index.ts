// Envoy config generators: the model plus a target's addressing in, v3 bootstraps out.
export type { EnvoyObject } from "./builders/index.js";
export { edgeBootstrap, edgeRoutes, EDGE_MAX_HEAP_BYTES } from "./edge.js";
export { sidecarBootstrap, SIDECAR_MAX_HEAP_BYTES } from "./sidecar.js";
export { checkEnvoyConfig, assertEnvoyConfig } from "./check.js";
export { type RenderedProxy, envoyYaml, findProxy, proxyBootstrap, proxyConfig, renderDynamicFiles, renderEnvoyArtifacts, renderProxies, renderProxy, renderProxyConfig } from "./render.js";
export { CLUSTERS_FILE, type ProxyConfig, routesFile, withDynamicResources } from "./dynamic.js";
export * from "./names.js";
export { PRIVATE_IDENTITY_FILES, identityFileNames, identityFiles, workloadIdentityFiles } from "./identity-files.js";
export { UPSTREAMS_READY_PATH } from "./metrics-listener.js";
