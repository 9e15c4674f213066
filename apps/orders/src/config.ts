// Orders' start-up settings: the shared ones plus Postgres, RabbitMQ, the catalog's address and the outbox relay.
import { optionalInt, readBaseConfig, readDatabaseConfig, requiredUrl, type BaseConfig, type DatabaseConfig, type Env } from "@mesh/service-kit";

export interface OrdersConfig extends BaseConfig, DatabaseConfig {
  readonly amqpUrl: string;
  /** The catalog's base URL: its sidecar's egress listener in the mesh. */
  readonly catalogUrl: string;
  /** PUBLISH_TIMEOUT_MS: how long the relay waits for the broker's confirms of a batch (default 3000). */
  readonly publishTimeoutMs: number;
  /** CATALOG_TIMEOUT_MS: per product lookup (default 2000). */
  readonly catalogTimeoutMs: number;
  /** RELAY_BATCH_SIZE: outbox rows the relay claims and publishes at once (default 200). */
  readonly relayBatchSize: number;
  /**
   * RELAY_POLL_MS: how often the relay looks for rows nobody woke it for (default
   * 1000): retries that came due, rows a stopped replica left. New orders wake it at once.
   */
  readonly relayPollMs: number;
}

export function readOrdersConfig(env: Env): OrdersConfig {
  return {
    ...readBaseConfig(env, "orders"),
    ...readDatabaseConfig(env),
    amqpUrl: requiredUrl(env, "AMQP_URL", ["amqp:", "amqps:"]),
    catalogUrl: requiredUrl(env, "CATALOG_URL", ["http:", "https:"]).replace(/\/+$/, ""),
    publishTimeoutMs: optionalInt(env, "PUBLISH_TIMEOUT_MS", 3000, 100, 60_000),
    catalogTimeoutMs: optionalInt(env, "CATALOG_TIMEOUT_MS", 2000, 100, 60_000),
    relayBatchSize: optionalInt(env, "RELAY_BATCH_SIZE", 200, 1, 5000),
    relayPollMs: optionalInt(env, "RELAY_POLL_MS", 1000, 10, 60_000),
  };
}
