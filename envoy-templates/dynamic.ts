// Routes and service clusters as dynamic resources from files. A proxy whose binding
// names a dynamic directory reads every route configuration (RDS) and the clusters of
// the services it calls (CDS) from files there, and re-reads them when the directory's
// contents are swapped (a Kubernetes ConfigMap volume's `..data` link, or the same swap
// done by the other targets). Weights, faults, rate limits and canaries are all in those
// files: changing them restarts nothing. Listeners, TLS, tracing, admin and the data
// stores' clusters stay in the bootstrap, where a change needs a new proxy.
import { createHash } from "node:crypto";
import { SERVICE_NAMES } from "../infra/model.js";
import { RELEASES, releaseName } from "../infra/traffic.js";
import { type EnvoyObject, typed } from "./builders/index.js";

/** The file the clusters come from, in the dynamic directory. */
export const CLUSTERS_FILE = "clusters.yaml";

/** The file a route configuration comes from, in the dynamic directory. */
export function routesFile(routeConfigName: string): string {
  return `routes-${routeConfigName}.yaml`;
}

/** A bootstrap and the files of its dynamic directory (name → DiscoveryResponse). */
export interface ProxyConfig {
  readonly bootstrap: EnvoyObject;
  readonly dynamicFiles: Readonly<Record<string, EnvoyObject>>;
}

const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTE_CONFIGURATION = "envoy.config.route.v3.RouteConfiguration";
const CLUSTER = "envoy.config.cluster.v3.Cluster";

/** Every release's cluster of every service: what the dynamic clusters file holds. */
const SERVICE_CLUSTERS = new Set(SERVICE_NAMES.flatMap((service) => RELEASES.map((release) => releaseName(service, release))));

function fileSource(dir: string, file: string): EnvoyObject {
  // Only moves into the directory trigger a reload: the swap of `..data`, never a half-written file.
  return { path_config_source: { path: `${dir}/${file}`, watched_directory: { path: dir } }, resource_api_version: "V3" };
}

/**
 * The file's contents as a DiscoveryResponse. Its version is a digest of the resources:
 * the proxy reports the version it applied (the `version_text` stats), so whoever swaps
 * the files can tell when every proxy has taken them.
 */
function discoveryResponse(typeName: string, resources: EnvoyObject[]): EnvoyObject {
  const typedResources = resources.map((r) => typed(typeName, r));
  return { version_info: resourcesVersion(typedResources), resources: typedResources };
}

export function resourcesVersion(resources: unknown): string {
  return createHash("sha256").update(JSON.stringify(resources)).digest("hex").slice(0, 16);
}

/**
 * Moves the inline route configurations and the service clusters of `bootstrap` (as the
 * generators build it, whole) into files read from `dir`. Pure: `bootstrap` is not changed.
 */
export function withDynamicResources(bootstrap: EnvoyObject, dir: string): ProxyConfig {
  const copy = structuredClone(bootstrap);
  const resources = copy.static_resources as { listeners: EnvoyObject[]; clusters: EnvoyObject[] };
  const files: Record<string, EnvoyObject> = {};
  for (const listener of resources.listeners) {
    for (const chain of listener.filter_chains as Array<{ filters: EnvoyObject[] }>) {
      for (const filter of chain.filters) {
        const config = filter.typed_config as EnvoyObject;
        if (config["@type"] !== HCM || config.route_config === undefined) continue;
        const routeConfig = config.route_config as EnvoyObject;
        const name = String(routeConfig.name);
        const file = routesFile(name);
        if (files[file] !== undefined) throw new Error(`two route configurations are named "${name}": each needs its own file`);
        files[file] = discoveryResponse(ROUTE_CONFIGURATION, [routeConfig]);
        delete config.route_config;
        config.rds = { route_config_name: name, config_source: fileSource(dir, file) };
      }
    }
  }
  const dynamic = resources.clusters.filter((c) => SERVICE_CLUSTERS.has(String(c.name)));
  resources.clusters = resources.clusters.filter((c) => !SERVICE_CLUSTERS.has(String(c.name)));
  files[CLUSTERS_FILE] = discoveryResponse(CLUSTER, dynamic);
  copy.dynamic_resources = { cds_config: fileSource(dir, CLUSTERS_FILE) };
  return { bootstrap: copy, dynamicFiles: files };
}
