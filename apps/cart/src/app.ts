// The cart app: carts in Redis, built on the shared kit.
import { createRedis, createServiceApp, errorResponses, redisPlugin, type ServiceApp } from "@mesh/service-kit";
import type { CartConfig } from "./config.js";
import { cartStore } from "./carts.js";
import { Cart, CartItemParams, CartParams, QuantityBody } from "./schemas.js";

export async function buildCartApp(config: CartConfig): Promise<ServiceApp> {
  const { app, registry } = await createServiceApp({ config });
  const client = createRedis({ url: config.redisUrl, registry, logger: app.log });
  await app.register(redisPlugin, { client });
  const carts = cartStore(client, { keyPrefix: config.keyPrefix, ttlSeconds: config.cartTtlSeconds });

  app.get("/carts/:cartId", { schema: { params: CartParams, response: { 200: Cart, ...errorResponses } } }, async (request) => carts.get(request.params.cartId));

  app.delete("/carts/:cartId", { schema: { params: CartParams, response: { 204: { type: "null" }, ...errorResponses } } }, async (request, reply) => {
    await carts.remove(request.params.cartId);
    return reply.code(204).send(null);
  });

  app.put(
    "/carts/:cartId/items/:productId",
    { schema: { params: CartItemParams, body: QuantityBody, response: { 200: Cart, ...errorResponses } } },
    async (request) => carts.setQuantity(request.params.cartId, request.params.productId, request.body.quantity),
  );

  return app;
}
