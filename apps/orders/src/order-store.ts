// Orders in Postgres (schema shared with the worker: @mesh/service-kit's order
// migrations). Placing an order is ONE statement: the order, its "placed" event,
// its outbox row and (with an Idempotency-Key) the key, written together or not
// at all, in one round trip and without holding a connection for anything else.
import { PREPARED, type Database } from "@mesh/service-kit/postgres";
import type { Order, OrderItem, OrderStatus } from "./schemas.js";

export interface IdempotencyClaim {
  readonly key: string;
  /** Fingerprint of the request body the key came with (see idempotency.ts). */
  readonly fingerprint: string;
}

/** What an Idempotency-Key already stands for: the order it placed, for a request with that fingerprint. */
export interface KeyedOrder {
  readonly orderId: string;
  readonly fingerprint: string;
}

const PLACE_SQL = `
WITH placed AS (
  INSERT INTO orders (id, status, items) VALUES ($1, 'pending', $2) RETURNING id
), event AS (
  INSERT INTO order_events (order_id, kind) SELECT id, 'placed' FROM placed
)
INSERT INTO order_outbox (order_id, trace_headers) SELECT id, $3 FROM placed`;

// The key goes first: a second request with the same key waits here until the
// first one's statement committed (the primary key's uniqueness check), then
// conflicts, so the order and its outbox row are never written twice.
const PLACE_WITH_KEY_SQL = `
WITH claimed AS (
  INSERT INTO order_idempotency_keys (key, request_fingerprint, order_id) VALUES ($4, $5, $1)
  ON CONFLICT (key) DO NOTHING RETURNING order_id
), placed AS (
  INSERT INTO orders (id, status, items) SELECT order_id, 'pending', $2 FROM claimed RETURNING id
), event AS (
  INSERT INTO order_events (order_id, kind) SELECT id, 'placed' FROM placed
), outbox AS (
  INSERT INTO order_outbox (order_id, trace_headers) SELECT id, $3 FROM placed
)
SELECT count(*)::int AS placed FROM placed`;

/** The names the store's queries are timed and counted under. */
export const ORDER_OPERATIONS = {
  findKey: "orders.find_key",
  place: "orders.place",
  placeKeyed: "orders.place_keyed",
  get: "orders.get",
} as const;

export type PlaceResult = { readonly placed: true } | { readonly placed: false; readonly earlier: KeyedOrder };

export function orderStore(database: Database) {
  async function findByKey(key: string): Promise<KeyedOrder | undefined> {
    const { rows } = await database.query<{ order_id: string; request_fingerprint: string }>(
      ORDER_OPERATIONS.findKey,
      "SELECT order_id, request_fingerprint FROM order_idempotency_keys WHERE key = $1",
      [key],
    );
    return rows[0] && { orderId: rows[0].order_id, fingerprint: rows[0].request_fingerprint };
  }

  /**
   * Stores the order as pending with its outbox row. With a key already taken
   * (by an earlier or a concurrent request) nothing is written and the order
   * that key placed is returned instead.
   */
  async function place(id: string, items: OrderItem[], traceHeaders: Record<string, string>, claim?: IdempotencyClaim): Promise<PlaceResult> {
    const params = [id, JSON.stringify(items), JSON.stringify(traceHeaders)];
    if (!claim) {
      await database.query(ORDER_OPERATIONS.place, PLACE_SQL, params, PREPARED);
      return { placed: true };
    }
    const { rows } = await database.query<{ placed: number }>(ORDER_OPERATIONS.placeKeyed, PLACE_WITH_KEY_SQL, [...params, claim.key, claim.fingerprint], PREPARED);
    if (rows[0]?.placed === 1) return { placed: true };
    const earlier = await findByKey(claim.key);
    // Only pruning (after a day) removes keys; a key pruned in between is simply free again.
    return earlier ? { placed: false, earlier } : place(id, items, traceHeaders, claim);
  }

  return {
    findByKey,
    place,
    async get(id: string): Promise<Order | undefined> {
      const result = await database.query<{ id: string; status: OrderStatus; items: OrderItem[] }>(ORDER_OPERATIONS.get, "SELECT id, status, items FROM orders WHERE id = $1", [id], PREPARED);
      return result.rows[0];
    },
  };
}
