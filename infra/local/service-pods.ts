// The service pods of a local mesh (per replica an app and its sidecar on one
// loopback address): starting, stopping and scaling them, and waiting until every
// Envoy that routes to a service sees exactly its pods.
import { join } from "node:path";
import type { Addressing } from "../addressing.js";
import { type AppCredentials, type AppLogLevel, appEnvironment } from "../app-environment.js";
import { MAX_REPLICAS } from "../config.js";
import { EDGE_PROXY, PORTS, SERVICE_NAMES, buildMeshModel, getService, sidecarName, type MeshModel, type ServiceName } from "../model.js";
import { APP_STOP_GRACE_SECONDS } from "../workload-sizes.js";
import { appEntryPoint } from "./apps.js";
import type { Binaries } from "./binaries.js";
import type { ServiceDns } from "./dns.js";
import { type EnvoyContext, adminUrl, envoyProcessName, startEnvoy, upstreamHosts } from "./envoy.js";
import { type LocalLayout, firstTaken, servicePodPorts } from "./layout.js";
import { httpOk, waitUntil } from "./readiness.js";
import type { Supervisor } from "./supervisor.js";

export interface ServicePodsContext {
  readonly projectRoot: string;
  readonly supervisor: Supervisor;
  readonly binaries: Binaries;
  readonly layout: LocalLayout;
  readonly addressing: Addressing;
  readonly dns: ServiceDns;
  readonly envoys: EnvoyContext;
  readonly appLogLevel: AppLogLevel;
  /** What the apps log in to the data stores with, generated for this run. */
  readonly credentials: AppCredentials;
  /** Services whose pods run; the others' routes answer 503. */
  readonly activeServices: ReadonlySet<ServiceName>;
  /** The run's trace sampling (the stack default when absent). */
  readonly traceSamplingPercent?: number;
}

export function checkReplicas(service: ServiceName, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS) throw new Error(`replicas of ${service} must be 1..${MAX_REPLICAS}, got ${n}`);
}

/** Proxies whose Envoy has a cluster for `service`: the edge for public routes, and each caller's sidecar. */
function proxiesRoutingTo(model: MeshModel, service: ServiceName): Array<{ proxy: string; replicas: number }> {
  const spec = getService(model, service);
  const callers = model.services.filter((s) => s.calls.includes(service)).map((s) => ({ proxy: sidecarName(s.name), replicas: s.replicas }));
  return [...(spec.routes.length ? [{ proxy: EDGE_PROXY, replicas: 1 }] : []), ...callers];
}


export class ServicePods {
  /** Replicas per service, as running now. */
  readonly replicas: Record<ServiceName, number>;

  constructor(
    private readonly ctx: ServicePodsContext,
    replicas: Readonly<Record<ServiceName, number>>,
  ) {
    for (const s of SERVICE_NAMES) checkReplicas(s, replicas[s]);
    this.replicas = { ...replicas };
  }

  model(): MeshModel {
    return buildMeshModel(this.replicas, { traceSamplingPercent: this.ctx.traceSamplingPercent });
  }

  pod(service: ServiceName, replica: number): string {
    return this.ctx.layout.servicePod(service, replica);
  }

  podsOf(service: ServiceName, count = this.replicas[service]): string[] {
    return Array.from({ length: count }, (_, r) => this.pod(service, r));
  }

  /** Starts a replica's sidecar, then its app, and waits until it is ready through the sidecar. */
  async start(service: ServiceName, replica: number): Promise<void> {
    const { ctx } = this;
    await startEnvoy(ctx.envoys, this.model(), sidecarName(service), replica);
    const app = ctx.supervisor.start({
      name: `${service}-${replica}`,
      command: ctx.binaries.node,
      args: [appEntryPoint(ctx.projectRoot, service)],
      env: this.appEnv(service, replica),
      cwd: join(ctx.projectRoot, "apps", service),
      // Longer than the app's own drain timeout, so it exits on its own terms (as on Docker and Kubernetes).
      graceMs: APP_STOP_GRACE_SECONDS * 1000,
    });
    // Ready through its sidecar's metrics listener (the ingress takes mesh certificates only):
    // app, sidecar and the app's backends all work; callers' checks then prove the mesh hop.
    await waitUntil(`${service} replica ${replica} to be ready`, () => httpOk(`http://${this.pod(service, replica)}:${PORTS.envoyMetrics}/readyz`), {
      process: app,
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  }

  /**
   * The app's environment on every target, plus what its image gives it there: a
   * bare process gets no variable but those given here (the supervisor passes no
   * other), so PATH, and NODE_ENV=production as apps/Dockerfile sets it.
   */
  private appEnv(service: ServiceName, replica: number): NodeJS.ProcessEnv {
    const { ctx } = this;
    const model = this.model();
    return {
      ...appEnvironment(model, getService(model, service), this.pod(service, replica), ctx.credentials, ctx.appLogLevel),
      PATH: process.env.PATH,
      NODE_ENV: "production",
    };
  }

  /** Stops (or SIGKILLs, as a crash would) a replica's app and sidecar. */
  async stop(service: ServiceName, replica: number, how: "stop" | "kill"): Promise<void> {
    for (const name of [`${service}-${replica}`, envoyProcessName(sidecarName(service), replica)]) {
      const managed = this.ctx.supervisor.list().find((p) => p.spec.name === name && p.running);
      if (managed) await (how === "kill" ? managed.kill() : managed.stop());
    }
  }

  /** Waits until every Envoy that routes to `service` has exactly these upstream pods, all healthy. */
  async waitForUpstreams(service: ServiceName, pods: readonly string[], timeoutMs = 30_000): Promise<void> {
    const { ctx } = this;
    const want = pods.map((p) => `${p}:${PORTS.sidecarIngress}`).sort().join(",");
    const routing = proxiesRoutingTo(this.model(), service).filter(
      ({ proxy }) => proxy === EDGE_PROXY || SERVICE_NAMES.some((s) => ctx.activeServices.has(s) && sidecarName(s) === proxy),
    );
    for (const { proxy, replicas } of routing) {
      for (let r = 0; r < replicas; r++) {
        const admin = adminUrl(ctx.addressing, proxy, r);
        await waitUntil(
          `${envoyProcessName(proxy, r)} to route ${service} to ${want}`,
          async () => {
            const candidates = new Set(this.podsOf(service, MAX_REPLICAS).map((p) => `${p}:${PORTS.sidecarIngress}`));
            const hosts = [...(await upstreamHosts(admin))].filter(([h]) => candidates.has(h));
            // Present and healthy (new hosts wait for their first active health check), no others.
            return hosts.every(([, flags]) => flags === "healthy") && hosts.map(([h]) => h).sort().join(",") === want;
          },
          { timeoutMs },
        );
      }
    }
  }

  /** Runs `service` with `replicas` replicas: new ones start and join DNS; removed ones leave DNS, then stop. */
  async scale(service: ServiceName, replicas: number): Promise<void> {
    checkReplicas(service, replicas);
    const { ctx } = this;
    const before = this.replicas[service];
    if (replicas > before) {
      const spec = getService(this.model(), service);
      const egressPorts = spec.calls.map((c) => getService(this.model(), c).egressPort);
      const added = Array.from({ length: replicas - before }, (_, i) => before + i);
      const taken = await firstTaken(added.flatMap((r) => servicePodPorts(egressPorts, spec.dataStores).map((port) => ({ address: this.pod(service, r), port }))));
      if (taken) throw new Error(`cannot scale ${service}: ${taken.address}:${taken.port} is in use`);
      this.replicas[service] = replicas;
      await Promise.all(added.map((r) => this.start(service, r)));
      await ctx.dns.setRecords(service, this.podsOf(service));
      await this.waitForUpstreams(service, this.podsOf(service));
    } else if (replicas < before) {
      // Envoy keeps a host that left DNS for as long as it passes health checks, so: leave
      // DNS, stop the apps (readiness fails first, in-flight requests finish), wait until no
      // Envoy routes there any more, and only then stop the sidecars.
      await ctx.dns.setRecords(service, this.podsOf(service, replicas));
      const removed = Array.from({ length: before - replicas }, (_, i) => replicas + i);
      await Promise.all(removed.map((r) => ctx.supervisor.get(`${service}-${r}`).stop()));
      await this.waitForUpstreams(service, this.podsOf(service, replicas));
      await Promise.all(removed.map((r) => this.stop(service, r, "stop")));
      this.replicas[service] = replicas;
    }
  }
}
