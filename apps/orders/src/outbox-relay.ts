// The outbox relay: publishes the order.placed messages POST /orders wrote into
// order_outbox, and marks them published once the broker confirmed.
//
// Where it runs: inside every orders replica, not as a service of its own. A new
// order wakes its replica's relay right after the commit, so a message usually
// leaves within milliseconds; the relay scales with the replicas that fill the
// outbox; and the mesh keeps four services (no extra image, sidecar, health
// checks, dashboards). Several replicas share the outbox safely: each batch is
// claimed with FOR UPDATE SKIP LOCKED, so a row is published by one relay at a
// time, and a relay that stops (a crash, a redeploy) releases its rows when its
// session ends. A message published but not yet marked (the relay died between
// the confirm and the commit) is published again: the worker is idempotent.
//
// One batch runs at a time per replica, inside one transaction: claim up to
// RELAY_BATCH_SIZE rows, publish them all at once (the confirm channel pipelines
// the confirms), mark the confirmed ones published and push the others back with
// exponential backoff. That holds one pool connection for a batch, never one per
// order. While the broker is unreachable nothing is claimed; reconnecting wakes
// the relay. Rows whose retry came due, and rows another replica left, are found
// by polling every RELAY_POLL_MS.
import { Counter, Gauge, Histogram, LATENCY_BUCKETS, untraced, type Registry } from "@mesh/service-kit";
import type { Database } from "@mesh/service-kit/postgres";
import type { FastifyBaseLogger } from "fastify";
import { IDEMPOTENCY_KEY_RETENTION_HOURS } from "./idempotency.js";
import type { OrderPublisher } from "./publisher.js";

/** The names the relay's queries are timed and counted under (a transaction adds `.begin` and `.commit`). */
export const OUTBOX_OPERATIONS = {
  relay: "outbox.relay",
  relayBegin: "outbox.relay.begin",
  relayCommit: "outbox.relay.commit",
  claim: "outbox.claim",
  markPublished: "outbox.mark_published",
  scheduleRetry: "outbox.schedule_retry",
  stats: "outbox.stats",
  prunePublished: "outbox.prune_published",
  pruneKeys: "outbox.prune_keys",
} as const;

/** Published rows are kept this long (when was order X published?), then pruned. */
export const PUBLISHED_RETENTION_MINUTES = 15;
const PRUNE_INTERVAL_MS = 60_000;
const PRUNE_BATCH = 5000;
/**
 * Under a steady stream of orders the next batch starts this long after the
 * previous one, so each batch's four statements are shared by more messages;
 * a lone order is still relayed at once.
 */
const LINGER_MS = 10;
/** A batch waits at most this long for a pool connection; requests have their own deadlines. */
const BATCH_CONNECTION_WAIT_MS = 5000;
/** A scrape waits at most this long to read the outbox's depth and age; it keeps the last values otherwise. */
const STATS_CONNECTION_WAIT_MS = 500;

const CLAIM_SQL = `
SELECT id, order_id, trace_headers FROM order_outbox
WHERE published_at IS NULL AND next_attempt_at <= now()
ORDER BY created_at LIMIT $1
FOR UPDATE SKIP LOCKED`;
const MARK_PUBLISHED_SQL = `
UPDATE order_outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])
RETURNING extract(epoch FROM published_at - created_at)::float8 AS lag_seconds`;
// 0.2 s, 0.4 s, 0.8 s ... capped at 30 s.
const SCHEDULE_RETRY_SQL = `
UPDATE order_outbox SET attempts = attempts + 1,
  next_attempt_at = clock_timestamp() + least(interval '200 milliseconds' * power(2, attempts), interval '30 seconds')
WHERE id = ANY($1::bigint[])`;
const STATS_SQL = `
SELECT count(*)::int AS depth, coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS age_seconds
FROM order_outbox WHERE published_at IS NULL`;
const PRUNE_PUBLISHED_SQL = `
DELETE FROM order_outbox WHERE id IN (
  SELECT id FROM order_outbox WHERE published_at < now() - make_interval(mins => $1) LIMIT $2)`;
const PRUNE_KEYS_SQL = `
DELETE FROM order_idempotency_keys WHERE key IN (
  SELECT key FROM order_idempotency_keys WHERE created_at < now() - make_interval(hours => $1) LIMIT $2)`;

export interface OutboxRelayOptions {
  readonly database: Database;
  readonly publisher: OrderPublisher;
  readonly registry: Registry;
  readonly logger: FastifyBaseLogger;
  readonly batchSize: number;
  readonly pollMs: number;
}

export interface OutboxRelay {
  /** Starts polling and pruning (once migrations ran). */
  start(): void;
  /** Asks for a pass now (a new order committed, the broker is back); returns at once. */
  wake(): void;
  /** Deletes published rows and idempotency keys past their retention. */
  prune(): Promise<{ published: number; keys: number }>;
  /** Stops polling and waits for the running batch. */
  stop(): Promise<void>;
}

interface ClaimedRow {
  id: string;
  order_id: string;
  trace_headers: Record<string, string>;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { database, publisher, logger, batchSize } = options;
  const registers = [options.registry];
  // Read at scrape time, so the figures are the outbox's, whichever replica
  // published; one read per scrape serves both gauges. A scrape that cannot read
  // them (Postgres busy or down) keeps the previous values.
  let statsRead: Promise<void> | undefined;
  const readStats = () =>
    (statsRead ??= database
      .withWait(STATS_CONNECTION_WAIT_MS, () => database.query<{ depth: number; age_seconds: number }>(OUTBOX_OPERATIONS.stats, STATS_SQL))
      .then(({ rows }) => {
        depth.set(rows[0]?.depth ?? 0);
        age.set(rows[0]?.age_seconds ?? 0);
      })
      .catch(() => {})
      .finally(() => (statsRead = undefined)));
  const depth = new Gauge({ name: "outbox_pending_messages", help: "order.placed messages in the outbox not yet confirmed by the broker", registers, collect: readStats });
  const age = new Gauge({ name: "outbox_oldest_pending_age_seconds", help: "Age of the oldest unpublished outbox message (0 when empty)", registers, collect: readStats });
  depth.set(0);
  age.set(0);
  const lag = new Histogram({
    name: "outbox_publish_lag_seconds",
    help: "Time from an order's commit to its message confirmed by the broker",
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const relayErrors = new Counter({ name: "outbox_relay_errors_total", help: "Relay batches that failed as a whole (Postgres unreachable or the transaction lost)", registers });

  let started = false;
  let stopped = false;
  let again = false;
  let running: Promise<void> | undefined;
  const timers: NodeJS.Timeout[] = [];

  /** One batch in one transaction; the number of rows claimed. */
  function relayBatch(): Promise<number> {
    return database.withWait(BATCH_CONNECTION_WAIT_MS, () =>
      database.transaction(OUTBOX_OPERATIONS.relay, async (query) => {
        const { rows } = await query<ClaimedRow>(OUTBOX_OPERATIONS.claim, CLAIM_SQL, [batchSize]);
        if (rows.length === 0) return 0;
        const outcomes = await Promise.all(rows.map((row) => publisher.publishOrderPlaced({ orderId: row.order_id }, row.trace_headers)));
        const confirmed = rows.filter((_, i) => outcomes[i] === "confirmed").map((r) => r.id);
        const failed = rows.filter((_, i) => outcomes[i] !== "confirmed").map((r) => r.id);
        if (confirmed.length) {
          const marked = await query<{ lag_seconds: number }>(OUTBOX_OPERATIONS.markPublished, MARK_PUBLISHED_SQL, [confirmed]);
          for (const row of marked.rows) lag.observe(row.lag_seconds);
        }
        if (failed.length) {
          logger.warn({ failed: failed.length, outcomes: [...new Set(outcomes)] }, "outbox messages not confirmed; retrying with backoff");
          await query(OUTBOX_OPERATIONS.scheduleRetry, SCHEDULE_RETRY_SQL, [failed]);
        }
        return rows.length;
      }),
    );
  }

  /** Batches until the outbox has nothing due (a short batch) and nobody woke us meanwhile. */
  async function drain(): Promise<void> {
    for (;;) {
      again = false;
      if (stopped || !publisher.isConnected()) return;
      let claimed: number;
      try {
        // The relay's own queries are background work; each publish joins its order's trace.
        claimed = await untraced(relayBatch);
      } catch (err) {
        relayErrors.inc();
        logger.warn({ err }, "outbox relay batch failed; the rows stay for the next pass");
        return;
      }
      if (claimed >= batchSize) continue;
      if (!again) return;
      // Orders committed while this batch ran: let a few more arrive before the
      // next one, so a steady stream is published in batches, not one by one.
      await new Promise((resolve) => setTimeout(resolve, LINGER_MS));
    }
  }

  function wake(): void {
    if (!started || stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = drain().finally(() => {
      running = undefined;
      if (again) wake();
    });
  }

  async function prune(): Promise<{ published: number; keys: number }> {
    const published = await database.query(OUTBOX_OPERATIONS.prunePublished, PRUNE_PUBLISHED_SQL, [PUBLISHED_RETENTION_MINUTES, PRUNE_BATCH]);
    const keys = await database.query(OUTBOX_OPERATIONS.pruneKeys, PRUNE_KEYS_SQL, [IDEMPOTENCY_KEY_RETENTION_HOURS, PRUNE_BATCH]);
    return { published: published.rowCount ?? 0, keys: keys.rowCount ?? 0 };
  }

  return {
    start() {
      started = true;
      timers.push(setInterval(wake, options.pollMs).unref());
      timers.push(setInterval(() => untraced(prune).catch((err: unknown) => logger.warn({ err }, "outbox pruning failed")), PRUNE_INTERVAL_MS).unref());
      wake();
    },
    wake,
    prune,
    async stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await running;
    },
  };
}
