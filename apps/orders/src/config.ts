// Orders' start-up settings: the shared ones plus Postgres, RabbitMQ and the catalog's address.
import { optionalInt, readBaseConfig, requiredUrl, type BaseConfig, type Env } from "@mesh/service-kit";

export interface OrdersConfig extends BaseConfig {
  readonly databaseUrl: string;
  readonly amqpUrl: string;
  /** The catalog's base URL: its sidecar's egress listener in the mesh. */
  readonly catalogUrl: string;
  /** DB_POOL_MAX: connections per replica (default 10). */
  readonly dbPoolMax: number;
  /** PUBLISH_TIMEOUT_MS: how long to wait for the broker's confirm before refusing the order (default 3000). */
  readonly publishTimeoutMs: number;
  /** CATALOG_TIMEOUT_MS: per product lookup (default 2000). */
  readonly catalogTimeoutMs: number;
}

export function readOrdersConfig(env: Env): OrdersConfig {
  return {
    ...readBaseConfig(env, "orders"),
    databaseUrl: requiredUrl(env, "DATABASE_URL", ["postgres:", "postgresql:"]),
    amqpUrl: requiredUrl(env, "AMQP_URL", ["amqp:", "amqps:"]),
    catalogUrl: requiredUrl(env, "CATALOG_URL", ["http:", "https:"]).replace(/\/+$/, ""),
    dbPoolMax: optionalInt(env, "DB_POOL_MAX", 10, 1, 100),
    publishTimeoutMs: optionalInt(env, "PUBLISH_TIMEOUT_MS", 3000, 100, 60_000),
    catalogTimeoutMs: optionalInt(env, "CATALOG_TIMEOUT_MS", 2000, 100, 60_000),
  };
}
