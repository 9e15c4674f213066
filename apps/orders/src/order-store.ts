// Orders in Postgres (schema shared with the worker: @mesh/service-kit's order migrations).
import { LOCK_ORDER_SQL, type Database } from "@mesh/service-kit";
import type { Order, OrderItem, OrderStatus } from "./schemas.js";

export function orderStore(database: Database) {
  return {
    /**
     * Creates the order as pending and runs `publish` inside the same
     * transaction: the order commits only if `publish` resolved (the broker
     * confirmed), and any failure - of `publish`, of the commit - rolls it back,
     * or leaves it uncommitted when the connection is gone (the server then
     * aborts it). The order-id lock tells the worker to wait for the outcome.
     */
    async placeAndPublish(id: string, items: OrderItem[], publish: () => Promise<void>): Promise<void> {
      await database.transaction("orders.place", async (query) => {
        await query("orders.lock", LOCK_ORDER_SQL, [id]);
        await query("orders.insert", "INSERT INTO orders (id, status, items) VALUES ($1, 'pending', $2)", [id, JSON.stringify(items)]);
        await query("orders.insert_event", "INSERT INTO order_events (order_id, kind) VALUES ($1, 'placed')", [id]);
        await publish();
      });
    },
    async get(id: string): Promise<Order | undefined> {
      const result = await database.query<{ id: string; status: OrderStatus; items: OrderItem[] }>("orders.get", "SELECT id, status, items FROM orders WHERE id = $1", [id]);
      return result.rows[0];
    },
  };
}
