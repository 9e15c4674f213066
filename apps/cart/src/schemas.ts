// Request and response schemas of the cart API (the public contract in README.md, "Consuming the API").
import { Uuid } from "@mesh/service-kit";
import { Type, type Static } from "typebox";

export const CartId = Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" });
/** Product ids are the catalog's (UUIDs). */
export const ProductId = Uuid;

export const CartParams = Type.Object({ cartId: CartId });
export const CartItemParams = Type.Object({ cartId: CartId, productId: ProductId });

export const QuantityBody = Type.Object({ quantity: Type.Integer({ minimum: 0, maximum: 1000 }) }, { additionalProperties: false });

/** Distinct products one cart may hold: a cart is a shopping list, not a store for unbounded data. */
export const MAX_CART_ITEMS = 100;

export const CartItem = Type.Object({ productId: Type.String(), quantity: Type.Integer() });
export const Cart = Type.Object({ cartId: Type.String(), items: Type.Array(CartItem, { maxItems: MAX_CART_ITEMS }) });
export type Cart = Static<typeof Cart>;
