// How proxies find each other on a target. Generated configs differ across
// targets only through these values; everything else is derived from the model.
import { operatorSubnet } from "./docker/operator-network.js";
import { type DataStoreName, type ServiceName, PORTS } from "./model.js";

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
}

export interface Addressing {
  readonly target: "docker" | "kubernetes" | "local";
  /** Binding of the edge proxy, or of one replica's sidecar (all replicas share it except locally). */
  binding(proxy: string, replica: number): ProxyBinding;
  /** DNS name resolving to every replica's sidecar of a service (STRICT_DNS). */
  serviceHost(service: ServiceName): string;
  dataStoreHost(store: DataStoreName): string;
  zipkin: HostPort;
  /** A DNS resolver to use instead of the system's (the local runner's dnsmasq). */
  dnsResolver?: HostPort;
  /** DNS name resolving to the edge proxy, for Prometheus's DNS discovery (docker, kubernetes). */
  edgeHost?: string;
  /** Where Grafana reaches Prometheus (and Prometheus scrapes itself); default 127.0.0.1:PORTS.prometheus. */
  prometheus?: HostPort;
  /** Grafana, where the target runs one: Prometheus then scrapes its metrics. */
  grafana?: HostPort;
}

const containerBinding: ProxyBinding = {
  listenAddress: "0.0.0.0",
  podLoopback: "127.0.0.1",
  admin: { address: "127.0.0.1", port: PORTS.envoyAdmin },
};

/**
 * Docker: services are network aliases on the mesh network; data stores are aliases
 * on their own internal networks. Each proxy replica's admin binds to its address on
 * its private operator network, the only address Docker can publish on 127.0.0.1
 * without exposing the admin to other containers (infra/docker/operator-network.ts).
 */
export function dockerAddressing(): Addressing {
  return {
    target: "docker",
    binding: (proxy, replica) => ({
      ...containerBinding,
      admin: { address: operatorSubnet(proxy, replica).proxyAddress, port: PORTS.envoyAdmin },
    }),
    serviceHost: (service) => service,
    dataStoreHost: (store) => store,
    zipkin: { address: "zipkin", port: PORTS.zipkin },
    edgeHost: "edge",
    prometheus: { address: "prometheus", port: PORTS.prometheus },
    grafana: { address: "grafana", port: PORTS.grafana },
  };
}

/** Kubernetes: headless Services in the mesh namespace. */
export function kubernetesAddressing(namespace: string): Addressing {
  const fqdn = (name: string) => `${name}.${namespace}.svc.cluster.local`;
  return {
    target: "kubernetes",
    binding: () => containerBinding,
    serviceHost: (service) => fqdn(service),
    dataStoreHost: (store) => fqdn(store),
    zipkin: { address: fqdn("zipkin"), port: PORTS.zipkin },
    edgeHost: fqdn("edge"),
    prometheus: { address: fqdn("prometheus"), port: PORTS.prometheus },
    grafana: { address: fqdn("grafana"), port: PORTS.grafana },
  };
}
