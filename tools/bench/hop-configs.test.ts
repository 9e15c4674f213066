// The hop benchmark's configs: the bare pair and the answering upstream pass Envoy's
// own validation, and each feature switch removes exactly its feature from a
// generated config (which stays valid), the traffic filters with their routes' config.
import { describe, expect, it } from "vitest";
import { TRAFFIC_FILTER } from "../../envoy-templates/builders/index.js";
import { envoyYaml, proxyBootstrap } from "../../envoy-templates/index.js";
import { buildMeshModel } from "../../infra/model.js";
import { NO_TRAFFIC_POLICY } from "../../infra/traffic.js";
import { validateWithEnvoy } from "../../test/support/envoy.js";
import { loopbackAddressing } from "../../test/envoy/loopback.js";
import { randomBlockPrefix } from "../../infra/local/layout.js";
import { answeringEnvoy, bareEnvoyPair } from "./bare-envoy.js";
import { ENVOY_FEATURES, withTracingOf, withoutFeature } from "./envoy-features.js";

const at = (port: number) => ({ address: "127.0.0.1", port });

describe("hop benchmark configs", () => {
  it("the bare pair and the answering upstream pass envoy --mode validate", async () => {
    const { front, back } = bareEnvoyPair({ listen: at(18080), admin: at(18081) }, { listen: at(18082), admin: at(18083) }, at(18084));
    for (const config of [front, back, answeringEnvoy([at(18084), at(18085)], at(0), "{}")]) {
      const result = await validateWithEnvoy(envoyYaml(config));
      expect(result.ok, result.output).toBe(true);
    }
  });

  const addressing = loopbackAddressing(randomBlockPrefix());
  const pair = { edge: proxyBootstrap(buildMeshModel(), "edge", addressing), sidecar: proxyBootstrap(buildMeshModel(), "catalog-sidecar", addressing) };
  /** Whether `config` still has the feature: a tracing provider, stats recorded, a traffic filter, or any object with the feature's field. */
  const has = (config: unknown, feature: (typeof ENVOY_FEATURES)[number]): boolean => {
    const text = JSON.stringify(config);
    if (feature === "tracing") return text.includes('"envoy.tracers.zipkin"');
    if (feature === "stats") return !text.includes('"reject_all":true');
    if (feature === "traffic filters") return Object.values(TRAFFIC_FILTER).some((name) => text.includes(`"${name}"`));
    return text.includes({ "access log": '"access_log"', "health checks": '"health_checks"', retries: '"retry_policy"' }[feature]);
  };

  it.each(ENVOY_FEATURES)("switching off %s removes just that from the mesh's edge and sidecar, which stay valid", async (feature) => {
    for (const [name, config] of Object.entries(pair)) {
      const before = JSON.stringify(config);
      const after = withoutFeature(config, feature);
      expect(JSON.stringify(config), `${name}: the original is left alone`).toBe(before);
      expect(has(after, feature), `${name} without ${feature}`).toBe(false);
      const result = await validateWithEnvoy(envoyYaml(after));
      expect(result.ok, result.output).toBe(true);
    }
    expect(Object.values(pair).some((config) => has(config, feature)), `the mesh's configs have ${feature} to switch off`).toBe(true);
  });

  it("switching off the traffic filters also drops the routes' config of them, where a policy gives some", async () => {
    const fault = { release: "all", abortPercent: 1, abortStatus: 503, delayPercent: 0, delayMs: 0, fromHeaders: true } as const;
    const model = buildMeshModel({}, { traffic: { ...NO_TRAFFIC_POLICY, faults: { catalog: fault }, rateLimits: { "/api/products": { requestsPerSecond: 10, burst: 10 } } } });
    for (const proxy of ["edge", "catalog-sidecar"]) {
      const config = proxyBootstrap(model, proxy, addressing);
      expect(JSON.stringify(config), `${proxy} configures a traffic filter on a route`).toContain('"typed_per_filter_config"');
      const after = withoutFeature(config, "traffic filters");
      expect(has(after, "traffic filters"), proxy).toBe(false);
      const result = await validateWithEnvoy(envoyYaml(after));
      expect(result.ok, result.output).toBe(true);
    }
  });

  it("the traced bare pair has the mesh's tracing block and Zipkin cluster, nothing else of the mesh, and stays valid", async () => {
    const model = buildMeshModel({}, { traceSamplingPercent: 10 });
    const mesh = { front: proxyBootstrap(model, "edge", addressing), back: proxyBootstrap(model, "catalog-sidecar", addressing) };
    const bare = bareEnvoyPair({ listen: at(18080), admin: at(18081) }, { listen: at(18082), admin: at(18083) }, at(18084));
    for (const side of ["front", "back"] as const) {
      const traced = withTracingOf(bare[side], mesh[side]);
      const text = JSON.stringify(traced);
      expect(text).toContain('"envoy.tracers.zipkin"');
      expect(text).toContain('"random_sampling":{"value":10}');
      const clusters = (traced.static_resources as { clusters: Array<{ name: string }> }).clusters.map((c) => c.name);
      expect(clusters).toEqual([...(bare[side].static_resources as { clusters: Array<{ name: string }> }).clusters.map((c) => c.name), "zipkin"]);
      // Nothing else of the mesh: no access log, health check, retry or extra filter came with it.
      for (const field of ['"access_log"', '"health_checks"', '"retry_policy"', "envoy.filters.http.health_check"]) expect(text).not.toContain(field);
      const result = await validateWithEnvoy(envoyYaml(traced));
      expect(result.ok, result.output).toBe(true);
    }
  });
});
