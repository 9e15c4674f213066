// No order lost, none refused: a private RabbitMQ node is stopped for 30 s while
// orders keep coming, then started again. The orders service and the worker run
// as the built processes (`node apps/<name>/dist/main.js`). Every order must be
// accepted (202: it waits in the outbox meanwhile), and once the broker is back
// every one must be fulfilled exactly once.
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ServiceApp } from "@mesh/service-kit";
import { waitFor } from "../../../test/support/net.js";
import { buildApps, startBuiltApp, testBaseConfig, type StartedApp } from "../../shared/test/support/apps.js";
import { createTestDatabase, type TestDatabase } from "../../shared/test/support/backends.js";
import { listenOnLoopback } from "../../shared/test/support/http.js";
import { PrivateRabbitMq } from "../../shared/test/support/private-stores.js";
import { buildCatalogApp, migrateCatalog } from "../../catalog/src/app.js";

/** How long the broker stays down while orders keep coming. */
const OUTAGE_MS = 30_000;
/** Orders placed before the stop and after the restart, each. */
const AROUND_OUTAGE = 100;
/** Pace of the clients: a steady stream of about 25 orders/s, so about a thousand in all during the outage. */
const CLIENTS = 4;
const PAUSE_MS = 150;

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

type Phase = "before" | "during" | "after";

it(`accepts every order while the broker is down for ${OUTAGE_MS / 1000} s, and fulfils each once after the restart`, async () => {
  const accepted: string[] = [];
  const statuses = new Map<number, number>();
  const placedIn: Record<Phase, number> = { before: 0, during: 0, after: 0 };
  let phase: Phase = "before";
  let readyDuringOutage: number | undefined;

  async function client(): Promise<void> {
    while (phase !== "after" || placedIn.after < AROUND_OUTAGE) {
      const at = phase;
      const res = await fetch(`${orders.baseUrl}/orders`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { id?: string };
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      placedIn[at]++;
      if (res.status === 202 && body.id) accepted.push(body.id);
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  }

  async function outage(): Promise<void> {
    await waitFor("orders before the outage", async () => placedIn.before >= AROUND_OUTAGE, 60_000, 20);
    await broker.stop();
    phase = "during";
    const stoppedAt = Date.now();
    await waitFor("orders to flow during the outage", async () => placedIn.during >= 10, 20_000, 20);
    readyDuringOutage = (await fetch(`${orders.baseUrl}/readyz`)).status;
    // The outage lasts its full length, whatever the clients do meanwhile.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
    await broker.resume();
    phase = "after";
  }

  await Promise.all([outage(), ...Array.from({ length: CLIENTS }, client)]);

  const sql = new pg.Client({ connectionString: ordersDb.url });
  await sql.connect();
  try {
    const fulfilledCount = async () => Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'fulfilled'", [accepted])).rows[0]?.n);
    await waitFor("every accepted order fulfilled", async () => (await fulfilledCount()) === accepted.length, 60_000, 250).catch(() => {});
    const fulfilled = await fulfilledCount();
    const appliedTwice = Number(
      (await sql.query<{ n: string }>("SELECT count(*) AS n FROM (SELECT order_id FROM order_events WHERE kind = 'fulfilled' GROUP BY order_id HAVING count(*) > 1) twice")).rows[0]?.n,
    );
    const unpublished = Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM order_outbox WHERE published_at IS NULL")).rows[0]?.n);
    const placed = placedIn.before + placedIn.during + placedIn.after;
    const counts = { placed, placedIn, accepted: accepted.length, fulfilled, lost: accepted.length - fulfilled, appliedTwice, unpublished, readyDuringOutage };
    console.log(`no-message-lost: ${JSON.stringify(counts)} statuses=${JSON.stringify(Object.fromEntries(statuses))}`);

    expect([...statuses.keys()]).toEqual([202]);
    expect(accepted.length).toBe(placed);
    expect(placedIn.during).toBeGreaterThanOrEqual(100);
    expect(readyDuringOutage).toBe(200);
    expect(counts.lost).toBe(0);
    expect(counts.appliedTwice).toBe(0);
    expect(counts.unpublished).toBe(0);
    // Both services rode out the outage.
    expect(orders.process.child.exitCode).toBeNull();
    expect(worker.process.child.exitCode).toBeNull();
  } finally {
    await sql.end();
  }
}, 180_000);
