// The Fastify app factory every service builds on. It wires what all services
// share (logging with Envoy's x-request-id, JSON errors, strict validation,
// metrics, health, tracing) and leaves routes and backends to the service. The
// server entry point (main.ts of each app) is separate, so tests build the same
// app and drive it through `inject` or a real socket.
import { randomUUID } from "node:crypto";
import { STATUS_CODES, type IncomingHttpHeaders } from "node:http";
import contentType from "content-type";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault, type FastifyError } from "fastify";
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Type } from "typebox";
import { HttpError } from "./errors.js";
import { healthPlugin } from "./health.js";
import { openApiPlugin } from "./openapi.js";
import { createRegistry, metricsPlugin, Registry } from "./metrics.js";
import { tracingPlugin } from "./tracing-plugin.js";
import { createValidatorCompiler } from "./validation.js";
import type { BaseConfig } from "./env.js";

export type ServiceApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** An app's routes for one prefix, as an encapsulated plugin (register it with `{ prefix }`); typed by the route schemas. */
export type ServiceRoutes = FastifyPluginAsyncTypebox;

/** The error body every 4xx/5xx answer carries, as the API promises (README.md, "Consuming the API"). */
export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });
/** Response schemas for error statuses, to spread into a route's `response`. */
export const errorResponses = { "4xx": ErrorBody, "5xx": ErrorBody } as const;

/** Bodies beyond this are refused with 413 before parsing; these APIs take small JSON documents. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

export interface ServiceAppOptions {
  readonly config: Pick<BaseConfig, "serviceName" | "logLevel" | "metricsEnabled">;
  readonly bodyLimit?: number;
}

/**
 * Bodies are JSON in UTF-8 (RFC 8259), uncompressed, and that is how they are read:
 * a body that declares another charset or a content coding would be read wrongly,
 * so it is refused with 415 (RFC 7694) rather than stored garbled. A content-type
 * too malformed to parse is left to Fastify, which refuses it too.
 */
function unreadableBody(headers: IncomingHttpHeaders): HttpError | undefined {
  const encoding = headers["content-encoding"]?.trim().toLowerCase();
  if (encoding && encoding !== "identity") {
    return new HttpError(415, "unsupported_media_type", `content-encoding: bodies must be sent uncompressed, not "${encoding}"`);
  }
  if (!headers["content-type"]) return undefined;
  let charset: string | undefined;
  try {
    charset = contentType.parse(headers["content-type"]).parameters.charset;
  } catch {
    return undefined;
  }
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    return new HttpError(415, "unsupported_media_type", `content-type: bodies must be JSON in UTF-8, not charset "${charset}"`);
  }
  return undefined;
}

function errorName(statusCode: number): string {
  return (STATUS_CODES[statusCode] ?? "error").toLowerCase().replace(/[^a-z0-9]+/g, "_");
}

export async function createServiceApp(options: ServiceAppOptions): Promise<{ app: ServiceApp; registry: Registry }> {
  const app = Fastify({
    logger: { level: options.config.logLevel, base: { service: options.config.serviceName } },
    // Envoy sets x-request-id on every request it forwards; logging it ties app
    // logs to Envoy's access logs and to the trace (Envoy tags spans with it).
    requestIdHeader: "x-request-id",
    genReqId: () => randomUUID(),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(createValidatorCompiler());
  // Hooks on every request's path take a callback: an async hook costs a promise per request.
  app.addHook("preParsing", (request, _reply, payload, done) => {
    const refusal = unreadableBody(request.headers);
    if (refusal) done(refusal);
    else done(null, payload);
  });

  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    if (err instanceof HttpError) {
      if (err.statusCode >= 500) request.log.warn({ err: err.cause ?? err }, err.message);
      return reply.code(err.statusCode).send({ error: err.code, message: err.message });
    }
    if (err.validation) return reply.code(400).send({ error: "bad_request", message: err.message });
    const status = err.statusCode;
    if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send({ error: errorName(status), message: err.message });
    request.log.error({ err }, "unhandled error");
    return reply.code(500).send({ error: "internal_error", message: "internal error" });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: "not_found", message: `no route for ${request.method} ${request.url.split("?")[0]}` }));

  const metricsEnabled = options.config.metricsEnabled ?? true;
  // Without metrics, backend clients still get a registry to register on; nothing reads or serves it.
  const registry = metricsEnabled ? createRegistry() : new Registry();
  // First: the document collects the routes registered after it.
  await app.register(openApiPlugin, { serviceName: options.config.serviceName });
  await app.register(tracingPlugin);
  if (metricsEnabled) await app.register(metricsPlugin, { registry });
  await app.register(healthPlugin);
  return { app, registry };
}
