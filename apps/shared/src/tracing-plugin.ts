// A server span per request, continuing the B3 context Envoy forwards. The span
// starts at onRequest (so it covers body parsing) and its context is entered at
// preHandler: the handler is called synchronously from there, so the async
// context reaches every backend call the handler makes.
import fp from "fastify-plugin";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Context, Span } from "@opentelemetry/api";
import { markSpanError, runInContext, SpanKind, startSpanFromCarrier } from "./tracing.js";

const spans = new WeakMap<FastifyRequest, { span: Span; ctx: Context }>();

export const tracingPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook("onRequest", (request, _reply, done) => {
      const started = startSpanFromCarrier(`${request.method} ${request.routeOptions.url ?? "unmatched"}`, SpanKind.SERVER, request.headers, {
        "http.request.method": request.method,
        "url.path": request.url.split("?")[0] ?? "/",
        "guid:x-request-id": request.id,
      });
      spans.set(request, started);
      done();
    });
    app.addHook("preHandler", (request, _reply, done) => {
      const started = spans.get(request);
      if (started) runInContext(started.ctx, done);
      else done();
    });
    app.addHook("onResponse", (request, reply, done) => {
      const started = spans.get(request);
      if (started) {
        started.span.setAttribute("http.response.status_code", reply.statusCode);
        if (reply.statusCode >= 500) markSpanError(started.span, `status ${reply.statusCode}`);
        started.span.end();
        spans.delete(request);
      }
      done();
    });
  },
  { name: "mesh-tracing" },
);
