// Orders and the order worker against the real Postgres and RabbitMQ (own
// database, own vhost) with a real catalog app: placing and reading orders over
// inject and a socket, fulfilment by the worker, idempotent redelivery, poison
// messages dead-lettered, orders accepted into the outbox while the broker is
// unreachable, a catalog outage answered 503, Idempotency-Key (replays, reuse
// with another body, concurrent duplicates, retention), a saturated pool
// answered "busy" with Retry-After (never "postgres is unavailable"), every new
// series present from start-up, and bad input on every route.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import amqplib from "amqplib";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORDER_DEAD_LETTER, ORDER_PLACED_ROUTING_KEY, ORDERS_EXCHANGE, type ServiceApp } from "@mesh/service-kit";
import { freePort, waitFor } from "../../../test/support/net.js";
import { createTestDatabase, createTestVhost, withSql, type TestDatabase, type TestVhost } from "../../shared/test/support/backends.js";
import { testBaseConfig } from "../../shared/test/support/apps.js";
import { isClientErrorJson, listenOnLoopback, viaInject, viaSocket, type Call } from "../../shared/test/support/http.js";
import { consumedCount } from "../../shared/test/support/metrics.js";
import { buildCatalogApp, migrateCatalog } from "../../catalog/src/app.js";
import { buildWorkerApp } from "../../order-worker/src/app.js";
import { buildOrdersApp, buildOrdersAppWithRelay, migrateOrders } from "../src/app.js";
import type { OrdersConfig } from "../src/config.js";
import { metricValue, ordersTestConfig } from "./support.js";

const MAX_ATTEMPTS = 3;
let catalogDb: TestDatabase;
let ordersDb: TestDatabase;
let vhost: TestVhost;
let catalog: ServiceApp;
let orders: ServiceApp;
let worker: ServiceApp;
let ordersUrl: string;
let ordersConfig: OrdersConfig;
let sql: pg.Pool;
const productIds: string[] = [];

beforeAll(async () => {
  [catalogDb, ordersDb, vhost] = await Promise.all([createTestDatabase(), createTestDatabase(), createTestVhost()]);
  const catalogConfig = { ...testBaseConfig("catalog"), databaseUrl: catalogDb.url, dbPoolMax: 5 };
  catalog = await buildCatalogApp(catalogConfig);
  await migrateCatalog(catalogConfig, catalog.log);
  const catalogUrl = await listenOnLoopback(catalog);
  for (const [sku, price] of [["o-1", 100], ["o-2", 250]] as const) {
    const res = await catalog.inject({ method: "POST", url: "/products", payload: { sku, name: sku, priceCents: price } });
    productIds.push(res.json<{ id: string }>().id);
  }

  ordersConfig = ordersTestConfig({ databaseUrl: ordersDb.url, amqpUrl: vhost.url, catalogUrl, dbPoolMax: 5 });
  orders = await buildOrdersApp(ordersConfig);
  await migrateOrders(ordersConfig, orders.log);
  ordersUrl = await listenOnLoopback(orders);
  worker = await buildWorkerApp({ ...testBaseConfig("order-worker"), databaseUrl: ordersDb.url, amqpUrl: vhost.url, dbPoolMax: 5, prefetch: 10, maxAttempts: MAX_ATTEMPTS, retryDelayMs: 200 });
  await worker.ready();
  await waitFor("orders and worker ready", async () => (await orders.inject("/readyz")).statusCode === 200 && (await worker.inject("/readyz")).statusCode === 200, 20_000);
  sql = new pg.Pool({ connectionString: ordersDb.url, max: 2 });
});

afterAll(async () => {
  await Promise.allSettled([orders?.close(), worker?.close(), catalog?.close(), sql?.end()]);
  await Promise.allSettled([catalogDb?.drop(), ordersDb?.drop(), vhost?.remove()]);
});

async function statusOf(id: string): Promise<string | undefined> {
  return (await sql.query<{ status: string }>("SELECT status FROM orders WHERE id = $1", [id])).rows[0]?.status;
}

async function fulfilmentEvents(id: string): Promise<number> {
  return Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM order_events WHERE order_id = $1 AND kind = 'fulfilled'", [id])).rows[0]?.n);
}

const transports: Array<[string, () => Call]> = [
  ["inject", () => viaInject(orders)],
  ["socket", () => viaSocket(ordersUrl)],
];

describe.each(transports)("orders routes via %s", (_transport, makeCall) => {
  it("places an order (202 once stored), the relay publishes it, the worker fulfils it, GET shows it", async () => {
    const call = makeCall();
    const placed = await call("POST", "/orders", { items: [{ productId: productIds[0], quantity: 2 }, { productId: productIds[1], quantity: 1 }] });
    expect(placed.status).toBe(202);
    const { id, status } = placed.body as { id: string; status: string };
    expect(status).toBe("pending");
    await waitFor("order fulfilled", async () => (await call("GET", `/orders/${id}`)).body !== undefined && ((await call("GET", `/orders/${id}`)).body as { status: string }).status === "fulfilled", 15_000);
    expect((await call("GET", `/orders/${id}`)).body).toEqual({
      id,
      status: "fulfilled",
      items: [{ productId: productIds[0], quantity: 2, priceCents: 100 }, { productId: productIds[1], quantity: 1, priceCents: 250 }],
    });
    expect(await fulfilmentEvents(id)).toBe(1);
  });

  it("answers 422 for an unknown product and 404 for an unknown order", async () => {
    const call = makeCall();
    const unknown = await call("POST", "/orders", { items: [{ productId: "00000000-0000-4000-8000-000000000000", quantity: 1 }] });
    expect(unknown.status).toBe(422);
    expect(isClientErrorJson(unknown)).toBe(true);
    expect((await call("GET", "/orders/00000000-0000-4000-8000-000000000000")).status).toBe(404);
  });
});

describe("the worker", () => {
  it("applies a redelivered message only once", async () => {
    const placed = await orders.inject({ method: "POST", url: "/orders", payload: { items: [{ productId: productIds[0], quantity: 1 }] } });
    const { id } = placed.json<{ id: string }>();
    await waitFor("fulfilled", async () => (await statusOf(id)) === "fulfilled", 15_000);
    const connection = await amqplib.connect(vhost.url);
    const channel = await connection.createConfirmChannel();
    for (let i = 0; i < 3; i++) channel.publish(ORDERS_EXCHANGE, ORDER_PLACED_ROUTING_KEY, Buffer.from(JSON.stringify({ orderId: id })), { persistent: true, messageId: id });
    await channel.waitForConfirms();
    await connection.close();
    await waitFor("duplicates consumed", async () => consumedCount((await worker.inject("/metrics")).body, "duplicate") >= 3, 15_000);
    expect(await fulfilmentEvents(id)).toBe(1);
  });

  it(`dead-letters a poison message after ${MAX_ATTEMPTS} attempts`, async () => {
    const connection = await amqplib.connect(vhost.url);
    const channel = await connection.createConfirmChannel();
    channel.publish(ORDERS_EXCHANGE, ORDER_PLACED_ROUTING_KEY, Buffer.from("{not json"), { persistent: true, messageId: "poison-1" });
    channel.publish(ORDERS_EXCHANGE, ORDER_PLACED_ROUTING_KEY, Buffer.from(JSON.stringify({ orderId: "not-a-uuid" })), { persistent: true, messageId: "poison-2" });
    await channel.waitForConfirms();
    const dead: Array<{ id: unknown; attempts: unknown }> = [];
    await waitFor("two dead letters", async () => {
      const msg = await channel.get(ORDER_DEAD_LETTER, { noAck: true });
      if (msg) dead.push({ id: msg.properties.messageId, attempts: msg.properties.headers?.["x-attempts"] });
      return dead.length === 2;
    }, 20_000);
    await connection.close();
    expect(dead.map((d) => d.id).sort()).toEqual(["poison-1", "poison-2"]);
    expect(dead.every((d) => d.attempts === MAX_ATTEMPTS - 1)).toBe(true);
    expect(consumedCount((await worker.inject("/metrics")).body, "dead_lettered")).toBeGreaterThanOrEqual(2);
    expect((await worker.inject("/metrics")).body).toMatch(/amqp_queue_messages\{queue="orders.placed.dead"\} \d+/);
  });

  it("acks and discards a message for an order that does not exist (not published by orders), never retrying it", async () => {
    const metric = async (outcome: string) => consumedCount((await worker.inject("/metrics")).body, outcome);
    const [retriedBefore, deadBefore, discardedBefore] = [await metric("retried"), await metric("dead_lettered"), await metric("discarded")];
    const connection = await amqplib.connect(vhost.url);
    const channel = await connection.createConfirmChannel();
    channel.publish(ORDERS_EXCHANGE, ORDER_PLACED_ROUTING_KEY, Buffer.from(JSON.stringify({ orderId: "00000000-0000-4000-8000-00000000dead" })), { persistent: true, messageId: "rolled-back" });
    await channel.waitForConfirms();
    await waitFor("message discarded", async () => (await metric("discarded")) === discardedBefore + 1, 15_000);
    expect((await channel.checkQueue(ORDER_DEAD_LETTER)).messageCount).toBe(0);
    await connection.close();
    expect(await metric("retried")).toBe(retriedBefore);
    expect(await metric("dead_lettered")).toBe(deadBefore);
    expect(await statusOf("00000000-0000-4000-8000-00000000dead")).toBeUndefined();
  });
});

describe("outages", () => {
  it("accepts orders into the outbox while the broker is unreachable, and stays ready", async () => {
    // A database of its own, so no connected relay publishes what this one cannot.
    const offlineDb = await createTestDatabase();
    const offlineConfig = { ...ordersConfig, databaseUrl: offlineDb.url, amqpUrl: `amqp://guest:guest@127.0.0.1:${await freePort()}` };
    const offline = await buildOrdersApp(offlineConfig);
    try {
      await migrateOrders(offlineConfig, offline.log);
      const call = viaInject(offline);
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await call("POST", "/orders", { items: [{ productId: productIds[0], quantity: 1 }] }));
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
      const rows = await withSql(offlineDb.url, async (db) =>
        (await db.query<{ status: string; published: boolean }>("SELECT o.status, x.published_at IS NOT NULL AS published FROM orders o JOIN order_outbox x ON x.order_id = o.id")).rows,
      );
      expect(rows).toEqual(Array.from({ length: 3 }, () => ({ status: "pending", published: false })));
      const ready = await offline.inject("/readyz");
      expect(ready.statusCode).toBe(200);
      expect(ready.json<{ checks: Record<string, string> }>().checks).toEqual({ postgres: "ok" });
      const metrics = (await offline.inject("/metrics")).body;
      expect(metricValue(metrics, "outbox_pending_messages")).toBe(3);
      expect(metricValue(metrics, "outbox_oldest_pending_age_seconds")).toBeGreaterThan(0);
    } finally {
      await offline.close();
      await offlineDb.drop();
    }
  });

  it("answers 503 when the catalog is unreachable", async () => {
    const offline = await buildOrdersApp({ ...ordersConfig, catalogUrl: `http://127.0.0.1:${await freePort()}` });
    try {
      await waitFor("broker connected", async () => (await offline.inject("/readyz")).statusCode === 200, 10_000);
      const answer = await viaInject(offline)("POST", "/orders", { items: [{ productId: productIds[0], quantity: 1 }] });
      expect(answer).toMatchObject({ status: 503, body: { error: "service_unavailable", message: "catalog is unavailable" } });
    } finally {
      await offline.close();
    }
  });
});

describe("Idempotency-Key", () => {
  const place = (key: string, payload: unknown = { items: [{ productId: productIds[0], quantity: 2 }] }) =>
    orders.inject({ method: "POST", url: "/orders", payload: payload as object, headers: { "idempotency-key": key } });
  const ordersWithKey = async (key: string) =>
    Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM order_idempotency_keys k JOIN orders o ON o.id = k.order_id WHERE k.key = $1", [key])).rows[0]?.n);
  const outboxRows = async (id: string) => Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM order_outbox WHERE order_id = $1", [id])).rows[0]?.n);

  it("answers a retry with the same key and body with the same order and status, placing it once", async () => {
    const key = `retry-${randomUUID()}`;
    const first = await place(key);
    const again = await place(key);
    expect(first.statusCode).toBe(202);
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual(first.json());
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    expect(again.headers["idempotent-replayed"]).toBe("true");
    // The same items in another JSON key order are the same request.
    const reordered = await place(key, { items: [{ quantity: 2, productId: productIds[0] }] });
    expect(reordered.json()).toEqual(first.json());
    const id = first.json<{ id: string }>().id;
    expect(await ordersWithKey(key)).toBe(1);
    expect(await outboxRows(id)).toBe(1);
    await waitFor("fulfilled", async () => (await statusOf(id)) === "fulfilled", 15_000);
    // Still the same answer once the order moved on.
    expect((await place(key)).json()).toEqual(first.json());
    expect(await fulfilmentEvents(id)).toBe(1);
  });

  it("refuses the same key with a different body (422), placing nothing", async () => {
    const key = `reuse-${randomUUID()}`;
    const first = await place(key);
    expect(first.statusCode).toBe(202);
    const before = Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM orders")).rows[0]?.n);
    for (const other of [{ items: [{ productId: productIds[0], quantity: 3 }] }, { items: [{ productId: productIds[1], quantity: 2 }] }]) {
      const answer = await viaInject(orders)("POST", "/orders", other, { "idempotency-key": key });
      expect(answer.status).toBe(422);
      expect(isClientErrorJson(answer)).toBe(true);
      expect(answer.body).toMatchObject({ error: "idempotency_key_reused", message: expect.stringContaining("idempotency-key") });
    }
    expect(Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM orders")).rows[0]?.n)).toBe(before);
  });

  it("creates one order for concurrent requests with one key", async () => {
    const key = `concurrent-${randomUUID()}`;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${ordersUrl}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": key },
          body: JSON.stringify({ items: [{ productId: productIds[1], quantity: 1 }] }),
          signal: AbortSignal.timeout(10_000),
        }).then(async (res) => ({ status: res.status, body: (await res.json()) as { id: string } })),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await ordersWithKey(key)).toBe(1);
    expect(await outboxRows(answers[0]!.body.id)).toBe(1);
  });

  it("keeps keys at least 24 hours: pruning removes older keys only", async () => {
    const { app, relay } = await buildOrdersAppWithRelay(ordersConfig);
    try {
      const [young, old] = [`young-${randomUUID()}`, `old-${randomUUID()}`];
      for (const key of [young, old]) expect((await place(key)).statusCode).toBe(202);
      await sql.query("UPDATE order_idempotency_keys SET created_at = now() - interval '23 hours 59 minutes' WHERE key = $1", [young]);
      await sql.query("UPDATE order_idempotency_keys SET created_at = now() - interval '24 hours 1 minute' WHERE key = $1", [old]);
      const pruned = await relay.prune();
      expect(pruned.keys).toBe(1);
      const left = (await sql.query<{ key: string }>("SELECT key FROM order_idempotency_keys WHERE key = ANY($1)", [[young, old]])).rows.map((r) => r.key);
      expect(left).toEqual([young]);
      // The young key still answers its order.
      expect((await place(young)).headers["idempotent-replayed"]).toBe("true");
    } finally {
      await app.close();
    }
  });

  it.each([
    ["empty", ""],
    ["too long", "k".repeat(256)],
    ["with a space", "two words"],
    ["non-ASCII", "clé"],
  ])("refuses a key that is %s with a 400 naming the header", async (_name, key) => {
    const answer = await viaInject(orders)("POST", "/orders", { items: [{ productId: productIds[0], quantity: 1 }] }, { "idempotency-key": key });
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(isClientErrorJson(answer)).toBe(true);
    expect((answer.body as { message: string }).message).toContain("idempotency-key");
  });
});

describe("a saturated pool is busy, not down", () => {
  it("answers 503 busy with Retry-After within the route's announced timeout, stays ready, and serves once a connection frees", async () => {
    const { app: tiny } = await buildOrdersAppWithRelay({ ...ordersConfig, dbPoolMax: 1 });
    const blocker = new pg.Client({ connectionString: ordersDb.url });
    await blocker.connect();
    try {
      await tiny.ready();
      // Hold the one pool connection: an order whose insert waits behind a table lock.
      await blocker.query("BEGIN; LOCK TABLE order_outbox IN ACCESS EXCLUSIVE MODE");
      const held = tiny.inject({ method: "POST", url: "/orders", payload: { items: [{ productId: productIds[0], quantity: 1 }] } });
      await waitFor("the first order waiting on the lock", async () =>
        Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")).rows[0]?.n) > 0,
      10_000, 20);

      const started = Date.now();
      const busy = await tiny.inject({
        method: "POST",
        url: "/orders",
        payload: { items: [{ productId: productIds[0], quantity: 1 }] },
        headers: { "x-envoy-expected-rq-timeout-ms": "500" },
      });
      const waited = Date.now() - started;
      expect(busy.statusCode).toBe(503);
      expect(busy.headers["retry-after"]).toBe("1");
      expect(busy.json()).toEqual({ error: "busy", message: expect.stringContaining("retry") });
      expect(busy.body).not.toMatch(/postgres/i);
      // Waited for a connection about 80 % of the announced 500 ms, not a fixed 2 s.
      expect(waited).toBeGreaterThanOrEqual(350);
      expect(waited).toBeLessThan(1500);
      expect((await tiny.inject("/readyz")).statusCode).toBe(200);
      const metrics = (await tiny.inject("/metrics")).body;
      expect(metricValue(metrics, "db_pool_busy_total")).toBeGreaterThanOrEqual(1);
      expect(metricValue(metrics, "db_pool_wait_seconds_count")).toBeGreaterThanOrEqual(1);
      expect(metricValue(metrics, 'db_pool_wait_seconds_bucket{le="0.25"}')).toBeLessThan(metricValue(metrics, "db_pool_wait_seconds_count"));

      await blocker.query("COMMIT");
      expect((await held).statusCode).toBe(202);
      const after = await tiny.inject({ method: "POST", url: "/orders", payload: { items: [{ productId: productIds[0], quantity: 1 }] }, headers: { "x-envoy-expected-rq-timeout-ms": "500" } });
      expect(after.statusCode).toBe(202);
    } finally {
      await blocker.end();
      await tiny.close();
    }
  });
});

describe("metrics", () => {
  it("exports every outbox, relay and pool series from start-up, at 0", async () => {
    const fresh = await buildOrdersApp(ordersConfig);
    try {
      const text = (await fresh.inject("/metrics")).body;
      for (const series of [
        "db_pool_busy_total",
        "db_pool_wait_seconds_count",
        "outbox_relay_errors_total",
        "outbox_publish_lag_seconds_count",
        ...["confirmed", "nacked", "returned", "error"].map((o) => `amqp_published_total{outcome="${o}"}`),
      ]) {
        expect(metricValue(text, series), series).toBe(0);
      }
      // Depth and age are the shared outbox's: present, and a number.
      for (const series of ["outbox_pending_messages", "outbox_oldest_pending_age_seconds"]) expect(Number.isFinite(metricValue(text, series)), series).toBe(true);
    } finally {
      await fresh.close();
    }
  });
});

describe("bad input gets a 4xx JSON error, never a 5xx", () => {
  const p = "11111111-1111-4111-8111-111111111111";
  const cases: Array<[string, string, string, unknown?]> = [
    ["post: no items", "POST", "/orders", { items: [] }],
    ["post: missing items", "POST", "/orders", {}],
    ["post: items not an array", "POST", "/orders", { items: "abc" }],
    ["post: bad product id", "POST", "/orders", { items: [{ productId: "x", quantity: 1 }] }],
    ["post: zero quantity", "POST", "/orders", { items: [{ productId: p, quantity: 0 }] }],
    ["post: quantity as string", "POST", "/orders", { items: [{ productId: p, quantity: "1" }] }],
    ["post: too many items", "POST", "/orders", { items: Array.from({ length: 51 }, () => ({ productId: p, quantity: 1 })) }],
    ["post: extra field", "POST", "/orders", { items: [{ productId: p, quantity: 1 }], coupon: "x" }],
    ["post: malformed JSON", "POST", "/orders", '{"items": ['],
    ["post: oversize body", "POST", "/orders", { items: [{ productId: p, quantity: 1 }], pad: "x".repeat(100_000) }],
    ["get: bad id", "GET", "/orders/123"],
    ["get: unknown route", "GET", "/orders"],
  ];
  it.each(cases)("%s", async (_name, method, url, body) => {
    for (const call of [viaInject(orders), viaSocket(ordersUrl)]) {
      const answer = await call(method, url, body);
      expect(isClientErrorJson(answer), `${method} ${url} -> ${answer.status} ${JSON.stringify(answer.body)}`).toBe(true);
    }
  });

  it("order bodies never get a 5xx (property-based)", async () => {
    const call = viaInject(orders);
    const item = fc.record({ productId: fc.oneof(fc.uuid(), fc.constantFrom(...productIds), fc.string()), quantity: fc.oneof(fc.integer({ min: -2, max: 1002 }), fc.string()) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.record({ items: fc.array(item, { maxLength: 4 }) }), fc.jsonValue()), async (body) => {
        const answer = await call("POST", "/orders", body);
        expect(answer.status === 202 || isClientErrorJson(answer), `${JSON.stringify(body)} -> ${answer.status}`).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
