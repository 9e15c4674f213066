// Orders and the order worker against the real Postgres and RabbitMQ (own
// database, own vhost) with a real catalog app: placing and reading orders over
// inject and a socket, fulfilment by the worker, idempotent redelivery, poison
// messages dead-lettered, broker and catalog outages answered 503 without a
// half-accepted order, and bad input on every route.
import fc from "fast-check";
import amqplib from "amqplib";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORDER_DEAD_LETTER, ORDER_PLACED_ROUTING_KEY, ORDERS_EXCHANGE, type ServiceApp } from "@mesh/service-kit";
import { freePort, waitFor } from "../../../test/support/net.js";
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from "../../shared/test/support/backends.js";
import { testBaseConfig } from "../../shared/test/support/apps.js";
import { isClientErrorJson, listenOnLoopback, viaInject, viaSocket, type Call } from "../../shared/test/support/http.js";
import { consumedCount } from "../../shared/test/support/metrics.js";
import { buildCatalogApp, migrateCatalog } from "../../catalog/src/app.js";
import { buildWorkerApp } from "../../order-worker/src/app.js";
import { buildOrdersApp, migrateOrders } from "../src/app.js";
import type { OrdersConfig } from "../src/config.js";

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

  ordersConfig = { ...testBaseConfig("orders"), databaseUrl: ordersDb.url, amqpUrl: vhost.url, catalogUrl, dbPoolMax: 5, publishTimeoutMs: 3000, catalogTimeoutMs: 2000 };
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
  it("places an order (202 after the confirm), the worker fulfils it, GET shows it", async () => {
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

  it("acks and discards a message for an order that does not exist (its placing rolled back), never retrying it", async () => {
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

describe("outages answer 503 and never half-accept an order", () => {
  it("refuses orders while the broker is unreachable, storing none", async () => {
    const closedPort = await freePort();
    const offline = await buildOrdersApp({ ...ordersConfig, amqpUrl: `amqp://guest:guest@127.0.0.1:${closedPort}` });
    try {
      const before = Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM orders")).rows[0]?.n);
      const answer = await viaInject(offline)("POST", "/orders", { items: [{ productId: productIds[0], quantity: 1 }] });
      expect(answer).toMatchObject({ status: 503, body: { error: "service_unavailable" } });
      expect((await offline.inject("/readyz")).statusCode).toBe(503);
      const after = Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM orders")).rows[0]?.n);
      expect(after).toBe(before);
    } finally {
      await offline.close();
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
