// A service's sidecar: the only way into its app (ingress on the mesh address) and the
// app's way out (egress listeners on the pod loopback, one per data store and called service,
// plus Zipkin), a metrics-only listener, and admin where the addressing puts it.
import type { Addressing } from "../infra/addressing.js";
import { DATA_STORES, PORTS, callersOf, getService, sidecarName, workloadIdentity, type MeshModel, type ServiceName, type ServiceSpec } from "../infra/model.js";
import { type FaultPolicy, RELEASE_HEADER, type Release, releaseSidecarNode } from "../infra/traffic.js";
import {
  type EnvoyObject,
  makeBootstrap,
  makeCluster,
  ORIGINAL_PATH_HEADER,
  makeHttpConnectionManager,
  faultRouteConfig,
  makeListener,
  makeRoute,
  makeTcpProxy,
  meshServerTls,
} from "./builders/index.js";
import { adminCluster, metricsListener } from "./metrics-listener.js";
import { CLUSTER, LISTENER, dataStoreCluster, dataStoreEgressListener, serviceCluster, serviceEgressListener } from "./names.js";
import { serviceRoutes } from "./service-routes.js";
import { READINESS_PATH, dataStoreClusterFor, serviceClustersFor, zipkinCluster } from "./upstreams.js";

export const SIDECAR_MAX_HEAP_BYTES = 256 * 1024 * 1024;

/** Timeout of a service's health, readiness and metrics endpoints, and of a worker's whole ingress. */
const PROBE_TIMEOUT_MS = 5000;
const PROBE_PATHS = ["/healthz", READINESS_PATH, "/metrics"];
/**
 * The app's probes and metrics, also on the plaintext metrics listener: the kubelet,
 * the targets' start-up checks and Prometheus hold no mesh certificate, and these
 * paths serve no data and change nothing.
 */
const APP_PROBES = { paths: PROBE_PATHS, cluster: CLUSTER.localApp, timeoutMs: PROBE_TIMEOUT_MS };

/** The longest of a service's public route timeouts: the bound for any call into it. */
function serviceTimeoutMs(service: ServiceSpec): number {
  return Math.max(PROBE_TIMEOUT_MS, ...service.routes.map((r) => r.timeoutMs));
}

/** The stack's fault for this release of the service, if any. */
function faultFor(model: MeshModel, service: ServiceName, release: Release): FaultPolicy | undefined {
  const fault = model.traffic.faults[service];
  return fault !== undefined && (fault.release === "all" || fault.release === release) ? fault : undefined;
}

function ingressRoutes(service: ServiceSpec, fault: FaultPolicy | undefined): EnvoyObject[] {
  // Probes and scrapes arrive every few seconds: never start traces for them. Faults never
  // touch them either: they are the platform's view of the app, not its traffic.
  const untraced = { tracing: { random_sampling: { numerator: 0 } } };
  const probes = PROBE_PATHS.map((path) => makeRoute(`probe${path.replace("/", "-")}`, { path }, CLUSTER.localApp, PROBE_TIMEOUT_MS, untraced));
  // No retries into the local app: the caller's proxy already retries where that is safe.
  const faults = fault !== undefined ? { typed_per_filter_config: faultRouteConfig(fault) } : {};
  return [...probes, makeRoute("app", { prefix: "/" }, CLUSTER.localApp, serviceTimeoutMs(service), faults)];
}

function serviceEgress(model: MeshModel, callee: ServiceName, podLoopback: string): EnvoyObject {
  const target = getService(model, callee);
  const name = serviceEgressListener(callee);
  const hcm = makeHttpConnectionManager({
    statPrefix: name,
    virtualHostName: callee,
    routes: serviceRoutes(model, callee, { name: callee, match: { prefix: "/" }, timeoutMs: serviceTimeoutMs(target) }),
    edge: false,
    zipkinCluster: CLUSTER.zipkin,
    samplingPercent: model.traceSamplingPercent,
    accessLog: model.accessLog,
  });
  return makeListener(name, { address: podLoopback, port: target.egressPort }, "OUTBOUND", [hcm]);
}

/** The sidecar of one replica of one release of a service. */
export function sidecarBootstrap(model: MeshModel, serviceName: ServiceName, addressing: Addressing, replica = 0, release: Release = "stable"): EnvoyObject {
  const service = getService(model, serviceName);
  const proxy = sidecarName(service.name);
  const binding = addressing.binding(proxy, replica, release);
  const pod = binding.podLoopback;

  const ingress = makeHttpConnectionManager({
    statPrefix: LISTENER.ingress,
    virtualHostName: service.name,
    routes: ingressRoutes(service, faultFor(model, service.name, release)),
    faults: true,
    // Which release answered, for callers, clients and tests.
    responseHeaders: { [RELEASE_HEADER]: release },
    // The edge's record of the public path is for the edge's log: this hop logs (and the app gets) its own.
    removeRequestHeaders: [ORIGINAL_PATH_HEADER],
    edge: false,
    // Callers' health checks verify they reached this service's sidecar.
    healthCheckedPath: READINESS_PATH,
    zipkinCluster: CLUSTER.zipkin,
    samplingPercent: model.traceSamplingPercent,
    accessLog: model.accessLog,
    // Over mutual TLS, only the callers the model names get through.
    ...(binding.identityDir !== undefined
      ? { authorizedCallers: callersOf(model, service.name).map((caller) => ({ name: caller, identity: workloadIdentity(model, caller) })) }
      : {}),
  });
  const tls = binding.identityDir !== undefined ? meshServerTls(binding.identityDir) : undefined;
  const listeners = [
    makeListener(LISTENER.ingress, { address: binding.listenAddress, port: PORTS.sidecarIngress }, "INBOUND", [ingress], tls),
    metricsListener(binding.listenAddress, service.calls.map(serviceCluster), APP_PROBES),
    ...service.dataStores.map((store) => {
      const name = dataStoreEgressListener(store);
      return makeListener(name, { address: pod, port: DATA_STORES[store].port }, "OUTBOUND", [makeTcpProxy(name, dataStoreCluster(store), model.accessLog)]);
    }),
    ...service.calls.map((callee) => serviceEgress(model, callee, pod)),
    makeListener(LISTENER.zipkinEgress, { address: pod, port: PORTS.zipkin }, "OUTBOUND", [makeTcpProxy(LISTENER.zipkinEgress, CLUSTER.zipkin, model.accessLog)]),
  ];

  const clusters = [
    // No active health check on the local app: its readiness is what callers check through
    // this very proxy, and marking it down here would also hide its /healthz and /metrics.
    makeCluster({ name: CLUSTER.localApp, endpoint: { address: pod, port: PORTS.app }, protocol: "http1", connectTimeoutMs: 1000, maxConnections: 1024 }),
    ...service.dataStores.map((store) => dataStoreClusterFor(store, addressing)),
    ...service.calls.flatMap((callee) => serviceClustersFor(model, getService(model, callee), addressing, binding.identityDir)),
    zipkinCluster(addressing),
    adminCluster(binding.admin),
  ];

  return makeBootstrap({
    proxy: releaseSidecarNode(service.name, release),
    admin: binding.admin,
    listeners,
    clusters,
    maxHeapBytes: SIDECAR_MAX_HEAP_BYTES,
    maxDownstreamConnections: 10_000,
  });
}
