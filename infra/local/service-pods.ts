// The service pods of a local mesh (per replica an app and its sidecar on one
// loopback address): starting, stopping and scaling them, and waiting until every
// Envoy that routes to a service sees exactly its pods.
import { join } from "node:path";
import type { Addressing } from "../addressing.js";
import { type AppLogLevel, type BrokerAccount, appEnvironment } from "../app-environment.js";
import type { PasswordName } from "../config.js";
import { envValues } from "../environment.js";
import { MAX_REPLICAS } from "../config.js";
import { EDGE_PROXY, PORTS, SERVICE_NAMES, buildMeshModel, getService, sidecarName, type MeshModel, type MeshOptions, type ServiceName } from "../model.js";
import { type Release, type TrafficPolicy, releaseName } from "../traffic.js";
import { APP_STOP_GRACE_SECONDS } from "../workload-sizes.js";
import { appEntryPoint } from "./apps.js";
import type { Binaries } from "./binaries.js";
import type { ServiceDns } from "./dns.js";
import { type EnvoyContext, adminUrl, envoyProcessName, publishDynamicResources, startEnvoy, upstreamHosts, waitForVersions } from "./envoy.js";
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
  readonly credentials: RunCredentials;
  /** Services whose pods run; the others' routes answer 503. */
  readonly activeServices: ReadonlySet<ServiceName>;
  /** The run's trace sampling and access log (the stack defaults where absent). */
  readonly observability: Pick<MeshOptions, "traceSamplingPercent" | "accessLog">;
}

/** A run's passwords for the stores' URLs, and its own broker account (a user and vhost per run). */
export interface RunCredentials {
  readonly passwords: Readonly<Partial<Record<PasswordName, string>>>;
  readonly broker: BrokerAccount;
}

/** A running proxy of the mesh: which Envoy, which replica, of which release. */
export interface ProxyReplica {
  readonly proxy: string;
  readonly replica: number;
  readonly release: Release;
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


export function appProcessName(service: ServiceName, replica: number, release: Release = "stable"): string {
  return `${releaseName(service, release)}-${replica}`;
}

export class ServicePods {
  /** Replicas per service, as running now. */
  readonly replicas: Record<ServiceName, number>;

  /** Canary releases, faults and rate limits, as the proxies run them now. */
  private traffic: TrafficPolicy;

  constructor(
    private readonly ctx: ServicePodsContext,
    replicas: Readonly<Record<ServiceName, number>>,
    traffic: TrafficPolicy,
  ) {
    for (const s of SERVICE_NAMES) checkReplicas(s, replicas[s]);
    this.replicas = { ...replicas };
    this.traffic = traffic;
  }

  model(): MeshModel {
    return this.modelWith(this.traffic);
  }

  private modelWith(traffic: TrafficPolicy): MeshModel {
    return buildMeshModel(this.replicas, { ...this.ctx.observability, traffic });
  }

  pod(service: ServiceName, replica: number, release: Release = "stable"): string {
    return this.ctx.layout.servicePod(service, replica, release);
  }

  podsOf(service: ServiceName, count = this.replicas[service], release: Release = "stable"): string[] {
    return Array.from({ length: count }, (_, r) => this.pod(service, r, release));
  }

  /** Replicas of a service's canary running now (0: none). */
  canaryReplicas(service: ServiceName): number {
    return this.traffic.canaries[service]?.replicas ?? 0;
  }

  /** Every Envoy of the active services, the edge first: what a change of traffic policy reaches. */
  proxies(): ProxyReplica[] {
    const sidecars = SERVICE_NAMES.filter((s) => this.ctx.activeServices.has(s)).flatMap((service) => [
      ...this.podsOf(service).map((_, replica) => ({ proxy: sidecarName(service), replica, release: "stable" as const })),
      ...Array.from({ length: this.canaryReplicas(service) }, (_, replica) => ({ proxy: sidecarName(service), replica, release: "canary" as const })),
    ]);
    return [{ proxy: EDGE_PROXY, replica: 0, release: "stable" }, ...sidecars];
  }

  /** Starts a replica's sidecar, then its app, and waits until it is ready through the sidecar. */
  async start(service: ServiceName, replica: number, release: Release = "stable"): Promise<void> {
    const { ctx } = this;
    await startEnvoy(ctx.envoys, this.model(), sidecarName(service), replica, release);
    const app = ctx.supervisor.start({
      name: appProcessName(service, replica, release),
      command: ctx.binaries.node,
      args: [appEntryPoint(ctx.projectRoot, service)],
      env: this.appEnv(service, replica, release),
      cwd: join(ctx.projectRoot, "apps", service),
      // Longer than the app's own drain timeout, so it exits on its own terms (as on Docker and Kubernetes).
      graceMs: APP_STOP_GRACE_SECONDS * 1000,
    });
    // Ready through its sidecar's metrics listener (the ingress takes mesh certificates only):
    // app, sidecar and the app's backends all work; callers' checks then prove the mesh hop.
    await waitUntil(`${releaseName(service, release)} replica ${replica} to be ready`, () => httpOk(`http://${this.pod(service, replica, release)}:${PORTS.envoyMetrics}/readyz`), {
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
  private appEnv(service: ServiceName, replica: number, release: Release): NodeJS.ProcessEnv {
    const { ctx } = this;
    const model = this.model();
    return {
      ...envValues(appEnvironment(model, getService(model, service), this.pod(service, replica, release), ctx.appLogLevel, ctx.credentials.broker), ctx.credentials.passwords),
      PATH: process.env.PATH,
      NODE_ENV: "production",
    };
  }

  /** Stops (or SIGKILLs, as a crash would) a replica's app and sidecar. */
  async stop(service: ServiceName, replica: number, how: "stop" | "kill", release: Release = "stable"): Promise<void> {
    for (const name of [appProcessName(service, replica, release), envoyProcessName(sidecarName(service), replica, release)]) {
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

  /**
   * Runs `next` instead of the current traffic policy without restarting a proxy: canary
   * replicas it adds start (and join their DNS name) before any route sends them traffic;
   * then every Envoy's dynamic directory is swapped, and each is waited for until it runs
   * the new routes and clusters; canary replicas it removes stop only after that.
   */
  async setTraffic(next: TrafficPolicy): Promise<void> {
    const { ctx } = this;
    const before = Object.fromEntries(SERVICE_NAMES.map((s) => [s, this.canaryReplicas(s)])) as Record<ServiceName, number>;
    const after = (s: ServiceName) => next.canaries[s]?.replicas ?? 0;
    const active = SERVICE_NAMES.filter((s) => ctx.activeServices.has(s));
    for (const service of active.filter((s) => after(s) > before[s])) {
      for (let r = before[service]; r < after(service); r++) checkReplicas(service, r + 1);
      // Started with the policy they will serve under (their faults), before anyone routes to them.
      this.traffic = { ...this.traffic, canaries: { ...this.traffic.canaries, [service]: next.canaries[service] }, faults: next.faults };
      await Promise.all(Array.from({ length: after(service) - before[service] }, (_, i) => this.start(service, before[service] + i, "canary")));
      await ctx.dns.setRecords(service, this.podsOf(service, after(service), "canary"), "canary");
    }
    const model = this.modelWith(next);
    const running = [...this.proxies()];
    await Promise.all(
      running.map(({ proxy, replica, release }) => {
        const versions = publishDynamicResources(ctx.envoys, model, proxy, replica, release);
        return waitForVersions(adminUrl(ctx.addressing, proxy, replica, release), versions, envoyProcessName(proxy, replica, release));
      }),
    );
    this.traffic = next;
    for (const service of active.filter((s) => after(s) < before[s])) {
      await ctx.dns.setRecords(service, this.podsOf(service, after(service), "canary"), "canary");
      await Promise.all(Array.from({ length: before[service] - after(service) }, (_, i) => this.stop(service, after(service) + i, "stop", "canary")));
    }
  }
}
