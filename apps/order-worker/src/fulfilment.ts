// Applying one order.placed message, idempotently: the status moves from pending
// to fulfilled with a conditional UPDATE, and the audit event is written in the
// same transaction, so a redelivered message finds the order no longer pending
// and changes nothing. The message is acked only after this commits.
import { ServiceUnavailableError, type Database } from "@mesh/service-kit";

export type FulfilmentResult = "fulfilled" | "duplicate";

/** The message can never succeed as it is (bad payload, unknown order). */
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
    const updated = await query("orders.fulfil", "UPDATE orders SET status = 'fulfilled', updated_at = now() WHERE id = $1 AND status = 'pending'", [orderId]);
    if (updated.rowCount === 1) {
      await query("orders.fulfil_event", "INSERT INTO order_events (order_id, kind, message_id) VALUES ($1, 'fulfilled', $2)", [orderId, messageId ?? null]);
      return "fulfilled";
    }
    const existing = await query("orders.get_status", "SELECT status FROM orders WHERE id = $1", [orderId]);
    if (existing.rowCount === 0) throw new PoisonMessageError(`order ${orderId} does not exist`);
    return "duplicate";
  });
}

export function isTransient(err: unknown): boolean {
  return err instanceof ServiceUnavailableError;
}
