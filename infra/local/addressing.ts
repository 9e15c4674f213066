// Addressing of the local target: every proxy replica is a pod with its own
// loopback address (listeners, egress and admin all bind there); services are
// DNS names served by the run's dnsmasq, with one A record per replica.
import type { Addressing } from "../addressing.js";
import { PORTS, type DataStoreName, type ServiceName } from "../model.js";
import { type Release, releaseName } from "../traffic.js";
import { localProxyDir } from "./identities.js";
import { DNS_PORT, type LocalLayout } from "./layout.js";

/** The DNS zone the local runner serves service names in. */
export const LOCAL_DNS_ZONE = "mesh.internal";

export function localServiceHost(service: ServiceName, release: Release = "stable"): string {
  return `${releaseName(service, release)}.${LOCAL_DNS_ZONE}`;
}

/**
 * `dataStoreHost` says where each store listens at its well-known port: a private
 * instance on the run's own address, or the machine's shared one on 127.0.0.1.
 * `identityRoot` holds each proxy replica's identity directory (infra/local/identities.ts):
 * mesh hops then run mutual TLS; without it, plaintext (tests of other behaviour).
 * `dynamicRoot` holds each proxy replica's dynamic resources (envoy-templates/dynamic.ts);
 * without it, routes and clusters are part of each bootstrap.
 */
export function localAddressing(layout: LocalLayout, dataStoreHost: (store: DataStoreName) => string, identityRoot?: string, dynamicRoot?: string): Addressing {
  return {
    target: "local",
    binding: (proxy, replica, release = "stable") => {
      const pod = layout.proxyPod(proxy, replica, release);
      return {
        listenAddress: pod,
        podLoopback: pod,
        admin: { address: pod, port: PORTS.envoyAdmin },
        ...(identityRoot !== undefined ? { identityDir: localProxyDir(identityRoot, proxy, replica, release) } : {}),
        ...(dynamicRoot !== undefined ? { dynamicDir: localProxyDir(dynamicRoot, proxy, replica, release) } : {}),
      };
    },
    serviceHost: localServiceHost,
    dataStoreHost,
    zipkin: { address: layout.zipkin, port: PORTS.zipkin },
    dnsResolver: { address: layout.dns, port: DNS_PORT },
    scrapeDiscovery: { kind: "files" },
    prometheus: { address: layout.prometheus, port: PORTS.prometheus },
    // The local runner runs no Grafana.
    grafana: undefined,
  };
}
