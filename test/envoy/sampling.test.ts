import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { dockerAddressing } from "../../infra/docker/addressing.js";
import { buildMeshModel, proxyNames } from "../../infra/model.js";
import { renderProxyConfig } from "../../envoy-templates/index.js";
import { validateWithEnvoy } from "../support/envoy.js";

/** Every `random_sampling` of a tracing block in a rendered config (ingress probes are forced to 0 by route). */
function hcmSampling(yaml: string): number[] {
  const found: number[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node !== "object" || node === null) return;
    const record = node as Record<string, unknown>;
    const tracing = record.tracing as { provider?: unknown; random_sampling?: { value: number } } | undefined;
    if (tracing?.provider && tracing.random_sampling) found.push(tracing.random_sampling.value);
    Object.values(record).forEach(walk);
  };
  walk(parse(yaml));
  return found;
}

describe("trace sampling from the stack's traceSamplingPercent", () => {
  it("is 1 % by default on every traced listener", () => {
    const model = buildMeshModel();
    for (const proxy of proxyNames(model)) {
      const sampling = hcmSampling(renderProxyConfig(model, proxy, dockerAddressing()));
      expect(sampling.length, proxy).toBeGreaterThan(0);
      expect(new Set(sampling), proxy).toEqual(new Set([1]));
    }
  });

  it("traces every request when a stack sets 100", () => {
    const model = buildMeshModel({}, { traceSamplingPercent: 100 });
    for (const proxy of proxyNames(model)) expect(new Set(hcmSampling(renderProxyConfig(model, proxy, dockerAddressing()))), proxy).toEqual(new Set([100]));
  });

  it("carries a lower share into every proxy, and Envoy accepts it", async () => {
    const model = buildMeshModel({}, { traceSamplingPercent: 2.5 });
    for (const proxy of proxyNames(model)) {
      const yaml = renderProxyConfig(model, proxy, dockerAddressing());
      expect(new Set(hcmSampling(yaml)), proxy).toEqual(new Set([2.5]));
    }
    const edge = await validateWithEnvoy(renderProxyConfig(model, "edge", dockerAddressing()));
    expect(edge.ok, edge.output).toBe(true);
  });
});
