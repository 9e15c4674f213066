// Prometheus metrics. Every app instance owns its registry (no global default
// registry), so several apps can live in one test process without clashing.
// Labels are bounded: `route` is the route template (or "unmatched"), never the
// raw URL. `service`, `role` and `replica` are added by Prometheus at scrape time.
import fp from "fastify-plugin";
import { collectDefaultMetrics, Histogram, Registry } from "prom-client";
import type { FastifyInstance } from "fastify";
import { HIDDEN_FROM_OPENAPI } from "./openapi.js";

export { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Latency buckets (seconds) shared by HTTP and backend histograms: 1 ms .. 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Seconds since `started` (a `performance.now()` reading), for a histogram's observe. Cheaper on
 * the request path than prom-client's `startTimer`, which reads `process.hrtime` and copies the
 * labels on every call.
 */
export function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export const metricsPlugin = fp(
  async (app: FastifyInstance, options: { registry: Registry }) => {
    const { registry } = options;
    const requestDuration = new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP requests served, by method, route template and status code",
      labelNames: ["method", "route", "status_code"] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    // Every API route's series exist from start-up, at 0, for the statuses its schema
    // declares (a range like "5xx" by its first code), so "errors by route" shows zeros
    // on a fresh service instead of "No data". Routes hidden from the API are skipped.
    app.addHook("onRoute", (route) => {
      const schema = route.schema as { hide?: boolean; response?: Record<string, unknown> } | undefined;
      if (schema?.hide) return;
      const statuses = Object.keys(schema?.response ?? {}).map((code) => code.toLowerCase().replace("xx", "00"));
      for (const method of [route.method].flat()) {
        if (method === "HEAD") continue;
        for (const status_code of statuses) requestDuration.zero({ method, route: route.url, status_code });
      }
    });
    app.addHook("onResponse", (request, reply, done) => {
      requestDuration.observe(
        { method: request.method, route: request.routeOptions.url ?? "unmatched", status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      done();
    });
    app.get(
      "/metrics",
      { schema: { ...HIDDEN_FROM_OPENAPI, response: { 200: { type: "string" } } }, logLevel: "warn" },
      async (_request, reply) => {
        reply.type(registry.contentType);
        return registry.metrics();
      },
    );
  },
  { name: "mesh-metrics" },
);
