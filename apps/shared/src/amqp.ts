// RabbitMQ through amqp-connection-manager over amqplib: it reconnects on its
// own (every `reconnectTimeInSeconds`) and re-runs each channel's setup (topology,
// prefetch, consumers) after a reconnect, which is what keeps publishers and the
// worker alive across a broker restart. The metrics every AMQP user reports are
// defined here once so publisher and consumer use the same names.
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from "amqp-connection-manager";
import fp from "fastify-plugin";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, LATENCY_BUCKETS, type Registry } from "./metrics.js";

export type { AmqpConnectionManager, ChannelWrapper };
export type { ConfirmChannel, ConsumeMessage } from "amqplib";

export function connectAmqp(url: string, logger: FastifyBaseLogger): AmqpConnectionManager {
  const connection = amqp.connect([url], { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1, connectionOptions: { timeout: 2000 } });
  connection.on("connect", () => logger.info("amqp connected"));
  connection.on("disconnect", ({ err }) => logger.warn({ err }, "amqp disconnected, reconnecting"));
  connection.on("connectFailed", ({ err }) => logger.debug({ err }, "amqp connect failed, retrying"));
  connection.on("blocked", ({ reason }) => logger.warn({ reason }, "amqp connection blocked by the broker"));
  return connection;
}

export interface PublishMetrics {
  readonly published: Counter<"outcome">;
  readonly publishDuration: Histogram;
}

export const PUBLISH_OUTCOMES = ["confirmed", "nacked", "returned", "error"] as const;
export type PublishOutcome = (typeof PUBLISH_OUTCOMES)[number];

export function createPublishMetrics(registry: Registry): PublishMetrics {
  const published = new Counter({
    name: "amqp_published_total",
    help: "Messages published, by outcome (confirmed, nacked, returned, error)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  // Every outcome from start-up, at 0: a panel or alert on failures has a series before the first one.
  for (const outcome of PUBLISH_OUTCOMES) published.inc({ outcome }, 0);
  return {
    published,
    publishDuration: new Histogram({
      name: "amqp_publish_duration_seconds",
      help: "Time from publish to the broker's confirm",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
}

export interface ConsumeMetrics {
  readonly consumed: Counter<"outcome">;
  readonly consumeDuration: Histogram;
}

export const CONSUME_OUTCOMES = ["acked", "duplicate", "discarded", "retried", "dead_lettered"] as const;
export type ConsumeOutcome = (typeof CONSUME_OUTCOMES)[number];

export function createConsumeMetrics(registry: Registry): ConsumeMetrics {
  const consumed = new Counter({
    name: "amqp_consumed_total",
    help: "Messages consumed, by outcome (acked, duplicate, discarded, retried, dead_lettered)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  for (const outcome of CONSUME_OUTCOMES) consumed.inc({ outcome }, 0);
  return {
    consumed,
    consumeDuration: new Histogram({
      name: "amqp_consume_duration_seconds",
      help: "Time to handle one message, from delivery to ack",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
}

/**
 * A channel whose setup fails (the connection closed halfway, as when the broker goes away or the
 * app closes during start-up) emits `error`; with nobody listening, amqp-connection-manager's
 * handler turns it into an unhandled rejection, which shuts the service down. The channel is set
 * up again on the next connect, so the error is logged, not fatal.
 */
export function logChannelErrors(channel: ChannelWrapper, logger: FastifyBaseLogger): ChannelWrapper {
  channel.on("error", (err: Error, info?: { name?: string }) => logger.warn({ err, channel: info?.name }, "amqp channel setup failed; it is set up again on the next connect"));
  return channel;
}

/** Reports each queue's backlog at scrape time (skipped while the broker is unreachable). */
export function registerQueueBacklogGauge(registry: Registry, channel: ChannelWrapper, connection: AmqpConnectionManager, queues: readonly string[]): void {
  new Gauge({
    name: "amqp_queue_messages",
    help: "Messages waiting in each queue (ready, not yet delivered)",
    labelNames: ["queue"] as const,
    registers: [registry],
    async collect() {
      if (!connection.isConnected()) return;
      await Promise.all(
        queues.map(async (queue) => {
          try {
            const { messageCount } = await channel.checkQueue(queue);
            this.set({ queue }, messageCount);
          } catch {
            // The broker went away mid-scrape; the next scrape reports again.
          }
        }),
      );
    },
  });
}

/**
 * Registers the broker's readiness check (unless `required` is false: an app
 * that keeps serving without the broker, like orders with its outbox, must stay
 * in rotation while it is down) and, when the app closes, runs
 * `closers` in order (cancel consumers and let in-flight messages settle, close
 * channels) before closing the connection. Plugins close in reverse order of
 * registration, so register this after the database plugin: consumers stop
 * before the pool they write to closes.
 */
export const amqpPlugin = fp(
  async (app: FastifyInstance, options: { connection: AmqpConnectionManager; closers: ReadonlyArray<() => Promise<void>>; required?: boolean }) => {
    if (options.required ?? true) {
      app.readiness.add("rabbitmq", async () => {
        if (!options.connection.isConnected()) throw new Error("not connected");
      });
    }
    app.addHook("onClose", async () => {
      for (const close of options.closers) await close();
      await options.connection.close();
    });
  },
  { name: "mesh-amqp", dependencies: ["mesh-health"] },
);
