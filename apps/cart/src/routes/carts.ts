// The cart's public routes, registered under /carts.
import { errorResponses, type ServiceRoutes } from "@mesh/service-kit";
import type { cartStore } from "../carts.js";
import { Cart, CartItemParams, CartParams, QuantityBody } from "../schemas.js";

export function cartRoutes(carts: ReturnType<typeof cartStore>): ServiceRoutes {
  return async (app) => {
    app.get("/:cartId", { schema: { params: CartParams, response: { 200: Cart, ...errorResponses } } }, async (request) => carts.get(request.params.cartId));

    app.delete("/:cartId", { schema: { params: CartParams, response: { 204: { type: "null" }, ...errorResponses } } }, async (request, reply) => {
      await carts.remove(request.params.cartId);
      return reply.code(204).send(null);
    });

    app.put(
      "/:cartId/items/:productId",
      { schema: { params: CartItemParams, body: QuantityBody, response: { 200: Cart, ...errorResponses } } },
      async (request) => carts.setQuantity(request.params.cartId, request.params.productId, request.body.quantity),
    );
  };
}
