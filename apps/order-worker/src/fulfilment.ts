// Applying one order.placed message, idempotently: the status moves from pending
// to fulfilled with a conditional UPDATE, and the audit event is written in the
// same transaction, so a redelivered message finds the order no longer pending
// and changes nothing. The message is acked only after this commits.
//
// The orders service commits an order only after the broker confirmed its
// message, so a message can arrive before its order is visible. The worker first
// takes the order id's advisory lock (shared), which waits until the transaction
// that creates the order has committed or rolled back; an order still missing
// after that was rolled back (the client got 503), and the message is discarded.
import { AWAIT_ORDER_SQL, ServiceUnavailableError, type Database } from "@mesh/service-kit";

/** "missing": no such order once its creating transaction ended (rolled back, or never placed). */
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

export async function fulfilOrder(database: Database, orderId: string, messageId: string | undefined): Promise<FulfilmentResult> {
  return database.transaction("orders.fulfil", async (query) => {
    await query("orders.await_placed", AWAIT_ORDER_SQL, [orderId]);
    const updated = await query("orders.fulfil", "UPDATE orders SET status = 'fulfilled', updated_at = now() WHERE id = $1 AND status = 'pending'", [orderId]);
    if (updated.rowCount === 1) {
      await query("orders.fulfil_event", "INSERT INTO order_events (order_id, kind, message_id) VALUES ($1, 'fulfilled', $2)", [orderId, messageId ?? null]);
      return "fulfilled";
    }
    const existing = await query("orders.get_status", "SELECT status FROM orders WHERE id = $1", [orderId]);
    if (existing.rowCount === 0) return "missing";
    return "duplicate";
  });
}

export function isTransient(err: unknown): boolean {
  return err instanceof ServiceUnavailableError;
}
