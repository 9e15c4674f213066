// The edge proxy: the mesh's only public entry. Routes each service's public /api prefix
// (rewritten to the service's own path) to that service's sidecars; everything else 404s.
import type { Addressing } from "../infra/addressing.js";
import { EDGE_PROXY, PORTS, type MeshModel, type ServiceSpec } from "../infra/model.js";
import { type EnvoyObject, makeBootstrap, makeHttpConnectionManager, makeListener, notFoundRoute, publicServerTls, rateLimitRouteConfig } from "./builders/index.js";
import { adminCluster, metricsListener } from "./metrics-listener.js";
import { CLUSTER, LISTENER, serviceCluster } from "./names.js";
import { serviceRoutes } from "./service-routes.js";
import { serviceClustersFor, zipkinCluster } from "./upstreams.js";

export const EDGE_MAX_HEAP_BYTES = 512 * 1024 * 1024;

function publicServices(model: MeshModel): ServiceSpec[] {
  return model.services.filter((s) => s.routes.length > 0);
}

export function edgeRoutes(model: MeshModel): EnvoyObject[] {
  const routes = publicServices(model).flatMap((service) =>
    service.routes.flatMap((route) => {
      const limit = model.traffic.rateLimits[route.prefix];
      return serviceRoutes(model, service.name, {
        name: `${service.name}${route.prefix.replaceAll("/", "-")}`,
        // Matches the prefix itself and paths below it, never "/api/productsXYZ".
        match: { path_separated_prefix: route.prefix },
        timeoutMs: route.timeoutMs,
        prefixRewrite: route.rewrite,
        ...(limit !== undefined ? { filterConfig: rateLimitRouteConfig(limit) } : {}),
      });
    }),
  );
  return [...routes, notFoundRoute()];
}

/** Every plain HTTP request answered with a redirect to the same URL over HTTPS. */
function httpsRedirect(httpsPort: number): EnvoyObject {
  return { name: "https-redirect", match: { prefix: "/" }, redirect: { https_redirect: true, port_redirect: httpsPort } };
}

export function edgeBootstrap(model: MeshModel, addressing: Addressing): EnvoyObject {
  const binding = addressing.binding(EDGE_PROXY, 0);
  // The edge serves HTTPS where the target gives it an identity directory (its certificate).
  const { identityDir } = binding;
  // Both public listeners count their requests under one stat prefix: "the edge's public
  // requests" for dashboards and alerts, whichever port they came in on.
  const publicHttp = (routeConfigName: string, routes: EnvoyObject[]) =>
    makeHttpConnectionManager({
      statPrefix: LISTENER.edgeHttp,
      routeConfigName,
      virtualHostName: "public",
      routes,
      edge: true,
      rateLimit: true,
      zipkinCluster: CLUSTER.zipkin,
      samplingPercent: model.traceSamplingPercent,
      accessLog: model.accessLog,
    });
  const redirect = identityDir !== undefined && model.gateway.plainHttp === "redirect";
  const listeners = [
    makeListener(LISTENER.edgeHttp, { address: binding.listenAddress, port: PORTS.edgeHttp }, "INBOUND", [publicHttp(LISTENER.edgeHttp, redirect ? [httpsRedirect(model.gateway.httpsPort)] : edgeRoutes(model))]),
    ...(identityDir !== undefined
      ? [makeListener(LISTENER.edgeHttps, { address: binding.listenAddress, port: PORTS.edgeHttps }, "INBOUND", [publicHttp(LISTENER.edgeHttps, edgeRoutes(model))], publicServerTls(identityDir))]
      : []),
  ];
  return makeBootstrap({
    proxy: EDGE_PROXY,
    admin: binding.admin,
    listeners: [...listeners, metricsListener(binding.listenAddress, publicServices(model).map((s) => serviceCluster(s.name)))],
    clusters: [
      ...publicServices(model).flatMap((s) => serviceClustersFor(model, s, addressing, binding.identityDir)),
      zipkinCluster(addressing),
      adminCluster(binding.admin),
    ],
    maxHeapBytes: EDGE_MAX_HEAP_BYTES,
    maxDownstreamConnections: 50_000,
  });
}
