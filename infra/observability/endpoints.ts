// Where the monitoring components are reached on a target. Addressing names
// them for Docker and Kubernetes; the local runner may leave them out.
import type { Addressing, HostPort } from "../addressing.js";
import { PORTS } from "../model.js";

export interface ObservabilityEndpoints {
  readonly prometheus: HostPort;
  /** Absent where no Grafana runs (the local runner): then nothing scrapes it. */
  readonly grafana: HostPort | undefined;
  readonly zipkin: HostPort;
}

export function observabilityEndpoints(addressing: Addressing): ObservabilityEndpoints {
  return {
    prometheus: addressing.prometheus ?? { address: "127.0.0.1", port: PORTS.prometheus },
    grafana: addressing.grafana,
    zipkin: addressing.zipkin,
  };
}

export function httpUrl(at: HostPort): string {
  return `http://${at.address}:${at.port}`;
}
