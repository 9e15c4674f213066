// Consumes orders.placed with manual acks and a bounded prefetch. Outcomes:
// - applied or already applied: ack (after the database commit);
// - the order does not exist (orders publishes only committed orders, so the
//   message came from elsewhere): ack and discard - retrying or dead-lettering
//   would never change it;
// - a backend is down or busy (Postgres restarting): wait, then requeue without counting
//   an attempt, so an outage never dead-letters good messages;
// - anything else counts as a failed attempt: the message is republished with
//   its attempt count (confirmed) and the original acked; at MAX_ATTEMPTS it is
//   rejected without requeue and RabbitMQ moves it to the dead-letter queue.
// amqp-connection-manager re-creates the channel and the consumer after a broker
// restart; deliveries from a channel that is gone are never acked on the new one
// (their delivery tags mean nothing there: the broker redelivers them instead).
import { assertOrderTopology, ATTEMPTS_HEADER, ORDER_DEAD_LETTER, ORDER_QUEUE, runInContext, SpanKind, startSpanFromCarrier, markSpanError, type Registry } from "@mesh/service-kit";
import {
  createConsumeMetrics,
  logChannelErrors,
  registerQueueBacklogGauge,
  type AmqpConnectionManager,
  type ConfirmChannel,
  type ConsumeMessage,
} from "@mesh/service-kit/amqp";
import type { Database } from "@mesh/service-kit/postgres";
import type { FastifyBaseLogger } from "fastify";
import { fulfilOrder, isTransient, parseOrderPlaced } from "./fulfilment.js";

export interface ConsumerOptions {
  readonly connection: AmqpConnectionManager;
  readonly database: Database;
  readonly registry: Registry;
  readonly logger: FastifyBaseLogger;
  readonly prefetch: number;
  readonly maxAttempts: number;
  readonly retryDelayMs: number;
}

export interface OrderConsumer {
  /** Cancels the consumer, lets in-flight messages settle, closes the channel. */
  stop(): Promise<void>;
}

type Outcome = "acked" | "duplicate" | "discarded" | "retried" | "dead_lettered";

export function startOrderConsumer(options: ConsumerOptions): OrderConsumer {
  const { logger } = options;
  const metrics = createConsumeMetrics(options.registry);
  let channelGeneration = 0;
  let stopping = false;
  const inFlight = new Set<Promise<void>>();

  const channel = logChannelErrors(
    options.connection.createChannel({
      name: "order-worker",
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        channelGeneration++;
        await assertOrderTopology(ch);
      },
    }),
    logger,
  );
  registerQueueBacklogGauge(options.registry, channel, options.connection, [ORDER_QUEUE, ORDER_DEAD_LETTER]);

  const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function retryOrDeadLetter(msg: ConsumeMessage, err: unknown): Promise<Outcome> {
    const attempts = Number(msg.properties.headers?.[ATTEMPTS_HEADER] ?? 0) + 1;
    if (attempts >= options.maxAttempts) {
      logger.error({ err, attempts, messageId: msg.properties.messageId }, "message failed too often, dead-lettering it");
      channel.nack(msg, false, false);
      return "dead_lettered";
    }
    logger.warn({ err, attempts, messageId: msg.properties.messageId }, "message failed, retrying");
    await channel.publish(msg.fields.exchange, msg.fields.routingKey, msg.content, {
      ...msg.properties,
      persistent: true,
      headers: { ...msg.properties.headers, [ATTEMPTS_HEADER]: attempts },
    });
    channel.ack(msg);
    return "retried";
  }

  async function handle(msg: ConsumeMessage, generation: number): Promise<Outcome | undefined> {
    try {
      const { orderId } = parseOrderPlaced(msg.content);
      const result = await fulfilOrder(options.database, orderId, msg.properties.messageId as string | undefined);
      if (generation !== channelGeneration) return undefined;
      channel.ack(msg);
      if (result === "missing") {
        logger.warn({ orderId, messageId: msg.properties.messageId }, "no such order, message discarded");
        return "discarded";
      }
      return result === "fulfilled" ? "acked" : "duplicate";
    } catch (err) {
      if (generation !== channelGeneration) return undefined;
      if (isTransient(err)) {
        logger.warn({ err, messageId: msg.properties.messageId }, "backend unavailable, requeueing after a pause");
        await delay(options.retryDelayMs);
        if (generation !== channelGeneration) return undefined;
        channel.nack(msg, false, true);
        return "retried";
      }
      return retryOrDeadLetter(msg, err);
    }
  }

  function onMessage(msg: ConsumeMessage | null): void {
    if (!msg) return; // the broker cancelled the consumer; the manager re-consumes on reconnect
    const generation = channelGeneration;
    const end = metrics.consumeDuration.startTimer();
    const { span, ctx } = startSpanFromCarrier(`consume ${msg.fields.routingKey}`, SpanKind.CONSUMER, msg.properties.headers ?? {}, {
      "messaging.system": "rabbitmq",
      "messaging.destination.name": ORDER_QUEUE,
      "messaging.message.id": String(msg.properties.messageId ?? ""),
    });
    const work = runInContext(ctx, () => handle(msg, generation))
      .then(
        (outcome) => {
          if (outcome) metrics.consumed.inc({ outcome });
        },
        (err: unknown) => {
          // Settling failed (e.g. the channel closed mid-retry): the broker redelivers the message.
          markSpanError(span, (err as Error).message);
          logger.warn({ err }, "could not settle a message; it will be redelivered");
        },
      )
      .finally(() => {
        end();
        span.end();
        inFlight.delete(work);
      });
    inFlight.add(work);
  }

  // Not awaited: while the broker is unreachable this settles only once it is back,
  // and the app must serve /healthz (and report not ready) in the meantime.
  channel
    .consume(ORDER_QUEUE, (msg) => {
      if (!stopping) onMessage(msg);
    }, { prefetch: options.prefetch, noAck: false })
    .catch((err: unknown) => logger.error({ err }, "could not start consuming"));

  return {
    async stop() {
      stopping = true;
      await channel.cancelAll().catch(() => {});
      await Promise.allSettled([...inFlight]);
      await channel.close();
    },
  };
}
