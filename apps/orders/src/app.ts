// The orders app: validates against the catalog, stores the order, publishes
// order.placed and answers 202 only once the broker confirmed.
//
// Broker down: the order is REFUSED (503), not queued in an outbox. The sequence
// is: fail fast when not connected; insert the order as pending (committed, so
// the worker can always find it); publish and wait for the confirm; on any
// publish failure mark the order failed - only if still pending - and answer 503.
// So no client holds an id for an order that will never be fulfilled, and the
// worker fulfils only pending orders: a message that reached the broker despite a
// timeout finds the order failed and changes nothing. If the worker was faster
// (the order is already fulfilled), the order did go through and the answer is 202.
// Refusing keeps the API honest ("202" means "in the queue") at the cost of
// availability while the broker is down; clients retry on 503.
import { randomUUID } from "node:crypto";
import {
  amqpPlugin,
  connectAmqp,
  createDatabase,
  createServiceApp,
  errorResponses,
  HttpError,
  migrateUp,
  NotFoundError,
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
import { Order, OrderParams, PlacedOrder, PlaceOrderBody, type OrderItem } from "./schemas.js";

export function migrateOrders(config: Pick<OrdersConfig, "databaseUrl">, logger: FastifyBaseLogger): Promise<string[]> {
  return migrateUp({ databaseUrl: config.databaseUrl, dir: ORDER_MIGRATIONS_DIR, table: ORDER_MIGRATIONS_TABLE, logger });
}

export async function buildOrdersApp(config: OrdersConfig): Promise<ServiceApp> {
  const { app, registry } = await createServiceApp({ config });
  const database = createDatabase({ url: config.databaseUrl, registry, logger: app.log, poolMax: config.dbPoolMax });
  await app.register(postgresPlugin, { database });
  const connection = connectAmqp(config.amqpUrl, app.log);
  const publisher = createOrderPublisher(connection, registry, config.publishTimeoutMs);
  await app.register(amqpPlugin, { connection, closers: [() => publisher.close()] });
  const orders = orderStore(database);
  const catalog = catalogClient(config.catalogUrl, config.catalogTimeoutMs);

  app.post("/orders", { schema: { body: PlaceOrderBody, response: { 202: PlacedOrder, ...errorResponses } } }, async (request, reply) => {
    publisher.assertConnected();
    const productIds = [...new Set(request.body.items.map((i) => i.productId))];
    const products = await Promise.all(productIds.map((id) => catalog.getProduct(id, request.id)));
    const prices = new Map(products.filter((p) => p !== undefined).map((p) => [p.id, p.priceCents]));
    const unknown = productIds.filter((id) => !prices.has(id));
    if (unknown.length) throw new HttpError(422, "unknown_product", `unknown product(s): ${unknown.join(", ")}`);
    const items: OrderItem[] = request.body.items.map((i) => ({ productId: i.productId, quantity: i.quantity, priceCents: prices.get(i.productId)! }));

    const id = randomUUID();
    await orders.insertPending(id, items);
    try {
      await publisher.publishOrderPlaced({ orderId: id });
    } catch (err) {
      let refused = true;
      try {
        refused = await orders.markRefused(id);
      } catch (markErr) {
        // The database failed too: the order stays pending and unpublished; it was never acknowledged to the client.
        request.log.error({ err: markErr, orderId: id }, "could not mark a refused order failed");
      }
      if (refused) throw err;
      request.log.warn({ orderId: id }, "publish reported failure but the order was already fulfilled");
    }
    return reply.code(202).send({ id, status: "pending" as const });
  });

  app.get("/orders/:id", { schema: { params: OrderParams, response: { 200: Order, ...errorResponses } } }, async (request) => {
    const order = await orders.get(request.params.id);
    if (!order) throw new NotFoundError(`order ${request.params.id} not found`);
    return order;
  });

  return app;
}
