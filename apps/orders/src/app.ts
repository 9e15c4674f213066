// The orders app: validates against the catalog, stores the order together with
// its outbox row in one statement and answers 202 after that commit; the outbox
// relay (outbox-relay.ts, in this process) publishes order.placed once the
// broker is reachable. So a burst costs one short statement per order, not a
// pool connection held across the broker's confirm, and orders are accepted
// while RabbitMQ is down. 202 means "stored, and will be queued".
import { createServiceApp, ORDER_MIGRATIONS_DIR, ORDER_MIGRATIONS_TABLE, type ServiceApp } from "@mesh/service-kit";
import { amqpPlugin, connectAmqp } from "@mesh/service-kit/amqp";
import { migrateUp } from "@mesh/service-kit/migrate";
import { createDatabase, postgresPlugin } from "@mesh/service-kit/postgres";
import type { FastifyBaseLogger } from "fastify";
import { catalogClient } from "./catalog-client.js";
import type { OrdersConfig } from "./config.js";
import { ORDER_OPERATIONS, orderStore } from "./order-store.js";
import { createOutboxRelay, OUTBOX_OPERATIONS } from "./outbox-relay.js";
import { createOrderPublisher } from "./publisher.js";
import { orderRoutes } from "./routes/orders.js";

export function migrateOrders(config: Pick<OrdersConfig, "databaseUrl">, logger: FastifyBaseLogger): Promise<string[]> {
  return migrateUp({ databaseUrl: config.databaseUrl, dir: ORDER_MIGRATIONS_DIR, table: ORDER_MIGRATIONS_TABLE, logger });
}

export interface OrdersApp {
  readonly app: ServiceApp;
  /** The relay, for tests that prune or wake it; it starts and stops with the app. */
  readonly relay: ReturnType<typeof createOutboxRelay>;
}

export async function buildOrdersApp(config: OrdersConfig): Promise<ServiceApp> {
  return (await buildOrdersAppWithRelay(config)).app;
}

export async function buildOrdersAppWithRelay(config: OrdersConfig): Promise<OrdersApp> {
  const { app, registry } = await createServiceApp({ config });
  const operations = [...Object.values(ORDER_OPERATIONS), ...Object.values(OUTBOX_OPERATIONS)];
  const database = createDatabase({ url: config.databaseUrl, registry, logger: app.log, poolMax: config.dbPoolMax, operations });
  await app.register(postgresPlugin, { database });
  const connection = connectAmqp(config.amqpUrl, app.log);
  const publisher = createOrderPublisher(connection, registry, config.publishTimeoutMs, app.log);
  const relay = createOutboxRelay({ database, publisher, registry, logger: app.log, batchSize: config.relayBatchSize, pollMs: config.relayPollMs });
  connection.on("connect", () => relay.wake());
  // Relay only once the app is ready: main runs the migrations before that.
  app.addHook("onReady", async () => relay.start());
  // Not required for readiness: orders keeps accepting into the outbox while the broker is away.
  await app.register(amqpPlugin, { connection, required: false, closers: [() => relay.stop(), () => publisher.close()] });
  const orders = orderStore(database);
  const catalog = catalogClient(config.catalogUrl, config.catalogTimeoutMs);

  await app.register(orderRoutes({ orders, catalog, relay }), { prefix: "/orders" });

  return { app, relay };
}
