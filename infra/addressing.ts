// How proxies find each other on a target. Generated configs differ across
// targets only through these values; everything else is derived from the model.
import { type DataStoreName, type ServiceName, PORTS } from "./model.js";
import type { Release } from "./traffic.js";

export interface HostPort {
  readonly address: string;
  readonly port: number;
}

/** Where one proxy binds. */
export interface ProxyBinding {
  /** Mesh-facing listeners (edge HTTP, sidecar ingress, metrics-only). */
  readonly listenAddress: string;
  /** The address app and sidecar share: egress listeners bind here, ingress forwards to the app here. */
  readonly podLoopback: string;
  /** Envoy admin; never reachable from the mesh. */
  readonly admin: HostPort;
  /**
   * The proxy's identity directory (its certificate, key and trust bundle, and the SDS
   * files naming them: envoy-templates/builders/tls.ts): its mesh hops then run mutual
   * TLS. Plaintext hops where the target provides none.
   */
  readonly identityDir?: string;
  /**
   * The directory the proxy's routes and service clusters come from as dynamic resources
   * (envoy-templates/dynamic.ts), replaced as a whole while it runs. Absent: they are
   * part of the bootstrap, and changing them restarts the proxy.
   */
  readonly dynamicDir?: string;
}

export interface Addressing {
  readonly target: "docker" | "kubernetes" | "local";
  /**
   * Binding of the edge proxy, or of one replica's sidecar. Replicas differ on Docker
   * (each admin binds its own operator address) and locally (each has its own pod address).
   */
  binding(proxy: string, replica: number, release?: Release): ProxyBinding;
  /** DNS name resolving to every replica's sidecar of one release of a service (STRICT_DNS). */
  serviceHost(service: ServiceName, release: Release): string;
  dataStoreHost(store: DataStoreName): string;
  zipkin: HostPort;
  /** A DNS resolver to use instead of the system's (the local runner's dnsmasq); undefined: the system's. */
  dnsResolver: HostPort | undefined;
  /** How Prometheus finds every Envoy and app replica. */
  scrapeDiscovery: ScrapeDiscovery;
  /** Where Grafana reaches Prometheus, and Prometheus scrapes itself. */
  prometheus: HostPort;
  /** Grafana, where the target runs one (Prometheus then scrapes its metrics); undefined: none. */
  grafana: HostPort | undefined;
}

/**
 * How Prometheus finds the mesh's replicas: by the services' DNS names, where each
 * replica is an A record (Docker's aliases, Kubernetes' headless Services), or from
 * target files the runner writes (the local runner's dnsmasq serves the proxies, not
 * Prometheus's DNS discovery).
 */
export type ScrapeDiscovery = { readonly kind: "dns"; readonly edgeHost: string } | { readonly kind: "files" };

/** A container's or pod's identity directory: a Kubernetes Secret volume, a Docker volume. */
export const CONTAINER_IDENTITY_DIR = "/etc/envoy-identity";

/** A container's or pod's directory of dynamic resources (envoy-templates/dynamic.ts): a Kubernetes ConfigMap volume. */
export const CONTAINER_DYNAMIC_DIR = "/etc/envoy-dynamic";

/** Where proxies bind in a container or pod: the mesh on every interface, the app on the shared loopback. */
export const containerBinding: ProxyBinding = {
  listenAddress: "0.0.0.0",
  podLoopback: "127.0.0.1",
  admin: { address: "127.0.0.1", port: PORTS.envoyAdmin },
};
