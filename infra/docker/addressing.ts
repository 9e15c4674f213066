// How proxies find each other on Docker: network aliases, and each proxy's admin on
// its own operator network.
import { type Addressing, CONTAINER_IDENTITY_DIR, containerBinding } from "../addressing.js";
import { EDGE_PROXY, PORTS } from "../model.js";
import { releaseName } from "../traffic.js";
import { operatorSubnet } from "./operator-network.js";

/**
 * Docker: services are network aliases on the mesh network; data stores are aliases
 * on their own internal networks. Each proxy replica's admin binds to its address on
 * its private operator network, the only address Docker can publish on 127.0.0.1
 * without exposing the admin to other containers (infra/docker/operator-network.ts).
 */
export function dockerAddressing(options: { grafana: boolean } = { grafana: true }): Addressing {
  return {
    target: "docker",
    binding: (proxy, replica) => ({
      ...containerBinding,
      admin: { address: operatorSubnet(proxy, replica).proxyAddress, port: PORTS.envoyAdmin },
      // Every Envoy gets its workload's identity volume (identity-volume.ts): mutual TLS between them.
      identityDir: CONTAINER_IDENTITY_DIR,
    }),
    serviceHost: releaseName,
    dataStoreHost: (store) => store,
    zipkin: { address: "zipkin", port: PORTS.zipkin },
    dnsResolver: undefined,
    // The edge's network alias (infra/docker/mesh.ts).
    scrapeDiscovery: { kind: "dns", edgeHost: EDGE_PROXY },
    prometheus: { address: "prometheus", port: PORTS.prometheus },
    grafana: options.grafana ? { address: "grafana", port: PORTS.grafana } : undefined,
  };
}
