// The mesh's own Envoy configs with one feature switched off, for the hop
// benchmark's breakdown of what each feature costs per request. Each takes a
// generated bootstrap and returns a changed copy; nothing here is deployed.
import { TRAFFIC_FILTER } from "../../envoy-templates/builders/index.js";
import type { EnvoyObject } from "../../envoy-templates/index.js";

/** "traffic filters": the fault and rate-limit filters every chain carries, idle until a route configures them. */
export const ENVOY_FEATURES = ["access log", "tracing", "health checks", "retries", "stats", "traffic filters"] as const;
export type EnvoyFeature = (typeof ENVOY_FEATURES)[number];

/** Every object nested in `value`, depth first (the bootstrap is plain JSON). */
function* objects(value: unknown): Generator<EnvoyObject> {
  if (Array.isArray(value)) for (const v of value) yield* objects(v);
  else if (value !== null && typeof value === "object") {
    yield value as EnvoyObject;
    for (const v of Object.values(value)) yield* objects(v);
  }
}

/** An HTTP connection manager's typed config: where tracing is set. */
function isConnectionManager(o: EnvoyObject): boolean {
  return typeof o["@type"] === "string" && o["@type"].endsWith("HttpConnectionManager");
}

export function withoutFeature(bootstrap: EnvoyObject, feature: EnvoyFeature): EnvoyObject {
  const copy = structuredClone(bootstrap);
  for (const o of objects(copy)) {
    if (feature === "access log") delete o.access_log;
    if (feature === "tracing" && isConnectionManager(o)) delete o.tracing;
    if (feature === "health checks") delete o.health_checks;
    if (feature === "retries") delete o.retry_policy;
    if (feature === "traffic filters") withoutTrafficFilters(o);
  }
  // No stat recorded at all: what counting every request, connection and byte costs.
  if (feature === "stats") copy.stats_config = { stats_matcher: { reject_all: true } };
  return copy;
}

const TRAFFIC_FILTERS = new Set<string>(Object.values(TRAFFIC_FILTER));

/**
 * `bare` with the mesh's own tracing and nothing else of it: every connection manager of
 * `bare` gets the tracing block of `mesh`'s (its Zipkin tracer, sampling and all), and
 * `bare` gets the Zipkin cluster that block reports to. What tracing costs an Envoy that
 * does nothing else, the floor for a traced hop.
 */
export function withTracingOf(bare: EnvoyObject, mesh: EnvoyObject): EnvoyObject {
  const tracing = [...objects(mesh)].find((o) => isConnectionManager(o) && o.tracing !== undefined)?.tracing as EnvoyObject | undefined;
  if (tracing === undefined) throw new Error("the mesh bootstrap has no traced connection manager");
  const collector = [...objects(tracing)].find((o) => typeof o.collector_cluster === "string")?.collector_cluster;
  const meshClusters = ((mesh.static_resources as EnvoyObject).clusters ?? []) as EnvoyObject[];
  const zipkin = meshClusters.find((c) => c.name === collector);
  if (zipkin === undefined) throw new Error(`the mesh bootstrap has no cluster "${String(collector)}" for its tracer`);
  const copy = structuredClone(bare);
  for (const o of objects(copy)) if (isConnectionManager(o)) o.tracing = structuredClone(tracing);
  const resources = copy.static_resources as EnvoyObject;
  resources.clusters = [...((resources.clusters ?? []) as EnvoyObject[]), structuredClone(zipkin)];
  return copy;
}

/** Drops the traffic filters from a connection manager's chain, and any route's config of them. */
function withoutTrafficFilters(o: EnvoyObject): void {
  if (Array.isArray(o.http_filters)) o.http_filters = (o.http_filters as EnvoyObject[]).filter((f) => !TRAFFIC_FILTERS.has(String(f.name)));
  const perRoute = o.typed_per_filter_config as EnvoyObject | undefined;
  if (perRoute !== undefined) for (const name of TRAFFIC_FILTERS) delete perRoute[name];
}
