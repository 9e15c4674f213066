// The worker rides out a Postgres restart. The built worker (`node
// apps/order-worker/dist/main.js`) writes to a private Postgres and consumes from
// a vhost of its own on the shared RabbitMQ. Pending orders are stored and their
// messages published; Postgres is stopped while the worker consumes, more
// messages arrive during the outage, then Postgres comes back. At the end every
// order is fulfilled exactly once, nothing was dead-lettered, /readyz failed
// during the outage and recovered, and the process never exited.
import { randomUUID } from "node:crypto";
import amqplib from "amqplib";
import { afterAll, beforeAll, expect, it } from "vitest";
import { assertOrderTopology, ORDER_DEAD_LETTER, ORDER_PLACED_ROUTING_KEY, ORDER_QUEUE, ORDERS_EXCHANGE } from "@mesh/service-kit";
import { waitFor } from "../../../test/support/net.js";
import { buildApps, startBuiltApp, type StartedApp } from "../../shared/test/support/apps.js";
import { createTestDatabase, createTestVhost, withSql, type TestVhost } from "../../shared/test/support/backends.js";
import { consumedCount } from "../../shared/test/support/metrics.js";
import { PrivatePostgres } from "../../shared/test/support/private-stores.js";

/** Published before the outage (the worker is consuming these when Postgres stops). */
const BEFORE = 200;
/** Published while Postgres is down. */
const DURING = 100;
/** Low, so that an outage wrongly counted as a failed attempt would dead-letter quickly. */
const MAX_ATTEMPTS = 3;

let postgres: PrivatePostgres;
let vhost: TestVhost;
let worker: StartedApp;
let databaseUrl: string;

beforeAll(async () => {
  await buildApps();
  [postgres, vhost] = await Promise.all([PrivatePostgres.start(), createTestVhost()]);
  databaseUrl = (await createTestDatabase(postgres.url)).url;
  worker = await startBuiltApp("order-worker", {
    DATABASE_URL: databaseUrl,
    AMQP_URL: vhost.url,
    PREFETCH: "10",
    MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    RETRY_DELAY_MS: "100",
  });
  await waitFor("worker ready", async () => (await fetch(`${worker.baseUrl}/readyz`)).status === 200, 30_000);
}, 180_000);

afterAll(async () => {
  if (worker && worker.process.child.exitCode !== null) console.log(`order-worker exited (${worker.process.child.exitCode}):\n${worker.process.output().slice(-4000)}`);
  await worker?.process.stop();
  await Promise.allSettled([postgres?.destroy(), vhost?.remove()]);
});

async function countFulfilled(ids: string[]): Promise<number> {
  return withSql(databaseUrl, async (sql) => Number((await sql.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'fulfilled'", [ids])).rows[0]?.n));
}

async function consumed(outcome: string): Promise<number> {
  return consumedCount(await (await fetch(`${worker.baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text(), outcome);
}

async function readyStatus(): Promise<number> {
  return (await fetch(`${worker.baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) })).status;
}

it("fulfils every order exactly once across a Postgres restart, dead-letters none and never exits", async () => {
  const ids = Array.from({ length: BEFORE + DURING }, () => randomUUID());
  // Every order is stored as pending (committed) before its message exists, as the orders service does.
  await withSql(databaseUrl, async (sql) => {
    await sql.query("INSERT INTO orders (id, status, items) SELECT id, 'pending', '[]'::jsonb FROM unnest($1::uuid[]) AS id", [ids]);
    await sql.query("INSERT INTO order_events (order_id, kind) SELECT id, 'placed' FROM unnest($1::uuid[]) AS id", [ids]);
  });

  const connection = await amqplib.connect(vhost.url);
  try {
    const channel = await connection.createConfirmChannel();
    await assertOrderTopology(channel);
    const publish = async (batch: string[]) => {
      for (const id of batch) {
        channel.publish(ORDERS_EXCHANGE, ORDER_PLACED_ROUTING_KEY, Buffer.from(JSON.stringify({ orderId: id })), { persistent: true, mandatory: true, messageId: id });
      }
      await channel.waitForConfirms();
    };

    await publish(ids.slice(0, BEFORE));
    // Stop Postgres as soon as the worker is under way, while it still has messages to handle.
    let fulfilledWhenStopping = 0;
    await waitFor("the worker fulfilling orders", async () => (fulfilledWhenStopping = await countFulfilled(ids)) >= 10, 20_000, 10);
    await postgres.stop();
    const readyDuring = await readyStatus();
    const healthDuring = (await fetch(`${worker.baseUrl}/healthz`)).status;

    await publish(ids.slice(BEFORE));
    // The outage reaches the worker: messages are requeued (not counted as attempts) until Postgres is back.
    await waitFor("messages requeued during the outage", async () => (await consumed("retried")) >= 2 * DURING, 30_000, 50);
    const retriedDuring = await consumed("retried");
    expect(worker.process.child.exitCode).toBeNull();

    await postgres.resume();
    await waitFor("worker ready again", async () => (await readyStatus()) === 200, 20_000, 100);
    await waitFor("every order fulfilled", async () => (await countFulfilled(ids)) === ids.length, 30_000, 100);

    const fulfilled = await countFulfilled(ids);
    const events = await withSql(databaseUrl, async (sql) =>
      (await sql.query<{ order_id: string; n: string }>("SELECT order_id, count(*) AS n FROM order_events WHERE kind = 'fulfilled' GROUP BY order_id")).rows,
    );
    const appliedTwice = events.filter((e) => Number(e.n) > 1).length;
    const { messageCount: deadLettered } = await channel.checkQueue(ORDER_DEAD_LETTER);
    const { messageCount: left } = await channel.checkQueue(ORDER_QUEUE);
    const counts = {
      orders: ids.length,
      fulfilledWhenStopping,
      fulfilled,
      fulfilmentEvents: events.length,
      lost: ids.length - fulfilled,
      appliedTwice,
      deadLettered,
      deadLetteredMetric: await consumed("dead_lettered"),
      requeuedDuringOutage: retriedDuring,
      leftInQueue: left,
      readyDuring,
      readyAfter: await readyStatus(),
    };
    console.log(`worker-postgres-restart: ${JSON.stringify(counts)}`);

    expect(readyDuring).toBe(503);
    expect(healthDuring).toBe(200);
    expect(counts.readyAfter).toBe(200);
    expect(counts.lost).toBe(0);
    expect(counts.fulfilmentEvents).toBe(ids.length);
    expect(counts.appliedTwice).toBe(0);
    expect(counts.deadLettered).toBe(0);
    expect(counts.deadLetteredMetric).toBe(0);
    expect(counts.leftInQueue).toBe(0);
    expect(worker.process.child.exitCode).toBeNull();
    expect(worker.process.child.signalCode).toBeNull();
  } finally {
    await connection.close();
  }
}, 60_000);
