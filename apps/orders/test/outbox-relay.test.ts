// The outbox relay against the real Postgres and RabbitMQ:
// - two orders replicas fill and drain one outbox: every order fulfilled once,
//   and every message published exactly once (SKIP LOCKED: no row is claimed by
//   both relays);
// - the relay's process is killed (SIGKILL) in the middle of a batch, with its
//   messages confirmed by the broker but not yet marked published (a table lock
//   holds the marking UPDATE, so the moment is exact): another replica publishes
//   them again and the worker applies each order once.
// Replicas of the first case run in-process; the second uses the built process
// (`node apps/orders/dist/main.js`), so the kill is a real one.
import { randomUUID } from "node:crypto";
import amqplib from "amqplib";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertOrderTopology, ORDER_DEAD_LETTER, ORDER_QUEUE, type ServiceApp } from "@mesh/service-kit";
import { waitFor } from "../../../test/support/net.js";
import { buildApps, startBuiltApp, testBaseConfig, type StartedApp } from "../../shared/test/support/apps.js";
import { createTestDatabase, createTestVhost, withSql, type TestDatabase, type TestVhost } from "../../shared/test/support/backends.js";
import { listenOnLoopback } from "../../shared/test/support/http.js";
import { consumedCount } from "../../shared/test/support/metrics.js";
import { buildCatalogApp, migrateCatalog } from "../../catalog/src/app.js";
import { buildWorkerApp } from "../../order-worker/src/app.js";
import { buildOrdersApp, migrateOrders } from "../src/app.js";
import { metricValue, ordersTestConfig } from "./support.js";

let catalogDb: TestDatabase;
let catalog: ServiceApp;
let catalogUrl: string;
let productId: string;

beforeAll(async () => {
  await buildApps();
  catalogDb = await createTestDatabase();
  const catalogConfig = { ...testBaseConfig("catalog"), databaseUrl: catalogDb.url, dbPoolMax: 5 };
  catalog = await buildCatalogApp(catalogConfig);
  await migrateCatalog(catalogConfig, catalog.log);
  catalogUrl = await listenOnLoopback(catalog);
  productId = (await catalog.inject({ method: "POST", url: "/products", payload: { sku: "relay-1", name: "r", priceCents: 3 } })).json<{ id: string }>().id;
}, 240_000);

afterAll(async () => {
  await catalog?.close();
  await catalogDb?.drop();
});

async function fulfilmentCounts(databaseUrl: string): Promise<{ fulfilled: number; events: number; appliedTwice: number; unpublished: number }> {
  return withSql(databaseUrl, async (sql) => {
    const { rows } = await sql.query<{ fulfilled: string; events: string; twice: string; unpublished: string }>(`
      SELECT (SELECT count(*) FROM orders WHERE status = 'fulfilled') AS fulfilled,
             (SELECT count(*) FROM order_events WHERE kind = 'fulfilled') AS events,
             (SELECT count(*) FROM (SELECT order_id FROM order_events WHERE kind = 'fulfilled' GROUP BY order_id HAVING count(*) > 1) t) AS twice,
             (SELECT count(*) FROM order_outbox WHERE published_at IS NULL) AS unpublished`);
    const r = rows[0]!;
    return { fulfilled: Number(r.fulfilled), events: Number(r.events), appliedTwice: Number(r.twice), unpublished: Number(r.unpublished) };
  });
}

describe("two replicas share one outbox", () => {
  const ORDERS = 300;
  let db: TestDatabase;
  let vhost: TestVhost;
  const replicas: ServiceApp[] = [];
  let worker: ServiceApp;

  beforeAll(async () => {
    [db, vhost] = await Promise.all([createTestDatabase(), createTestVhost()]);
    const config = ordersTestConfig({ databaseUrl: db.url, amqpUrl: vhost.url, catalogUrl, relayBatchSize: 20, relayPollMs: 50 });
    for (let i = 0; i < 2; i++) replicas.push(await buildOrdersApp(config));
    await migrateOrders(config, replicas[0]!.log);
    worker = await buildWorkerApp({ ...testBaseConfig("order-worker"), databaseUrl: db.url, amqpUrl: vhost.url, dbPoolMax: 5, prefetch: 20, maxAttempts: 3, retryDelayMs: 100 });
    await worker.ready();
    await waitFor("replicas and worker ready", async () => (await Promise.all([...replicas, worker].map((a) => a.inject("/readyz")))).every((r) => r.statusCode === 200), 20_000);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([...replicas, worker].map((a) => a?.close()));
    await Promise.allSettled([db?.drop(), vhost?.remove()]);
  });

  it("publishes every message exactly once and fulfils every order once", async () => {
    let next = 0;
    const statuses: number[] = [];
    // Eight clients, alternating replicas; both relays poll often, so each also claims the other's rows.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ORDERS) {
          const replica = replicas[next++ % 2]!;
          statuses.push((await replica.inject({ method: "POST", url: "/orders", payload: { items: [{ productId, quantity: 1 }] } })).statusCode);
        }
      }),
    );
    await waitFor("every order fulfilled", async () => (await fulfilmentCounts(db.url)).fulfilled === ORDERS, 30_000, 100);
    const counts = await fulfilmentCounts(db.url);
    const perReplica = await Promise.all(replicas.map(async (r) => metricValue((await r.inject("/metrics")).body, 'amqp_published_total{outcome="confirmed"}')));
    const duplicates = consumedCount((await worker.inject("/metrics")).body, "duplicate");
    console.log(`outbox-two-replicas: ${JSON.stringify({ orders: ORDERS, ...counts, publishedPerReplica: perReplica, duplicates })}`);
    expect(statuses.every((s) => s === 202)).toBe(true);
    expect(counts).toEqual({ fulfilled: ORDERS, events: ORDERS, appliedTwice: 0, unpublished: 0 });
    expect(perReplica[0]! + perReplica[1]!).toBe(ORDERS);
    expect(duplicates).toBe(0);
  });
});

describe("the relay killed mid-batch", () => {
  const ORDERS = 2000;
  const BATCH = 500;
  let db: TestDatabase;
  let vhost: TestVhost;
  const started: StartedApp[] = [];

  beforeAll(async () => {
    [db, vhost] = await Promise.all([createTestDatabase(), createTestVhost()]);
  });

  afterAll(async () => {
    await Promise.allSettled(started.map((a) => a.process.stop()));
    await Promise.allSettled([db?.drop(), vhost?.remove()]);
  });

  async function queueDepths(): Promise<{ queued: number; dead: number }> {
    const connection = await amqplib.connect(vhost.url);
    try {
      const channel = await connection.createChannel();
      return { queued: (await channel.checkQueue(ORDER_QUEUE)).messageCount, dead: (await channel.checkQueue(ORDER_DEAD_LETTER)).messageCount };
    } finally {
      await connection.close();
    }
  }

  it("loses nothing and fulfils nothing twice", async () => {
    const env = { DATABASE_URL: db.url, AMQP_URL: vhost.url, CATALOG_URL: catalogUrl, RELAY_BATCH_SIZE: String(BATCH) };
    // The topology and the schema first, then a backlog as orders leave it while the broker is away.
    const connection = await amqplib.connect(vhost.url);
    await assertOrderTopology(await connection.createConfirmChannel());
    await connection.close();
    const probe = await buildOrdersApp(ordersTestConfig({ databaseUrl: db.url, amqpUrl: vhost.url, catalogUrl }));
    await migrateOrders({ databaseUrl: db.url }, probe.log);
    await probe.close();
    const ids = Array.from({ length: ORDERS }, () => randomUUID());
    await withSql(db.url, async (sql) => {
      await sql.query("INSERT INTO orders (id, status, items) SELECT id, 'pending', '[]'::jsonb FROM unnest($1::uuid[]) AS id", [ids]);
      await sql.query("INSERT INTO order_outbox (order_id) SELECT id FROM unnest($1::uuid[]) AS id", [ids]);
    });

    // The first relay starts on the backlog. A SHARE lock on the outbox lets it claim
    // a batch (row locks) and publish it, but holds its UPDATE that marks the batch
    // published: the process is killed right there, confirmed and unmarked.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    let afterKill: number;
    let inQueueAfterKill: number;
    try {
      await holder.query("BEGIN; LOCK TABLE order_outbox IN SHARE MODE");
      const doomed = await startBuiltApp("orders", env);
      started.push(doomed);
      // Nothing else writes to this database: a session waiting on a lock is the relay's marking UPDATE.
      await waitFor("the relay's mark waiting behind the lock, its batch confirmed", async () => {
        // From a connection of its own: inside the holder's transaction pg_stat_activity would stay as first read.
        const waiting = await withSql(db.url, async (sql) =>
          Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")).rows[0]?.n),
        );
        return waiting > 0;
      }, 30_000, 20).catch(async (err: unknown) => {
        const activity = await withSql(db.url, async (sql) => (await sql.query("SELECT state, wait_event_type, left(query, 80) AS query FROM pg_stat_activity WHERE datname = current_database()")).rows);
        throw new Error(`${(err as Error).message}; sessions: ${JSON.stringify(activity)}; orders output: ${doomed.process.output().slice(-2000)}`);
      });
      doomed.process.child.kill("SIGKILL");
      await new Promise((resolve) => doomed.process.child.once("exit", resolve));
      inQueueAfterKill = (await queueDepths()).queued;
      afterKill = Number((await holder.query<{ n: string }>("SELECT count(*) AS n FROM order_outbox WHERE published_at IS NOT NULL")).rows[0]?.n);
    } finally {
      await holder.query("COMMIT").catch(() => {});
      await holder.end();
    }

    // Another replica takes over; the worker consumes everything.
    started.push(await startBuiltApp("orders", env));
    const worker = await startBuiltApp("order-worker", { DATABASE_URL: db.url, AMQP_URL: vhost.url, PREFETCH: "50" });
    started.push(worker);
    await waitFor("every order fulfilled", async () => (await fulfilmentCounts(db.url)).fulfilled === ORDERS, 60_000, 200);
    const counts = await fulfilmentCounts(db.url);
    const workerMetrics = await (await fetch(`${worker.baseUrl}/metrics`)).text();
    const duplicates = consumedCount(workerMetrics, "duplicate");
    const depths = await queueDepths();
    console.log(`outbox-relay-killed: ${JSON.stringify({ orders: ORDERS, batch: BATCH, inQueueAfterKill, markedPublishedAtKill: afterKill, ...counts, duplicates, ...depths })}`);

    // The kill hit a batch in flight: a whole batch in the broker, none of its rows marked.
    expect(inQueueAfterKill).toBe(BATCH);
    expect(afterKill).toBe(0);
    expect(counts).toEqual({ fulfilled: ORDERS, events: ORDERS, appliedTwice: 0, unpublished: 0 });
    // Those messages were published again, and the worker recognised every copy.
    expect(duplicates).toBe(BATCH);
    expect(depths).toEqual({ queued: 0, dead: 0 });
  }, 120_000);
});
