// The catalog app: products CRUD over Postgres, built on the shared kit.
import { fileURLToPath } from "node:url";
import {
  createDatabase,
  createServiceApp,
  errorResponses,
  migrateUp,
  NotFoundError,
  postgresPlugin,
  type ServiceApp,
} from "@mesh/service-kit";
import type { FastifyBaseLogger } from "fastify";
import type { CatalogConfig } from "./config.js";
import { productStore } from "./products.js";
import { ListQuery, Product, ProductInput, ProductList, ProductParams } from "./schemas.js";

/** src/ and dist/ sit side by side, so the SQL files are found from either. */
const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

export function migrateCatalog(config: Pick<CatalogConfig, "databaseUrl">, logger: FastifyBaseLogger): Promise<string[]> {
  return migrateUp({ databaseUrl: config.databaseUrl, dir: MIGRATIONS_DIR, table: "catalog_migrations", logger });
}

export async function buildCatalogApp(config: CatalogConfig): Promise<ServiceApp> {
  const { app, registry } = await createServiceApp({ config });
  const database = createDatabase({ url: config.databaseUrl, registry, logger: app.log, poolMax: config.dbPoolMax });
  await app.register(postgresPlugin, { database });
  const products = productStore(database.query);

  app.get("/products", { schema: { querystring: ListQuery, response: { 200: ProductList, ...errorResponses } } }, async (request) =>
    products.list(request.query.limit, request.query.offset),
  );

  app.post("/products", { schema: { body: ProductInput, response: { 201: Product, ...errorResponses } } }, async (request, reply) =>
    reply.code(201).send(await products.create(request.body)),
  );

  app.get("/products/:id", { schema: { params: ProductParams, response: { 200: Product, ...errorResponses } } }, async (request) => {
    const product = await products.get(request.params.id);
    if (!product) throw new NotFoundError(`product ${request.params.id} not found`);
    return product;
  });

  app.put("/products/:id", { schema: { params: ProductParams, body: ProductInput, response: { 200: Product, ...errorResponses } } }, async (request) => {
    const product = await products.update(request.params.id, request.body);
    if (!product) throw new NotFoundError(`product ${request.params.id} not found`);
    return product;
  });

  app.delete("/products/:id", { schema: { params: ProductParams, response: { 204: { type: "null" }, ...errorResponses } } }, async (request, reply) => {
    if (!(await products.remove(request.params.id))) throw new NotFoundError(`product ${request.params.id} not found`);
    return reply.code(204).send(null);
  });

  return app;
}
