// Each service describes its own API: @fastify/swagger collects every route's
// schemas (params, query, headers, body, responses) into an OpenAPI 3.1 document,
// served at /openapi.json, so the document can never drift from what the routes
// validate. Health, readiness, metrics and the document itself are operator
// endpoints, not the API, and stay out of it.
import swagger from "@fastify/swagger";
import fp from "fastify-plugin";
import type { FastifyInstance } from "fastify";

export const OPENAPI_PATH = "/openapi.json";

/** Route option that keeps an operator endpoint out of the OpenAPI document. */
export const HIDDEN_FROM_OPENAPI = { hide: true } as const;

/** An OpenAPI link: the operation a client (or fuzzer) can call next, and where its parameters come from. */
export interface OpenApiLink {
  readonly operationId: string;
  readonly parameters: Readonly<Record<string, string>>;
}

/**
 * Route options adding OpenAPI links to a route's answers, by status code; spread them
 * into the route's options. @fastify/swagger reads `links` from there, but its type
 * declaration for it does not merge with Fastify's generic route options.
 */
export function openApiLinks(links: Readonly<Record<number, Readonly<Record<string, OpenApiLink>>>>): object {
  return { links };
}

export const openApiPlugin = fp(
  async (app: FastifyInstance, options: { serviceName: string }) => {
    await app.register(swagger, {
      openapi: {
        openapi: "3.1.0",
        info: { title: `${options.serviceName} API`, version: "1" },
      },
    });
    app.get(OPENAPI_PATH, { schema: HIDDEN_FROM_OPENAPI, logLevel: "warn" }, async () => app.swagger());
  },
  { name: "mesh-openapi" },
);
