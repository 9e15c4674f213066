// The public API as the edge exposes it: each API service's own OpenAPI document
// (what its routes validate, served at /openapi.json through its sidecar), with its
// paths moved under the public prefixes the model routes to it ("/products/{id}"
// becomes "/api/products/{id}") and its operations tagged with the service.
import type { MeshModel, ServiceName } from "../../infra/model.js";

export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly paths: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly components?: { readonly schemas?: Readonly<Record<string, unknown>> };
}

export const PUBLIC_API_TITLE = "Envoy mesh public API";
/** Where every app serves its own document (apps/shared/src/openapi.ts); the apps cannot import infra, so the path is spelled twice and the e2e test reads it from each service. */
export const SERVICE_DOCUMENT_PATH = "/openapi.json";

/** The path as the edge exposes it, or undefined when no public route of the service leads there. */
function publicPath(routes: MeshModel["services"][number]["routes"], path: string): string | undefined {
  const route = routes.find((r) => path === r.rewrite || path.startsWith(`${r.rewrite}/`));
  return route && route.prefix + path.slice(route.rewrite.length);
}

export function publicApiDocument(model: MeshModel, documents: ReadonlyMap<ServiceName, OpenApiDocument>): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, unknown> = {};
  for (const service of model.services.filter((s) => s.routes.length > 0)) {
    const document = documents.get(service.name);
    if (!document) throw new Error(`no OpenAPI document for the API service "${service.name}"`);
    for (const [path, operations] of Object.entries(document.paths)) {
      const exposed = publicPath(service.routes, path);
      if (exposed === undefined) throw new Error(`${service.name}'s document has ${path}, which none of its public routes (${service.routes.map((r) => r.rewrite).join(", ")}) leads to`);
      paths[exposed] = Object.fromEntries(
        Object.entries(operations).map(([method, operation]) => [method, { ...(operation as object), tags: [service.name] }]),
      );
    }
    for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
      if (name in schemas) throw new Error(`two services define the component schema "${name}"`);
      schemas[name] = schema;
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: PUBLIC_API_TITLE,
      version: "1",
      description: "Generated from the services' route schemas by `npm run openapi:update`; every path is reached through the edge proxy.",
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    ...(Object.keys(schemas).length ? { components: { schemas } } : {}),
  };
}

/** Fetches each API service's document through the sidecar of its first replica. */
export async function fetchServiceDocuments(model: MeshModel, sidecarUrl: (service: ServiceName) => string): Promise<Map<ServiceName, OpenApiDocument>> {
  const documents = new Map<ServiceName, OpenApiDocument>();
  for (const service of model.services.filter((s) => s.routes.length > 0)) {
    const url = `${sidecarUrl(service.name)}${SERVICE_DOCUMENT_PATH}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
    documents.set(service.name, (await res.json()) as OpenApiDocument);
  }
  return documents;
}
