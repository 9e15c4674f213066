// A local-runner style addressing for tests: every proxy replica on its own 127.A.B.x address
// (so rendered configs keep the model's fixed ports and still never clash), and a DNS
// resolver of its own. Hosts default to DNS names; tests that start Envoy pass IP literals.
import type { Addressing, HostPort } from "../../infra/addressing.js";
import { EDGE_PROXY, PORTS, SERVICE_NAMES, type DataStoreName, type ServiceName } from "../../infra/model.js";

export interface LoopbackOptions {
  serviceHost?: (service: ServiceName) => string;
  dataStoreHost?: (store: DataStoreName) => string;
  zipkin?: HostPort;
  dnsResolver?: HostPort;
}

/** A random 127.A.B block, far from 127.0.0.x where the machine's shared services listen. */
export function randomLoopbackBlock(): string {
  const octet = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
  return `127.${octet(100, 199)}.${octet(1, 254)}`;
}

/** The pod address of a proxy replica in `block`: the edge at .1, sidecars from .10 up. */
export function loopbackPod(block: string, proxy: string, replica: number): string {
  if (proxy === EDGE_PROXY) return `${block}.1`;
  const index = SERVICE_NAMES.findIndex((s) => `${s}-sidecar` === proxy);
  if (index < 0) throw new Error(`unknown proxy "${proxy}"`);
  return `${block}.${10 + index * 20 + replica}`;
}

export function loopbackAddressing(block: string, options: LoopbackOptions = {}): Addressing {
  return {
    target: "local",
    binding: (proxy, replica) => {
      const pod = loopbackPod(block, proxy, replica);
      return { listenAddress: pod, podLoopback: pod, admin: { address: pod, port: PORTS.envoyAdmin } };
    },
    serviceHost: options.serviceHost ?? ((service) => `${service}.mesh.test`),
    dataStoreHost: options.dataStoreHost ?? ((store) => `${store}.mesh.test`),
    zipkin: options.zipkin ?? { address: `${block}.253`, port: PORTS.zipkin },
    ...(options.dnsResolver ? { dnsResolver: options.dnsResolver } : {}),
  };
}
