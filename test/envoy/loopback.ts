// The local runner's own layout and addressing (infra/local), for tests that run
// rendered configs on a block of loopback addresses of their own: every proxy
// replica on its own 127.A.B.x address, so configs keep the model's fixed ports
// and never clash. Tests that start Envoy without DNS pass IP literals for hosts.
import type { Addressing, HostPort } from "../../infra/addressing.js";
import { localAddressing } from "../../infra/local/addressing.js";
import { LocalLayout } from "../../infra/local/layout.js";
import type { DataStoreName, ServiceName } from "../../infra/model.js";
import type { Release } from "../../infra/traffic.js";

export interface LoopbackOptions {
  /** Where callers find a service; the local runner's DNS names when absent. */
  serviceHost?: (service: ServiceName, release: Release) => string;
  /** Where a store listens; the layout's address for it when absent. */
  dataStoreHost?: (store: DataStoreName) => string;
  zipkin?: HostPort;
  /** Each proxy replica's identity directory under here (infra/local/identities.ts): mutual TLS between them. */
  identityRoot?: string;
  /** Each proxy replica's dynamic resources under here (envoy-templates/dynamic.ts); inline when absent. */
  dynamicRoot?: string;
}

/** The pod address of a proxy replica in `block`, as the local runner lays it out. */
export function loopbackPod(block: string, proxy: string, replica: number): string {
  return new LocalLayout(block).proxyPod(proxy, replica);
}

export function loopbackAddressing(block: string, options: LoopbackOptions = {}): Addressing {
  const layout = new LocalLayout(block);
  const addressing = localAddressing(layout, options.dataStoreHost ?? ((store) => layout.dataStore(store)), options.identityRoot, options.dynamicRoot);
  return {
    ...addressing,
    ...(options.serviceHost ? { serviceHost: options.serviceHost } : {}),
    ...(options.zipkin ? { zipkin: options.zipkin } : {}),
  };
}
