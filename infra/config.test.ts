import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { adminPorts, meshModelFor, parseStackSettings, SETTING_KEYS, StackConfigError } from "./config.js";

describe("parseStackSettings", () => {
  it("fills defaults for a minimal docker stack", () => {
    const s = parseStackSettings({ target: "docker" });
    expect(s).toMatchObject({ target: "docker", gatewayPort: 8080, adminPortBase: 9901, namespace: "mesh", envoyLogLevel: "info" });
    expect(s.replicas).toEqual({ catalog: 1, cart: 1, orders: 1, "order-worker": 1 });
  });

  it("traces every request unless told otherwise, and carries a lower share into the model", () => {
    expect(meshModelFor(parseStackSettings({ target: "docker" })).traceSamplingPercent).toBe(100);
    expect(meshModelFor(parseStackSettings({ target: "docker", traceSamplingPercent: "2.5" })).traceSamplingPercent).toBe(2.5);
  });

  it("accepts values as Pulumi hands them over (strings, JSON objects)", () => {
    const s = parseStackSettings({ target: "kubernetes", gatewayPort: "18080", replicas: '{"catalog":3}' });
    expect(s.gatewayPort).toBe(18080);
    expect(s.replicas.catalog).toBe(3);
  });

  const rejections: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a missing target", {}, /"mesh:target": expected one of docker, kubernetes, got nothing/],
    ["an unknown target", { target: "nomad" }, /"mesh:target": expected one of docker, kubernetes, got "nomad"/],
    ["an unknown key", { target: "docker", gatewayprot: 1 }, /"mesh:gatewayprot": expected one of the known keys/],
    ["a port above 65535", { target: "docker", gatewayPort: 70000 }, /"mesh:gatewayPort": expected an integer port from 1 to 65535, got 70000/],
    ["a port of 0", { target: "docker", zipkinPort: 0 }, /"mesh:zipkinPort": expected an integer port from 1 to 65535, got 0/],
    ["a non-integer port", { target: "docker", grafanaPort: "30x0" }, /"mesh:grafanaPort": expected an integer port from 1 to 65535, got "30x0"/],
    ["clashing host ports", { target: "docker", prometheusPort: 8080 }, /"mesh:prometheusPort": expected a host port not already used by "mesh:gatewayPort", got 8080/],
    ["a port inside the admin range", { target: "docker", grafanaPort: 9903 }, /"mesh:grafanaPort": expected a host port not already used by "mesh:adminPortBase", got 9903/],
    ["an admin range past 65535", { target: "docker", adminPortBase: 65534 }, /"mesh:adminPortBase": expected a port no higher than 65531/],
    ["replicas for an unknown service", { target: "docker", replicas: { payments: 2 } }, /"mesh:replicas.payments": expected a known service/],
    ["replicas below 1", { target: "docker", replicas: { cart: 0 } }, /"mesh:replicas.cart": expected an integer from 1 to 20, got 0/],
    ["fractional replicas", { target: "docker", replicas: { cart: 1.5 } }, /"mesh:replicas.cart": expected an integer from 1 to 20, got 1.5/],
    ["replicas that are not a map", { target: "docker", replicas: "[1,2]" }, /"mesh:replicas": expected a map of service name to replica count/],
    ["a bad namespace", { target: "kubernetes", namespace: "Mesh_NS" }, /"mesh:namespace": expected a DNS label/],
    ["a sampling percentage above 100", { target: "docker", traceSamplingPercent: 150 }, /"mesh:traceSamplingPercent": expected a percentage from 0 to 100, got 150/],
    ["a sampling percentage that is not a number", { target: "docker", traceSamplingPercent: "ten" }, /"mesh:traceSamplingPercent": expected a percentage from 0 to 100, got "ten"/],
    ["a bad log level", { target: "docker", envoyLogLevel: "loud" }, /"mesh:envoyLogLevel": expected one of trace, debug/],
  ];
  it.each(rejections)("rejects %s", (_what, raw, message) => {
    expect(() => parseStackSettings(raw)).toThrow(StackConfigError);
    expect(() => parseStackSettings(raw)).toThrow(message);
  });

  it("gives every proxy replica its own admin host port, edge first, and counts them for clashes", () => {
    const s = parseStackSettings({ target: "docker", adminPortBase: 20000, replicas: { catalog: 2, orders: 3 } });
    expect(adminPorts(s).map((p) => [p.proxy, p.replica, p.port])).toEqual([
      ["edge", 0, 20000],
      ["catalog-sidecar", 0, 20001],
      ["catalog-sidecar", 1, 20002],
      ["cart-sidecar", 0, 20003],
      ["orders-sidecar", 0, 20004],
      ["orders-sidecar", 1, 20005],
      ["orders-sidecar", 2, 20006],
      ["order-worker-sidecar", 0, 20007],
    ]);
    expect(() => parseStackSettings({ target: "docker", adminPortBase: 20000, replicas: { catalog: 2, orders: 3 }, grafanaPort: 20007 })).toThrow(
      /"mesh:grafanaPort": expected a host port not already used by "mesh:adminPortBase", got 20007/,
    );
  });
});

describe("Pulumi.yaml", () => {
  it("documents exactly the keys the program reads, with their defaults", () => {
    const project = parse(readFileSync(new URL("../Pulumi.yaml", import.meta.url), "utf8")) as { config: Record<string, { default?: unknown }> };
    expect(Object.keys(project.config).sort()).toEqual(Object.keys(SETTING_KEYS).sort());
    const defaults = parseStackSettings({ target: "docker" }) as unknown as Record<string, unknown>;
    for (const [key, entry] of Object.entries(project.config)) {
      if (entry.default !== undefined) expect(defaults[key], key).toEqual(entry.default);
    }
  });
});
