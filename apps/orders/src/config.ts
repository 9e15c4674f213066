// Orders' start-up settings: the shared ones plus Postgres, RabbitMQ and the catalog's address.
import { optionalInt, readBaseConfig, readDatabaseConfig, requiredUrl, type BaseConfig, type DatabaseConfig, type Env } from "@mesh/service-kit";

export interface OrdersConfig extends BaseConfig, DatabaseConfig {
  readonly amqpUrl: string;
  /** The catalog's base URL: its sidecar's egress listener in the mesh. */
  readonly catalogUrl: string;
  /** PUBLISH_TIMEOUT_MS: how long to wait for the broker's confirm before refusing the order (default 3000). */
  readonly publishTimeoutMs: number;
  /** CATALOG_TIMEOUT_MS: per product lookup (default 2000). */
  readonly catalogTimeoutMs: number;
}

export function readOrdersConfig(env: Env): OrdersConfig {
  return {
    ...readBaseConfig(env, "orders"),
    ...readDatabaseConfig(env),
    amqpUrl: requiredUrl(env, "AMQP_URL", ["amqp:", "amqps:"]),
    catalogUrl: requiredUrl(env, "CATALOG_URL", ["http:", "https:"]).replace(/\/+$/, ""),
    publishTimeoutMs: optionalInt(env, "PUBLISH_TIMEOUT_MS", 3000, 100, 60_000),
    catalogTimeoutMs: optionalInt(env, "CATALOG_TIMEOUT_MS", 2000, 100, 60_000),
  };
}
