// Routes to a service from its callers (the edge, other services' sidecars): to its one
// release, or split by weight between stable and canary, with a header that pins a
// request to either; and the edge's rate limit on the way.
import type { MeshModel, ServiceName } from "../infra/model.js";
import { RELEASE_HEADER, RELEASES, releaseName } from "../infra/traffic.js";
import { type EnvoyObject, type UpstreamRoute, makeRetryingRoutes } from "./builders/index.js";

export type ServiceRoute = Omit<UpstreamRoute, "cluster">;

export function serviceRoutes(model: MeshModel, service: ServiceName, route: ServiceRoute): EnvoyObject[] {
  const canary = model.traffic.canaries[service];
  if (canary === undefined) return makeRetryingRoutes({ ...route, cluster: releaseName(service, "stable") });
  const headers = Array.isArray(route.match.headers) ? (route.match.headers as EnvoyObject[]) : [];
  const pinned = RELEASES.flatMap((release) =>
    makeRetryingRoutes({
      ...route,
      name: `${route.name}-${release}`,
      match: { ...route.match, headers: [...headers, { name: RELEASE_HEADER, string_match: { exact: release } }] },
      cluster: releaseName(service, release),
    }),
  );
  const split = [
    { name: releaseName(service, "stable"), weight: 100 - canary.weightPercent },
    { name: releaseName(service, "canary"), weight: canary.weightPercent },
  ];
  return [...pinned, ...makeRetryingRoutes({ ...route, cluster: split })];
}
