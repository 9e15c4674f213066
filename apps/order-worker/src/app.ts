// The order worker: no API, only health, readiness and metrics on its port,
// plus the consumer. Built on the shared kit like the HTTP services.
import { createServiceApp, ORDER_MIGRATIONS_DIR, ORDER_MIGRATIONS_TABLE, type ServiceApp } from "@mesh/service-kit";
import { amqpPlugin, connectAmqp } from "@mesh/service-kit/amqp";
import { migrateUp } from "@mesh/service-kit/migrate";
import { createDatabase, postgresPlugin } from "@mesh/service-kit/postgres";
import type { FastifyBaseLogger } from "fastify";
import type { WorkerConfig } from "./config.js";
import { startOrderConsumer, type OrderConsumer } from "./consumer.js";
import { FULFIL_OPERATION } from "./fulfilment.js";

/** Same migrations as the orders service (advisory-locked): whichever starts first creates the schema. */
export function migrateWorker(config: Pick<WorkerConfig, "databaseUrl">, logger: FastifyBaseLogger): Promise<string[]> {
  return migrateUp({ databaseUrl: config.databaseUrl, dir: ORDER_MIGRATIONS_DIR, table: ORDER_MIGRATIONS_TABLE, logger });
}

export async function buildWorkerApp(config: WorkerConfig): Promise<ServiceApp> {
  const { app, registry } = await createServiceApp({ config });
  const database = createDatabase({ url: config.databaseUrl, registry, logger: app.log, poolMax: config.dbPoolMax, operations: [FULFIL_OPERATION] });
  await app.register(postgresPlugin, { database });
  const connection = connectAmqp(config.amqpUrl, app.log);
  let consumer: OrderConsumer | undefined;
  // Consume only once the app is ready: main runs the migrations before that, so
  // no message ever meets a missing table.
  app.addHook("onReady", async () => {
    consumer = startOrderConsumer({
      connection,
      database,
      registry,
      logger: app.log,
      prefetch: config.prefetch,
      maxAttempts: config.maxAttempts,
      retryDelayMs: config.retryDelayMs,
    });
  });
  await app.register(amqpPlugin, { connection, closers: [async () => consumer?.stop()] });
  return app;
}
