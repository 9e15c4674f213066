// Reading the services' Prometheus exposition (GET /metrics) in tests.

/** How many messages a consumer counted with `outcome` (amqp_consumed_total); 0 before the first. */
export function consumedCount(metricsText: string, outcome: string): number {
  const match = new RegExp(`^amqp_consumed_total\\{outcome="${outcome}"\\} (\\d+)`, "m").exec(metricsText);
  return match ? Number(match[1]) : 0;
}
