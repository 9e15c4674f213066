// No half-accepted order, with real faults at the exact moment that matters. The
// orders service writes the order and publishes its message in one transaction
// and commits only after the broker's confirm; these tests stop a private
// Postgres from the seam between the publish attempt and the commit (the
// `afterPublishAttempt` hook), so the timing is the code's, not luck's:
// - the broker confirmed, then Postgres died before the commit: 503, no order
//   row, and the worker discards the message once Postgres is back;
// - the publish failed (the message came back unrouted) and Postgres died too
//   (the gap the first version left pending forever): 503, no order row;
// - the worker got the message before the commit: it waits for the commit (the
//   order-id lock) and fulfils the order, instead of taking it for missing.
// Orders and worker run in-process on a private Postgres and a vhost of their own.
import amqplib from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORDER_DEAD_LETTER, ORDER_PLACED_ROUTING_KEY, ORDER_QUEUE, ORDERS_EXCHANGE, ServiceUnavailableError, type ServiceApp } from "@mesh/service-kit";
import { waitFor } from "../../../test/support/net.js";
import { testBaseConfig } from "../../shared/test/support/apps.js";
import { createTestDatabase, createTestVhost, withSql, type TestDatabase, type TestVhost } from "../../shared/test/support/backends.js";
import { listenOnLoopback } from "../../shared/test/support/http.js";
import { consumedCount } from "../../shared/test/support/metrics.js";
import { PrivatePostgres } from "../../shared/test/support/private-stores.js";
import { buildCatalogApp, migrateCatalog } from "../../catalog/src/app.js";
import { buildWorkerApp } from "../../order-worker/src/app.js";
import { buildOrdersApp, migrateOrders } from "../src/app.js";

let postgres: PrivatePostgres;
let catalogDb: TestDatabase;
let vhost: TestVhost;
let catalog: ServiceApp;
let orders: ServiceApp;
let worker: ServiceApp;
let databaseUrl: string;
let productId: string;
/** What the orders app's seam runs; set by each test. */
let afterPublishAttempt: ((orderId: string, error: unknown) => Promise<void>) | undefined;

beforeAll(async () => {
  [postgres, catalogDb, vhost] = await Promise.all([PrivatePostgres.start(), createTestDatabase(), createTestVhost()]);
  databaseUrl = (await createTestDatabase(postgres.url)).url;

  const catalogConfig = { ...testBaseConfig("catalog"), databaseUrl: catalogDb.url, dbPoolMax: 2 };
  catalog = await buildCatalogApp(catalogConfig);
  await migrateCatalog(catalogConfig, catalog.log);
  const catalogUrl = await listenOnLoopback(catalog);
  productId = (await catalog.inject({ method: "POST", url: "/products", payload: { sku: "ha-1", name: "h", priceCents: 7 } })).json<{ id: string }>().id;

  const ordersConfig = { ...testBaseConfig("orders"), databaseUrl, amqpUrl: vhost.url, catalogUrl, dbPoolMax: 4, publishTimeoutMs: 3000, catalogTimeoutMs: 2000 };
  orders = await buildOrdersApp(ordersConfig, { afterPublishAttempt: (id, error) => afterPublishAttempt?.(id, error) ?? Promise.resolve() });
  await migrateOrders(ordersConfig, orders.log);
  worker = await buildWorkerApp({ ...testBaseConfig("order-worker"), databaseUrl, amqpUrl: vhost.url, dbPoolMax: 4, prefetch: 10, maxAttempts: 3, retryDelayMs: 100 });
  await worker.ready();
  await waitForReady();
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([orders?.close(), worker?.close(), catalog?.close()]);
  await Promise.allSettled([postgres?.destroy(), catalogDb?.drop(), vhost?.remove()]);
});

async function waitForReady(): Promise<void> {
  await waitFor("orders and worker ready", async () => (await orders.inject("/readyz")).statusCode === 200 && (await worker.inject("/readyz")).statusCode === 200, 20_000);
}

async function orderRow(id: string): Promise<{ status: string; fulfilments: number } | undefined> {
  return withSql(databaseUrl, async (sql) => {
    const { rows } = await sql.query<{ status: string; fulfilments: string }>(
      "SELECT status, (SELECT count(*) FROM order_events e WHERE e.order_id = o.id AND e.kind = 'fulfilled') AS fulfilments FROM orders o WHERE id = $1",
      [id],
    );
    return rows[0] && { status: rows[0].status, fulfilments: Number(rows[0].fulfilments) };
  });
}

async function consumed(outcome: string): Promise<number> {
  return consumedCount((await worker.inject("/metrics")).body, outcome);
}

async function placeOrder(): Promise<{ status: number; body: { id?: string; error?: string; message?: string } }> {
  const res = await orders.inject({ method: "POST", url: "/orders", payload: { items: [{ productId, quantity: 1 }] } });
  return { status: res.statusCode, body: res.json() };
}

async function queueDepths(): Promise<{ queued: number; deadLettered: number }> {
  const connection = await amqplib.connect(vhost.url);
  try {
    const channel = await connection.createChannel();
    return { queued: (await channel.checkQueue(ORDER_QUEUE)).messageCount, deadLettered: (await channel.checkQueue(ORDER_DEAD_LETTER)).messageCount };
  } finally {
    await connection.close();
  }
}

describe("publish-before-commit", () => {
  it("a message that reaches the worker before the commit waits for it and is fulfilled", async () => {
    const discardedBefore = await consumed("discarded");
    let waitingWorkers = 0;
    afterPublishAttempt = async (_id, error) => {
      expect(error).toBeUndefined();
      // Hold the commit until the worker is blocked on the order's lock: the message is already there.
      await waitFor("the worker waiting for the order's transaction", async () => {
        waitingWorkers = await withSql(databaseUrl, async (sql) => Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rows[0]?.n));
        return waitingWorkers > 0;
      }, 15_000, 20);
    };
    try {
      const placed = await placeOrder();
      expect(placed.status).toBe(202);
      const id = placed.body.id!;
      await waitFor("order fulfilled", async () => (await orderRow(id))?.status === "fulfilled", 15_000);
      expect(await orderRow(id)).toEqual({ status: "fulfilled", fulfilments: 1 });
      expect(waitingWorkers).toBe(1);
      expect(await consumed("discarded")).toBe(discardedBefore);
      console.log(`half-accepted (worker before commit): ${JSON.stringify({ status: placed.status, waitingWorkers, fulfilments: 1 })}`);
    } finally {
      afterPublishAttempt = undefined;
    }
  });

  it("the broker confirmed, then Postgres died before the commit: 503, no order, the message is discarded", async () => {
    const discardedBefore = await consumed("discarded");
    const deadBefore = await consumed("dead_lettered");
    const seen: Array<{ id: string; error: unknown }> = [];
    afterPublishAttempt = async (id, error) => {
      seen.push({ id, error });
      await postgres.stop();
    };
    let answer: Awaited<ReturnType<typeof placeOrder>>;
    try {
      answer = await placeOrder();
    } finally {
      afterPublishAttempt = undefined;
    }
    // The worker holds the message meanwhile (requeued while Postgres is down); the process carries on.
    await postgres.resume();
    await waitForReady();
    await waitFor("the message discarded", async () => (await consumed("discarded")) === discardedBefore + 1, 20_000);

    expect(answer).toEqual({ status: 503, body: { error: "service_unavailable", message: "postgres is unavailable" } });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.error).toBeUndefined(); // the broker had confirmed
    const row = await orderRow(seen[0]!.id);
    const depths = await queueDepths();
    console.log(`half-accepted (confirmed, commit lost): ${JSON.stringify({ status: answer.status, orderRow: row ?? null, discarded: 1, ...depths })}`);
    expect(row).toBeUndefined();
    expect(depths).toEqual({ queued: 0, deadLettered: 0 });
    expect(await consumed("dead_lettered")).toBe(deadBefore);
  });

  it("the publish failed and Postgres died too: 503, no order left pending", async () => {
    const connection = await amqplib.connect(vhost.url);
    const channel = await connection.createChannel();
    // A real broker-side failure: with no queue bound the mandatory message comes back.
    await channel.unbindQueue(ORDER_QUEUE, ORDERS_EXCHANGE, ORDER_PLACED_ROUTING_KEY);
    const seen: Array<{ id: string; error: unknown }> = [];
    afterPublishAttempt = async (id, error) => {
      seen.push({ id, error });
      await postgres.stop();
    };
    let answer: Awaited<ReturnType<typeof placeOrder>>;
    try {
      answer = await placeOrder();
    } finally {
      afterPublishAttempt = undefined;
      await channel.bindQueue(ORDER_QUEUE, ORDERS_EXCHANGE, ORDER_PLACED_ROUTING_KEY);
      await connection.close();
    }
    await postgres.resume();
    await waitForReady();

    expect(answer).toEqual({ status: 503, body: { error: "service_unavailable", message: "rabbitmq is unavailable" } });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.error).toBeInstanceOf(ServiceUnavailableError);
    const row = await orderRow(seen[0]!.id);
    const pending = await withSql(databaseUrl, async (sql) => Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE status = 'pending'")).rows[0]?.n));
    console.log(`half-accepted (publish failed, Postgres down): ${JSON.stringify({ status: answer.status, orderRow: row ?? null, pendingOrders: pending })}`);
    expect(row).toBeUndefined();
    expect(pending).toBe(0);

    // Everything works again afterwards.
    const placed = await placeOrder();
    expect(placed.status).toBe(202);
    await waitFor("order fulfilled", async () => (await orderRow(placed.body.id!))?.status === "fulfilled", 15_000);
    expect(await orderRow(placed.body.id!)).toEqual({ status: "fulfilled", fulfilments: 1 });
  });
});
