// Applying one order.placed message, idempotently: the status moves from pending
// to fulfilled and the audit event is written in ONE statement, so a redelivered
// (or republished) message finds the order no longer pending and changes
// nothing; two copies handled at once meet on the order's row lock, and the
// second sees it fulfilled. The message is acked only after this commits.
//
// The orders service commits an order (with its outbox row) before the relay
// publishes its message, so the order is always there when the message arrives;
// a message for an order that does not exist was not published by orders (by
// hand, or for a deleted order) and is discarded.
import { ServiceUnavailableError } from "@mesh/service-kit";
import { PREPARED, ServiceBusyError, type Database } from "@mesh/service-kit/postgres";

/** "missing": no such order. */
export type FulfilmentResult = "fulfilled" | "duplicate" | "missing";

/** The message can never succeed as it is (a bad payload). */
export class PoisonMessageError extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseOrderPlaced(content: Buffer): { orderId: string } {
  let body: unknown;
  try {
    body = JSON.parse(content.toString("utf8"));
  } catch {
    throw new PoisonMessageError("message is not JSON");
  }
  const orderId = (body as { orderId?: unknown } | null)?.orderId;
  if (typeof orderId !== "string" || !UUID.test(orderId)) throw new PoisonMessageError("message has no valid orderId");
  return { orderId };
}

/** The name the fulfilment's query is timed and counted under. */
export const FULFIL_OPERATION = "orders.fulfil";

const FULFIL_SQL = `
WITH fulfilled AS (
  UPDATE orders SET status = 'fulfilled', updated_at = now() WHERE id = $1 AND status = 'pending' RETURNING id
), event AS (
  INSERT INTO order_events (order_id, kind, message_id) SELECT id, 'fulfilled', $2 FROM fulfilled
)
SELECT (SELECT count(*) FROM fulfilled)::int AS fulfilled, EXISTS (SELECT 1 FROM orders WHERE id = $1) AS known`;

export async function fulfilOrder(database: Database, orderId: string, messageId: string | undefined): Promise<FulfilmentResult> {
  const { rows } = await database.query<{ fulfilled: number; known: boolean }>(FULFIL_OPERATION, FULFIL_SQL, [orderId, messageId ?? null], PREPARED);
  if (rows[0]?.fulfilled === 1) return "fulfilled";
  return rows[0]?.known ? "duplicate" : "missing";
}

/** Postgres down or every connection busy: the message is fine, try it again later. */
export function isTransient(err: unknown): boolean {
  return err instanceof ServiceUnavailableError || err instanceof ServiceBusyError;
}
