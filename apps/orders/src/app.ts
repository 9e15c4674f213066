// The orders app: validates against the catalog, stores the order, publishes
// order.placed and answers 202 only once the broker confirmed.
//
// Broker down: the order is REFUSED (503), not queued in an outbox; clients retry
// on 503. Refusing keeps the API honest ("202" means "in the queue") at the cost
// of availability while the broker is down.
//
// No half-accepted order: the order is written and published in ONE database
// transaction, committed only after the broker's confirm (publish-before-commit):
// BEGIN; lock the order id; INSERT pending; publish and wait for the confirm;
// COMMIT. Any failure - the broker (nack, return, timeout, disconnect), Postgres
// (insert, commit), or both at once - leaves no row: the transaction rolls back,
// or, when the connection is gone, is never committed and the server aborts it.
// The client gets 503 and nothing is left pending. A message that reached the
// broker for an order that then rolled back (a confirm that timed out, a commit
// that failed) is a no-op: the worker waits on the order-id lock until this
// transaction ended, finds no order, acks and discards the message.
// Chosen over a reaper (a timer, a "published" marker and a time bound that must
// outlast any broker backlog) and an outbox (a relay process, and 202 would no
// longer mean "in the queue"): nothing to run in the background, no state to
// clean up. Costs: a pool connection is held for the publish (bounded by
// PUBLISH_TIMEOUT_MS), and a COMMIT whose answer is lost (the server committed,
// the connection died) gives a 503 for an order that still goes through - an
// ambiguity inherent to any commit, and the order is fulfilled, never stranded.
import {
  amqpPlugin,
  connectAmqp,
  createDatabase,
  createServiceApp,
  migrateUp,
  ORDER_MIGRATIONS_DIR,
  ORDER_MIGRATIONS_TABLE,
  postgresPlugin,
  type ServiceApp,
} from "@mesh/service-kit";
import type { FastifyBaseLogger } from "fastify";
import { catalogClient } from "./catalog-client.js";
import type { OrdersConfig } from "./config.js";
import { orderStore } from "./order-store.js";
import { createOrderPublisher } from "./publisher.js";
import { orderRoutes } from "./routes/orders.js";

export function migrateOrders(config: Pick<OrdersConfig, "databaseUrl">, logger: FastifyBaseLogger): Promise<string[]> {
  return migrateUp({ databaseUrl: config.databaseUrl, dir: ORDER_MIGRATIONS_DIR, table: ORDER_MIGRATIONS_TABLE, logger });
}

/** Seams for fault tests; production passes none. */
export interface OrdersHooks {
  /**
   * Runs after the publish attempt settled (`error` undefined: the broker
   * confirmed) and before the order's transaction commits or rolls back.
   */
  afterPublishAttempt?(orderId: string, error: unknown): Promise<void>;
}

export async function buildOrdersApp(config: OrdersConfig, hooks: OrdersHooks = {}): Promise<ServiceApp> {
  const { app, registry } = await createServiceApp({ config });
  const database = createDatabase({ url: config.databaseUrl, registry, logger: app.log, poolMax: config.dbPoolMax });
  await app.register(postgresPlugin, { database });
  const connection = connectAmqp(config.amqpUrl, app.log);
  const publisher = createOrderPublisher(connection, registry, config.publishTimeoutMs);
  await app.register(amqpPlugin, { connection, closers: [() => publisher.close()] });
  const orders = orderStore(database);
  const catalog = catalogClient(config.catalogUrl, config.catalogTimeoutMs);

  await app.register(orderRoutes({ orders, catalog, publisher, hooks }), { prefix: "/orders" });

  return app;
}
