// The worker's start-up settings: the shared ones plus Postgres and RabbitMQ.
import { optionalInt, readBaseConfig, readDatabaseConfig, requiredUrl, type BaseConfig, type DatabaseConfig, type Env } from "@mesh/service-kit";

export interface WorkerConfig extends BaseConfig, DatabaseConfig {
  readonly amqpUrl: string;
  /** PREFETCH: unacknowledged messages in flight per replica (default 10). */
  readonly prefetch: number;
  /** MAX_ATTEMPTS: failed handlings before a message goes to the dead-letter queue (default 5). */
  readonly maxAttempts: number;
  /** RETRY_DELAY_MS: pause before requeueing a message whose backend is down (default 1000). */
  readonly retryDelayMs: number;
}

export function readWorkerConfig(env: Env): WorkerConfig {
  return {
    ...readBaseConfig(env, "order-worker"),
    ...readDatabaseConfig(env),
    amqpUrl: requiredUrl(env, "AMQP_URL", ["amqp:", "amqps:"]),
    prefetch: optionalInt(env, "PREFETCH", 10, 1, 1000),
    maxAttempts: optionalInt(env, "MAX_ATTEMPTS", 5, 1, 100),
    retryDelayMs: optionalInt(env, "RETRY_DELAY_MS", 1000, 10, 60_000),
  };
}
