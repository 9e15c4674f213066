// Stack settings: every `mesh:*` key, its default, and validation with errors
// that name the key, what was expected and what was given. Pure: the Pulumi
// program and the offline renderer both feed it raw values.
import { type CertificateAuthority, providedCa } from "./pki/index.js";
import { DEFAULT_CERTIFICATE_LIFETIME_HOURS, MAX_CERTIFICATE_LIFETIME_HOURS } from "./workload-credentials.js";
import { ACCESS_LOG_MODES, type AccessLogMode, buildMeshModel, DEFAULT_ACCESS_LOG, DEFAULT_NAMESPACE, DEFAULT_TRACE_SAMPLING_PERCENT, DEFAULT_TRUST_DOMAIN, EDGE_PROXY, PLAIN_HTTP_MODES, type PlainHttp, type MeshModel, PORTS, SERVICE_NAMES, sidecarName, type ServiceName } from "./model.js";
import { type CanaryRelease, DEFAULT_ROLLOUT_POLICY, type FaultPolicy, RELEASE_HEADER, RELEASES, type RateLimit, type RolloutPolicy, type TrafficPolicy } from "./traffic.js";
import { IMAGES, type ImageKey } from "./versions.js";

export const TARGETS = ["docker", "kubernetes"] as const;
export type Target = (typeof TARGETS)[number];

export interface StackSettings {
  readonly target: Target;
  /** Host port of the edge's public listener (127.0.0.1 and the host's interfaces). */
  readonly gatewayPort: number;
  /** Host port of the edge's public HTTPS listener, where the target serves one. */
  readonly gatewayHttpsPort: number;
  /** Plain HTTP at the gateway served, or redirected to HTTPS. */
  readonly plainHttp: PlainHttp;
  /** First host port for Envoy admin interfaces, published on 127.0.0.1 only: edge, then one per proxy replica. */
  readonly adminPortBase: number;
  readonly prometheusPort: number;
  readonly grafanaPort: number;
  readonly zipkinPort: number;
  /** Whether the stack runs Grafana; without it, bring your own (the dashboards are in dashboards/generated/). */
  readonly grafana: boolean;
  readonly replicas: Readonly<Record<ServiceName, number>>;
  /** Canary releases, injected faults and edge rate limits (infra/traffic.ts). */
  readonly traffic: TrafficPolicy;
  /** How `npm run rollout` steps a canary and when it rolls back (infra/traffic.ts). */
  readonly rollout: RolloutPolicy;
  /** Kubernetes namespace (kubernetes target). */
  readonly namespace: string;
  /** kubeconfig context to deploy to; empty means the current context. */
  readonly kubeContext: string;
  /** Envoy log level for every proxy. */
  readonly envoyLogLevel: EnvoyLogLevel;
  /** Percentage of requests the edge starts a trace for (the decision travels with the request). */
  readonly traceSamplingPercent: number;
  /** Which requests every proxy writes an access log line for. */
  readonly accessLog: AccessLogMode;
  /** SPIFFE trust domain of every workload identity (spiffe://<trustDomain>/ns/<namespace>/sa/<workload>). */
  readonly trustDomain: string;
  /** Lifetime of workload certificates; `pulumi up` renews those past two thirds of it. */
  readonly certificateLifetimeHours: number;
  /** Reference of every third-party image: the pinned one unless the stack names another. */
  readonly images: Readonly<Record<ImageKey, string>>;
  /** App images to run as they are (nothing built or loaded for these services). */
  readonly appImages: Readonly<Partial<Record<ServiceName, string>>>;
  /** Registry (and path) the app images built here are pushed to; empty: never pushed. */
  readonly imageRegistry: string;
  /** An organisation's own CA (or intermediate) for the mesh, instead of one derived from mesh:meshCaPassword. */
  readonly providedCa: ProvidedCa | undefined;
  /** Passwords the organisation provides (stack config secrets); the rest are generated. */
  readonly passwords: Readonly<Partial<Record<PasswordName, string>>>;
}

/** A CA certificate and its private key, PEM. */
export interface ProvidedCa {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** The credentials the mesh needs; each is generated unless the stack provides it. */
export const PASSWORD_NAMES = ["postgresSuperuser", "postgresApp", "rabbitmq", "redis", "grafanaAdmin", "meshCa"] as const;
export type PasswordName = (typeof PASSWORD_NAMES)[number];
/** Stack key of a provided password, e.g. mesh:redisPassword. */
export const passwordKey = (name: PasswordName) => `${name}Password` as const;

export const ENVOY_LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "critical", "off"] as const;
export type EnvoyLogLevel = (typeof ENVOY_LOG_LEVELS)[number];

/** Documentation of each key, used by Pulumi.yaml, the README and error messages. */
export const SETTING_KEYS = {
  target: "where the mesh runs: docker or kubernetes",
  gatewayPort: "host port of the edge proxy's public HTTP listener",
  gatewayHttpsPort: "host port of the edge proxy's public HTTPS listener",
  plainHttp: `${PLAIN_HTTP_MODES.join(" or ")}: whether the gateway serves plain HTTP as it is or redirects it to HTTPS (where it has HTTPS)`,
  adminPortBase: "first of the 100 127.0.0.1-only host ports for Envoy admin interfaces: the edge at the base, replica r of the n-th service (catalog 1, cart 2, orders 3, order-worker 4) at base + 20n + r",
  prometheusPort: "host port of Prometheus",
  grafanaPort: "host port of Grafana",
  zipkinPort: "host port of Zipkin",
  grafana: "whether the stack runs Grafana (true) or leaves it to your own (false: import the dashboards from dashboards/generated/ and point them at this Prometheus and Zipkin)",
  replicas: "replicas per service, e.g. { catalog: 2 }; services not named run 1",
  canaries: `canary releases per service, e.g. { catalog: { weightPercent: 10, replicas: 1, image: registry.example.com/mesh-catalog:1.3.0 } }: the canary's own workloads (its image; the stable one's when absent) take that share of the service's traffic (a request with ${RELEASE_HEADER}: canary or stable picks one); changing a weight restarts no proxy`,
  faults: "faults injected per service by its sidecars, e.g. { catalog: { abortPercent: 20, abortStatus: 500, delayPercent: 0, delayMs: 0, release: canary, fromHeaders: false } }; off unless set; changing them restarts no proxy",
  rollout: `how npm run rollout moves a canary to stable, e.g. { steps: [5, 25, 50, 100], holdSeconds: 60, maxErrorPercentIncrease: 1, maxP99Ratio: 1.5, p99SlackMs: 50, minRequests: 20 } (these are the defaults): a breach during a hold rolls the canary back`,
  rateLimits: 'edge rate limits per public route, e.g. { "/api/orders": { requestsPerSecond: 50, burst: 100 } }: requests beyond the bucket get 429; changing them restarts no proxy',
  namespace: "Kubernetes namespace for the mesh (kubernetes target), and the namespace of every workload identity on every target",
  kubeContext: "kubeconfig context to deploy to (kubernetes target); empty means the current one",
  envoyLogLevel: `Envoy log level: ${ENVOY_LOG_LEVELS.join(", ")}`,
  traceSamplingPercent: "percentage of requests traced (0 to 100; default 1; 100 traces every request)",
  accessLog: `which requests every Envoy writes a JSON access log line for: all, errors (answered 4xx or 5xx, or ending with an Envoy response flag such as no healthy upstream; the default) or off`,
  trustDomain: "SPIFFE trust domain of the workload identities the sidecars authenticate each other by (spiffe://<trustDomain>/ns/<namespace>/sa/<workload>)",
  certificateLifetimeHours: `lifetime of the workload certificates in hours (1 to ${MAX_CERTIFICATE_LIFETIME_HOURS}); pulumi up renews those past two thirds of it`,
  images: `image references replacing the pinned ones, e.g. { envoy: registry.example.com/envoy:v1.40.0 }; keys: ${Object.keys(IMAGES).join(", ")}`,
  appImages: "app images to run instead of building them, e.g. { catalog: registry.example.com/mesh-catalog:1.2.0 }",
  imageRegistry: "registry (and path) to push the app images built by pulumi up to, e.g. registry.example.com/mesh; empty: never pushed",
  postgresSuperuserPassword: "secret: Postgres superuser password; generated when not set",
  postgresAppPassword: "secret: password of the apps' Postgres role; generated when not set",
  rabbitmqPassword: "secret: RabbitMQ password; generated when not set",
  redisPassword: "secret: Redis password; generated when not set",
  grafanaAdminPassword: "secret: Grafana admin password; generated when not set",
  caCertificate: "PEM certificate of an organisation's own CA (or intermediate) that issues the mesh's certificates, with mesh:caPrivateKey; unset: the mesh's own CA, derived from mesh:meshCaPassword",
  caPrivateKey: "secret: the PEM private key of mesh:caCertificate (EC P-256, or RSA of 2048 bits or more)",
  meshCaPassword: "secret: the seed the mesh's own CA, and every workload's key and certificate, derive from (infra/pki); generated when not set. A new value re-keys the whole mesh",
} as const satisfies Record<Exclude<keyof StackSettings, "passwords" | "providedCa" | "traffic"> | keyof TrafficPolicy | "caCertificate" | "caPrivateKey" | ReturnType<typeof passwordKey>, string>;

export const CONFIG_NAMESPACE = "mesh";

/** What a rejected value was like, for values that must not be echoed (passwords). */
class Withheld {
  constructor(readonly description: string) {}
}

export class StackConfigError extends Error {
  constructor(key: string, expected: string, given: unknown) {
    super(`stack config "${CONFIG_NAMESPACE}:${key}": expected ${expected}, got ${describe(given)}`);
    this.name = "StackConfigError";
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value instanceof Withheld) return value.description;
  return JSON.stringify(value);
}

/**
 * Validates raw settings: `raw` maps keys without the `mesh:` prefix to values,
 * either as Pulumi hands them over (strings, objects as JSON) or as parsed YAML.
 * `secretKeys` names the keys the stack stores encrypted; a password must be one.
 */
export function parseStackSettings(raw: Readonly<Record<string, unknown>>, secretKeys: ReadonlySet<string> = new Set()): StackSettings {
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
    gatewayHttpsPort: port("gatewayHttpsPort", raw.gatewayHttpsPort, PORTS.edgeHttps),
    plainHttp: oneOf("plainHttp", raw.plainHttp, PLAIN_HTTP_MODES, "serve"),
    adminPortBase: port("adminPortBase", raw.adminPortBase, PORTS.envoyAdmin),
    prometheusPort: port("prometheusPort", raw.prometheusPort, PORTS.prometheus),
    grafanaPort: port("grafanaPort", raw.grafanaPort, PORTS.grafana),
    zipkinPort: port("zipkinPort", raw.zipkinPort, PORTS.zipkin),
    grafana: flag("grafana", raw.grafana, true),
    replicas: replicas(raw.replicas),
    traffic: parseTrafficSettings(Object.fromEntries(TRAFFIC_KEYS.flatMap((key) => (raw[key] === undefined ? [] : [[key, raw[key]]])))),
    rollout: parseRolloutPolicy(raw.rollout),
    namespace: dnsLabel("namespace", raw.namespace, DEFAULT_NAMESPACE),
    kubeContext: optionalString("kubeContext", raw.kubeContext),
    envoyLogLevel: oneOf("envoyLogLevel", raw.envoyLogLevel, ENVOY_LOG_LEVELS, "info"),
    traceSamplingPercent: percentage("traceSamplingPercent", raw.traceSamplingPercent, DEFAULT_TRACE_SAMPLING_PERCENT),
    accessLog: oneOf("accessLog", raw.accessLog, ACCESS_LOG_MODES, DEFAULT_ACCESS_LOG),
    trustDomain: trustDomain("trustDomain", raw.trustDomain),
    certificateLifetimeHours: certificateLifetime("certificateLifetimeHours", raw.certificateLifetimeHours),
    images: { ...Object.fromEntries(Object.entries(IMAGES).map(([key, image]) => [key, image.ref])), ...imageMap("images", raw.images, Object.keys(IMAGES)) } as Record<ImageKey, string>,
    appImages: imageMap("appImages", raw.appImages, SERVICE_NAMES),
    imageRegistry: registry("imageRegistry", raw.imageRegistry),
    providedCa: providedCaSetting(raw.caCertificate, raw.caPrivateKey, secretKeys.has("caPrivateKey")),
    passwords: Object.fromEntries(
      PASSWORD_NAMES.flatMap((name) => {
        const key = passwordKey(name);
        // Pulumi.yaml declares "" as the default: Pulumi then hands it over for an unset key.
        return raw[key] === undefined || raw[key] === "" ? [] : [[name, password(key, raw[key], secretKeys.has(key))]];
      }),
    ),
  };
  checkHostPortClashes(settings);
  // The Docker target has no canary workloads yet (and its Envoys read their routes from the
  // bootstrap): refuse a canary rather than route to a release that does not exist.
  if (settings.target === "docker" && Object.keys(settings.traffic.canaries).length > 0) {
    throw new StackConfigError("canaries", "no canary on the docker target (canary releases run on the kubernetes target and the local runner)", settings.traffic.canaries);
  }
  return settings;
}

/** Most replicas a service may run; targets size per-replica resources by it. */
export const MAX_REPLICAS = 20;

/**
 * A stable slot per proxy replica: the edge is 0, replica r of the n-th service
 * (model order, from 1) is n * MAX_REPLICAS + r. Host ports and Docker operator
 * networks are numbered by it, so scaling one service never renumbers another's.
 */
export function proxySlot(proxy: string, replica: number): number {
  if (!Number.isInteger(replica) || replica < 0 || replica >= MAX_REPLICAS) {
    throw new Error(`proxy replica ${replica} of "${proxy}" is outside 0..${MAX_REPLICAS - 1}`);
  }
  const index = [EDGE_PROXY, ...SERVICE_NAMES.map(sidecarName)].indexOf(proxy);
  if (index < 0) throw new Error(`unknown proxy "${proxy}"`);
  return index * MAX_REPLICAS + replica;
}

/** How many slots there are: host ports from adminPortBase on are reserved for them all. */
export const PROXY_SLOTS = (SERVICE_NAMES.length + 1) * MAX_REPLICAS;

/** Host port of one proxy replica's admin interface. */
export interface AdminPort {
  readonly proxy: string;
  readonly replica: number;
  readonly port: number;
}

/** Admin host ports of the replicas the stack runs: adminPortBase + the replica's slot. */
export function adminPorts(settings: Pick<StackSettings, "adminPortBase" | "replicas">): AdminPort[] {
  const proxies: Array<{ proxy: string; replica: number }> = [{ proxy: EDGE_PROXY, replica: 0 }];
  for (const service of SERVICE_NAMES) {
    for (let replica = 0; replica < settings.replicas[service]; replica++) proxies.push({ proxy: sidecarName(service), replica });
  }
  return proxies.map((p) => ({ ...p, port: settings.adminPortBase + proxySlot(p.proxy, p.replica) }));
}

/** The mesh model a stack's settings describe. */
export function meshModelFor(settings: StackSettings): MeshModel {
  return buildMeshModel(settings.replicas, {
    traffic: settings.traffic,
    traceSamplingPercent: settings.traceSamplingPercent,
    accessLog: settings.accessLog,
    identity: { trustDomain: settings.trustDomain, namespace: settings.namespace },
    gateway: { plainHttp: settings.plainHttp, httpsPort: settings.gatewayHttpsPort },
  });
}

/** Every host port the stack publishes or reserves, by the key that sets it. */
export function hostPorts(settings: StackSettings): Array<{ key: string; port: number }> {
  return [
    { key: "gatewayPort", port: settings.gatewayPort },
    { key: "gatewayHttpsPort", port: settings.gatewayHttpsPort },
    // The whole admin range, so that scaling up never lands on a port another key took.
    ...Array.from({ length: PROXY_SLOTS }, (_, slot) => ({ key: "adminPortBase", port: settings.adminPortBase + slot })),
    { key: "prometheusPort", port: settings.prometheusPort },
    ...(settings.grafana ? [{ key: "grafanaPort", port: settings.grafanaPort }] : []),
    { key: "zipkinPort", port: settings.zipkinPort },
  ];
}

function checkHostPortClashes(settings: StackSettings): void {
  if (settings.adminPortBase + PROXY_SLOTS - 1 > 65535) {
    throw new StackConfigError("adminPortBase", `a port no higher than ${65535 - PROXY_SLOTS + 1} (it needs ${PROXY_SLOTS} ports)`, settings.adminPortBase);
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

function flag(key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw new StackConfigError(key, "true or false", value);
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

/**
 * Both keys or neither, the key a secret. Whether they make a usable CA (a CA, not expired,
 * the key its own) is checked where the key is decrypted: checkProvidedCa.
 */
function providedCaSetting(certificate: unknown, privateKey: unknown, keyIsSecret: boolean): ProvidedCa | undefined {
  const given = (value: unknown) => value !== undefined && value !== "";
  if (!given(certificate) && !given(privateKey)) return undefined;
  if (!given(privateKey)) throw new StackConfigError("caPrivateKey", "the private key of mesh:caCertificate (pulumi config set --secret caPrivateKey ...)", undefined);
  if (!given(certificate)) throw new StackConfigError("caCertificate", "the PEM certificate whose key mesh:caPrivateKey is", undefined);
  if (!keyIsSecret) throw new StackConfigError("caPrivateKey", "a secret (pulumi config set --secret caPrivateKey ...)", new Withheld("a plaintext value"));
  if (typeof certificate !== "string") throw new StackConfigError("caCertificate", "a PEM certificate", certificate);
  if (typeof privateKey !== "string") throw new StackConfigError("caPrivateKey", "a PEM private key", new Withheld(`a ${typeof privateKey}`));
  if (!certificate.includes("-----BEGIN CERTIFICATE-----")) throw new StackConfigError("caCertificate", "a PEM certificate (-----BEGIN CERTIFICATE-----)", certificate.slice(0, 40));
  return { certificatePem: certificate, privateKeyPem: privateKey };
}

/** The provided CA as the PKI takes it, or a precise error naming the stack keys (never the key itself). */
export function checkProvidedCa(ca: ProvidedCa, at: Date): CertificateAuthority {
  try {
    return providedCa(ca.certificatePem, ca.privateKeyPem, at);
  } catch (err) {
    throw new StackConfigError("caCertificate", "a CA certificate and its private key (mesh:caPrivateKey) that can issue the mesh's certificates", new Withheld((err as Error).message));
  }
}

/** SPIFFE's trust domain alphabet. */
function trustDomain(key: string, value: unknown): string {
  if (value === undefined) return DEFAULT_TRUST_DOMAIN;
  if (typeof value === "string" && /^[a-z0-9._-]{1,255}$/.test(value)) return value;
  throw new StackConfigError(key, "a SPIFFE trust domain: 1 to 255 lower-case letters, digits, '.', '-' and '_', such as cluster.local", value);
}

function certificateLifetime(key: string, value: unknown): number {
  if (value === undefined) return DEFAULT_CERTIFICATE_LIFETIME_HOURS;
  const n = integer(key, value);
  if (n === undefined || n < 1 || n > MAX_CERTIFICATE_LIFETIME_HOURS) throw new StackConfigError(key, `a whole number of hours from 1 to ${MAX_CERTIFICATE_LIFETIME_HOURS}`, value);
  return n;
}

function dnsLabel(key: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value === "string" && /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) return value;
  throw new StackConfigError(key, "a DNS label (lower-case letters, digits and '-', at most 63 characters)", value);
}

/** A JSON object as Pulumi hands it over (a string) or as parsed YAML. */
function map(key: string, value: unknown, expected: string): Record<string, unknown> {
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new StackConfigError(key, expected, value);
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new StackConfigError(key, expected, value);
  return parsed as Record<string, unknown>;
}

// Docker's reference grammar: [host[:port]/]path[:tag][@sha256:digest], path components lower case.
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN_LABEL = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?";
const DOMAIN = `${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*(?::[0-9]+)?`;
const PATH = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const IMAGE_REFERENCE = new RegExp(`^(?:${DOMAIN}/)?${PATH}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`);
const REGISTRY = new RegExp(`^${DOMAIN}(?:/${PATH})?$`);

function imageMap<K extends string>(key: string, value: unknown, keys: readonly K[]): Partial<Record<K, string>> {
  if (value === undefined) return {};
  const entries = map(key, value, `a map of ${keys.join(", ")} to image references`);
  const result: Partial<Record<K, string>> = {};
  for (const [name, ref] of Object.entries(entries)) {
    if (!(keys as readonly string[]).includes(name)) throw new StackConfigError(`${key}.${name}`, `one of ${keys.join(", ")}`, name);
    result[name as K] = imageReference(`${key}.${name}`, ref);
  }
  return result;
}

function imageReference(key: string, ref: unknown): string {
  if (typeof ref !== "string" || !IMAGE_REFERENCE.test(ref)) {
    throw new StackConfigError(key, "an image reference such as registry.example.com/team/name:tag or name@sha256:<64 hex digits>", ref);
  }
  return ref;
}

function registry(key: string, value: unknown): string {
  if (value === undefined || value === "") return "";
  if (typeof value === "string" && REGISTRY.test(value)) return value;
  throw new StackConfigError(key, "a registry host with an optional port and path, such as registry.example.com:5000/mesh", value);
}

/** The password values go into connection URLs unescaped, so they are letters and digits. */
function password(key: string, value: unknown, isSecret: boolean): string {
  // Never echo a password back: say what is wrong with it instead.
  if (!isSecret) {
    throw new StackConfigError(key, `a secret (pulumi config set --secret ${key} ...)`, new Withheld("a plaintext value"));
  }
  if (typeof value !== "string" || !/^[A-Za-z0-9]{16,128}$/.test(value)) {
    const shape = typeof value === "string" ? `a value of ${value.length} characters${/[^A-Za-z0-9]/.test(value) ? " with other than letters and digits" : ""}` : `a ${typeof value}`;
    throw new StackConfigError(key, "16 to 128 letters and digits", new Withheld(shape));
  }
  return value;
}

function replicas(value: unknown): Record<ServiceName, number> {
  const result = Object.fromEntries(SERVICE_NAMES.map((s) => [s, 1])) as Record<ServiceName, number>;
  if (value === undefined) return result;
  for (const [service, count] of Object.entries(map("replicas", value, "a map of service name to replica count"))) {
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

function knownService(key: string, name: string): ServiceName {
  if (!(SERVICE_NAMES as readonly string[]).includes(name)) throw new StackConfigError(`${key}.${name}`, `a known service (${SERVICE_NAMES.join(", ")})`, name);
  return name as ServiceName;
}

function boundedInteger(key: string, value: unknown, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const n = integer(key, value);
  if (n === undefined || n < min || n > max) throw new StackConfigError(key, `an integer from ${min} to ${max}`, value);
  return n;
}

function onlyKeys(key: string, entries: Readonly<Record<string, unknown>>, allowed: readonly string[]): void {
  for (const name of Object.keys(entries)) {
    if (!allowed.includes(name)) throw new StackConfigError(key === "" ? name : `${key}.${name}`, `one of ${allowed.join(", ")}`, name);
  }
}

const TRAFFIC_KEYS = ["canaries", "faults", "rateLimits"] as const satisfies ReadonlyArray<keyof TrafficPolicy>;

/**
 * The traffic keys alone (mesh:canaries, mesh:faults, mesh:rateLimits, in the same
 * shapes), for a running local mesh's traffic file (infra/local/traffic-file.ts).
 */
export function parseTrafficSettings(raw: Readonly<Record<string, unknown>>): TrafficPolicy {
  onlyKeys("", raw, TRAFFIC_KEYS);
  return { canaries: canaries(raw.canaries), faults: faults(raw.faults), rateLimits: rateLimits(raw.rateLimits) };
}

/** A map of service name to an object of `fields`, each checked by `parse`. */
function perService<T>(key: string, value: unknown, what: string, fields: readonly string[], parse: (key: string, given: Record<string, unknown>) => T): Partial<Record<ServiceName, T>> {
  if (value === undefined) return {};
  const result: Partial<Record<ServiceName, T>> = {};
  for (const [name, spec] of Object.entries(map(key, value, `a map of service name to ${what}`))) {
    const entryKey = `${key}.${knownService(key, name)}`;
    const given = map(entryKey, spec, `{ ${fields.join(", ")} }`);
    onlyKeys(entryKey, given, fields);
    result[name as ServiceName] = parse(entryKey, given);
  }
  return result;
}

function canaries(value: unknown): TrafficPolicy["canaries"] {
  return perService<CanaryRelease>("canaries", value, "{ weightPercent, replicas }", ["weightPercent", "replicas", "image"], (key, fields) => ({
    weightPercent: boundedInteger(`${key}.weightPercent`, fields.weightPercent, 0, 100),
    replicas: boundedInteger(`${key}.replicas`, fields.replicas, 1, MAX_REPLICAS, 1),
    ...(fields.image !== undefined ? { image: imageReference(`${key}.image`, fields.image) } : {}),
  }));
}

function faults(value: unknown): TrafficPolicy["faults"] {
  const fields = ["abortPercent", "abortStatus", "delayPercent", "delayMs", "release", "fromHeaders"];
  return perService<FaultPolicy>("faults", value, "a fault", fields, (key, given) => ({
    release: oneOf(`${key}.release`, given.release, [...RELEASES, "all"], "all"),
    abortPercent: percentage(`${key}.abortPercent`, given.abortPercent, 0),
    abortStatus: boundedInteger(`${key}.abortStatus`, given.abortStatus, 400, 599, 503),
    delayPercent: percentage(`${key}.delayPercent`, given.delayPercent, 0),
    delayMs: boundedInteger(`${key}.delayMs`, given.delayMs, 0, 60_000, 0),
    fromHeaders: flag(`${key}.fromHeaders`, given.fromHeaders, false),
  }));
}

function rateLimits(value: unknown): TrafficPolicy["rateLimits"] {
  if (value === undefined) return {};
  const prefixes = buildMeshModel().services.flatMap((s) => s.routes.map((r) => r.prefix));
  const result: Record<string, RateLimit> = {};
  for (const [prefix, spec] of Object.entries(map("rateLimits", value, "a map of public route prefix to { requestsPerSecond, burst }"))) {
    if (!prefixes.includes(prefix)) throw new StackConfigError(`rateLimits.${prefix}`, `a public route prefix (${prefixes.join(", ")})`, prefix);
    const key = `rateLimits.${prefix}`;
    const fields = map(key, spec, "{ requestsPerSecond, burst }");
    onlyKeys(key, fields, ["requestsPerSecond", "burst"]);
    const requestsPerSecond = boundedInteger(`${key}.requestsPerSecond`, fields.requestsPerSecond, 1, 1_000_000);
    result[prefix] = { requestsPerSecond, burst: boundedInteger(`${key}.burst`, fields.burst, 1, 1_000_000, requestsPerSecond) };
  }
  return result;
}

function positiveNumber(key: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value.trim()) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) throw new StackConfigError(key, "a number of 0 or more", value);
  return n;
}

/** The rollout policy alone (mesh:rollout), for `npm run rollout`. */
export function parseRolloutPolicy(value: unknown): RolloutPolicy {
  if (value === undefined) return DEFAULT_ROLLOUT_POLICY;
  const fields = map("rollout", value, "{ steps, holdSeconds, maxErrorPercentIncrease, maxP99Ratio, p99SlackMs, minRequests }");
  onlyKeys("rollout", fields, Object.keys(DEFAULT_ROLLOUT_POLICY));
  const d = DEFAULT_ROLLOUT_POLICY;
  let steps = d.steps;
  if (fields.steps !== undefined) {
    const given = fields.steps;
    const expected = "a list of canary weights (%) rising from 1 to 100, e.g. [5, 25, 50, 100]";
    if (!Array.isArray(given) || given.length === 0) throw new StackConfigError("rollout.steps", expected, fields.steps);
    steps = given.map((w, i) => boundedInteger(`rollout.steps[${i}]`, w, 1, 100));
    if (steps.some((w, i) => i > 0 && w <= (steps[i - 1] ?? 0)) || steps.at(-1) !== 100) throw new StackConfigError("rollout.steps", expected, fields.steps);
  }
  return {
    steps,
    holdSeconds: boundedInteger("rollout.holdSeconds", fields.holdSeconds, 1, 86_400, d.holdSeconds),
    maxErrorPercentIncrease: percentage("rollout.maxErrorPercentIncrease", fields.maxErrorPercentIncrease, d.maxErrorPercentIncrease),
    maxP99Ratio: positiveNumber("rollout.maxP99Ratio", fields.maxP99Ratio, d.maxP99Ratio),
    p99SlackMs: positiveNumber("rollout.p99SlackMs", fields.p99SlackMs, d.p99SlackMs),
    minRequests: boundedInteger("rollout.minRequests", fields.minRequests, 0, 1_000_000, d.minRequests),
  };
}
