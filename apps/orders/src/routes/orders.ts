// The orders API, registered under /orders: accept an order (202 once it is
// stored with its outbox row; the relay publishes it), and read one back. ""
// is the prefix itself.
import { randomUUID } from "node:crypto";
import { errorResponses, HttpError, injectTraceHeaders, NotFoundError, openApiLinks, type ServiceRoutes } from "@mesh/service-kit";
import type { FastifyReply } from "fastify";
import type { catalogClient } from "../catalog-client.js";
import { IDEMPOTENCY_KEY_HEADER, IdempotencyKeyReusedError, PlaceOrderHeaders, requestFingerprint } from "../idempotency.js";
import type { KeyedOrder, orderStore } from "../order-store.js";
import type { OutboxRelay } from "../outbox-relay.js";
import { Order, OrderParams, PlacedOrder, PlaceOrderBody, type OrderItem } from "../schemas.js";

export interface OrderRoutesDeps {
  readonly orders: ReturnType<typeof orderStore>;
  readonly catalog: ReturnType<typeof catalogClient>;
  readonly relay: Pick<OutboxRelay, "wake">;
}

/** Marks an answer repeated for an Idempotency-Key rather than produced now. */
export const REPLAYED_HEADER = "idempotent-replayed";

export function orderRoutes({ orders, catalog, relay }: OrderRoutesDeps): ServiceRoutes {
  return async (app) => {
    /** The answer the key's first request got: the same order, the same status code. */
    function replay(reply: FastifyReply, earlier: KeyedOrder, fingerprint: string) {
      if (earlier.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
      return reply.code(202).header(REPLAYED_HEADER, "true").send({ id: earlier.orderId, status: "pending" as const });
    }

    const placeOrder = {
      schema: { operationId: "placeOrder", summary: "Place an order (202: accepted, fulfilled later)", headers: PlaceOrderHeaders, body: PlaceOrderBody, response: { 202: PlacedOrder, ...errorResponses } },
      // OpenAPI link: the accepted order can be read back by its id (fuzzers follow it).
      ...openApiLinks({ 202: { getOrder: { operationId: "getOrder", parameters: { id: "$response.body#/id" } } } }),
    };
    app.post("", placeOrder, async (request, reply) => {
      const key = request.headers[IDEMPOTENCY_KEY_HEADER];
      const claim = key === undefined ? undefined : { key, fingerprint: requestFingerprint(request.body) };
      if (claim) {
        const earlier = await orders.findByKey(claim.key);
        if (earlier) return replay(reply, earlier, claim.fingerprint);
      }

      const productIds = [...new Set(request.body.items.map((i) => i.productId))];
      const products = await Promise.all(productIds.map((id) => catalog.getProduct(id, request.id)));
      const prices = new Map(products.filter((p) => p !== undefined).map((p) => [p.id, p.priceCents]));
      const unknown = productIds.filter((id) => !prices.has(id));
      if (unknown.length) throw new HttpError(422, "unknown_product", `unknown product(s): ${unknown.join(", ")}`);
      const items: OrderItem[] = request.body.items.map((i) => ({ productId: i.productId, quantity: i.quantity, priceCents: prices.get(i.productId)! }));

      const id = randomUUID();
      // One statement: the order, its event and its outbox row commit together, or nothing does.
      const result = await orders.place(id, items, injectTraceHeaders(), claim);
      if (!result.placed) return replay(reply, result.earlier, claim!.fingerprint);
      relay.wake();
      return reply.code(202).send({ id, status: "pending" as const });
    });

    app.get("/:id", { schema: { operationId: "getOrder", summary: "An order and its status", params: OrderParams, response: { 200: Order, ...errorResponses } } }, async (request) => {
      const order = await orders.get(request.params.id);
      if (!order) throw new NotFoundError(`order ${request.params.id} not found`);
      return order;
    });
  };
}
