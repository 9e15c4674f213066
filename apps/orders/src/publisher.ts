// Publishes order.placed on a confirm channel: durable topology, persistent and
// mandatory messages, and success only once the broker confirmed. A message the
// broker returns (no queue bound) counts as a failure: RabbitMQ sends basic.return
// before the confirm, so the returned id is known when the confirm arrives.
// Only the outbox relay publishes; it sends a batch at once and the channel
// pipelines their confirms.
import {
  assertOrderTopology,
  injectTraceHeaders,
  markSpanError,
  ORDER_PLACED_ROUTING_KEY,
  ORDERS_EXCHANGE,
  runInContext,
  SpanKind,
  startSpanFromCarrier,
  type OrderPlacedMessage,
  type Registry,
} from "@mesh/service-kit";
import { createPublishMetrics, logChannelErrors, type AmqpConnectionManager, type ConfirmChannel, type PublishOutcome } from "@mesh/service-kit/amqp";
import type { FastifyBaseLogger } from "fastify";

export interface OrderPublisher {
  /**
   * Publishes and waits for the broker's answer; never throws. `traceHeaders`
   * are the placing request's B3 headers: the publish joins that trace.
   */
  publishOrderPlaced(message: OrderPlacedMessage, traceHeaders: Record<string, string>): Promise<PublishOutcome>;
  isConnected(): boolean;
  close(): Promise<void>;
}

export function createOrderPublisher(connection: AmqpConnectionManager, registry: Registry, timeoutMs: number, logger: FastifyBaseLogger): OrderPublisher {
  const metrics = createPublishMetrics(registry);
  const returned = new Set<string>();
  const channel = logChannelErrors(
    connection.createChannel({
      name: "orders-publisher",
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        ch.on("return", (msg: { properties: { messageId?: string } }) => {
          if (msg.properties.messageId) returned.add(msg.properties.messageId);
        });
        await assertOrderTopology(ch);
      },
    }),
    logger,
  );

  async function publish(message: OrderPlacedMessage): Promise<PublishOutcome> {
    const messageId = message.orderId;
    try {
      await channel.publish(ORDERS_EXCHANGE, ORDER_PLACED_ROUTING_KEY, Buffer.from(JSON.stringify(message)), {
        persistent: true,
        mandatory: true,
        messageId,
        type: ORDER_PLACED_ROUTING_KEY,
        contentType: "application/json",
        headers: injectTraceHeaders(),
        timeout: timeoutMs,
      });
    } catch (err) {
      return /nack/i.test((err as Error).message) ? "nacked" : "error";
    }
    return returned.delete(messageId) ? "returned" : "confirmed";
  }

  return {
    isConnected: () => connection.isConnected(),
    async publishOrderPlaced(message, traceHeaders) {
      const end = metrics.publishDuration.startTimer();
      const { span, ctx } = startSpanFromCarrier(`publish ${ORDER_PLACED_ROUTING_KEY}`, SpanKind.PRODUCER, traceHeaders, {
        "messaging.system": "rabbitmq",
        "messaging.destination.name": ORDERS_EXCHANGE,
        "messaging.message.id": message.orderId,
      });
      const outcome = await runInContext(ctx, () => publish(message));
      if (outcome !== "confirmed") markSpanError(span, `publish ${outcome}`);
      span.end();
      end();
      metrics.published.inc({ outcome });
      return outcome;
    },
    close: () => channel.close(),
  };
}
