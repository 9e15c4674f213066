// The orders API, registered under /orders: accept an order (202 once the broker
// confirmed; see app.ts for why), and read one back. "" is the prefix itself.
import { randomUUID } from "node:crypto";
import { errorResponses, HttpError, NotFoundError, type ServiceRoutes } from "@mesh/service-kit";
import type { OrdersHooks } from "../app.js";
import type { catalogClient } from "../catalog-client.js";
import type { orderStore } from "../order-store.js";
import type { createOrderPublisher } from "../publisher.js";
import { Order, OrderParams, PlacedOrder, PlaceOrderBody, type OrderItem } from "../schemas.js";

export interface OrderRoutesDeps {
  readonly orders: ReturnType<typeof orderStore>;
  readonly catalog: ReturnType<typeof catalogClient>;
  readonly publisher: ReturnType<typeof createOrderPublisher>;
  readonly hooks: OrdersHooks;
}

export function orderRoutes({ orders, catalog, publisher, hooks }: OrderRoutesDeps): ServiceRoutes {
  return async (app) => {
    app.post("", { schema: { body: PlaceOrderBody, response: { 202: PlacedOrder, ...errorResponses } } }, async (request, reply) => {
      publisher.assertConnected();
      const productIds = [...new Set(request.body.items.map((i) => i.productId))];
      const products = await Promise.all(productIds.map((id) => catalog.getProduct(id, request.id)));
      const prices = new Map(products.filter((p) => p !== undefined).map((p) => [p.id, p.priceCents]));
      const unknown = productIds.filter((id) => !prices.has(id));
      if (unknown.length) throw new HttpError(422, "unknown_product", `unknown product(s): ${unknown.join(", ")}`);
      const items: OrderItem[] = request.body.items.map((i) => ({ productId: i.productId, quantity: i.quantity, priceCents: prices.get(i.productId)! }));

      const id = randomUUID();
      // Throws ServiceUnavailableError (503) when the broker or Postgres failed; nothing is then stored.
      await orders.placeAndPublish(id, items, async () => {
        let error: unknown;
        try {
          await publisher.publishOrderPlaced({ orderId: id });
        } catch (err) {
          error = err;
        }
        await hooks.afterPublishAttempt?.(id, error);
        if (error !== undefined) throw error;
      });
      return reply.code(202).send({ id, status: "pending" as const });
    });

    app.get("/:id", { schema: { params: OrderParams, response: { 200: Order, ...errorResponses } } }, async (request) => {
      const order = await orders.get(request.params.id);
      if (!order) throw new NotFoundError(`order ${request.params.id} not found`);
      return order;
    });
  };
}
