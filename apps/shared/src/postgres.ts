// Postgres through a pg Pool with reliability defaults: an `error` listener (an
// idle client losing its server must not crash the process), a bounded connect
// timeout, a server-side statement_timeout and a client-side query timeout.
// Every query is timed, counted on error and traced.
//
// A busy service is not an outage. Callers wait for a connection in a gate of our
// own (below) rather than in pg-pool's queue, because pg-pool bounds both the wait
// for a free connection and the connect to the server by one constant and fails
// both with the same error: a burst then read as "Postgres is down". Here:
// - connecting to the server fails or times out (connectionTimeoutMs): Postgres
//   really is unreachable, ServiceUnavailableError (503 "postgres is unavailable");
// - every connection is in use and none frees up before the request's deadline:
//   the service is saturated, ServiceBusyError (503 "busy" with Retry-After).
// The deadline is the request's own: the route timeout the sidecar announces in
// x-envoy-expected-rq-timeout-ms (the model's timeout for the route), less a margin
// to answer before Envoy gives up, carried to every query in the async context.
import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import fp from "fastify-plugin";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { HttpError, ServiceUnavailableError } from "./errors.js";
import { Counter, Gauge, Histogram, LATENCY_BUCKETS, secondsSince, type Registry } from "./metrics.js";
import { SpanKind, withSpan } from "./tracing.js";

export type QueryResultRow = pg.QueryResultRow;
export type QueryResult<R extends QueryResultRow> = pg.QueryResult<R>;

/** Seconds a client is asked to wait before retrying a request refused as busy. */
export const BUSY_RETRY_AFTER_SECONDS = 1;

/** Every connection stayed in use until the request's deadline: 503 with Retry-After, never "postgres is down". */
export class ServiceBusyError extends HttpError {
  readonly retryAfterSeconds = BUSY_RETRY_AFTER_SECONDS;
  constructor() {
    super(503, "busy", `too many requests in progress; retry in ${BUSY_RETRY_AFTER_SECONDS} s`);
  }
}

export interface DatabaseOptions {
  readonly url: string;
  readonly registry: Registry;
  readonly logger: FastifyBaseLogger;
  readonly poolMax?: number;
  /** Bound for opening a connection to the server (default 2000 ms): beyond it, Postgres counts as unreachable. */
  readonly connectionTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
  /** Wait for a free connection outside any request, or in a request that announced no timeout (default 5000 ms). */
  readonly defaultWaitMs?: number;
  /** Every `operation` the app's queries use: their series exist (at 0) from start-up, so no panel or alert waits for a first query. */
  readonly operations?: readonly string[];
}

export interface QueryOptions {
  /** Prepare the statement once per connection, named after the operation (see statementConfig in createDatabase). */
  readonly prepare?: boolean;
}

/** For the statements a request or a message runs every time: parsed once per connection instead of on every run. */
export const PREPARED: QueryOptions = { prepare: true };

/** Runs parameterised SQL; `operation` names the query in metrics and spans (bounded set). */
export type Query = <R extends QueryResultRow = QueryResultRow>(operation: string, sql: string, params?: unknown[], options?: QueryOptions) => Promise<QueryResult<R>>;

export interface Database {
  readonly pool: pg.Pool;
  readonly query: Query;
  /** Runs `fn` in one transaction (BEGIN .. COMMIT, ROLLBACK on error) on one connection. */
  transaction<T>(operation: string, fn: (query: Query) => Promise<T>): Promise<T>;
  /** Runs `fn` with this wait for a connection instead of the request's (background work, health checks). */
  withWait<T>(waitMs: number, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Postgres truncates identifiers, statement names included, to 63 bytes (NAMEDATALEN - 1). */
const MAX_STATEMENT_NAME_BYTES = 63;
/** feature_not_supported: what a prepared statement raises as "cached plan must not change result type". */
const CACHED_PLAN_RESULT_CHANGED = "0A000";

// SQLSTATE classes meaning "the database cannot serve now", not "your query is wrong":
// 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown, starting up).
const UNAVAILABLE_SQLSTATE = /^(08|53|57)/;

export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof ServiceUnavailableError) return true;
  const code = (err as { code?: unknown }).code;
  // pg's DatabaseError carries a 5-character SQLSTATE; anything else (ECONNREFUSED,
  // "Connection terminated", a connect or query timeout) is a transport failure.
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_SQLSTATE.test(code);
  return true;
}

/** Absolute time (ms since the epoch) by which a connection must be granted; set per request, read by every query. */
const connectionDeadline = new AsyncLocalStorage<number>();

/** Header Envoy's router sets on the request it forwards: the route's timeout, in milliseconds. */
export const EXPECTED_TIMEOUT_HEADER = "x-envoy-expected-rq-timeout-ms";
/** Share of the route's timeout a request may spend waiting for a connection: the rest is left to do the work and answer. */
const WAIT_SHARE_OF_TIMEOUT = 0.8;

/** The request's deadline for getting a connection, from Envoy's announced route timeout, or undefined without one. */
export function requestDeadline(request: FastifyRequest, reply: FastifyReply): number | undefined {
  const announced = Number(request.headers[EXPECTED_TIMEOUT_HEADER]);
  if (!Number.isInteger(announced) || announced <= 0) return undefined;
  const arrived = Date.now() - reply.elapsedTime;
  return arrived + announced * WAIT_SHARE_OF_TIMEOUT;
}

/**
 * At most `size` connections in use; others wait in arrival order, each until
 * its own deadline. A freed slot passes straight to the next waiter.
 */
class ConnectionGate {
  private inUse = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(private readonly size: number) {}

  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes a free slot at once, if there is one. */
  tryEnter(): boolean {
    if (this.inUse >= this.size) return false;
    this.inUse++;
    return true;
  }

  /** Queues for a slot: resolves once one is passed on; rejects with ServiceBusyError when `waitMs` pass first. */
  wait(waitMs: number): Promise<void> {
    if (waitMs <= 0) return Promise.reject(new ServiceBusyError());
    return new Promise((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(grant), 1);
        reject(new ServiceBusyError());
      }, waitMs);
      this.waiters.push(grant);
    });
  }

  leave(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.inUse--;
  }
}

export function createDatabase(options: DatabaseOptions): Database {
  const statementTimeoutMs = options.statementTimeoutMs ?? 5000;
  const poolMax = options.poolMax ?? 10;
  const defaultWaitMs = options.defaultWaitMs ?? 5000;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: poolMax,
    // The gate never checks out more than `max`, so pg-pool never queues: this bounds connecting only.
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2000,
    idleTimeoutMillis: 10_000,
    statement_timeout: statementTimeoutMs,
    // A little above the server's limit: catches a server that stopped answering at all.
    query_timeout: statementTimeoutMs + 1000,
  });
  pool.on("error", (err) => options.logger.warn({ err }, "idle postgres client failed"));
  // pg-pool listens for a client's `error` only while the client is idle. When the server goes
  // away (a restart terminates every session), a checked-out client emits `error`, and with
  // nobody listening that would crash the process. That includes the moment between checkout
  // and the caller getting the client: a terminate read together with a new connection's
  // ReadyForQuery is emitted before any await resumes. So every client carries a listener of
  // ours from its first connect, and a client that failed is dropped instead of reused.
  const failed = new WeakSet<pg.PoolClient>();
  const checkedOut = new WeakSet<pg.PoolClient>();
  pool.on("connect", (client) =>
    client.on("error", (err) => {
      failed.add(client);
      if (checkedOut.has(client)) options.logger.warn({ err }, "postgres connection failed while in use");
    }),
  );
  const gate = new ConnectionGate(poolMax);

  new Gauge({
    name: "db_pool_connections",
    help: "Postgres pool connections by state (waiting: callers queued for a connection)",
    labelNames: ["state"] as const,
    registers: [options.registry],
    collect() {
      this.set({ state: "total" }, pool.totalCount);
      this.set({ state: "idle" }, pool.idleCount);
      this.set({ state: "waiting" }, gate.waiting + pool.waitingCount);
    },
  });
  const poolWait = new Histogram({
    name: "db_pool_wait_seconds",
    help: "Time callers waited for a free Postgres connection",
    buckets: LATENCY_BUCKETS,
    registers: [options.registry],
  });
  const busy = new Counter({
    name: "db_pool_busy_total",
    help: "Requests refused as busy: no Postgres connection freed up before their deadline",
    registers: [options.registry],
  });
  const duration = new Histogram({
    name: "db_query_duration_seconds",
    help: "Postgres query duration by operation",
    labelNames: ["operation"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [options.registry],
  });
  const errors = new Counter({
    name: "db_query_errors_total",
    help: "Postgres queries that failed, by operation",
    labelNames: ["operation"] as const,
    registers: [options.registry],
  });
  for (const operation of options.operations ?? []) {
    duration.zero({ operation });
    errors.inc({ operation }, 0);
  }

  /** Checks a connection out through the gate, runs `fn`, and always gives both back. */
  async function withClient<T>(operation: string, fn: (client: pg.PoolClient, markBroken: () => void) => Promise<T>): Promise<T> {
    // A free slot is taken without awaiting anything: the usual case costs no extra turn of the event loop.
    if (gate.tryEnter()) poolWait.observe(0);
    else {
      const deadline = connectionDeadline.getStore();
      const waitMs = deadline === undefined ? defaultWaitMs : deadline - Date.now();
      const started = performance.now();
      try {
        await gate.wait(waitMs);
      } catch (err) {
        busy.inc();
        throw err;
      } finally {
        poolWait.observe(secondsSince(started));
      }
    }
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      gate.leave();
      errors.inc({ operation });
      throw new ServiceUnavailableError("postgres", err);
    }
    checkedOut.add(client);
    try {
      return await fn(client, () => void failed.add(client));
    } finally {
      checkedOut.delete(client);
      client.release(failed.has(client));
      gate.leave();
    }
  }

  // Named prepared statements. Postgres parses, analyses and plans an unnamed statement
  // on every run; a named one is parsed once per connection, and each later run only
  // binds and executes it, with its plan cached (a generic plan once the first runs
  // show it costs no more than a custom one). pg remembers on each connection the text
  // of every name it prepared there and refuses the name with another text, so the
  // name is the operation's (a bounded set, each one statement) and this map checks,
  // across the pool, that a prepared operation always comes with the same SQL.
  const preparedTexts = new Map<string, string>();
  function statementConfig(operation: string, sql: string, params: unknown[] | undefined, options: QueryOptions | undefined): pg.QueryConfig {
    if (!options?.prepare) return { text: sql, values: params };
    const known = preparedTexts.get(operation);
    if (known === undefined) {
      // The server would truncate a longer name, and two operations could then meet under one.
      if (Buffer.byteLength(operation) > MAX_STATEMENT_NAME_BYTES) throw new Error(`prepared operation "${operation}": a statement name has at most ${MAX_STATEMENT_NAME_BYTES} bytes`);
      preparedTexts.set(operation, sql);
    } else if (known !== sql) {
      throw new Error(`prepared operation "${operation}" came with two different statements; a prepared operation always runs the same SQL`);
    }
    return { name: operation, text: sql, values: params };
  }

  function instrumented(client: pg.PoolClient, markBroken: () => void): Query {
    return async <R extends QueryResultRow>(operation: string, sql: string, params?: unknown[], options?: QueryOptions) => {
      // Outside the try: a misuse is a bug to report as such, not a database outage.
      const config = statementConfig(operation, sql, params, options);
      const started = performance.now();
      try {
        return await withSpan(`pg ${operation}`, SpanKind.CLIENT, { "db.system.name": "postgresql", "db.operation.name": operation, "db.query.text": sql }, () =>
          client.query<R>(config),
        );
      } catch (err) {
        errors.inc({ operation });
        // A migration changed the type of a column a prepared statement returns: the server
        // refuses that statement on this connection for as long as it lives, so the connection
        // is dropped and the statement prepared afresh on another one.
        if (config.name !== undefined && (err as { code?: unknown }).code === CACHED_PLAN_RESULT_CHANGED) markBroken();
        throw isDatabaseUnavailable(err) ? new ServiceUnavailableError("postgres", err) : err;
      } finally {
        duration.observe({ operation }, secondsSince(started));
      }
    };
  }

  const query: Query = (operation, sql, params, options) =>
    withClient(operation, (client, markBroken) => instrumented(client, markBroken)(operation, sql, params, options));

  return {
    pool,
    query,
    transaction(operation, fn) {
      return withClient(operation, async (client, markBroken) => {
        const txQuery = instrumented(client, markBroken);
        try {
          await txQuery(`${operation}.begin`, "BEGIN");
          const result = await fn(txQuery);
          await txQuery(`${operation}.commit`, "COMMIT");
          return result;
        } catch (err) {
          try {
            await client.query("ROLLBACK");
          } catch {
            markBroken(); // the connection is gone; do not return it to the pool
          }
          throw err;
        }
      });
    },
    withWait: (waitMs, fn) => connectionDeadline.run(Date.now() + waitMs, fn),
    close: () => pool.end(),
  };
}

/** How long the readiness check waits for a connection; finding them all in use means busy, not down. */
const READINESS_WAIT_MS = 1000;

/**
 * Registers the database's readiness check, gives each request its connection
 * deadline, answers busy refusals with Retry-After, and closes the pool when the
 * app closes.
 */
export const postgresPlugin = fp(
  async (app: FastifyInstance, options: { database: Database }) => {
    const { database } = options;
    app.readiness.add("postgres", async () => {
      try {
        await database.withWait(READINESS_WAIT_MS, () => database.query("readiness", "SELECT 1"));
      } catch (err) {
        // Every connection busy serving requests: Postgres answers, so this replica stays in rotation.
        if (!(err instanceof ServiceBusyError)) throw err;
      }
    });
    // The handler is called synchronously from the last preHandler's callback, so
    // every query it makes runs inside this store.
    app.addHook("preHandler", (request, reply, done) => {
      const deadline = requestDeadline(request, reply);
      if (deadline === undefined) done();
      else connectionDeadline.run(deadline, done);
    });
    app.addHook("onError", async (_request, reply, err) => {
      if (err instanceof ServiceBusyError) reply.header("retry-after", String(err.retryAfterSeconds));
    });
    app.addHook("onClose", () => database.close());
  },
  { name: "mesh-postgres", dependencies: ["mesh-health"] },
);
