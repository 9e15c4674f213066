// `npm run bench -- --out <file.json> [--duration <s>] [--rates 200,500,1000] [--rounds 4]
//   [--concurrency 10] [--connections 32] [--drain 500] [--sections mesh,hops,services,orders,instrumentation]`
//
// Stands the local mesh up, measures side by side (variants interleaved in short
// rounds), prints tables and writes the same figures as JSON. Not a test: no
// thresholds, the figures are for people to read. All traffic is on loopback and
// every run is bounded in time; everything started is stopped at the end.
//   --duration   seconds each variant of each comparison runs, split over --rounds rounds
//   --rates      open-loop request rates (req/s) for the mesh-overhead latency runs
//   --concurrency in-flight operations for service-vs-raw-client comparisons (default 10 = the apps' pg pool size)
//   --connections connections for the maximum-throughput runs
//   --drain      orders in the worker drain backlog
// The mesh's state (configs, logs) goes to .mesh/bench/.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import amqp from "amqplib";
import { Redis } from "ioredis";
import pg from "pg";
import { interleave, type VariantRounds } from "../tools/bench/interleave.js";
import { hopCosts } from "../tools/bench/hops.js";
import { closedLoop, closedLoopHttp, keepAliveAgent, openLoop, type HttpLoadResult, type OpenLoopResult, type RunResult } from "../tools/bench/load.js";
import { describeMachine } from "../tools/bench/machine.js";
import { difference, ratio, round, summarize } from "../tools/bench/stats.js";
import { renderTable, type Cell } from "../tools/bench/table.js";
import { LOCAL_DATABASE } from "../infra/local/apps.js";
import { findBinaries } from "../infra/local/binaries.js";
import { PROJECT_ROOT, startLocalMesh, type LocalMesh, type ReplicaEndpoints } from "../infra/local/mesh.js";
import { POSTGRES_PASSWORD, POSTGRES_USER } from "../infra/local/postgres.js";
import { RABBITMQ_PASSWORD, RABBITMQ_USER } from "../infra/local/rabbitmq.js";
import { DATA_STORES, type ServiceName } from "../infra/model.js";

const SECTIONS = ["mesh", "hops", "services", "orders", "instrumentation"] as const;
type Section = (typeof SECTIONS)[number];

interface Options {
  out: string;
  durationS: number;
  rates: number[];
  rounds: number;
  concurrency: number;
  connections: number;
  drain: number;
  sections: Section[];
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`--${name} takes a positive whole number, got "${text}"`);
  return Number(text);
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      duration: { type: "string" },
      rates: { type: "string" },
      rounds: { type: "string" },
      concurrency: { type: "string" },
      connections: { type: "string" },
      drain: { type: "string" },
      sections: { type: "string" },
    },
    strict: true,
  });
  if (!values.out) throw new Error("--out <file.json> is required");
  const rates = (values.rates ?? "200,500,1000").split(",").map((r) => positiveInt("rates", r.trim(), 0));
  const sections = (values.sections ?? SECTIONS.join(",")).split(",").map((s) => s.trim());
  for (const s of sections) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--sections takes names from ${SECTIONS.join(", ")}, got "${s}"`);
  return {
    out: values.out,
    durationS: positiveInt("duration", values.duration, 10),
    rates,
    rounds: positiveInt("rounds", values.rounds, 4),
    concurrency: positiveInt("concurrency", values.concurrency, 10),
    connections: positiveInt("connections", values.connections, 32),
    drain: positiveInt("drain", values.drain, 500),
    sections: sections as Section[],
  };
}

const log = (message: string) => console.log(`[bench] ${message}`);
const MiB = 1024 * 1024;

function replicaOf(mesh: LocalMesh, service: ServiceName): ReplicaEndpoints {
  const replica = mesh.endpoints.replicas.find((r) => r.service === service && r.replica === 0);
  if (!replica) throw new Error(`no ${service} replica in the mesh`);
  return replica;
}

/** Pids of the named processes (absent ones are skipped) plus this process, the load generator. */
function pidsOf(mesh: LocalMesh, names: readonly string[]): Record<string, number> {
  const all = mesh.processPids();
  return { ...Object.fromEntries(names.filter((n) => all[n] !== undefined).map((n) => [n, all[n]!])), "bench (load generator)": process.pid };
}

/** CPU as % of one core and per 1000 successful requests, and peak RSS, for each sampled process. */
function usageFigures(rounds: VariantRounds<unknown>, okTotal: number) {
  return Object.fromEntries(
    Object.entries(rounds.usage).map(([name, u]) => [
      name,
      {
        cpuPercentOfOneCore: round((u.cpuSeconds / rounds.wallSeconds) * 100, 1),
        cpuMsPer1kRequests: round(okTotal > 0 ? (u.cpuSeconds * 1000) / (okTotal / 1000) : Number.NaN, 1),
        maxRssMiB: round(u.maxRssBytes === undefined ? Number.NaN : u.maxRssBytes / MiB, 1),
      },
    ]),
  );
}

function mergeRuns(runs: readonly RunResult[]) {
  const latencies = runs.flatMap((r) => r.latenciesMs);
  const ok = runs.reduce((a, r) => a + r.ok, 0);
  const errors = runs.reduce((a, r) => a + r.errors, 0);
  const seconds = runs.reduce((a, r) => a + r.elapsedSeconds, 0);
  const s = summarize(latencies);
  return { ok, errors, throughput: round(ok / seconds, 1), p50: round(s.p50, 3), p90: round(s.p90, 3), p99: round(s.p99, 3), max: round(s.max, 3) };
}

function mergeHttp(runs: readonly HttpLoadResult[]) {
  const ok = runs.reduce((a, r) => a + r.ok, 0);
  const errors = runs.reduce((a, r) => a + r.errors, 0);
  const seconds = runs.reduce((a, r) => a + r.elapsedSeconds, 0);
  // autocannon reports per-run percentiles; the median round's value is shown (raw samples are not exposed).
  const mid = (pick: (r: HttpLoadResult) => number) => round([...runs.map(pick)].sort((a, b) => a - b)[runs.length >> 1] ?? Number.NaN, 3);
  return { ok, errors, throughput: round(ok / seconds, 1), p50: mid((r) => r.p50), p90: mid((r) => r.p90), p99: mid((r) => r.p99) };
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 8000);
  await exited;
  clearTimeout(timer);
}

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`${res.url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

// ---------------------------------------------------------------------------------------------
// 1. Mesh overhead

/** Trace share of the extra max-throughput variant: what a loaded stack would set (mesh:traceSamplingPercent). */
const REDUCED_SAMPLING_PERCENT = 10;

/** Runs `run` with the edge tracing `percent` % of requests, then restores the configured share. */
async function withEdgeSampling<T>(edgeAdmin: string, percent: number, run: () => Promise<T>): Promise<T> {
  const set = async (value: string) => {
    const res = await fetch(`${edgeAdmin}/runtime_modify?tracing.random_sampling=${value}`, { method: "POST" });
    if (!res.ok) throw new Error(`edge runtime_modify answered ${res.status}: ${await res.text()}`);
  };
  await set(String(percent));
  try {
    return await run();
  } finally {
    // An empty value removes the override: the config's random_sampling applies again.
    await set("");
  }
}

async function meshOverhead(mesh: LocalMesh, o: Options, productId: string) {
  const catalog = replicaOf(mesh, "catalog");
  const urls = { direct: `${catalog.app}/products/${productId}`, mesh: `${mesh.endpoints.gateway}/api/products/${productId}` };
  const pids = pidsOf(mesh, ["edge-0", "catalog-sidecar-0", "catalog-0"]);
  const slice = (o.durationS * 1000) / o.rounds;
  log("mesh overhead: warming up both paths");
  for (const url of Object.values(urls)) await closedLoopHttp({ url, connections: 4, durationMs: 1000 });

  const fixedRate = [];
  for (const rate of o.rates) {
    log(`mesh overhead: ${rate} req/s open loop, ${o.rounds} interleaved rounds of ${slice / 1000} s per side`);
    const agents = { direct: keepAliveAgent(), mesh: keepAliveAgent() };
    const rounds = await interleave<OpenLoopResult>(
      (["direct", "mesh"] as const).map((name) => ({ name, run: () => openLoop({ url: urls[name], rate, durationMs: slice, agent: agents[name] }) })),
      o.rounds,
      pids,
    );
    Object.values(agents).forEach((a) => a.destroy());
    const side = (name: "direct" | "mesh") => {
      const r = rounds[name]!;
      const merged = mergeRuns(r.results);
      return {
        ...merged,
        sentRate: round(r.results.reduce((a, x) => a + x.sentRate, 0) / r.results.length, 1),
        maxSendLagMs: round(Math.max(...r.results.map((x) => x.maxSendLagMs)), 1),
        processes: usageFigures(r, merged.ok),
      };
    };
    const direct = side("direct");
    const through = side("mesh");
    fixedRate.push({
      rate,
      direct,
      mesh: through,
      addedMs: {
        p50: round(difference(through.p50 ?? NaN, direct.p50 ?? NaN), 3),
        p90: round(difference(through.p90 ?? NaN, direct.p90 ?? NaN), 3),
        p99: round(difference(through.p99 ?? NaN, direct.p99 ?? NaN), 3),
      },
      ratio: {
        p50: round(ratio(through.p50 ?? NaN, direct.p50 ?? NaN)),
        p90: round(ratio(through.p90 ?? NaN, direct.p90 ?? NaN)),
        p99: round(ratio(through.p99 ?? NaN, direct.p99 ?? NaN)),
      },
    });
  }

  log(`mesh overhead: maximum throughput, ${o.connections} connections, unthrottled (mesh tracing 100 % and ${REDUCED_SAMPLING_PERCENT} %)`);
  const edgeAdmin = mesh.endpoints.admin["edge-0"];
  if (!edgeAdmin) throw new Error("the local mesh reports no admin interface for edge-0");
  const maxRun = (name: "direct" | "mesh") => () => closedLoopHttp({ url: urls[name], connections: o.connections, durationMs: slice });
  const maxRounds = await interleave<HttpLoadResult>(
    [
      { name: "direct", run: maxRun("direct") },
      { name: "mesh", run: maxRun("mesh") },
      // The same mesh with the edge tracing fewer requests (admin runtime override, reset after each round).
      { name: "meshSampled", run: () => withEdgeSampling(edgeAdmin, REDUCED_SAMPLING_PERCENT, maxRun("mesh")) },
    ],
    o.rounds,
    pids,
  );
  const maxSide = (name: "direct" | "mesh" | "meshSampled") => {
    const merged = mergeHttp(maxRounds[name]!.results);
    return { ...merged, processes: usageFigures(maxRounds[name]!, merged.ok) };
  };
  const maxDirect = maxSide("direct");
  const maxMesh = maxSide("mesh");
  const maxMeshSampled = maxSide("meshSampled");
  return {
    request: { direct: "GET <catalog app>/products/:id", mesh: "GET <gateway>/api/products/:id (edge Envoy -> catalog sidecar -> app)" },
    fixedRate,
    maxThroughput: {
      connections: o.connections,
      direct: maxDirect,
      mesh: maxMesh,
      ratioMeshToDirect: round(ratio(maxMesh.throughput ?? NaN, maxDirect.throughput ?? NaN), 3),
      meshSampled: { samplingPercent: REDUCED_SAMPLING_PERCENT, ...maxMeshSampled },
      ratioMeshSampledToDirect: round(ratio(maxMeshSampled.throughput ?? NaN, maxDirect.throughput ?? NaN), 3),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Service efficiency

function comparison(rounds: Record<string, VariantRounds<RunResult | HttpLoadResult>>, serviceName: string) {
  const figures = Object.fromEntries(
    Object.entries(rounds).map(([name, r]) => {
      const first = r.results[0];
      const merged = first && "latenciesMs" in first ? mergeRuns(r.results as RunResult[]) : mergeHttp(r.results as HttpLoadResult[]);
      return [name, { ...merged, processes: usageFigures(r, merged.ok) }];
    }),
  );
  const service = figures[serviceName]!;
  const ratios = Object.fromEntries(
    Object.entries(figures)
      .filter(([name]) => name !== serviceName)
      .map(([name, f]) => [name, round(ratio(service.throughput ?? NaN, f.throughput ?? NaN), 3)]),
  );
  return { variants: figures, serviceThroughputRatio: ratios };
}

async function serviceEfficiency(mesh: LocalMesh, o: Options, productId: string) {
  const slice = (o.durationS * 1000) / o.rounds;
  const c = o.concurrency;
  const pgHost = mesh.endpoints.dataStores.postgres;
  const catalog = replicaOf(mesh, "catalog");
  const cart = replicaOf(mesh, "cart");
  const dbUrl = (hostPort: string) => `postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${hostPort}/${LOCAL_DATABASE}`;
  const results: Record<string, unknown> = {};

  // catalog GET by id vs the same SELECT from a pg Pool, straight to Postgres and through the catalog's sidecar TCP proxy.
  {
    log(`services: catalog GET vs raw pg, concurrency ${c}`);
    const direct = new pg.Pool({ connectionString: dbUrl(pgHost), max: c });
    const viaSidecar = new pg.Pool({ connectionString: dbUrl(`${catalog.pod}:${DATA_STORES.postgres.port}`), max: c });
    const select = "SELECT id, sku, name, price_cents FROM products WHERE id = $1";
    const check = async (pool: pg.Pool) => {
      const r = await pool.query(select, [productId]);
      if (r.rowCount !== 1) throw new Error("product not found");
    };
    try {
      await Promise.all([check(direct), check(viaSidecar)]);
      const rounds = await interleave<RunResult | HttpLoadResult>(
        [
          { name: "catalog app GET /products/:id", run: () => closedLoopHttp({ url: `${catalog.app}/products/${productId}`, connections: c, durationMs: slice }) },
          { name: "raw pg SELECT (direct)", run: () => closedLoop({ concurrency: c, durationMs: slice, op: () => check(direct) }) },
          { name: "raw pg SELECT (via catalog sidecar TCP proxy)", run: () => closedLoop({ concurrency: c, durationMs: slice, op: () => check(viaSidecar) }) },
        ],
        o.rounds,
        pidsOf(mesh, ["catalog-0", "catalog-sidecar-0", "postgres"]),
      );
      results.catalogVsPg = { concurrency: c, ...comparison(rounds, "catalog app GET /products/:id") };
    } finally {
      await Promise.all([direct.end(), viaSidecar.end()]);
    }
  }

  // cart item update vs the same MULTI (HSET, EXPIRE, HGETALL) from ioredis.
  {
    log(`services: cart PUT vs raw Redis MULTI, concurrency ${c}`);
    const [host, port] = mesh.endpoints.dataStores.redis.split(":");
    const redis = new Redis({ host, port: Number(port), password: mesh.redisPassword, maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on("error", () => {});
    const cartId = `bench-${process.pid}`;
    const rawKey = `bench:raw-cart:${process.pid}`;
    try {
      await redis.connect();
      const rounds = await interleave<RunResult | HttpLoadResult>(
        [
          {
            name: "cart app PUT /carts/:id/items/:productId",
            run: () => closedLoopHttp({ url: `${cart.app}/carts/${cartId}/items/${productId}`, method: "PUT", body: { quantity: 2 }, connections: c, durationMs: slice }),
          },
          {
            name: "raw Redis MULTI HSET+EXPIRE+HGETALL",
            run: () =>
              closedLoop({
                concurrency: c,
                durationMs: slice,
                op: async () => {
                  const r = await redis.multi().hset(rawKey, productId, 2).expire(rawKey, 3600).hgetall(rawKey).exec();
                  if (!r || r.some(([err]) => err)) throw new Error("transaction failed");
                },
              }),
          },
        ],
        o.rounds,
        pidsOf(mesh, ["cart-0", "cart-sidecar-0", "redis"]),
      );
      results.cartVsRedis = { concurrency: c, ...comparison(rounds, "cart app PUT /carts/:id/items/:productId") };
      await redis.del(rawKey);
    } finally {
      redis.disconnect();
    }
  }

  return results;
}

/** A B3 context marked "not sampled": the app and the sidecars record no span for the request. */
const UNSAMPLED_B3 = { "x-b3-traceid": "0af7651916cd43dd8448eb211c80319c", "x-b3-spanid": "b7ad6b7169203331", "x-b3-sampled": "0" };

/**
 * Orders accepted (validated against catalog, stored with their outbox row: 202)
 * vs raw confirm-channel publishes, side by side; how long accepted orders then
 * waited in the outbox until the broker confirmed them; and the worker's drain rate.
 */
async function ordersThroughput(mesh: LocalMesh, o: Options, productId: string) {
  const slice = (o.durationS * 1000) / o.rounds;
  const c = o.concurrency;
  const orders = replicaOf(mesh, "orders");
  const dbUrl = `postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${mesh.endpoints.dataStores.postgres}/${LOCAL_DATABASE}`;
  const results: Record<string, unknown> = {};
  const vhost = /\(vhost ([^)]+)\)/.exec(mesh.endpoints.dataStores.rabbitmq)?.[1];
  if (!vhost) throw new Error(`cannot read the RabbitMQ vhost from "${mesh.endpoints.dataStores.rabbitmq}"`);
  const amqpUrl = `amqp://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@${mesh.endpoints.dataStores.rabbitmq.split(" ")[0]}/${encodeURIComponent(vhost)}`;
  const orderBody = { items: [{ productId, quantity: 1 }] };
  {
    log(`orders: POST vs raw confirm-channel publishes, concurrency ${c}`);
    const since = new Date();
    const connection = await amqp.connect(amqpUrl);
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
        pidsOf(mesh, ["orders-0", "orders-sidecar-0", "catalog-0", "catalog-sidecar-0", "order-worker-0", "zipkin"]),
      );
      const cmp = comparison(rounds, "raw confirm-channel publish");
      const throughput = (name: string) => (cmp.variants[name] as { throughput?: number }).throughput ?? Number.NaN;
      results.ordersVsPublish = {
        concurrency: c,
        ...cmp,
        acceptedToRawPublishRatio: {
          traced: round(ratio(throughput("orders app POST /orders (202)"), throughput("raw confirm-channel publish")), 3),
          untraced: round(ratio(throughput("orders app POST /orders (202), not traced"), throughput("raw confirm-channel publish")), 3),
        },
      };
    } finally {
      await channel.deleteQueue(queue).catch(() => {});
      await connection.close().catch(() => {});
    }
    results.outboxLag = await outboxLag(dbUrl, since);
  }

  results.workerDrain = await workerDrain(mesh, o, dbUrl, orders, orderBody);
  return results;
}

/** Commit to broker confirm of every order placed since `since`, from the outbox's own timestamps (once all are published). */
async function outboxLag(databaseUrl: string, since: Date) {
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
async function workerDrain(mesh: LocalMesh, o: Options, databaseUrl: string, orders: ReplicaEndpoints, orderBody: unknown) {
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

// ---------------------------------------------------------------------------------------------
// 3. Instrumentation cost

async function instrumentationCost(mesh: LocalMesh, o: Options, productId: string) {
  const slice = (o.durationS * 1000) / o.rounds;
  const host = "127.0.0.1";
  const databaseUrl = `postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${mesh.endpoints.dataStores.postgres}/${LOCAL_DATABASE}`;
  const base = { PATH: process.env.PATH, NODE_ENV: "production", HOST: host, SERVICE_NAME: "catalog", LOG_LEVEL: "warn", DATABASE_URL: databaseUrl, SHUTDOWN_TIMEOUT_MS: "5000" };
  const zipkin = `${mesh.endpoints.zipkin}/api/v2/spans`;
  // Both on (as deployed) and both off are the comparison; the two halves show which switch costs what.
  const variants = {
    "metrics+tracing on": { ...base, METRICS_ENABLED: "true", ZIPKIN_URL: zipkin },
    "metrics only": { ...base, METRICS_ENABLED: "true" },
    "tracing only": { ...base, METRICS_ENABLED: "false", ZIPKIN_URL: zipkin },
    "metrics+tracing off": { ...base, METRICS_ENABLED: "false" },
  };
  const children: Record<string, { child: ChildProcess; url: string }> = {};
  try {
    for (const [name, env] of Object.entries(variants)) {
      const port = await freePort(host);
      const child = spawn(process.execPath, [join(PROJECT_ROOT, "apps", "catalog", "dist", "main.js")], { env: { ...env, PORT: String(port) }, stdio: ["ignore", "ignore", "inherit"] });
      children[name] = { child, url: `http://${host}:${port}` };
      await waitForHttp(`http://${host}:${port}/readyz`, child);
    }
    const pids = Object.fromEntries(Object.entries(children).map(([name, { child }]) => [name, child.pid!]));
    log("instrumentation: warming up both apps");
    for (const { url } of Object.values(children)) await closedLoopHttp({ url: `${url}/products/${productId}`, connections: 4, durationMs: 1000 });
    log(`instrumentation: maximum throughput, ${o.connections} connections`);
    const maxRounds = await interleave<HttpLoadResult>(
      Object.entries(children).map(([name, { url }]) => ({ name, run: () => closedLoopHttp({ url: `${url}/products/${productId}`, connections: o.connections, durationMs: slice }) })),
      o.rounds,
      { ...pids, "bench (load generator)": process.pid },
    );
    const rate = o.rates[0]!;
    log(`instrumentation: ${rate} req/s open loop`);
    const agents = Object.fromEntries(Object.keys(children).map((name) => [name, keepAliveAgent()]));
    const rateRounds = await interleave<OpenLoopResult>(
      Object.entries(children).map(([name, { url }]) => ({ name, run: () => openLoop({ url: `${url}/products/${productId}`, rate, durationMs: slice, agent: agents[name]! }) })),
      o.rounds,
      { ...pids, "bench (load generator)": process.pid },
    );
    Object.values(agents).forEach((a) => a.destroy());
    const figures = Object.fromEntries(
      Object.keys(children).map((name) => {
        const max = mergeHttp(maxRounds[name]!.results);
        const fixed = mergeRuns(rateRounds[name]!.results);
        return [name, { maxThroughput: { ...max, processes: usageFigures(maxRounds[name]!, max.ok) }, fixedRate: { rate, ...fixed, processes: usageFigures(rateRounds[name]!, fixed.ok) } }];
      }),
    );
    const on = figures["metrics+tracing on"]!;
    const off = figures["metrics+tracing off"]!;
    const cpuPerReq = (f: typeof on, name: string) => f.maxThroughput.processes[name]?.cpuMsPer1kRequests ?? NaN;
    return {
      app: "catalog, built dist, one process per variant side by side, same env except METRICS_ENABLED and ZIPKIN_URL, direct requests, Postgres direct",
      variants: figures,
      throughputRatioOnToOff: round(ratio(on.maxThroughput.throughput ?? NaN, off.maxThroughput.throughput ?? NaN), 3),
      cpuPerRequestRatioOnToOff: round(ratio(cpuPerReq(on, "metrics+tracing on"), cpuPerReq(off, "metrics+tracing off")), 3),
      p50RatioOnToOffAtRate: round(ratio(on.fixedRate.p50 ?? NaN, off.fixedRate.p50 ?? NaN), 3),
      p99RatioOnToOffAtRate: round(ratio(on.fixedRate.p99 ?? NaN, off.fixedRate.p99 ?? NaN), 3),
    };
  } finally {
    await Promise.all(Object.values(children).map(({ child }) => stopChild(child)));
  }
}

// ---------------------------------------------------------------------------------------------
// Printing

type Json = Record<string, unknown>;
const get = (o: unknown, ...path: string[]): Cell => {
  let v: unknown = o;
  for (const p of path) v = (v as Json | undefined)?.[p];
  return typeof v === "number" || typeof v === "string" ? v : null;
};

function printReport(report: Json): void {
  const m = report.machine as Json;
  console.log(`\nMachine: ${m.cpuModel}, ${m.logicalCpus} logical CPUs, ${m.memoryTotalGiB} GiB, ${m.kernel}, Node ${m.node}, Envoy ${m.envoy}; load average at start ${(m.loadAverageAtStart as number[]).join(" ")}`);
  const mesh = report.meshOverhead as Json | undefined;
  if (mesh) {
    console.log("\n1. Mesh overhead: GET product by id, direct to the app vs through edge + sidecar (latency ms, open loop, from intended send time)");
    const rows: Cell[][] = (mesh.fixedRate as Json[]).map((r) => [
      get(r, "rate"), get(r, "direct", "sentRate"), get(r, "direct", "p50"), get(r, "mesh", "p50"), get(r, "addedMs", "p50"), get(r, "direct", "p90"), get(r, "mesh", "p90"), get(r, "addedMs", "p90"),
      get(r, "direct", "p99"), get(r, "mesh", "p99"), get(r, "addedMs", "p99"), get(r, "ratio", "p99"), `${get(r, "direct", "errors")}/${get(r, "mesh", "errors")}`,
    ]);
    console.log(renderTable(["rate", "sent/s", "p50 dir", "p50 mesh", "+p50", "p90 dir", "p90 mesh", "+p90", "p99 dir", "p99 mesh", "+p99", "p99 x", "errors d/m"], rows));
    console.log("\nEnvoy and app CPU (% of one core; ms CPU per 1000 requests) and peak RSS (MiB) during the through-the-mesh runs");
    const procRows: Cell[][] = [];
    for (const r of mesh.fixedRate as Json[]) {
      for (const [name, u] of Object.entries(get2(r, "mesh", "processes"))) procRows.push([`${get(r, "rate")} req/s`, name, get(u, "cpuPercentOfOneCore"), get(u, "cpuMsPer1kRequests"), get(u, "maxRssMiB")]);
    }
    for (const [name, u] of Object.entries(get2(mesh, "maxThroughput", "mesh", "processes"))) procRows.push(["max", name, get(u, "cpuPercentOfOneCore"), get(u, "cpuMsPer1kRequests"), get(u, "maxRssMiB")]);
    console.log(renderTable(["load", "process", "CPU %", "CPU ms/1k req", "RSS MiB"], procRows));
    const mt = mesh.maxThroughput as Json;
    console.log(`\nMaximum throughput (${get(mt, "connections")} connections): direct ${get(mt, "direct", "throughput")} req/s, mesh ${get(mt, "mesh", "throughput")} req/s, mesh/direct ${get(mt, "ratioMeshToDirect")}`);
    console.log(`  with the edge tracing ${get(mt, "meshSampled", "samplingPercent")} %: mesh ${get(mt, "meshSampled", "throughput")} req/s, mesh/direct ${get(mt, "ratioMeshSampledToDirect")}`);
  }
  const hops = report.hops as Json | undefined;
  if (hops) {
    console.log(`\n1b. Two Envoy hops against their floor (upstream: ${hops.upstream}); maximum throughput, CPU µs per request`);
    const mt = hops.maxThroughput as Json;
    const rows: Cell[][] = Object.entries(get2(mt, "pairs")).map(([name, f]) => [
      name, get(f, "throughput"), get(f, "throughputVsDirect"), get(f, "cpuUsPerRequest", "front"), get(f, "cpuUsPerRequest", "back"), get(f, "cpuUsPerRequest", "pair"), get(f, "cpuPerRequestVsBarePair"), get(f, "errors"),
    ]);
    console.log(`direct to the upstream: ${get(mt, "direct", "throughput")} req/s`);
    console.log(renderTable(["pair", "req/s", "vs direct", "CPU front", "CPU back", "CPU pair", "pair/bare", "errors"], rows));
    console.log("Added by the two hops (ms, open loop, vs direct to the upstream)");
    const latencyRows: Cell[][] = [];
    for (const r of hops.fixedRate as Json[]) {
      for (const [name, v] of Object.entries(get2(r, "variants"))) if (name !== "direct") latencyRows.push([get(r, "rate"), name, get(v, "p50"), get(v, "addedP50"), get(v, "p99"), get(v, "addedP99"), get(v, "errors")]);
    }
    console.log(renderTable(["rate", "pair", "p50", "+p50", "p99", "+p99", "errors"], latencyRows));
  }
  const services = report.serviceEfficiency as Json | undefined;
  if (services) {
    console.log("\n2. Service efficiency: service vs raw client at the same concurrency (closed loop; latency ms)");
    const rows: Cell[][] = [];
    for (const key of ["catalogVsPg", "cartVsRedis"]) {
      const cmp = services[key] as Json | undefined;
      if (!cmp) continue;
      const ratios = cmp.serviceThroughputRatio as Json;
      for (const [name, f] of Object.entries(cmp.variants as Json)) {
        rows.push([name, get(f, "throughput"), get(f, "p50"), get(f, "p99"), get(f, "errors"), get(ratios, name) ?? "(service)"]);
      }
    }
    console.log(renderTable(["variant", "ops/s", "p50", "p99", "errors", "service/raw"], rows));
  }
  const orders = report.orders as Json | undefined;
  if (orders) {
    const cmp = orders.ordersVsPublish as Json;
    console.log(`\n3. Orders: accepted (202, stored with the outbox row) vs raw confirm-channel publishes, concurrency ${get(cmp, "concurrency")} (closed loop; latency ms)`);
    const rows: Cell[][] = Object.entries(cmp.variants as Json).map(([name, f]) => [name, get(f, "throughput"), get(f, "p50"), get(f, "p99"), get(f, "errors")]);
    console.log(renderTable(["variant", "ops/s", "p50", "p99", "errors"], rows));
    console.log("CPU per 1000 operations (ms) of the processes on the orders path, by variant");
    const procRows: Cell[][] = [];
    for (const [name, f] of Object.entries(cmp.variants as Json)) {
      for (const [proc, u] of Object.entries(get2(f, "processes"))) procRows.push([name, proc, get(u, "cpuPercentOfOneCore"), get(u, "cpuMsPer1kRequests")]);
    }
    console.log(renderTable(["variant", "process", "CPU %", "CPU ms/1k"], procRows));
    console.log(`Orders accepted / raw confirmed publishes: ${get(cmp, "acceptedToRawPublishRatio", "traced")} (every order traced), ${get(cmp, "acceptedToRawPublishRatio", "untraced")} (not traced)`);
    const lag = orders.outboxLag as Json;
    console.log(`Outbox, commit to broker confirm, ${get(lag, "orders")} orders: p50 ${get(lag, "p50Ms")} ms, p99 ${get(lag, "p99Ms")} ms, max ${get(lag, "maxMs")} ms`);
    const d = orders.workerDrain as Json;
    console.log(`Worker drain: ${get(d, "fulfilled")}/${get(d, "backlog")} backlog orders fulfilled, ${get(d, "drainRatePerSecond")} orders/s (first to last fulfilment ${get(d, "firstToLastSeconds")} s; ${get(d, "wallSecondsIncludingWorkerStart")} s including the worker's start-up)`);
  }
  const inst = report.instrumentationCost as Json | undefined;
  if (inst) {
    console.log("\n4. Instrumentation cost: catalog app with metrics and tracing (export to Zipkin) on vs off (direct requests)");
    const rows: Cell[][] = Object.entries(inst.variants as Json).map(([name, f]) => [
      name, get(f, "maxThroughput", "throughput"), get(f, "maxThroughput", "p50"), get(f, "maxThroughput", "p99"), get2(f, "maxThroughput", "processes")[name] ? get(get2(f, "maxThroughput", "processes")[name], "cpuMsPer1kRequests") : null,
      get(f, "fixedRate", "p50"), get(f, "fixedRate", "p99"),
    ]);
    console.log(renderTable(["variant", "max req/s", "p50 @max", "p99 @max", "app CPU ms/1k req", `p50 @${(report.options as Options).rates[0]}/s`, `p99 @${(report.options as Options).rates[0]}/s`], rows));
    console.log(`on/off: throughput ${get(inst, "throughputRatioOnToOff")}, CPU per request ${get(inst, "cpuPerRequestRatioOnToOff")}, p50 ${get(inst, "p50RatioOnToOffAtRate")}, p99 ${get(inst, "p99RatioOnToOffAtRate")}`);
  }
}

function get2(o: unknown, ...path: string[]): Record<string, unknown> {
  let v: unknown = o;
  for (const p of path) v = (v as Json | undefined)?.[p];
  return (v ?? {}) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions();
  const machine = describeMachine(findBinaries().envoy);
  const startedAt = new Date().toISOString();
  log(`starting the local mesh (${o.sections.join(", ")}; ${o.durationS} s per variant in ${o.rounds} rounds)`);
  const abort = new AbortController();
  const running: { mesh?: LocalMesh } = {};
  const onSignal = () => {
    abort.abort();
    void running.mesh?.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // Its own state dir, so a bench never touches the files of a mesh started by `npm run mesh:local`.
  const mesh = await startLocalMesh({ stateDir: join(PROJECT_ROOT, ".mesh", "bench"), signal: abort.signal, onProgress: (m) => log(`mesh: ${m}`) });
  running.mesh = mesh;
  const report: Json = { startedAt, machine, options: o };
  try {
    const product = await json<{ id: string }>(
      await fetch(`${mesh.endpoints.gateway}/api/products`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sku: `bench-${process.pid}-${Date.now()}`, name: "Benchmark product", priceCents: 1234 }),
      }),
    );
    if (o.sections.includes("mesh")) report.meshOverhead = await meshOverhead(mesh, o, product.id);
    if (o.sections.includes("hops")) {
      const [address, port] = new URL(mesh.endpoints.zipkin).host.split(":");
      report.hops = await hopCosts({
        envoy: findBinaries().envoy,
        stateDir: join(PROJECT_ROOT, ".mesh", "bench", "hops"),
        zipkin: { address: address!, port: Number(port) },
        samplingPercent: REDUCED_SAMPLING_PERCENT,
        rates: o.rates,
        connections: o.connections,
        durationS: o.durationS,
        rounds: o.rounds,
        log,
      });
    }
    if (o.sections.includes("services")) report.serviceEfficiency = await serviceEfficiency(mesh, o, product.id);
    if (o.sections.includes("orders")) report.orders = await ordersThroughput(mesh, o, product.id);
    if (o.sections.includes("instrumentation")) report.instrumentationCost = await instrumentationCost(mesh, o, product.id);
    report.unexpectedExits = mesh.unexpectedExits().map((e) => e.name);
    report.finishedAt = new Date().toISOString();
  } finally {
    log("stopping the mesh");
    await mesh.stop();
  }
  writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report);
  log(`figures written to ${o.out}`);
}

main().catch((err: unknown) => {
  console.error(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
