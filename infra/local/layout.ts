// Where every local "pod" lives: one loopback /24 block per run (127.A.B.0/24),
// one address per pod, so every component keeps its well-known port from the
// model and two runs on one machine never collide. The block is free-checked
// before use.
import { createServer } from "node:net";
import { MAX_REPLICAS } from "../config.js";
import { DATA_STORES, EDGE_PROXY, PORTS, SERVICE_NAMES, sidecarName, type DataStoreName, type ServiceName } from "../model.js";
import { RELEASES, type Release } from "../traffic.js";

const FIRST_SERVICE_HOST = 10;

/** Host numbers (last octet) of the run's shared components. */
const INFRA_HOSTS = {
  dns: 249,
  postgres: 250,
  redis: 251,
  rabbitmq: 252,
  zipkin: 253,
  prometheus: 254,
} as const;

/** dnsmasq's port: unprivileged, since the run's own address already keeps it apart. */
export const DNS_PORT = 1053;

export class LocalLayout {
  /** `prefix` is the first three octets, e.g. "127.42.7". */
  constructor(readonly prefix: string) {
    if (!/^127\.\d{1,3}\.\d{1,3}$/.test(prefix)) throw new Error(`address block must look like 127.A.B, got "${prefix}"`);
  }

  private host(n: number): string {
    return `${this.prefix}.${n}`;
  }

  get edge(): string {
    return this.host(1);
  }

  /**
   * The pod of one service replica: its app and its sidecar share this address. Each
   * release of each service has a range of MAX_REPLICAS addresses: the stable releases'
   * first, then the canaries'.
   */
  servicePod(service: ServiceName, replica: number, release: Release = "stable"): string {
    if (!Number.isInteger(replica) || replica < 0 || replica >= MAX_REPLICAS) {
      throw new Error(`replica ${replica} of ${service} is outside 0..${MAX_REPLICAS - 1}`);
    }
    const range = RELEASES.indexOf(release) * SERVICE_NAMES.length + SERVICE_NAMES.indexOf(service);
    return this.host(FIRST_SERVICE_HOST + range * MAX_REPLICAS + replica);
  }

  /** The pod address of a proxy replica (the edge has one replica). */
  proxyPod(proxy: string, replica: number, release: Release = "stable"): string {
    if (proxy === EDGE_PROXY) return this.edge;
    const service = SERVICE_NAMES.find((s) => sidecarName(s) === proxy);
    if (!service) throw new Error(`unknown proxy "${proxy}"`);
    return this.servicePod(service, replica, release);
  }

  get dns(): string {
    return this.host(INFRA_HOSTS.dns);
  }

  dataStore(store: DataStoreName): string {
    return this.host(INFRA_HOSTS[store]);
  }

  get zipkin(): string {
    return this.host(INFRA_HOSTS.zipkin);
  }

  get prometheus(): string {
    return this.host(INFRA_HOSTS.prometheus);
  }
}

/** Ports a service pod uses: app, sidecar ingress, metrics, admin, and its egress listeners. */
export function servicePodPorts(egressPorts: readonly number[], dataStores: readonly DataStoreName[]): number[] {
  return [
    PORTS.app,
    PORTS.sidecarIngress,
    PORTS.envoyMetrics,
    PORTS.envoyAdmin,
    PORTS.zipkin,
    ...egressPorts,
    ...dataStores.map((s) => DATA_STORES[s].port),
  ];
}

/** True when nothing listens on address:port (TCP) right now. */
export async function isFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first of `addresses × ports` already taken, or undefined when all are free. */
export async function firstTaken(pairs: ReadonlyArray<{ address: string; port: number }>): Promise<{ address: string; port: number } | undefined> {
  for (const pair of pairs) {
    if (!(await isFree(pair.address, pair.port))) return pair;
  }
  return undefined;
}

/** A random block outside 127.0.x.x (the machine's own services live there). */
export function randomBlockPrefix(): string {
  const a = 64 + Math.floor(Math.random() * 190);
  const b = Math.floor(Math.random() * 256);
  return `127.${a}.${b}`;
}
