// Request and response schemas of the orders API (the public contract in README.md, "Consuming the API").
import { Uuid } from "@mesh/service-kit";
import { Type, type Static } from "typebox";

export const OrderId = Uuid;

export const OrderItemInput = Type.Object(
  { productId: Uuid, quantity: Type.Integer({ minimum: 1, maximum: 1000 }) },
  { additionalProperties: false },
);
export const PlaceOrderBody = Type.Object({ items: Type.Array(OrderItemInput, { minItems: 1, maxItems: 50 }) }, { additionalProperties: false });
export type PlaceOrderBody = Static<typeof PlaceOrderBody>;

export const OrderParams = Type.Object({ id: OrderId });

export const OrderStatus = Type.Union([Type.Literal("pending"), Type.Literal("fulfilled"), Type.Literal("failed")]);
export type OrderStatus = Static<typeof OrderStatus>;

export const OrderItem = Type.Object({ productId: Type.String(), quantity: Type.Integer(), priceCents: Type.Integer() });
export type OrderItem = Static<typeof OrderItem>;

export const PlacedOrder = Type.Object({ id: OrderId, status: Type.Literal("pending") });
export const Order = Type.Object({ id: OrderId, status: OrderStatus, items: Type.Array(OrderItem) });
export type Order = Static<typeof Order>;
