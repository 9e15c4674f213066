// Postgres through a pg Pool with reliability defaults: an
// `error` listener (an idle client losing its server must not crash the
// process), a bounded connect timeout, a server-side statement_timeout and a
// client-side query timeout. Every query is timed, counted on error and traced;
// connection-level failures become ServiceUnavailableError (503).
import pg from "pg";
import fp from "fastify-plugin";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { ServiceUnavailableError } from "./errors.js";
import { Counter, Gauge, Histogram, LATENCY_BUCKETS, type Registry } from "./metrics.js";
import { SpanKind, withSpan } from "./tracing.js";

export type QueryResultRow = pg.QueryResultRow;
export type QueryResult<R extends QueryResultRow> = pg.QueryResult<R>;

export interface DatabaseOptions {
  readonly url: string;
  readonly registry: Registry;
  readonly logger: FastifyBaseLogger;
  readonly poolMax?: number;
  readonly connectionTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
}

/** Runs parameterised SQL; `operation` names the query in metrics and spans (bounded set). */
export type Query = <R extends QueryResultRow = QueryResultRow>(operation: string, sql: string, params?: unknown[]) => Promise<QueryResult<R>>;

export interface Database {
  readonly pool: pg.Pool;
  readonly query: Query;
  /** Runs `fn` in one transaction (BEGIN .. COMMIT, ROLLBACK on error). */
  transaction<T>(operation: string, fn: (query: Query) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

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

export function createDatabase(options: DatabaseOptions): Database {
  const statementTimeoutMs = options.statementTimeoutMs ?? 5000;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2000,
    idleTimeoutMillis: 10_000,
    statement_timeout: statementTimeoutMs,
    // A little above the server's limit: catches a server that stopped answering at all.
    query_timeout: statementTimeoutMs + 1000,
  });
  pool.on("error", (err) => options.logger.warn({ err }, "idle postgres client failed"));

  new Gauge({
    name: "db_pool_connections",
    help: "Postgres pool connections by state",
    labelNames: ["state"] as const,
    registers: [options.registry],
    collect() {
      this.set({ state: "total" }, pool.totalCount);
      this.set({ state: "idle" }, pool.idleCount);
      this.set({ state: "waiting" }, pool.waitingCount);
    },
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

  function instrumented(run: (sql: string, params?: unknown[]) => Promise<QueryResult<QueryResultRow>>): Query {
    return async <R extends QueryResultRow>(operation: string, sql: string, params?: unknown[]) => {
      const end = duration.startTimer({ operation });
      try {
        return (await withSpan(`pg ${operation}`, SpanKind.CLIENT, { "db.system.name": "postgresql", "db.operation.name": operation, "db.query.text": sql }, () =>
          run(sql, params),
        )) as QueryResult<R>;
      } catch (err) {
        errors.inc({ operation });
        throw isDatabaseUnavailable(err) ? new ServiceUnavailableError("postgres", err) : err;
      } finally {
        end();
      }
    };
  }

  const query = instrumented((sql, params) => pool.query(sql, params));

  return {
    pool,
    query,
    async transaction(operation, fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        errors.inc({ operation });
        throw new ServiceUnavailableError("postgres", err);
      }
      const txQuery = instrumented((sql, params) => client.query(sql, params));
      let broken = false;
      // A checked-out client has no pool listener: when the server goes away between
      // two statements (a Postgres restart terminates every session) the client emits
      // `error` with nobody listening, and that would crash the process. The next
      // statement fails anyway; the client is then dropped instead of reused.
      const onError = (err: Error) => {
        broken = true;
        options.logger.warn({ err }, "postgres connection failed inside a transaction");
      };
      client.on("error", onError);
      try {
        await txQuery(`${operation}.begin`, "BEGIN");
        const result = await fn(txQuery);
        await txQuery(`${operation}.commit`, "COMMIT");
        return result;
      } catch (err) {
        try {
          await client.query("ROLLBACK");
        } catch {
          broken = true; // the connection is gone; do not return it to the pool
        }
        throw err;
      } finally {
        client.off("error", onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/** Registers the database's readiness check and closes its pool when the app closes. */
export const postgresPlugin = fp(
  async (app: FastifyInstance, options: { database: Database }) => {
    app.readiness.add("postgres", async () => {
      await options.database.pool.query("SELECT 1");
    });
    app.addHook("onClose", () => options.database.close());
  },
  { name: "mesh-postgres", dependencies: ["mesh-health"] },
);
