// No message lost: a private RabbitMQ node is restarted while orders are being
// placed and the worker consumes. The orders service and the worker run as the
// built processes (`node apps/<name>/dist/main.js`). At the end every order that
// got 202 must be fulfilled exactly once in the database.
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ServiceApp } from "@mesh/service-kit";
import { waitFor } from "../../../test/support/net.js";
import { buildApps, startBuiltApp, testBaseConfig, type StartedApp } from "../../shared/test/support/apps.js";
import { createTestDatabase, type TestDatabase } from "../../shared/test/support/backends.js";
import { listenOnLoopback } from "../../shared/test/support/http.js";
import { PrivateRabbitMq } from "../../shared/test/support/private-stores.js";
import { buildCatalogApp, migrateCatalog } from "../../catalog/src/app.js";

const ORDERS = 200;
/** Keep placing past ORDERS until the restart is over, but never more than this. */
const MAX_ORDERS = 2000;
/** Orders placed once the broker is back, at the least. */
const AFTER_RESTART = 50;
const CONCURRENCY = 8;
const RESTART_AFTER = 50;

let broker: PrivateRabbitMq;
let catalogDb: TestDatabase;
let ordersDb: TestDatabase;
let catalog: ServiceApp;
let orders: StartedApp;
let worker: StartedApp;
let productId: string;

beforeAll(async () => {
  await buildApps();
  [broker, catalogDb, ordersDb] = await Promise.all([PrivateRabbitMq.start(), createTestDatabase(), createTestDatabase()]);
  const catalogConfig = { ...testBaseConfig("catalog"), databaseUrl: catalogDb.url, dbPoolMax: 5 };
  catalog = await buildCatalogApp(catalogConfig);
  await migrateCatalog(catalogConfig, catalog.log);
  const catalogUrl = await listenOnLoopback(catalog);
  productId = (await catalog.inject({ method: "POST", url: "/products", payload: { sku: "nl-1", name: "n", priceCents: 5 } })).json<{ id: string }>().id;
  const common = { DATABASE_URL: ordersDb.url, AMQP_URL: broker.url };
  [orders, worker] = await Promise.all([
    startBuiltApp("orders", { ...common, CATALOG_URL: catalogUrl, PUBLISH_TIMEOUT_MS: "2000" }),
    startBuiltApp("order-worker", { ...common, PREFETCH: "20", RETRY_DELAY_MS: "200" }),
  ]);
  for (const app of [orders, worker]) {
    await waitFor(`${app.baseUrl} ready`, async () => (await fetch(`${app.baseUrl}/readyz`)).status === 200, 30_000);
  }
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([orders?.process.stop(), worker?.process.stop(), catalog?.close()]);
  await Promise.allSettled([broker?.destroy(), catalogDb?.drop(), ordersDb?.drop()]);
});

it("loses no accepted order and applies none twice across a broker restart", async () => {
  const accepted: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  let restart: Promise<void> | undefined;
  let restarted = false;
  let placedAfterRestart = 0;

  async function placeOrders(): Promise<void> {
    // Orders keep coming before, during and after the restart.
    while ((next < ORDERS || placedAfterRestart < AFTER_RESTART) && next < MAX_ORDERS) {
      const n = next++;
      if (n === RESTART_AFTER) restart = broker.stop().then(() => broker.resume()).then(() => void (restarted = true));
      if (restarted) placedAfterRestart++;
      const res = await fetch(`${orders.baseUrl}/orders`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { id?: string };
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 202 && body.id) accepted.push(body.id);
      // While the broker restarts, orders are refused quickly: pace those retries a little.
      if (res.status === 503) await new Promise((r) => setTimeout(r, 50));
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, placeOrders));
  await restart;

  const sql = new pg.Client({ connectionString: ordersDb.url });
  await sql.connect();
  try {
    await waitFor("every accepted order fulfilled", async () => {
      const { rows } = await sql.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'fulfilled'", [accepted]);
      return Number(rows[0]?.n) === accepted.length;
    }, 45_000, 250).catch(() => {});
    const fulfilled = Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'fulfilled'", [accepted])).rows[0]?.n);
    const appliedTwice = Number(
      (await sql.query<{ n: string }>("SELECT count(*) AS n FROM (SELECT order_id FROM order_events WHERE kind = 'fulfilled' GROUP BY order_id HAVING count(*) > 1) twice")).rows[0]?.n,
    );
    const refusedButFulfilled = Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE status = 'failed' AND id IN (SELECT order_id FROM order_events WHERE kind = 'fulfilled')")).rows[0]?.n);
    // A refused order leaves no row (publish-before-commit), so nothing may be left pending either.
    const stuckPending = Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE status = 'pending'")).rows[0]?.n);
    const counts = { placed: next, placedAfterRestart, accepted: accepted.length, refused: statuses.get(503) ?? 0, fulfilled, lost: accepted.length - fulfilled, appliedTwice, refusedButFulfilled, stuckPending };
    console.log(`no-message-lost: ${JSON.stringify(counts)} statuses=${JSON.stringify(Object.fromEntries(statuses))}`);

    expect([...statuses.keys()].every((s) => s === 202 || s === 503)).toBe(true);
    expect(restarted).toBe(true);
    expect(placedAfterRestart).toBeGreaterThanOrEqual(AFTER_RESTART);
    expect(accepted.length).toBeGreaterThan(0);
    expect(counts.lost).toBe(0);
    expect(counts.appliedTwice).toBe(0);
    expect(counts.refusedButFulfilled).toBe(0);
    expect(counts.stuckPending).toBe(0);
    // Both services rode out the restart.
    expect(orders.process.child.exitCode).toBeNull();
    expect(worker.process.child.exitCode).toBeNull();
  } finally {
    await sql.end();
  }
}, 120_000);
