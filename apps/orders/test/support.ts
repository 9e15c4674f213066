// What the orders suites share: the orders app's settings for in-process tests,
// and reading one sample from a /metrics answer.
import { testBaseConfig } from "../../shared/test/support/apps.js";
import type { OrdersConfig } from "../src/config.js";

export function ordersTestConfig(settings: Pick<OrdersConfig, "databaseUrl" | "amqpUrl" | "catalogUrl"> & Partial<OrdersConfig>): OrdersConfig {
  return { ...testBaseConfig("orders"), dbPoolMax: 5, publishTimeoutMs: 3000, catalogTimeoutMs: 2000, relayBatchSize: 200, relayPollMs: 200, ...settings };
}

/** The value of the sample `series` (name plus labels as exposed, e.g. `amqp_published_total{outcome="confirmed"}`); NaN when absent. */
export function metricValue(metricsText: string, series: string): number {
  const escaped = series.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`^${escaped} (\\S+)$`, "m").exec(metricsText);
  return match ? Number(match[1]) : Number.NaN;
}
