// The cart's public routes, registered under /carts.
import { errorResponses, openApiLinks, type ServiceRoutes } from "@mesh/service-kit";
import type { cartStore } from "../carts.js";
import { Cart, CartItemParams, CartParams, QuantityBody } from "../schemas.js";

/** OpenAPI links from a written cart to reading and emptying it. */
const cartLinks = Object.fromEntries(["getCart", "deleteCart"].map((operationId) => [operationId, { operationId, parameters: { cartId: "$response.body#/cartId" } }]));

export function cartRoutes(carts: ReturnType<typeof cartStore>): ServiceRoutes {
  return async (app) => {
    app.get("/:cartId", { schema: { operationId: "getCart", summary: "A cart (empty when it does not exist)", params: CartParams, response: { 200: Cart, ...errorResponses } } }, async (request) => carts.get(request.params.cartId));

    app.delete("/:cartId", { schema: { operationId: "deleteCart", summary: "Empty a cart", params: CartParams, response: { 204: { type: "null" }, ...errorResponses } } }, async (request, reply) => {
      await carts.remove(request.params.cartId);
      return reply.code(204).send(null);
    });

    app.put(
      "/:cartId/items/:productId",
      {
        schema: { operationId: "setCartItem", summary: "Set one product's quantity in a cart (0 removes it)", params: CartItemParams, body: QuantityBody, response: { 200: Cart, ...errorResponses } },
        ...openApiLinks({ 200: cartLinks }),
      },
      async (request) => carts.setQuantity(request.params.cartId, request.params.productId, request.body.quantity),
    );
  };
}
