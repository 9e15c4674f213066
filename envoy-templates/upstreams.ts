// Clusters for what proxies talk to: other services' sidecars, data stores, Zipkin.
// Identical on every target except for the addresses, which come from the Addressing.
import type { Addressing } from "../infra/addressing.js";
import { DATA_STORES, PORTS, type DataStoreName, type MeshModel, type ServiceSpec, workloadIdentity } from "../infra/model.js";
import { type Release, releaseName, releaseSidecarNode, releasesOf } from "../infra/traffic.js";
import { type EnvoyObject, makeCluster, meshClientTls } from "./builders/index.js";
import { CLUSTER, dataStoreCluster } from "./names.js";

/** The apps' readiness endpoint: what callers' proxies health-check. */
export const READINESS_PATH = "/readyz";

/**
 * Every replica's sidecar ingress of one release of `service`, health-checked through the
 * sidecar on /readyz, which must be that service's. With the caller's `identityDir`, over
 * mutual TLS, the callee's certificate checked for the service's identity (both releases
 * are the same service, with the same identity).
 */
export function serviceClusterFor(model: MeshModel, service: ServiceSpec, addressing: Addressing, identityDir: string | undefined, release: Release = "stable"): EnvoyObject {
  return makeCluster({
    name: releaseName(service.name, release),
    endpoint: { address: addressing.serviceHost(service.name, release), port: PORTS.sidecarIngress },
    // Proxy to proxy: HTTP/2 multiplexes requests over few connections.
    protocol: "http2",
    connectTimeoutMs: 1000,
    healthCheck: { kind: "http", path: READINESS_PATH, host: service.name, expectedProxy: releaseSidecarNode(service.name, release) },
    outlierDetection: true,
    maxConnections: 1024,
    dnsResolver: addressing.dnsResolver,
    ...(identityDir !== undefined ? { transportSocket: meshClientTls(identityDir, workloadIdentity(model, service.name)) } : {}),
  });
}

/** A cluster per release the service runs (infra/traffic.ts). */
export function serviceClustersFor(model: MeshModel, service: ServiceSpec, addressing: Addressing, identityDir: string | undefined): EnvoyObject[] {
  return releasesOf(model.traffic, service.name).map((release) => serviceClusterFor(model, service, addressing, identityDir, release));
}

export function dataStoreClusterFor(store: DataStoreName, addressing: Addressing): EnvoyObject {
  return makeCluster({
    name: dataStoreCluster(store),
    endpoint: { address: addressing.dataStoreHost(store), port: DATA_STORES[store].port },
    protocol: "tcp",
    connectTimeoutMs: 2000,
    healthCheck: { kind: "tcp" },
    outlierDetection: true,
    maxConnections: 256,
    dnsResolver: addressing.dnsResolver,
  });
}

/** Zipkin's collector: used by the proxy's own tracer and by the apps' span export. */
export function zipkinCluster(addressing: Addressing): EnvoyObject {
  return makeCluster({
    name: CLUSTER.zipkin,
    endpoint: addressing.zipkin,
    protocol: "http1",
    connectTimeoutMs: 1000,
    maxConnections: 64,
    dnsResolver: addressing.dnsResolver,
  });
}
