// Orders: accepted orders next to raw confirmed publishes, the outbox's commit-to-
// confirm lag, and the worker's drain rate.
import { randomUUID } from "node:crypto";
import amqp from "amqplib";
import pg from "pg";
import type { LocalMesh, ReplicaEndpoints } from "../../../infra/local/mesh.js";
import { DEFAULT_TRACE_SAMPLING_PERCENT } from "../../../infra/model.js";
import { comparison, LOAD_GENERATOR, log, pidsOf, replicaOf, sharedBrokerPid } from "../common.js";
import { interleave } from "../interleave.js";
import { closedLoop, closedLoopHttp, type HttpLoadResult, type RunResult } from "../load.js";
import type { Options } from "../options.js";
import { ratio, round } from "../stats.js";
import { renderTable, type Cell } from "../table.js";
/** A B3 context marked "not sampled": the app and the sidecars record no span for the request. */
export const UNSAMPLED_B3 = { "x-b3-traceid": "0af7651916cd43dd8448eb211c80319c", "x-b3-spanid": "b7ad6b7169203331", "x-b3-sampled": "0" };

/**
 * Orders accepted (validated against catalog, stored with their outbox row: 202)
 * vs raw confirm-channel publishes, side by side; how long accepted orders then
 * waited in the outbox until the broker confirmed them; and the worker's drain rate.
 */
export async function ordersThroughput(mesh: LocalMesh, o: Options, productId: string) {
  const orders = replicaOf(mesh, "orders");
  // Straight to the stores, as the orders app logs in: the raw publisher stands in for its outbox relay.
  const dbUrl = mesh.appDataStoreUrl("postgres");
  const orderBody = { items: [{ productId, quantity: 1 }] };
  log(`orders: POST vs raw confirm-channel publishes, concurrency ${o.concurrency}`);
  const since = new Date();
  const ordersVsPublish = await ordersVsRawPublish(mesh, o, orders, orderBody);
  const lag = await outboxLag(dbUrl, since);
  const drain = await workerDrain(mesh, o, dbUrl, orders, orderBody);
  return { ordersVsPublish, outboxLag: lag, workerDrain: drain };
}

export type OrdersThroughput = Awaited<ReturnType<typeof ordersThroughput>>;

/** Orders accepted by the orders app next to raw confirm-channel publishes to a bench-only queue, at the same concurrency. */
async function ordersVsRawPublish(mesh: LocalMesh, o: Options, orders: ReplicaEndpoints, orderBody: unknown) {
  const slice = (o.durationS * 1000) / o.rounds;
  const c = o.concurrency;
  const connection = await amqp.connect(mesh.appDataStoreUrl("rabbitmq"));
  const channel = await connection.createConfirmChannel();
  const queue = `bench.confirms.${process.pid}`;
  try {
    // Same settings as the order queue (durable, persistent, mandatory), on a bench-only queue deleted below.
    await channel.assertQueue(queue, { durable: true });
    const payload = Buffer.from(JSON.stringify({ orderId: randomUUID() }));
    const publish = () =>
      new Promise<void>((resolve, reject) =>
        channel.sendToQueue(queue, payload, { persistent: true, mandatory: true, contentType: "application/json", messageId: randomUUID() }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    const rounds = await interleave<RunResult | HttpLoadResult>(
      [
        { name: "orders app POST /orders (202)", run: () => closedLoopHttp({ url: `${orders.app}/orders`, method: "POST", body: orderBody, expectStatus: 202, connections: c, durationMs: slice }) },
        // What the same orders cost untraced, as most are when the edge samples a share (mesh:traceSamplingPercent).
        {
          name: "orders app POST /orders (202), not traced",
          run: () => closedLoopHttp({ url: `${orders.app}/orders`, method: "POST", body: orderBody, headers: UNSAMPLED_B3, expectStatus: 202, connections: c, durationMs: slice }),
        },
        { name: "raw confirm-channel publish", run: () => closedLoop({ concurrency: c, durationMs: slice, op: publish }) },
      ],
      o.rounds,
      // Every process an order passes through, Postgres with its backends and the broker included.
      { ...pidsOf(mesh, ["orders-0", "orders-sidecar-0", "catalog-0", "catalog-sidecar-0", "order-worker-0", "zipkin", "postgres"]), ...sharedBrokerPid() },
    );
    const cmp = comparison(rounds, "raw confirm-channel publish");
    const orderCpuMs = (variant: string) => pathCpuMsPerOperation(rounds[variant]!.usage, cmp.variants[variant]!.ok);
    const traced = orderCpuMs("orders app POST /orders (202)");
    const untraced = orderCpuMs("orders app POST /orders (202), not traced");
    const throughput = (name: string) => cmp.variants[name]!.throughput ?? Number.NaN;
    return {
      concurrency: c,
      ...cmp,
      acceptedToRawPublishRatio: {
        traced: round(ratio(throughput("orders app POST /orders (202)"), throughput("raw confirm-channel publish")), 3),
        untraced: round(ratio(throughput("orders app POST /orders (202), not traced"), throughput("raw confirm-channel publish")), 3),
      },
      cpuMsPerAcceptedOrder: {
        traced: round(traced, 3),
        untraced: round(untraced, 3),
        // The stack's default samples DEFAULT_TRACE_SAMPLING_PERCENT of requests at the edge: that blend of the two.
        atDefaultSampling: round((traced * DEFAULT_TRACE_SAMPLING_PERCENT + untraced * (100 - DEFAULT_TRACE_SAMPLING_PERCENT)) / 100, 3),
        defaultSamplingPercent: DEFAULT_TRACE_SAMPLING_PERCENT,
        processes: Object.keys(rounds["orders app POST /orders (202)"]!.usage).filter((name) => name !== LOAD_GENERATOR),
      },
    };
  } finally {
    await channel.deleteQueue(queue).catch(() => {});
    await connection.close().catch(() => {});
  }
}

/** CPU ms per operation summed over every sampled process but the load generator. */
export function pathCpuMsPerOperation(usage: Readonly<Record<string, { cpuSeconds: number }>>, operations: number): number {
  const cpuSeconds = Object.entries(usage).reduce((sum, [name, u]) => (name === LOAD_GENERATOR ? sum : sum + u.cpuSeconds), 0);
  return operations > 0 ? (cpuSeconds * 1000) / operations : Number.NaN;
}

/** Commit to broker confirm of every order placed since `since`, from the outbox's own timestamps (once all are published). */
export async function outboxLag(databaseUrl: string, since: Date) {
  const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const unpublished = async () => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM order_outbox WHERE published_at IS NULL AND created_at >= $1", [since])).rows[0]?.n);
    const deadline = Date.now() + 60_000;
    while ((await unpublished()) > 0) {
      if (Date.now() > deadline) throw new Error("the outbox did not drain within 60 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = (
      await db.query<{ n: string; p50: number; p99: number; max: number }>(
        `SELECT count(*) AS n,
                1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at)) AS p50,
                1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at)) AS p99,
                1000 * max(extract(epoch FROM published_at - created_at))::float8 AS max
         FROM order_outbox WHERE created_at >= $1`,
        [since],
      )
    ).rows[0]!;
    return { orders: Number(r.n), p50Ms: round(r.p50, 2), p99Ms: round(r.p99, 2), maxMs: round(r.max, 2) };
  } finally {
    await db.end();
  }
}

/**
 * The worker's drain rate: with the worker stopped, place N real orders (so N real
 * messages wait in the queue), start the worker again and time the fulfilments
 * from the orders' own updated_at (first to last), which leaves the worker's
 * start-up out.
 */
export async function workerDrain(mesh: LocalMesh, o: Options, databaseUrl: string, orders: ReplicaEndpoints, orderBody: unknown) {
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const pending = async () => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE status = 'pending'")).rows[0]?.n ?? 0);
  const waitFor = async (what: string, done: () => Promise<boolean>, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    log("orders: worker drain: waiting for earlier orders to be fulfilled");
    await waitFor("the worker to catch up with earlier orders", async () => (await pending()) === 0, 120_000);
    await mesh.killReplica("order-worker", 0);
    log(`orders: worker drain: worker stopped, placing ${o.drain} orders`);
    const placed = await closedLoopHttp({ url: `${orders.app}/orders`, method: "POST", body: orderBody, expectStatus: 202, connections: o.concurrency, amount: o.drain });
    const ids = (await db.query<{ id: string }>("SELECT id FROM orders WHERE status = 'pending'")).rows.map((r) => r.id);
    log(`orders: worker drain: ${ids.length} orders pending; starting the worker`);
    const revived = Date.now();
    await mesh.reviveReplica("order-worker", 0);
    await waitFor("the backlog to drain", async () => (await pending()) === 0, 300_000);
    const done = Date.now();
    const r = (
      await db.query<{ n: string; first: number; last: number }>(
        "SELECT count(*) AS n, extract(epoch FROM min(updated_at))::float8 AS first, extract(epoch FROM max(updated_at))::float8 AS last FROM orders WHERE id = ANY($1) AND status = 'fulfilled'",
        [ids],
      )
    ).rows[0]!;
    const fulfilled = Number(r.n);
    const span = r.last - r.first;
    return {
      placed: placed.ok,
      backlog: ids.length,
      fulfilled,
      prefetch: "worker default (PREFETCH unset: 10)",
      firstToLastSeconds: round(span, 3),
      drainRatePerSecond: round(fulfilled > 1 && span > 0 ? (fulfilled - 1) / span : Number.NaN, 1),
      wallSecondsIncludingWorkerStart: round((done - revived) / 1000, 2),
    };
  } finally {
    await db.end();
  }
}

export function printOrders(orders: OrdersThroughput): void {
  const cmp = orders.ordersVsPublish;
  console.log(`\n3. Orders: accepted (202, stored with the outbox row) vs raw confirm-channel publishes, concurrency ${cmp.concurrency} (closed loop; latency ms)`);
  const rows: Cell[][] = Object.entries(cmp.variants).map(([name, f]) => [name, f.throughput, f.p50, f.p99, f.errors]);
  console.log(renderTable(["variant", "ops/s", "p50", "p99", "errors"], rows));
  console.log("CPU per 1000 operations (ms) of the processes on the orders path, by variant");
  const procRows: Cell[][] = [];
  for (const [name, f] of Object.entries(cmp.variants)) {
    for (const [proc, u] of Object.entries(f.processes)) procRows.push([name, proc, u.cpuPercentOfOneCore, u.cpuMsPer1kRequests]);
  }
  console.log(renderTable(["variant", "process", "CPU %", "CPU ms/1k"], procRows));
  const perOrder = cmp.cpuMsPerAcceptedOrder;
  console.log(
    `CPU per accepted order over ${perOrder.processes.join(", ")}: ${perOrder.traced} ms traced, ${perOrder.untraced} ms untraced, ${perOrder.atDefaultSampling} ms at the default ${perOrder.defaultSamplingPercent} % sampling`,
  );
  console.log(`Orders accepted / raw confirmed publishes: ${cmp.acceptedToRawPublishRatio.traced} (every order traced), ${cmp.acceptedToRawPublishRatio.untraced} (not traced)`);
  const lag = orders.outboxLag;
  console.log(`Outbox, commit to broker confirm, ${lag.orders} orders: p50 ${lag.p50Ms} ms, p99 ${lag.p99Ms} ms, max ${lag.maxMs} ms`);
  const d = orders.workerDrain;
  console.log(`Worker drain: ${d.fulfilled}/${d.backlog} backlog orders fulfilled, ${d.drainRatePerSecond} orders/s (first to last fulfilment ${d.firstToLastSeconds} s; ${d.wallSecondsIncludingWorkerStart} s including the worker's start-up)`);
}
