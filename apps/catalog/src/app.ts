// The catalog app: products CRUD over Postgres, built on the shared kit.
import { fileURLToPath } from "node:url";
import { createServiceApp, type ServiceApp } from "@mesh/service-kit";
import { migrateUp } from "@mesh/service-kit/migrate";
import { createDatabase, postgresPlugin } from "@mesh/service-kit/postgres";
import type { FastifyBaseLogger } from "fastify";
import type { CatalogConfig } from "./config.js";
import { PRODUCT_OPERATIONS, productStore } from "./products.js";
import { productRoutes } from "./routes/products.js";

/** src/ and dist/ sit side by side, so the SQL files are found from either. */
const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

export function migrateCatalog(config: Pick<CatalogConfig, "databaseUrl">, logger: FastifyBaseLogger): Promise<string[]> {
  return migrateUp({ databaseUrl: config.databaseUrl, dir: MIGRATIONS_DIR, table: "catalog_migrations", logger });
}

export async function buildCatalogApp(config: CatalogConfig): Promise<ServiceApp> {
  const { app, registry } = await createServiceApp({ config });
  const database = createDatabase({ url: config.databaseUrl, registry, logger: app.log, poolMax: config.dbPoolMax, operations: Object.values(PRODUCT_OPERATIONS) });
  await app.register(postgresPlugin, { database });
  await app.register(productRoutes(productStore(database.query)), { prefix: "/products" });

  return app;
}
