// Publishes order.placed on a confirm channel: durable topology, persistent and
// mandatory messages, and success only once the broker confirmed. A message the
// broker returns (no queue bound) counts as a failure: RabbitMQ sends basic.return
// before the confirm, so the returned id is known when the confirm arrives.
import {
  assertOrderTopology,
  createPublishMetrics,
  injectTraceHeaders,
  ORDER_PLACED_ROUTING_KEY,
  ORDERS_EXCHANGE,
  ServiceUnavailableError,
  SpanKind,
  withSpan,
  type AmqpConnectionManager,
  type ConfirmChannel,
  type OrderPlacedMessage,
  type Registry,
} from "@mesh/service-kit";

export interface OrderPublisher {
  /** Throws ServiceUnavailableError unless the broker confirmed the message. */
  publishOrderPlaced(message: OrderPlacedMessage): Promise<void>;
  /** Fails fast when the broker is unreachable, before any work is done. */
  assertConnected(): void;
  close(): Promise<void>;
}

export function createOrderPublisher(connection: AmqpConnectionManager, registry: Registry, timeoutMs: number): OrderPublisher {
  const metrics = createPublishMetrics(registry);
  const returned = new Set<string>();
  const channel = connection.createChannel({
    name: "orders-publisher",
    confirm: true,
    setup: async (ch: ConfirmChannel) => {
      ch.on("return", (msg: { properties: { messageId?: string } }) => {
        if (msg.properties.messageId) returned.add(msg.properties.messageId);
      });
      await assertOrderTopology(ch);
    },
  });

  function fail(outcome: "nacked" | "returned" | "error", cause: unknown): never {
    metrics.published.inc({ outcome });
    throw new ServiceUnavailableError("rabbitmq", cause);
  }

  return {
    assertConnected() {
      if (!connection.isConnected()) fail("error", new Error("not connected to the broker"));
    },
    async publishOrderPlaced(message) {
      this.assertConnected();
      const end = metrics.publishDuration.startTimer();
      const messageId = message.orderId;
      await withSpan(`publish ${ORDER_PLACED_ROUTING_KEY}`, SpanKind.PRODUCER, { "messaging.system": "rabbitmq", "messaging.destination.name": ORDERS_EXCHANGE, "messaging.message.id": messageId }, async () => {
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
          fail(/nack/i.test((err as Error).message) ? "nacked" : "error", err);
        } finally {
          end();
        }
        if (returned.delete(messageId)) fail("returned", new Error("message returned: no queue bound"));
        metrics.published.inc({ outcome: "confirmed" });
      });
    },
    close: () => channel.close(),
  };
}
