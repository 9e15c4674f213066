// What Prometheus scrapes: every Envoy through its metrics-only listener and
// every app through its sidecar's ingress, each with `service`, `role` and
// `replica` labels. Docker and Kubernetes find replicas by DNS (the same names
// the sidecars resolve with STRICT_DNS); the local runner's replicas sit on
// 127.0.x.y addresses no resolver knows, so they come from file_sd files.
// An Envoy's series of a cluster that calls a service also get that release's
// `release` label, on every target.

import type { Addressing } from "../addressing.js";
import { EDGE_PROXY, PORTS, type MeshModel, type ServiceSpec, sidecarName } from "../model.js";
import { RELEASES, type Release, releaseName, releaseReplicas, releasesOf } from "../traffic.js";
import { observabilityEndpoints } from "./endpoints.js";

export const SCRAPE_JOBS = { envoy: "envoy", app: "app", prometheus: "prometheus", grafana: "grafana" } as const;
export type Role = "edge" | "sidecar" | "app" | "worker";

/** Directory of the file_sd files, relative to prometheus.yml (Prometheus resolves it so). */
export const LOCAL_TARGETS_DIR = "targets";

export interface RelabelConfig {
  source_labels?: string[];
  regex?: string;
  target_label: string;
  replacement: string;
}

export interface ScrapeConfig {
  job_name: string;
  metrics_path: string;
  dns_sd_configs?: Array<{ names: string[]; type: "A"; port: number; refresh_interval: string }>;
  file_sd_configs?: Array<{ files: string[]; refresh_interval: string }>;
  static_configs?: Array<{ targets: string[]; labels: Record<string, string> }>;
  relabel_configs?: RelabelConfig[];
  metric_relabel_configs?: RelabelConfig[];
}

/** One scrape target of the local runner, with the labels DNS relabeling gives it elsewhere. */
export interface TargetGroup {
  targets: string[];
  labels: { service: string; role: Role; replica: string; release?: Release };
}

function appRole(service: ServiceSpec): Role {
  return service.kind === "worker" ? "worker" : "app";
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A caller's Envoy has one cluster per release of a service it calls
 * (releaseName): each of those clusters' series gets `release="stable"` or
 * `release="canary"`, so dashboards compare releases without parsing cluster
 * names. Other clusters (the local app, data stores, Zipkin) get no `release`.
 */
function releaseRelabels(model: MeshModel): RelabelConfig[] {
  return RELEASES.map((release) => ({
    source_labels: ["envoy_cluster_name"],
    regex: model.services.map((s) => escapeRegex(releaseName(s.name, release))).join("|"),
    target_label: "release",
    replacement: release,
  }));
}

/** The Envoy job, found by `discovery`: one definition for every target. */
function envoyJob(model: MeshModel, discovery: Pick<ScrapeConfig, "dns_sd_configs" | "file_sd_configs" | "relabel_configs">): ScrapeConfig {
  return { job_name: SCRAPE_JOBS.envoy, metrics_path: "/stats/prometheus", ...discovery, metric_relabel_configs: releaseRelabels(model) };
}

/** Envoys and apps by DNS: `service` comes from the name queried, `replica` is the address it resolved to. */
function dnsScrapeConfigs(model: MeshModel, addressing: Addressing, edgeHost: string): ScrapeConfig[] {
  // One name per release of each service: a canary's pods answer to `<service>-canary`.
  const hosts = model.services.flatMap((s) => releasesOf(model.traffic, s.name).map((release) => ({ service: s.name as string, release, host: addressing.serviceHost(s.name, release) })));
  const releaseFromName: RelabelConfig[] = hosts.map(({ release, host }) => ({ source_labels: ["__meta_dns_name"], regex: escapeRegex(host), target_label: "release", replacement: release }));
  const serviceFromName = (entries: Array<{ service: string; host: string }>): RelabelConfig[] =>
    entries.map(({ service, host }) => ({
      source_labels: ["__meta_dns_name"],
      regex: escapeRegex(host),
      target_label: "service",
      replacement: service,
    }));
  const roleFor = (role: Role, services: string[]): RelabelConfig => ({
    source_labels: ["service"],
    regex: services.map(escapeRegex).join("|"),
    target_label: "role",
    replacement: role,
  });
  // Each replica is one A record; its address is the only per-replica name DNS gives.
  const replicaFromAddress: RelabelConfig = {
    source_labels: ["__address__"],
    regex: "(.+):\\d+",
    target_label: "replica",
    replacement: "$1",
  };
  const dns = (names: string[], port: number) => [{ names, type: "A" as const, port, refresh_interval: "15s" }];
  const workers = model.services.filter((s) => appRole(s) === "worker").map((s) => s.name as string);
  const apps = model.services.filter((s) => appRole(s) === "app").map((s) => s.name as string);
  return [
    envoyJob(model, {
      dns_sd_configs: dns([edgeHost, ...hosts.map((h) => h.host)], PORTS.envoyMetrics),
      relabel_configs: [
        ...serviceFromName([{ service: EDGE_PROXY, host: edgeHost }, ...hosts]),
        roleFor("edge", [EDGE_PROXY]),
        roleFor("sidecar", model.services.map((s) => s.name)),
        ...releaseFromName,
        replicaFromAddress,
      ],
    }),
    {
      job_name: SCRAPE_JOBS.app,
      metrics_path: "/metrics",
      // Through the sidecar's plaintext metrics listener: the ingress takes mesh certificates only.
      dns_sd_configs: dns(hosts.map((h) => h.host), PORTS.envoyMetrics),
      relabel_configs: [
        ...serviceFromName(hosts),
        ...(apps.length ? [roleFor("app", apps)] : []),
        ...(workers.length ? [roleFor("worker", workers)] : []),
        ...releaseFromName,
        replicaFromAddress,
      ],
    },
  ];
}

function fileSdConfig(job: string): ScrapeConfig["file_sd_configs"] {
  return [{ files: [`${LOCAL_TARGETS_DIR}/${job}.json`], refresh_interval: "30s" }];
}

/** Every replica of every release of a service. */
function replicasOf(model: MeshModel, service: ServiceSpec): Array<{ replica: number; release: Release }> {
  return releasesOf(model.traffic, service.name).flatMap((release) =>
    Array.from({ length: releaseReplicas(model.traffic, service, release) }, (_, replica) => ({ replica, release })),
  );
}

/**
 * The local runner's targets, keyed by path relative to prometheus.yml: one
 * file per job, one group per replica. The runner rewrites these files when it
 * scales a service; Prometheus notices the change without a reload.
 */
export function renderLocalScrapeTargets(model: MeshModel, addressing: Addressing): Record<string, string> {
  const envoy: TargetGroup[] = [];
  const app: TargetGroup[] = [];
  const edge = addressing.binding(EDGE_PROXY, 0);
  envoy.push({ targets: [`${edge.listenAddress}:${PORTS.envoyMetrics}`], labels: { service: EDGE_PROXY, role: "edge", replica: "0" } });
  for (const service of model.services) {
    for (const { replica, release } of replicasOf(model, service)) {
      const binding = addressing.binding(sidecarName(service.name), replica, release);
      const labels = { service: service.name, replica: String(replica), release };
      envoy.push({ targets: [`${binding.listenAddress}:${PORTS.envoyMetrics}`], labels: { ...labels, role: "sidecar" } });
      app.push({ targets: [`${binding.listenAddress}:${PORTS.envoyMetrics}`], labels: { ...labels, role: appRole(service) } });
    }
  }
  const file = (groups: TargetGroup[]) => `${JSON.stringify(groups, null, 2)}\n`;
  return {
    [`${LOCAL_TARGETS_DIR}/${SCRAPE_JOBS.envoy}.json`]: file(envoy),
    [`${LOCAL_TARGETS_DIR}/${SCRAPE_JOBS.app}.json`]: file(app),
  };
}

/** Every scrape job for a target: the mesh (envoy, app), Prometheus itself and Grafana where it runs. */
export function scrapeConfigs(model: MeshModel, addressing: Addressing): ScrapeConfig[] {
  const discovery = addressing.scrapeDiscovery;
  const mesh: ScrapeConfig[] =
    discovery.kind === "files"
      ? [
          envoyJob(model, { file_sd_configs: fileSdConfig(SCRAPE_JOBS.envoy) }),
          { job_name: SCRAPE_JOBS.app, metrics_path: "/metrics", file_sd_configs: fileSdConfig(SCRAPE_JOBS.app) },
        ]
      : dnsScrapeConfigs(model, addressing, discovery.edgeHost);
  const { prometheus, grafana } = observabilityEndpoints(addressing);
  const own = (job: string, at: { address: string; port: number }): ScrapeConfig => ({
    job_name: job,
    metrics_path: "/metrics",
    static_configs: [{ targets: [`${at.address}:${at.port}`], labels: { service: job } }],
  });
  return [...mesh, own(SCRAPE_JOBS.prometheus, prometheus), ...(grafana ? [own(SCRAPE_JOBS.grafana, grafana)] : [])];
}
