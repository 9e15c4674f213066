// Redis through ioredis with reliability defaults: an `error`
// listener (a lost connection must not crash the process), reconnect with
// capped backoff, a small maxRetriesPerRequest and a commandTimeout, and no
// offline queue: while Redis is down a command fails at once (503) instead of
// piling up behind a request timeout.
import { Redis, ReplyError } from "ioredis";
import fp from "fastify-plugin";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { ServiceUnavailableError } from "./errors.js";
import { Counter, Histogram, LATENCY_BUCKETS, secondsSince, type Registry } from "./metrics.js";
import { SpanKind, withSpan } from "./tracing.js";

export { Redis };

export interface RedisOptions {
  readonly url: string;
  readonly registry: Registry;
  readonly logger: FastifyBaseLogger;
  readonly commandTimeoutMs?: number;
  /** Every `command` name the app runs: their series exist (at 0) from start-up, so no panel or alert waits for a first command. */
  readonly commands?: readonly string[];
}

export interface RedisClient {
  readonly redis: Redis;
  /** Runs `fn` (one command, a MULTI or a script) timed, traced and counted under `command`. */
  run<T>(command: string, fn: (redis: Redis) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function createRedis(options: RedisOptions): RedisClient {
  const redis = new Redis(options.url, {
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 1000,
    connectTimeout: 2000,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  });
  let lastErrorLog = 0;
  redis.on("error", (err) => {
    // Reconnect attempts repeat the same error several times a second; log it at most once a second.
    if (Date.now() - lastErrorLog > 1000) {
      lastErrorLog = Date.now();
      options.logger.warn({ err }, "redis connection error");
    }
  });

  const duration = new Histogram({
    name: "redis_command_duration_seconds",
    help: "Redis command duration by command",
    labelNames: ["command"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [options.registry],
  });
  const errors = new Counter({
    name: "redis_command_errors_total",
    help: "Redis commands that failed, by command",
    labelNames: ["command"] as const,
    registers: [options.registry],
  });
  for (const command of options.commands ?? []) {
    duration.zero({ command });
    errors.inc({ command }, 0);
  }

  return {
    redis,
    async run(command, fn) {
      const started = performance.now();
      try {
        return await withSpan(`redis ${command}`, SpanKind.CLIENT, { "db.system.name": "redis", "db.operation.name": command }, () => fn(redis));
      } catch (err) {
        errors.inc({ command });
        // A ReplyError is Redis refusing this command (a bug on our side); everything else is the connection.
        throw err instanceof ReplyError ? err : new ServiceUnavailableError("redis", err);
      } finally {
        duration.observe({ command }, secondsSince(started));
      }
    },
    async close() {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}

/** Registers Redis's readiness check and closes the connection when the app closes. */
export const redisPlugin = fp(
  async (app: FastifyInstance, options: { client: RedisClient }) => {
    app.readiness.add("redis", async () => {
      await options.client.redis.ping();
    });
    app.addHook("onClose", () => options.client.close());
  },
  { name: "mesh-redis", dependencies: ["mesh-health"] },
);
