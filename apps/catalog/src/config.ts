// Catalog's start-up settings: the shared ones plus its database.
import { readBaseConfig, readDatabaseConfig, type BaseConfig, type DatabaseConfig, type Env } from "@mesh/service-kit";

export interface CatalogConfig extends BaseConfig, DatabaseConfig {}

export function readCatalogConfig(env: Env): CatalogConfig {
  return {
    ...readBaseConfig(env, "catalog"),
    ...readDatabaseConfig(env),
  };
}
