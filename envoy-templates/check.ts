// Consistency of one bootstrap, beyond what its schema can say: every referenced cluster
// exists, no address:port is bound twice, every listener and network filter has a stat_prefix.
import type { EnvoyObject } from "./builders/index.js";

function isObject(value: unknown): value is EnvoyObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Every problem found, each naming where it is; empty when the config is consistent. */
export function checkEnvoyConfig(bootstrap: EnvoyObject): string[] {
  const problems: string[] = [];
  const resources = isObject(bootstrap.static_resources) ? bootstrap.static_resources : {};
  const clusters = list(resources.clusters).filter(isObject);
  const listeners = list(resources.listeners).filter(isObject);

  const clusterNames = new Set<string>();
  clusters.forEach((cluster, i) => {
    const name = String(cluster.name);
    if (clusterNames.has(name)) problems.push(`static_resources.clusters[${i}]: cluster "${name}" defined twice`);
    clusterNames.add(name);
  });
  walkClusterReferences(resources, "static_resources", (path, cluster) => {
    if (!clusterNames.has(cluster)) problems.push(`${path}: refers to cluster "${cluster}", which is not defined`);
  });

  const bound = new Map<string, string>();
  const bind = (path: string, address: unknown) => {
    const socket = isObject(address) && isObject(address.socket_address) ? address.socket_address : undefined;
    if (!socket) return;
    const host = String(socket.address);
    const port = Number(socket.port_value);
    for (const [key, other] of bound) {
      const [otherHost, otherPort] = splitHostPort(key);
      if (otherPort === port && (otherHost === host || isWildcard(otherHost) || isWildcard(host))) {
        problems.push(`${path}: ${host}:${port} is already bound by ${other}`);
      }
    }
    bound.set(`${host}:${port}`, path);
  };
  if (isObject(bootstrap.admin)) bind("admin.address", bootstrap.admin.address);

  listeners.forEach((listener, i) => {
    const path = `static_resources.listeners[${i}]`;
    bind(`${path}.address`, listener.address);
    if (!listener.stat_prefix) problems.push(`${path}: listener "${String(listener.name)}" has no stat_prefix`);
    list(listener.filter_chains).forEach((chain, c) => {
      if (!isObject(chain)) return;
      list(chain.filters).forEach((filter, f) => {
        const config = isObject(filter) && isObject(filter.typed_config) ? filter.typed_config : {};
        if (!config.stat_prefix) {
          const name = isObject(filter) ? String(filter.name) : "?";
          problems.push(`${path}.filter_chains[${c}].filters[${f}]: filter "${name}" has no stat_prefix`);
        }
      });
    });
  });
  return problems;
}

/** Throws with every problem listed when the config is inconsistent. */
export function assertEnvoyConfig(bootstrap: EnvoyObject, what: string): void {
  const problems = checkEnvoyConfig(bootstrap);
  if (problems.length > 0) throw new Error(`inconsistent Envoy config for ${what}:\n  ${problems.join("\n  ")}`);
}

/** Calls `found` for every cluster a route, TCP proxy or tracer refers to. */
function walkClusterReferences(value: unknown, path: string, found: (path: string, cluster: string) => void): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => walkClusterReferences(item, `${path}[${i}]`, found));
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}.${key}`;
    // Clusters are defined under static_resources.clusters: their own fields are not references.
    if (path === "static_resources" && key === "clusters") continue;
    if ((key === "cluster" || key === "collector_cluster") && typeof child === "string") found(childPath, child);
    else if (key === "weighted_clusters" && isObject(child)) {
      list(child.clusters).forEach((entry, i) => {
        if (isObject(entry) && typeof entry.name === "string") found(`${childPath}.clusters[${i}].name`, entry.name);
      });
    } else walkClusterReferences(child, childPath, found);
  }
}

function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

function splitHostPort(key: string): [string, number] {
  const at = key.lastIndexOf(":");
  return [key.slice(0, at), Number(key.slice(at + 1))];
}
