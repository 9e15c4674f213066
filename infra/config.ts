// Stack settings: every `mesh:*` key, its default, and validation with errors
// that name the key, what was expected and what was given. Pure: the Pulumi
// program and the offline renderer both feed it raw values.
import { buildMeshModel, EDGE_PROXY, type MeshModel, PORTS, SERVICE_NAMES, sidecarName, type ServiceName } from "./model.js";

export const TARGETS = ["docker", "kubernetes"] as const;
export type Target = (typeof TARGETS)[number];

export interface StackSettings {
  readonly target: Target;
  /** Host port of the edge's public listener (127.0.0.1 and the host's interfaces). */
  readonly gatewayPort: number;
  /** First host port for Envoy admin interfaces, published on 127.0.0.1 only: edge, then one per proxy replica. */
  readonly adminPortBase: number;
  readonly prometheusPort: number;
  readonly grafanaPort: number;
  readonly zipkinPort: number;
  readonly replicas: Readonly<Record<ServiceName, number>>;
  /** Kubernetes namespace (kubernetes target). */
  readonly namespace: string;
  /** kubeconfig context to deploy to; empty means the current context. */
  readonly kubeContext: string;
  /** Envoy log level for every proxy. */
  readonly envoyLogLevel: EnvoyLogLevel;
  /** Percentage of requests the edge starts a trace for (the decision travels with the request). */
  readonly traceSamplingPercent: number;
}

export const ENVOY_LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "critical", "off"] as const;
export type EnvoyLogLevel = (typeof ENVOY_LOG_LEVELS)[number];

/** Documentation of each key, used by Pulumi.yaml, the README and error messages. */
export const SETTING_KEYS = {
  target: "where the mesh runs: docker or kubernetes",
  gatewayPort: "host port of the edge proxy's public HTTP listener",
  adminPortBase: "first of the 127.0.0.1-only host ports for Envoy admin interfaces (edge, then each sidecar replica)",
  prometheusPort: "host port of Prometheus",
  grafanaPort: "host port of Grafana",
  zipkinPort: "host port of Zipkin",
  replicas: "replicas per service, e.g. { catalog: 2 }; services not named run 1",
  namespace: "Kubernetes namespace for the mesh (kubernetes target)",
  kubeContext: "kubeconfig context to deploy to (kubernetes target); empty means the current one",
  envoyLogLevel: `Envoy log level: ${ENVOY_LOG_LEVELS.join(", ")}`,
  traceSamplingPercent: "percentage of requests traced (0 to 100; 100 traces every request, lower it under load)",
} as const satisfies Record<keyof StackSettings, string>;

export const CONFIG_NAMESPACE = "mesh";

export class StackConfigError extends Error {
  constructor(key: string, expected: string, given: unknown) {
    super(`stack config "${CONFIG_NAMESPACE}:${key}": expected ${expected}, got ${describe(given)}`);
    this.name = "StackConfigError";
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  return JSON.stringify(value);
}

/**
 * Validates raw settings: `raw` maps keys without the `mesh:` prefix to values,
 * either as Pulumi hands them over (strings, objects as JSON) or as parsed YAML.
 */
export function parseStackSettings(raw: Readonly<Record<string, unknown>>): StackSettings {
  for (const key of Object.keys(raw)) {
    if (!(key in SETTING_KEYS)) {
      throw new StackConfigError(key, `one of the known keys (${Object.keys(SETTING_KEYS).join(", ")})`, key);
    }
  }
  const target = oneOf("target", raw.target, TARGETS, undefined);
  const settings: StackSettings = {
    target,
    // Host ports default to the ports the components listen on inside their containers.
    gatewayPort: port("gatewayPort", raw.gatewayPort, PORTS.edgeHttp),
    adminPortBase: port("adminPortBase", raw.adminPortBase, PORTS.envoyAdmin),
    prometheusPort: port("prometheusPort", raw.prometheusPort, PORTS.prometheus),
    grafanaPort: port("grafanaPort", raw.grafanaPort, PORTS.grafana),
    zipkinPort: port("zipkinPort", raw.zipkinPort, PORTS.zipkin),
    replicas: replicas(raw.replicas),
    namespace: dnsLabel("namespace", raw.namespace, "mesh"),
    kubeContext: optionalString("kubeContext", raw.kubeContext),
    envoyLogLevel: oneOf("envoyLogLevel", raw.envoyLogLevel, ENVOY_LOG_LEVELS, "info"),
    traceSamplingPercent: percentage("traceSamplingPercent", raw.traceSamplingPercent, 100),
  };
  checkHostPortClashes(settings);
  return settings;
}

/** Most replicas a service may run; targets size per-replica resources by it. */
export const MAX_REPLICAS = 20;

/** Host port of one proxy replica's admin interface. */
export interface AdminPort {
  readonly proxy: string;
  readonly replica: number;
  readonly port: number;
}

/**
 * Admin host ports, consecutive from adminPortBase: the edge, then every
 * replica of every service's sidecar in model order.
 */
export function adminPorts(settings: Pick<StackSettings, "adminPortBase" | "replicas">): AdminPort[] {
  const proxies: Array<{ proxy: string; replica: number }> = [{ proxy: EDGE_PROXY, replica: 0 }];
  for (const service of SERVICE_NAMES) {
    for (let replica = 0; replica < settings.replicas[service]; replica++) proxies.push({ proxy: sidecarName(service), replica });
  }
  return proxies.map((p, i) => ({ ...p, port: settings.adminPortBase + i }));
}

/** The mesh model a stack's settings describe. */
export function meshModelFor(settings: StackSettings): MeshModel {
  return buildMeshModel(settings.replicas, { traceSamplingPercent: settings.traceSamplingPercent });
}

/** Every host port the stack publishes, by what publishes it. */
export function hostPorts(settings: StackSettings): Array<{ key: string; port: number }> {
  return [
    { key: "gatewayPort", port: settings.gatewayPort },
    ...adminPorts(settings).map(({ port }) => ({ key: "adminPortBase", port })),
    { key: "prometheusPort", port: settings.prometheusPort },
    { key: "grafanaPort", port: settings.grafanaPort },
    { key: "zipkinPort", port: settings.zipkinPort },
  ];
}

function checkHostPortClashes(settings: StackSettings): void {
  const adminCount = adminPorts(settings).length;
  if (settings.adminPortBase + adminCount - 1 > 65535) {
    throw new StackConfigError("adminPortBase", `a port no higher than ${65535 - adminCount + 1} (it needs ${adminCount} ports)`, settings.adminPortBase);
  }
  const seen = new Map<number, string>();
  for (const { key, port } of hostPorts(settings)) {
    const other = seen.get(port);
    if (other !== undefined && other !== key) {
      throw new StackConfigError(key, `a host port not already used by "${CONFIG_NAMESPACE}:${other}"`, port);
    }
    seen.set(port, key);
  }
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[], fallback: T | undefined): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw new StackConfigError(key, `one of ${allowed.join(", ")}`, value);
}

function integer(key: string, value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

function port(key: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = integer(key, value);
  if (n === undefined || n < 1 || n > 65535) throw new StackConfigError(key, "an integer port from 1 to 65535", value);
  return n;
}

function percentage(key: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value.trim()) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0 || n > 100) throw new StackConfigError(key, "a percentage from 0 to 100", value);
  return n;
}

function optionalString(key: string, value: unknown): string {
  if (value === undefined) return "";
  if (typeof value !== "string") throw new StackConfigError(key, "a string", value);
  return value;
}

function dnsLabel(key: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value === "string" && /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) return value;
  throw new StackConfigError(key, "a DNS label (lower-case letters, digits and '-', at most 63 characters)", value);
}

function replicas(value: unknown): Record<ServiceName, number> {
  const result = Object.fromEntries(SERVICE_NAMES.map((s) => [s, 1])) as Record<ServiceName, number>;
  if (value === undefined) return result;
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new StackConfigError("replicas", "a map of service name to replica count", value);
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new StackConfigError("replicas", "a map of service name to replica count", value);
  }
  for (const [service, count] of Object.entries(parsed)) {
    if (!(SERVICE_NAMES as readonly string[]).includes(service)) {
      throw new StackConfigError(`replicas.${service}`, `a known service (${SERVICE_NAMES.join(", ")})`, service);
    }
    const n = integer(`replicas.${service}`, count);
    if (n === undefined || n < 1 || n > MAX_REPLICAS) {
      throw new StackConfigError(`replicas.${service}`, `an integer from 1 to ${MAX_REPLICAS}`, count);
    }
    result[service as ServiceName] = n;
  }
  return result;
}
