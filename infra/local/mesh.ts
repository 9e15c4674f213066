// The local runner: the whole mesh as real processes on this machine, from the
// same generated configs as the Docker and Kubernetes targets. Each pod (the
// edge, each service replica's app + sidecar) has its own loopback address;
// services are found through a real DNS server, so scaling needs no Envoy restart.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Addressing } from "../addressing.js";
import { type AppLogLevel, STORE_PASSWORDS, dataStoreUrl } from "../app-environment.js";
import type { EnvoyLogLevel } from "../config.js";
import {
  DATA_STORES,
  EDGE_PROXY,
  PORTS,
  SERVICE_NAMES,
  buildMeshModel,
  getService,
  type AccessLogMode,
  type DataStoreName,
  type MeshModel,
  type ServiceName,
} from "../model.js";
import { NO_TRAFFIC_POLICY, RELEASES, type TrafficPolicy, releaseReplicas } from "../traffic.js";
import { localAddressing } from "./addressing.js";
import { buildApps, missingEntryPoints } from "./apps.js";
import { findBinaries, type Binaries } from "./binaries.js";
import { ServiceDns } from "./dns.js";
import { ENDPOINTS_FILE, type LocalMeshEndpoints, localEndpoints, writeEndpointsFile } from "./endpoints.js";
import { type EnvoyContext, startEnvoy } from "./envoy.js";
import { LocalIdentities } from "./identities.js";
import { DNS_PORT, LocalLayout, firstTaken, randomBlockPrefix, servicePodPorts } from "./layout.js";
import { PrivatePostgres } from "./postgres.js";
import { LocalPrometheus } from "./prometheus.js";
import { RabbitVhost, SHARED_RABBITMQ_HOST } from "./rabbitmq.js";
import { waitUntil } from "./readiness.js";
import { PrivateRedis } from "./redis.js";
import { type RunCredentials, ServicePods, checkReplicas } from "./service-pods.js";
import { Supervisor, type ProcessExit } from "./supervisor.js";
import { startZipkin } from "./zipkin.js";

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface LocalMeshOptions {
  /** Where configs, logs, data and endpoints.json go (default `.mesh/` in the project). */
  readonly stateDir?: string;
  readonly replicas?: Partial<Record<ServiceName, number>>;
  /** Start only these services' pods (default: all); the others' routes answer 503. */
  readonly services?: readonly ServiceName[];
  /** First three octets of the run's loopback block, e.g. "127.0.1"; default: a random free one. */
  readonly addressBlock?: string;
  readonly envoyLogLevel?: EnvoyLogLevel;
  readonly appLogLevel?: AppLogLevel;
  /** Share of requests the edge traces, as mesh:traceSamplingPercent sets it on a stack (default: the stack default). */
  readonly traceSamplingPercent?: number;
  /** Which requests the Envoys log, as mesh:accessLog sets it on a stack (default: the stack default). */
  readonly accessLog?: AccessLogMode;
  /** Canary releases, faults and rate limits to start with, as mesh:canaries, mesh:faults and mesh:rateLimits set them (default: none). */
  readonly traffic?: TrafficPolicy;
  /** Build the apps first (incremental); default true. */
  readonly build?: boolean;
  readonly onProgress?: (message: string) => void;
  /** Called when a process exits that nobody stopped (a crash). */
  readonly onUnexpectedExit?: (exit: ProcessExit) => void;
  /** Aborts start-up (SIGINT during start); everything started so far is stopped. */
  readonly signal?: AbortSignal;
}

export { ENDPOINTS_FILE, type LocalMeshEndpoints, type ReplicaEndpoints } from "./endpoints.js";

/** Data stores the runner starts privately and may restart (fault tests). */
export type PrivateDataStore = "postgres" | "redis";

export interface LocalMesh {
  readonly endpoints: LocalMeshEndpoints;
  readonly model: MeshModel;
  readonly addressing: Addressing;
  /**
   * The URL an app of this run connects to `store` with, as the app's own
   * credentials (generated for the run, never written to endpoints.json): straight
   * to the store, or through the sidecar egress of the pod at address `via`.
   */
  appDataStoreUrl(store: DataStoreName, via?: string): string;
  /** Runs `service` with `replicas` replicas: new ones start and join DNS; removed ones leave DNS, then stop. */
  scale(service: ServiceName, replicas: number): Promise<void>;
  /**
   * Runs another traffic policy (canaries and their weights, faults, rate limits) without
   * restarting a proxy: resolves once every Envoy runs it (infra/local/service-pods.ts).
   */
  setTraffic(traffic: TrafficPolicy): Promise<void>;
  /** SIGKILLs a replica's app and sidecar, as a crash would; DNS still names it. */
  killReplica(service: ServiceName, replica: number): Promise<void>;
  /** Starts a killed replica again and waits until it is ready. */
  reviveReplica(service: ServiceName, replica: number): Promise<void>;
  stopDataStore(store: PrivateDataStore): Promise<void>;
  startDataStore(store: PrivateDataStore): Promise<void>;
  /** Pid of every Envoy, by process name. */
  envoyPids(): Record<string, number>;
  /** Pid of every running process (Envoys, apps, data stores, ...), by process name. */
  processPids(): Record<string, number>;
  /** Processes that exited without being asked to (crashes). */
  unexpectedExits(): readonly ProcessExit[];
  /** Waits until every Envoy that routes to `service` has exactly these upstream pods, all healthy. */
  waitForUpstreams(service: ServiceName, pods: readonly string[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function chooseLayout(requested: string | undefined, model: MeshModel): Promise<LocalLayout> {
  const attempts = requested ? 1 : 20;
  for (let i = 0; i < attempts; i++) {
    const layout = new LocalLayout(requested ?? randomBlockPrefix());
    const pairs = [
      ...[PORTS.edgeHttp, PORTS.edgeHttps, PORTS.envoyAdmin, PORTS.envoyMetrics].map((port) => ({ address: layout.edge, port })),
      { address: layout.dns, port: DNS_PORT },
      { address: layout.zipkin, port: PORTS.zipkin },
      { address: layout.prometheus, port: PORTS.prometheus },
      { address: layout.dataStore("postgres"), port: DATA_STORES.postgres.port },
      { address: layout.dataStore("redis"), port: DATA_STORES.redis.port },
      ...model.services.flatMap((s) =>
        RELEASES.flatMap((release) =>
          Array.from({ length: releaseReplicas(model.traffic, s, release) }, (_, r) =>
            servicePodPorts(s.calls.map((c) => getService(model, c).egressPort), s.dataStores).map((port) => ({ address: layout.servicePod(s.name, r, release), port })),
          ).flat(),
        ),
      ),
    ];
    const taken = await firstTaken(pairs);
    if (!taken) return layout;
    if (requested) throw new Error(`${taken.address}:${taken.port} is already in use; choose another address block or stop what uses it`);
  }
  throw new Error("found no free loopback address block after 20 tries");
}

/** Another runner owns this state dir while its endpoints.json names a live process. */
function refuseIfRunning(endpointsFile: string): void {
  let pid: number | undefined;
  try {
    pid = (JSON.parse(readFileSync(endpointsFile, "utf8")) as { pid?: number }).pid;
  } catch {
    return;
  }
  if (pid === undefined || pid === process.pid) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // left over from a runner that died: ours to reuse
  }
  throw new Error(`a local mesh (pid ${pid}) is already running with state in ${dirname(endpointsFile)}; stop it or choose another --state-dir`);
}

export async function startLocalMesh(options: LocalMeshOptions = {}): Promise<LocalMesh> {
  const progress = options.onProgress ?? (() => {});
  const binaries: Binaries = findBinaries();
  const initialReplicas = Object.fromEntries(SERVICE_NAMES.map((s) => [s, options.replicas?.[s] ?? 1])) as Record<ServiceName, number>;
  for (const s of SERVICE_NAMES) checkReplicas(s, initialReplicas[s]);
  const activeServices = new Set(options.services ?? SERVICE_NAMES);

  if (options.build ?? true) {
    progress("building the apps");
    await buildApps(PROJECT_ROOT, [...activeServices]);
  }
  const missing = missingEntryPoints(PROJECT_ROOT, [...activeServices]);
  if (missing.length) throw new Error(`apps are not built (${missing.join(", ")}): run "npm run build"`);

  const stateDir = resolve(options.stateDir ?? join(PROJECT_ROOT, ".mesh"));
  const runDir = join(stateDir, "run");
  refuseIfRunning(join(stateDir, ENDPOINTS_FILE));
  rmSync(runDir, { recursive: true, force: true });
  for (const dir of [stateDir, runDir, join(runDir, "logs"), join(runDir, "envoy")]) {
    mkdirSync(dir, { recursive: true });
    // dnsmasq and Postgres run as other users and must reach their files.
    chmodSync(dir, 0o755);
  }
  const traffic = options.traffic ?? NO_TRAFFIC_POLICY;
  const layout = await chooseLayout(options.addressBlock, buildMeshModel(initialReplicas, { traffic }));
  const runId = layout.prefix.replace(/\./g, "-");
  const vhost = new RabbitVhost(binaries.rabbitmqctl, `mesh-local-${runId}-${process.pid}`);
  const dataStoreHost = (store: DataStoreName) => (store === "rabbitmq" ? SHARED_RABBITMQ_HOST : layout.dataStore(store));
  const identityRoot = join(runDir, "identity");
  const addressing = localAddressing(layout, dataStoreHost, identityRoot, join(runDir, "dynamic"));
  const supervisor = new Supervisor(join(runDir, "logs"), options.onUnexpectedExit);
  const dns = new ServiceDns(binaries.dnsmasq, runDir, layout.dns, DNS_PORT);
  const postgres = new PrivatePostgres(binaries.postgresBin, binaries.setpriv, runDir, layout.dataStore("postgres"));
  const redis = new PrivateRedis(binaries.redisServer, runDir, layout.dataStore("redis"));
  const prometheus = new LocalPrometheus(binaries.prometheus, runDir, layout.prometheus);
  const credentials: RunCredentials = { passwords: { postgresApp: postgres.appPassword, redis: redis.password, rabbitmq: vhost.credentials.password }, broker: vhost.credentials };
  const envoyLogLevel = options.envoyLogLevel ?? "warning";
  const envoyDir = join(runDir, "envoy");
  // Identities depend on the services, not on how many replicas run.
  const identities = new LocalIdentities(identityRoot, buildMeshModel(initialReplicas));
  const caCertificateFile = join(runDir, "ca.pem");
  writeFileSync(caCertificateFile, identities.trustBundlePem());
  const envoys: EnvoyContext = { supervisor, envoy: binaries.envoy, configDir: envoyDir, addressing, logLevel: envoyLogLevel, identities };
  const endpointsFile = join(stateDir, ENDPOINTS_FILE);
  const pods = new ServicePods(
    {
      projectRoot: PROJECT_ROOT,
      supervisor,
      binaries,
      layout,
      addressing,
      dns,
      envoys,
      appLogLevel: options.appLogLevel ?? "warn",
      credentials,
      activeServices,
      observability: { traceSamplingPercent: options.traceSamplingPercent, accessLog: options.accessLog },
    },
    initialReplicas,
    traffic,
  );
  const model = () => pods.model();

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    progress("stopping");
    await supervisor.stopAll();
    await vhost.remove().catch((err: Error) => progress(`could not delete RabbitMQ vhost ${vhost.vhost} or its user: ${err.message}`));
    rmSync(endpointsFile, { force: true });
    // Throwaway data; the logs stay for a look after the run.
    for (const dir of ["postgres", "redis", "prometheus-data"]) rmSync(join(runDir, dir), { recursive: true, force: true });
  };
  const checkAbort = () => {
    if (options.signal?.aborted) throw new Error("start-up interrupted");
  };

  const writeEndpoints = (): LocalMeshEndpoints => {
    const current = localEndpoints({ model: model(), activeServices, layout, addressing, prometheusUrl: prometheus.url, dataStoreHost, vhost: vhost.vhost, stateDir, caCertificateFile });
    writeEndpointsFile(endpointsFile, current);
    return current;
  };

  let endpoints: LocalMeshEndpoints;
  try {
    progress(`address block ${layout.prefix}.0/24, state in ${stateDir}`);
    progress("starting dnsmasq, Postgres, Redis, Zipkin; creating the RabbitMQ vhost and user");
    const zipkinStarted = startZipkin(supervisor, binaries.java, binaries.zipkinJar, layout.zipkin);
    // Settle Zipkin's promise even when an earlier step throws, so its failure never goes unhandled.
    zipkinStarted.catch(() => {});
    await dns.start(supervisor);
    await postgres.start(supervisor);
    await redis.start(supervisor);
    await vhost.create();
    checkAbort();
    for (const service of SERVICE_NAMES) {
      await dns.setRecords(service, activeServices.has(service) ? pods.podsOf(service) : []);
      await dns.setRecords(service, activeServices.has(service) ? pods.podsOf(service, pods.canaryReplicas(service), "canary") : [], "canary");
    }
    progress("starting the sidecars and apps");
    // Callees first, so callers' readiness checks find them.
    for (const service of SERVICE_NAMES.filter((s) => activeServices.has(s))) {
      await Promise.all(pods.podsOf(service).map((_, r) => pods.start(service, r)));
      await Promise.all(Array.from({ length: pods.canaryReplicas(service) }, (_, r) => pods.start(service, r, "canary")));
      const canary = pods.canaryReplicas(service) > 0 ? ` and ${pods.canaryReplicas(service)} canary replica(s)` : "";
      progress(`  ${service}: ${pods.replicas[service]} replica(s)${canary} ready`);
      checkAbort();
    }
    progress("starting the edge");
    await startEnvoy(envoys, model(), EDGE_PROXY, 0);
    progress("waiting for Zipkin");
    await zipkinStarted;
    progress("starting Prometheus");
    prometheus.writeConfig(model(), addressing);
    await prometheus.start(supervisor);
    checkAbort();
    // Healthy end to end: every API service answers through the edge.
    for (const service of model().services.filter((s) => activeServices.has(s.name))) {
      for (const route of service.routes) {
        const url = `http://${layout.edge}:${PORTS.edgeHttp}${route.prefix}`;
        await waitUntil(`${url} through the edge`, async () => {
          const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          return res.status < 500;
        }, { timeoutMs: 30_000 });
      }
    }
    endpoints = writeEndpoints();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    get endpoints() {
      return endpoints;
    },
    get model() {
      return model();
    },
    addressing,
    appDataStoreUrl: (store, via) => {
      const password = credentials.passwords[STORE_PASSWORDS[store]];
      if (password === undefined) throw new Error(`this run has no password for ${store}`);
      return dataStoreUrl(store, `${via ?? dataStoreHost(store)}:${DATA_STORES[store].port}`, password, credentials.broker);
    },
    async scale(service, replicas) {
      await pods.scale(service, replicas);
      prometheus.writeConfig(model(), addressing);
      endpoints = writeEndpoints();
    },
    async setTraffic(next) {
      await pods.setTraffic(next);
      prometheus.writeConfig(model(), addressing);
      endpoints = writeEndpoints();
    },
    async killReplica(service, replica) {
      await pods.stop(service, replica, "kill");
    },
    async reviveReplica(service, replica) {
      if (replica >= pods.replicas[service]) throw new Error(`${service} has no replica ${replica}`);
      await pods.start(service, replica);
    },
    async stopDataStore(store) {
      await (store === "postgres" ? postgres.stop() : redis.stop());
    },
    async startDataStore(store) {
      await (store === "postgres" ? postgres.restart(supervisor) : redis.start(supervisor));
    },
    envoyPids() {
      return Object.fromEntries(
        supervisor
          .list()
          .filter((p) => p.running && p.spec.command === binaries.envoy)
          .map((p) => [p.spec.name, p.pid]),
      );
    },
    processPids() {
      return Object.fromEntries(
        supervisor
          .list()
          .filter((p) => p.running)
          .map((p) => [p.spec.name, p.pid]),
      );
    },
    unexpectedExits: () => supervisor.unexpectedExits(),
    waitForUpstreams: (service, upstreams, timeoutMs) => pods.waitForUpstreams(service, upstreams, timeoutMs),
    stop,
  };
}
