// Catalog's start-up settings: the shared ones plus its database.
import { optionalInt, readBaseConfig, requiredUrl, type BaseConfig, type Env } from "@mesh/service-kit";

export interface CatalogConfig extends BaseConfig {
  readonly databaseUrl: string;
  /** DB_POOL_MAX: connections per replica (default 10). */
  readonly dbPoolMax: number;
}

export function readCatalogConfig(env: Env): CatalogConfig {
  return {
    ...readBaseConfig(env, "catalog"),
    databaseUrl: requiredUrl(env, "DATABASE_URL", ["postgres:", "postgresql:"]),
    dbPoolMax: optionalInt(env, "DB_POOL_MAX", 10, 1, 100),
  };
}
