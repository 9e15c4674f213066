// Orders in Postgres (schema shared with the worker: @mesh/service-kit's order migrations).
import type { Database } from "@mesh/service-kit";
import type { Order, OrderItem, OrderStatus } from "./schemas.js";

export function orderStore(database: Database) {
  return {
    async insertPending(id: string, items: OrderItem[]): Promise<void> {
      await database.transaction("orders.insert", async (query) => {
        await query("orders.insert", "INSERT INTO orders (id, status, items) VALUES ($1, 'pending', $2)", [id, JSON.stringify(items)]);
        await query("orders.insert_event", "INSERT INTO order_events (order_id, kind) VALUES ($1, 'placed')", [id]);
      });
    },
    /**
     * Marks a refused order failed, but only while it is still pending. False
     * means it is no longer pending: the broker did take the message after all
     * and the worker already fulfilled it, so the order stands.
     */
    async markRefused(id: string): Promise<boolean> {
      const result = await database.query("orders.refuse", "UPDATE orders SET status = 'failed', updated_at = now() WHERE id = $1 AND status = 'pending'", [id]);
      return result.rowCount === 1;
    },
    async get(id: string): Promise<Order | undefined> {
      const result = await database.query<{ id: string; status: OrderStatus; items: OrderItem[] }>("orders.get", "SELECT id, status, items FROM orders WHERE id = $1", [id]);
      return result.rows[0];
    },
  };
}
