// Request and response schemas of the cart API (the public contract in README.md, "Consuming the API").
import { Uuid } from "@mesh/service-kit";
import { Type, type Static } from "typebox";

export const CartId = Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" });
/** Product ids are the catalog's (UUIDs). */
export const ProductId = Uuid;

export const CartParams = Type.Object({ cartId: CartId });
export const CartItemParams = Type.Object({ cartId: CartId, productId: ProductId });

export const QuantityBody = Type.Object({ quantity: Type.Integer({ minimum: 0, maximum: 1000 }) }, { additionalProperties: false });

export const CartItem = Type.Object({ productId: Type.String(), quantity: Type.Integer() });
export const Cart = Type.Object({ cartId: Type.String(), items: Type.Array(CartItem) });
export type Cart = Static<typeof Cart>;
