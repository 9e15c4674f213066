// The local runner: the whole mesh as real processes on this machine, from the
// same generated configs as the Docker and Kubernetes targets. Each pod (the
// edge, each service replica's app + sidecar) has its own loopback address;
// services are found through a real DNS server, so scaling needs no Envoy restart.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Addressing } from "../addressing.js";
import type { EnvoyLogLevel } from "../config.js";
import {
  DATA_STORES,
  EDGE_PROXY,
  PORTS,
  SERVICE_NAMES,
  buildMeshModel,
  getService,
  sidecarName,
  type DataStoreName,
  type MeshModel,
  type ServiceName,
} from "../model.js";
import { localAddressing } from "./addressing.js";
import { LOCAL_DATABASE, appEntryPoint, appEnvironment, buildApps, missingEntryPoints } from "./apps.js";
import { findBinaries, type Binaries } from "./binaries.js";
import { ServiceDns } from "./dns.js";
import { adminUrl, envoyProcessName, startEnvoy, upstreamHosts } from "./envoy.js";
import { DNS_PORT, LocalLayout, firstTaken, randomBlockPrefix, servicePodPorts } from "./layout.js";
import { MAX_REPLICAS } from "../config.js";
import { APP_SHUTDOWN_TIMEOUT_MS } from "../workload-sizes.js";
import { PrivatePostgres } from "./postgres.js";
import { LocalPrometheus } from "./prometheus.js";
import { RabbitVhost, SHARED_RABBITMQ_HOST } from "./rabbitmq.js";
import { httpOk, waitUntil } from "./readiness.js";
import { PrivateRedis } from "./redis.js";
import { Supervisor, type ProcessExit } from "./supervisor.js";
import { startZipkin } from "./zipkin.js";

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ENDPOINTS_FILE = "endpoints.json";

export interface LocalMeshOptions {
  /** Where configs, logs, data and endpoints.json go (default `.mesh/` in the project). */
  readonly stateDir?: string;
  readonly replicas?: Partial<Record<ServiceName, number>>;
  /** Start only these services' pods (default: all); the others' routes answer 503. */
  readonly services?: readonly ServiceName[];
  /** First three octets of the run's loopback block, e.g. "127.0.1"; default: a random free one. */
  readonly addressBlock?: string;
  readonly envoyLogLevel?: EnvoyLogLevel;
  readonly appLogLevel?: string;
  /** Build the apps first (incremental); default true. */
  readonly build?: boolean;
  readonly onProgress?: (message: string) => void;
  /** Called when a process exits that nobody stopped (a crash). */
  readonly onUnexpectedExit?: (exit: ProcessExit) => void;
  /** Aborts start-up (SIGINT during start); everything started so far is stopped. */
  readonly signal?: AbortSignal;
}

export interface ReplicaEndpoints {
  readonly service: ServiceName;
  readonly replica: number;
  /** The pod's address: app on PORTS.app, sidecar ingress on PORTS.sidecarIngress. */
  readonly pod: string;
  readonly app: string;
  readonly sidecar: string;
  readonly admin: string;
}

export interface LocalMeshEndpoints {
  readonly gateway: string;
  /** Every Envoy's admin interface by process name (`edge-0`, `catalog-sidecar-1`, ...). */
  readonly admin: Readonly<Record<string, string>>;
  readonly prometheus: string;
  readonly zipkin: string;
  readonly dns: string;
  readonly replicas: readonly ReplicaEndpoints[];
  readonly dataStores: Readonly<Record<DataStoreName, string>>;
  readonly stateDir: string;
  readonly pid: number;
}

/** Data stores the runner starts privately and may restart (fault tests). */
export type PrivateDataStore = "postgres" | "redis";

export interface LocalMesh {
  readonly endpoints: LocalMeshEndpoints;
  readonly model: MeshModel;
  readonly addressing: Addressing;
  /** The private Redis's password, generated for this run (never written to endpoints.json). */
  readonly redisPassword: string;
  /** Runs `service` with `replicas` replicas: new ones start and join DNS; removed ones leave DNS, then stop. */
  scale(service: ServiceName, replicas: number): Promise<void>;
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

interface RunState {
  replicas: Record<ServiceName, number>;
}

function checkReplicas(service: ServiceName, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS) throw new Error(`replicas of ${service} must be 1..${MAX_REPLICAS}, got ${n}`);
}

/** Proxies whose Envoy has a cluster for `service`: the edge for public routes, and each caller's sidecar. */
function proxiesRoutingTo(model: MeshModel, service: ServiceName): Array<{ proxy: string; replicas: number }> {
  const spec = getService(model, service);
  const callers = model.services.filter((s) => s.calls.includes(service)).map((s) => ({ proxy: sidecarName(s.name), replicas: s.replicas }));
  return [...(spec.routes.length ? [{ proxy: EDGE_PROXY, replicas: 1 }] : []), ...callers];
}

async function chooseLayout(requested: string | undefined, model: MeshModel): Promise<LocalLayout> {
  const attempts = requested ? 1 : 20;
  for (let i = 0; i < attempts; i++) {
    const layout = new LocalLayout(requested ?? randomBlockPrefix());
    const pairs = [
      ...[PORTS.edgeHttp, PORTS.envoyAdmin, PORTS.envoyMetrics].map((port) => ({ address: layout.edge, port })),
      { address: layout.dns, port: DNS_PORT },
      { address: layout.zipkin, port: PORTS.zipkin },
      { address: layout.prometheus, port: PORTS.prometheus },
      { address: layout.dataStore("postgres"), port: DATA_STORES.postgres.port },
      { address: layout.dataStore("redis"), port: DATA_STORES.redis.port },
      ...model.services.flatMap((s) =>
        Array.from({ length: s.replicas }, (_, r) =>
          servicePodPorts(s.calls.map((c) => getService(model, c).egressPort), s.dataStores).map((port) => ({ address: layout.servicePod(s.name, r), port })),
        ).flat(),
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
  const state: RunState = { replicas: Object.fromEntries(SERVICE_NAMES.map((s) => [s, options.replicas?.[s] ?? 1])) as Record<ServiceName, number> };
  for (const s of SERVICE_NAMES) checkReplicas(s, state.replicas[s]);
  const model = () => buildMeshModel(state.replicas);
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
  const layout = await chooseLayout(options.addressBlock, model());
  const runId = layout.prefix.replace(/\./g, "-");
  const vhost = new RabbitVhost(binaries.rabbitmqctl, `mesh-local-${runId}-${process.pid}`);
  const dataStoreHost = (store: DataStoreName) => (store === "rabbitmq" ? SHARED_RABBITMQ_HOST : layout.dataStore(store));
  const addressing = localAddressing(layout, dataStoreHost);
  const supervisor = new Supervisor(join(runDir, "logs"), options.onUnexpectedExit);
  const dns = new ServiceDns(binaries.dnsmasq, runDir, layout.dns, DNS_PORT);
  const postgres = new PrivatePostgres(binaries.postgresBin, binaries.setpriv, runDir, layout.dataStore("postgres"));
  const redis = new PrivateRedis(binaries.redisServer, runDir, layout.dataStore("redis"));
  const prometheus = new LocalPrometheus(binaries.prometheus, runDir, layout.prometheus);
  const envoyLogLevel = options.envoyLogLevel ?? "warning";
  const appLogLevel = options.appLogLevel ?? "warn";
  const envoyDir = join(runDir, "envoy");
  const endpointsFile = join(stateDir, ENDPOINTS_FILE);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    progress("stopping");
    await supervisor.stopAll();
    await vhost.remove().catch((err: Error) => progress(`could not delete RabbitMQ vhost ${vhost.vhost}: ${err.message}`));
    rmSync(endpointsFile, { force: true });
    // Throwaway data; the logs stay for a look after the run.
    for (const dir of ["postgres", "redis", "prometheus-data"]) rmSync(join(runDir, dir), { recursive: true, force: true });
  };
  const checkAbort = () => {
    if (options.signal?.aborted) throw new Error("start-up interrupted");
  };

  const pod = (service: ServiceName, replica: number) => layout.servicePod(service, replica);

  const startReplica = async (service: ServiceName, replica: number) => {
    const proxy = sidecarName(service);
    await startEnvoy(supervisor, binaries.envoy, envoyDir, model(), addressing, proxy, replica, envoyLogLevel);
    const app = supervisor.start({
      name: `${service}-${replica}`,
      command: binaries.node,
      args: [appEntryPoint(PROJECT_ROOT, service)],
      env: appEnvironment(model(), service, pod(service, replica), { vhost: vhost.vhost, redisPassword: redis.password, logLevel: appLogLevel }),
      cwd: join(PROJECT_ROOT, "apps", service),
      // Longer than the app's own drain timeout, so it exits on its own terms (as on Docker and Kubernetes).
      graceMs: APP_SHUTDOWN_TIMEOUT_MS + 5_000,
    });
    // Ready through its sidecar: app, sidecar ingress and the app's backends all work.
    await waitUntil(`${service} replica ${replica} to be ready`, () => httpOk(`http://${pod(service, replica)}:${PORTS.sidecarIngress}/readyz`), {
      process: app,
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  };

  const stopReplica = async (service: ServiceName, replica: number, how: "stop" | "kill") => {
    for (const name of [`${service}-${replica}`, envoyProcessName(sidecarName(service), replica)]) {
      const managed = supervisor.list().find((p) => p.spec.name === name && p.running);
      if (managed) await (how === "kill" ? managed.kill() : managed.stop());
    }
  };

  const podsOf = (service: ServiceName, count = state.replicas[service]) => Array.from({ length: count }, (_, r) => pod(service, r));

  const waitForUpstreams = async (service: ServiceName, pods: readonly string[], timeoutMs = 30_000) => {
    const want = pods.map((p) => `${p}:${PORTS.sidecarIngress}`).sort().join(",");
    const routing = proxiesRoutingTo(model(), service).filter(({ proxy }) => proxy === EDGE_PROXY || SERVICE_NAMES.some((s) => activeServices.has(s) && sidecarName(s) === proxy));
    for (const { proxy, replicas } of routing) {
      for (let r = 0; r < replicas; r++) {
        const admin = adminUrl(addressing, proxy, r);
        await waitUntil(`${envoyProcessName(proxy, r)} to route ${service} to ${want}`, async () => {
          const candidates = new Set(podsOf(service, MAX_REPLICAS).map((p) => `${p}:${PORTS.sidecarIngress}`));
          const hosts = [...(await upstreamHosts(admin))].filter(([h]) => candidates.has(h));
          // Present and healthy (new hosts wait for their first active health check), no others.
          return hosts.every(([, flags]) => flags === "healthy") && hosts.map(([h]) => h).sort().join(",") === want;
        }, { timeoutMs });
      }
    }
  };

  const writeEndpoints = (): LocalMeshEndpoints => {
    const current = model();
    const admin: Record<string, string> = { [envoyProcessName(EDGE_PROXY, 0)]: adminUrl(addressing, EDGE_PROXY, 0) };
    const replicas: ReplicaEndpoints[] = [];
    for (const s of current.services.filter((spec) => activeServices.has(spec.name))) {
      for (let r = 0; r < s.replicas; r++) {
        const proxy = sidecarName(s.name);
        admin[envoyProcessName(proxy, r)] = adminUrl(addressing, proxy, r);
        const p = pod(s.name, r);
        replicas.push({
          service: s.name,
          replica: r,
          pod: p,
          app: `http://${p}:${PORTS.app}`,
          sidecar: `http://${p}:${PORTS.sidecarIngress}`,
          admin: adminUrl(addressing, proxy, r),
        });
      }
    }
    const endpoints: LocalMeshEndpoints = {
      gateway: `http://${layout.edge}:${PORTS.edgeHttp}`,
      admin,
      prometheus: prometheus.url,
      zipkin: `http://${layout.zipkin}:${PORTS.zipkin}`,
      dns: `${layout.dns}:${DNS_PORT}`,
      replicas,
      dataStores: {
        postgres: `${dataStoreHost("postgres")}:${DATA_STORES.postgres.port}`,
        redis: `${dataStoreHost("redis")}:${DATA_STORES.redis.port}`,
        rabbitmq: `${dataStoreHost("rabbitmq")}:${DATA_STORES.rabbitmq.port} (vhost ${vhost.vhost})`,
      },
      stateDir,
      pid: process.pid,
    };
    writeFileSync(endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
    return endpoints;
  };

  let endpoints: LocalMeshEndpoints;
  try {
    progress(`address block ${layout.prefix}.0/24, state in ${stateDir}`);
    progress("starting dnsmasq, Postgres, Redis, Zipkin; creating the RabbitMQ vhost");
    const zipkinStarted = startZipkin(supervisor, binaries.java, binaries.zipkinJar, layout.zipkin);
    // Settle Zipkin's promise even when an earlier step throws, so its failure never goes unhandled.
    zipkinStarted.catch(() => {});
    await dns.start(supervisor);
    await postgres.start(supervisor, [LOCAL_DATABASE]);
    await redis.start(supervisor);
    await vhost.create();
    checkAbort();
    for (const service of SERVICE_NAMES) await dns.setRecords(service, activeServices.has(service) ? podsOf(service) : []);
    progress("starting the sidecars and apps");
    // Callees first, so callers' readiness checks find them.
    for (const service of SERVICE_NAMES.filter((s) => activeServices.has(s))) {
      await Promise.all(podsOf(service).map((_, r) => startReplica(service, r)));
      progress(`  ${service}: ${state.replicas[service]} replica(s) ready`);
      checkAbort();
    }
    progress("starting the edge");
    await startEnvoy(supervisor, binaries.envoy, envoyDir, model(), addressing, EDGE_PROXY, 0, envoyLogLevel);
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
    redisPassword: redis.password,
    async scale(service, replicas) {
      checkReplicas(service, replicas);
      const before = state.replicas[service];
      if (replicas > before) {
        const pairs = Array.from({ length: replicas - before }, (_, i) => before + i).flatMap((r) =>
          servicePodPorts(getService(model(), service).calls.map((c) => getService(model(), c).egressPort), getService(model(), service).dataStores).map((port) => ({
            address: pod(service, r),
            port,
          })),
        );
        const taken = await firstTaken(pairs);
        if (taken) throw new Error(`cannot scale ${service}: ${taken.address}:${taken.port} is in use`);
        state.replicas[service] = replicas;
        await Promise.all(Array.from({ length: replicas - before }, (_, i) => startReplica(service, before + i)));
        await dns.setRecords(service, podsOf(service));
        await waitForUpstreams(service, podsOf(service));
      } else if (replicas < before) {
        // Envoy keeps a host that left DNS for as long as it passes health checks, so: leave
        // DNS, stop the apps (readiness fails first, in-flight requests finish), wait until no
        // Envoy routes there any more, and only then stop the sidecars.
        await dns.setRecords(service, podsOf(service, replicas));
        const removed = Array.from({ length: before - replicas }, (_, i) => replicas + i);
        await Promise.all(removed.map((r) => supervisor.get(`${service}-${r}`).stop()));
        await waitForUpstreams(service, podsOf(service, replicas));
        await Promise.all(removed.map((r) => stopReplica(service, r, "stop")));
        state.replicas[service] = replicas;
      }
      prometheus.writeConfig(model(), addressing);
      endpoints = writeEndpoints();
    },
    async killReplica(service, replica) {
      await stopReplica(service, replica, "kill");
    },
    async reviveReplica(service, replica) {
      if (replica >= state.replicas[service]) throw new Error(`${service} has no replica ${replica}`);
      await startReplica(service, replica);
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
    waitForUpstreams,
    stop,
  };
}
