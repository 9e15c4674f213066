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
 * The orders service creates an order and publishes its message inside one
 * transaction (commit only after the broker's confirm), so a message can reach
 * the worker before the order is visible, or for an order that is then rolled
 * back. Both sides take a transaction-scoped advisory lock on the order id: the
 * orders service exclusively, from the insert to the commit or rollback; the
 * worker shared, before it reads the order. The worker therefore reads only once
 * the creating transaction has ended, and "no such order" then means it was
 * rolled back. Two-key form, with a namespace of its own, so these keys never
 * meet single-key locks (node-pg-migrate's). $1 is the order id.
 */
const ORDER_LOCK_NAMESPACE = 0x6f726472; // "ordr"
export const LOCK_ORDER_SQL = `SELECT pg_advisory_xact_lock(${ORDER_LOCK_NAMESPACE}, hashtext($1::text))`;
export const AWAIT_ORDER_SQL = `SELECT pg_advisory_xact_lock_shared(${ORDER_LOCK_NAMESPACE}, hashtext($1::text))`;

/** SQL migrations of the order schema (orders and their fulfilment events). */
export const ORDER_MIGRATIONS_DIR = fileURLToPath(new URL("../migrations/orders", import.meta.url));
export const ORDER_MIGRATIONS_TABLE = "orders_migrations";
