// Where the monitoring components are reached on a target, as its addressing names them.
import type { Addressing, HostPort } from "../addressing.js";

export interface ObservabilityEndpoints {
  readonly prometheus: HostPort;
  /** Undefined where no Grafana runs: then nothing scrapes it. */
  readonly grafana: HostPort | undefined;
  readonly zipkin: HostPort;
}

export function observabilityEndpoints(addressing: Addressing): ObservabilityEndpoints {
  return {
    prometheus: addressing.prometheus,
    grafana: addressing.grafana,
    zipkin: addressing.zipkin,
  };
}

export function httpUrl(at: HostPort): string {
  return `http://${at.address}:${at.port}`;
}
