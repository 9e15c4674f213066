// What the orders service and the order worker agree on: the broker topology,
// the message, and the database schema (both run the same migrations, under an
// advisory lock, so whichever starts first creates the tables).
import { fileURLToPath } from "node:url";
import type { ConfirmChannel } from "amqplib";

/** Durable topic exchange orders are published to. */
export const ORDERS_EXCHANGE = "orders";
export const ORDER_PLACED_ROUTING_KEY = "order.placed";
/** Durable queue the worker consumes. */
export const ORDER_QUEUE = "orders.placed";
/** Dead-letter exchange and queue for poison messages (same name for both). */
export const ORDER_DEAD_LETTER = "orders.placed.dead";
/** Header counting how often a message failed in the worker. */
export const ATTEMPTS_HEADER = "x-attempts";

/** The order.placed body; its message id is the order id, the same for every copy a relay republishes. */
export interface OrderPlacedMessage {
  readonly orderId: string;
}

/** Declares the exchanges, queues and bindings; idempotent, run on every (re)connected channel. */
export async function assertOrderTopology(channel: ConfirmChannel): Promise<void> {
  await channel.assertExchange(ORDERS_EXCHANGE, "topic", { durable: true });
  await channel.assertExchange(ORDER_DEAD_LETTER, "fanout", { durable: true });
  await channel.assertQueue(ORDER_DEAD_LETTER, { durable: true });
  await channel.bindQueue(ORDER_DEAD_LETTER, ORDER_DEAD_LETTER, "");
  await channel.assertQueue(ORDER_QUEUE, { durable: true, arguments: { "x-dead-letter-exchange": ORDER_DEAD_LETTER } });
  await channel.bindQueue(ORDER_QUEUE, ORDERS_EXCHANGE, ORDER_PLACED_ROUTING_KEY);
}

/**
 * SQL migrations of the order schema: orders and their events, the outbox the
 * orders service publishes from, and its idempotency keys. An order row commits
 * before its message exists (the outbox), so the worker always finds the order.
 */
export const ORDER_MIGRATIONS_DIR = fileURLToPath(new URL("../migrations/orders", import.meta.url));
export const ORDER_MIGRATIONS_TABLE = "orders_migrations";
