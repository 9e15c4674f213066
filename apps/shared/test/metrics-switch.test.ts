// METRICS_ENABLED: the switch that turns the app's metrics off (to measure what they cost).
import { describe, expect, it } from "vitest";
import { ConfigError, readBaseConfig } from "../src/env.js";
import { createServiceApp } from "../src/app.js";
import { testBaseConfig } from "./support/apps.js";

describe("METRICS_ENABLED", () => {
  it("defaults to on and accepts true/false spellings", () => {
    expect(readBaseConfig({}, "svc").metricsEnabled).toBe(true);
    expect(readBaseConfig({ METRICS_ENABLED: "false" }, "svc").metricsEnabled).toBe(false);
    expect(readBaseConfig({ METRICS_ENABLED: "0" }, "svc").metricsEnabled).toBe(false);
    expect(readBaseConfig({ METRICS_ENABLED: "TRUE" }, "svc").metricsEnabled).toBe(true);
    expect(() => readBaseConfig({ METRICS_ENABLED: "maybe" }, "svc")).toThrow(ConfigError);
  });

  it("serves /metrics only when on", async () => {
    for (const metricsEnabled of [true, false]) {
      const { app } = await createServiceApp({ config: { ...testBaseConfig("svc"), metricsEnabled } });
      try {
        const res = await app.inject({ method: "GET", url: "/metrics" });
        expect(res.statusCode).toBe(metricsEnabled ? 200 : 404);
      } finally {
        await app.close();
      }
    }
  });
});
