// How proxies find each other on Kubernetes.
import { type Addressing, CONTAINER_DYNAMIC_DIR, CONTAINER_IDENTITY_DIR, containerBinding } from "../addressing.js";
import { PORTS } from "../model.js";
import { releaseName } from "../traffic.js";

/** Kubernetes: headless Services in the mesh namespace. */
export function kubernetesAddressing(namespace: string, options: { grafana: boolean } = { grafana: true }): Addressing {
  const fqdn = (name: string) => `${name}.${namespace}.svc.cluster.local`;
  return {
    target: "kubernetes",
    // Every Envoy gets its workload's identity as a Secret volume (mutual TLS between them), and
    // its routes and service clusters as a ConfigMap volume the kubelet updates in place.
    binding: () => ({ ...containerBinding, identityDir: CONTAINER_IDENTITY_DIR, dynamicDir: CONTAINER_DYNAMIC_DIR }),
    serviceHost: (service, release) => fqdn(releaseName(service, release)),
    dataStoreHost: (store) => fqdn(store),
    zipkin: { address: fqdn("zipkin"), port: PORTS.zipkin },
    dnsResolver: undefined,
    scrapeDiscovery: { kind: "dns", edgeHost: fqdn("edge") },
    prometheus: { address: fqdn("prometheus"), port: PORTS.prometheus },
    grafana: options.grafana ? { address: fqdn("grafana"), port: PORTS.grafana } : undefined,
  };
}
