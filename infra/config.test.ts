import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { adminPorts, meshModelFor, parseStackSettings, SETTING_KEYS, StackConfigError } from "./config.js";
import { workloadIdentity } from "./model.js";
import { IMAGES } from "./versions.js";

describe("parseStackSettings", () => {
  it("fills defaults for a minimal docker stack", () => {
    const s = parseStackSettings({ target: "docker" });
    expect(s).toMatchObject({ target: "docker", gatewayPort: 8080, adminPortBase: 9901, namespace: "mesh", envoyLogLevel: "info" });
    expect(s.replicas).toEqual({ catalog: 1, cart: 1, orders: 1, "order-worker": 1 });
  });

  it("carries the identity and gateway settings into the model, with cluster.local, 24 h and plain HTTP served by default", () => {
    const defaults = parseStackSettings({ target: "kubernetes" });
    expect([defaults.trustDomain, defaults.certificateLifetimeHours, defaults.plainHttp, defaults.gatewayHttpsPort]).toEqual(["cluster.local", 24, "serve", 8443]);
    const model = meshModelFor(parseStackSettings({ target: "kubernetes", namespace: "shop", trustDomain: "corp.example", plainHttp: "redirect", gatewayHttpsPort: "443" }));
    expect(model.identity).toEqual({ trustDomain: "corp.example", namespace: "shop" });
    expect(model.gateway).toEqual({ plainHttp: "redirect", httpsPort: 443 });
    expect(workloadIdentity(model, "catalog")).toBe("spiffe://corp.example/ns/shop/sa/catalog");
  });

  it("traces every request unless told otherwise, and carries a lower share into the model", () => {
    expect(meshModelFor(parseStackSettings({ target: "docker" })).traceSamplingPercent).toBe(1);
    expect(meshModelFor(parseStackSettings({ target: "docker", traceSamplingPercent: 100 })).traceSamplingPercent).toBe(100);
    expect(meshModelFor(parseStackSettings({ target: "docker", traceSamplingPercent: "2.5" })).traceSamplingPercent).toBe(2.5);
  });

  it("logs failed requests only unless told otherwise, and carries the mode into the model", () => {
    expect(meshModelFor(parseStackSettings({ target: "docker" })).accessLog).toBe("errors");
    expect(meshModelFor(parseStackSettings({ target: "kubernetes", accessLog: "all" })).accessLog).toBe("all");
    expect(meshModelFor(parseStackSettings({ target: "kubernetes", accessLog: "off" })).accessLog).toBe("off");
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
    ["a port inside the admin range that only a scale-up would use", { target: "docker", zipkinPort: 9999 }, /"mesh:zipkinPort": expected a host port not already used by "mesh:adminPortBase", got 9999/],
    ["an image override for an unknown image", { target: "docker", images: { nginx: "nginx:1" } }, /"mesh:images.nginx": expected one of envoy, postgres, redis, rabbitmq, prometheus, grafana, zipkin, node, got "nginx"/],
    ["an image reference with upper-case letters in its path", { target: "docker", images: { envoy: "Registry.example.com/Envoy:v1" } }, /"mesh:images.envoy": expected an image reference/],
    ["an image reference with a space", { target: "docker", images: { redis: "redis :7" } }, /"mesh:images.redis": expected an image reference .*, got "redis :7"/],
    ["a short digest", { target: "docker", appImages: { cart: "mesh-cart@sha256:abc" } }, /"mesh:appImages.cart": expected an image reference/],
    ["app images for an unknown service", { target: "docker", appImages: { payments: "x:1" } }, /"mesh:appImages.payments": expected one of catalog, cart, orders, order-worker/],
    ["app images that are not a map", { target: "docker", appImages: "mesh-cart:1" }, /"mesh:appImages": expected a map of catalog, cart, orders, order-worker to image references, got "mesh-cart:1"/],
    ["a registry with a tag", { target: "kubernetes", imageRegistry: "registry.example.com/mesh:latest" }, /"mesh:imageRegistry": expected a registry host with an optional port and path/],
    ["a registry with a scheme", { target: "kubernetes", imageRegistry: "https://registry.example.com" }, /"mesh:imageRegistry": expected a registry host/],
    ["an admin range past 65535", { target: "docker", adminPortBase: 65500 }, /"mesh:adminPortBase": expected a port no higher than 65436 \(it needs 100 ports\), got 65500/],
    ["replicas for an unknown service", { target: "docker", replicas: { payments: 2 } }, /"mesh:replicas.payments": expected a known service/],
    ["replicas below 1", { target: "docker", replicas: { cart: 0 } }, /"mesh:replicas.cart": expected an integer from 1 to 20, got 0/],
    ["fractional replicas", { target: "docker", replicas: { cart: 1.5 } }, /"mesh:replicas.cart": expected an integer from 1 to 20, got 1.5/],
    ["replicas that are not a map", { target: "docker", replicas: "[1,2]" }, /"mesh:replicas": expected a map of service name to replica count/],
    ["a bad namespace", { target: "kubernetes", namespace: "Mesh_NS" }, /"mesh:namespace": expected a DNS label/],
    ["a sampling percentage above 100", { target: "docker", traceSamplingPercent: 150 }, /"mesh:traceSamplingPercent": expected a percentage from 0 to 100, got 150/],
    ["a sampling percentage that is not a number", { target: "docker", traceSamplingPercent: "ten" }, /"mesh:traceSamplingPercent": expected a percentage from 0 to 100, got "ten"/],
    ["a bad log level", { target: "docker", envoyLogLevel: "loud" }, /"mesh:envoyLogLevel": expected one of trace, debug/],
    ["an unknown access log mode", { target: "docker", accessLog: "verbose" }, /"mesh:accessLog": expected one of all, errors, off, got "verbose"/],
    ["a trust domain with upper-case letters", { target: "kubernetes", trustDomain: "Example.COM" }, /"mesh:trustDomain": expected a SPIFFE trust domain: 1 to 255 lower-case letters, digits, '\.', '-' and '_', such as cluster\.local, got "Example\.COM"/],
    ["a trust domain with a scheme", { target: "kubernetes", trustDomain: "spiffe://example.org" }, /"mesh:trustDomain": expected a SPIFFE trust domain/],
    ["a certificate lifetime of zero", { target: "kubernetes", certificateLifetimeHours: 0 }, /"mesh:certificateLifetimeHours": expected a whole number of hours from 1 to 8760, got 0/],
    ["a certificate lifetime in days", { target: "kubernetes", certificateLifetimeHours: "30d" }, /"mesh:certificateLifetimeHours": expected a whole number of hours from 1 to 8760, got "30d"/],
    ["an unknown plain-HTTP mode", { target: "kubernetes", plainHttp: "block" }, /"mesh:plainHttp": expected one of serve, redirect, got "block"/],
    ["a CA certificate without its key", { target: "kubernetes", caCertificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" }, /"mesh:caPrivateKey": expected the private key of mesh:caCertificate \(pulumi config set --secret caPrivateKey \.\.\.\), got nothing/],
    ["a CA key without its certificate", { target: "kubernetes", caPrivateKey: "-----BEGIN PRIVATE KEY-----" }, /"mesh:caCertificate": expected the PEM certificate whose key mesh:caPrivateKey is, got nothing/],
    ["a CA key in plaintext", { target: "kubernetes", caCertificate: "-----BEGIN CERTIFICATE-----", caPrivateKey: "-----BEGIN PRIVATE KEY-----" }, /"mesh:caPrivateKey": expected a secret \(pulumi config set --secret caPrivateKey \.\.\.\), got a plaintext value/],
    ["an HTTPS port clashing with the HTTP one", { target: "kubernetes", gatewayHttpsPort: 8080 }, /"mesh:gatewayHttpsPort": expected a host port not already used by "mesh:gatewayPort", got 8080/],
  ];
  it.each(rejections)("rejects %s", (_what, raw, message) => {
    expect(() => parseStackSettings(raw)).toThrow(StackConfigError);
    expect(() => parseStackSettings(raw)).toThrow(message);
  });

  it("gives every proxy replica its own admin host port at a slot no other service's replica count moves", () => {
    const s = parseStackSettings({ target: "docker", adminPortBase: 20000, replicas: { catalog: 2, orders: 3 } });
    expect(adminPorts(s).map((p) => [p.proxy, p.replica, p.port])).toEqual([
      ["edge", 0, 20000],
      ["catalog-sidecar", 0, 20020],
      ["catalog-sidecar", 1, 20021],
      ["cart-sidecar", 0, 20040],
      ["orders-sidecar", 0, 20060],
      ["orders-sidecar", 1, 20061],
      ["orders-sidecar", 2, 20062],
      ["order-worker-sidecar", 0, 20080],
    ]);
    // One more catalog replica adds a port and moves none.
    const more = adminPorts(parseStackSettings({ target: "docker", adminPortBase: 20000, replicas: { catalog: 3, orders: 3 } }));
    expect(more.filter((p) => !(p.proxy === "catalog-sidecar" && p.replica === 2))).toEqual(adminPorts(s));
    expect(() => parseStackSettings({ target: "docker", adminPortBase: 20000, grafanaPort: 20099 })).toThrow(
      /"mesh:grafanaPort": expected a host port not already used by "mesh:adminPortBase", got 20099/,
    );
  });

  it("takes image references instead of the pinned images and the app builds", () => {
    const s = parseStackSettings({
      target: "kubernetes",
      images: '{"envoy":"registry.example.com:5000/mirror/envoy:v1.40.0","redis":"redis@sha256:' + "a".repeat(64) + '"}',
      appImages: { catalog: "registry.example.com/mesh-catalog:1.2.0" },
      imageRegistry: "registry.example.com:5000/mesh",
    });
    expect(s.images.envoy).toBe("registry.example.com:5000/mirror/envoy:v1.40.0");
    expect(s.images.redis).toBe(`redis@sha256:${"a".repeat(64)}`);
    expect(s.images.postgres).toBe(IMAGES.postgres.ref);
    expect(s.appImages).toEqual({ catalog: "registry.example.com/mesh-catalog:1.2.0" });
    expect(s.imageRegistry).toBe("registry.example.com:5000/mesh");
    const defaults = parseStackSettings({ target: "docker" });
    expect(defaults.images).toEqual(Object.fromEntries(Object.entries(IMAGES).map(([key, image]) => [key, image.ref])));
    expect(defaults.appImages).toEqual({});
    expect(defaults.imageRegistry).toBe("");
  });

  it("takes provided passwords only as stack secrets, and never echoes one in an error", () => {
    const password = "s3cretFromTheVault0rg";
    expect(parseStackSettings({ target: "docker", redisPassword: password }, new Set(["redisPassword"])).passwords).toEqual({ redis: password });
    expect(parseStackSettings({ target: "docker" }).passwords).toEqual({});
    const plaintext = () => parseStackSettings({ target: "docker", redisPassword: password });
    expect(plaintext).toThrow(/"mesh:redisPassword": expected a secret \(pulumi config set --secret redisPassword \.\.\.\), got a plaintext value/);
    const short = () => parseStackSettings({ target: "docker", grafanaAdminPassword: "abc" }, new Set(["grafanaAdminPassword"]));
    expect(short).toThrow(/"mesh:grafanaAdminPassword": expected 16 to 128 letters and digits, got a value of 3 characters$/);
    const special = () => parseStackSettings({ target: "docker", rabbitmqPassword: "pass/word@with:url-chars" }, new Set(["rabbitmqPassword"]));
    expect(special).toThrow(/got a value of 24 characters with other than letters and digits$/);
    for (const attempt of [plaintext, special]) {
      try {
        attempt();
      } catch (err) {
        expect((err as Error).message).not.toMatch(/s3cret|pass\/word/);
      }
    }
  });
});

describe("Pulumi.yaml", () => {
  it("documents exactly the keys the program reads, with their defaults", () => {
    const project = parse(readFileSync(new URL("../Pulumi.yaml", import.meta.url), "utf8")) as { config: Record<string, { default?: unknown }> };
    expect(Object.keys(project.config).sort()).toEqual(Object.keys(SETTING_KEYS).sort());
    // Pulumi makes a declared key without a default required: every key but target has one,
    // and it means what leaving the key unset means.
    const unset = parseStackSettings({ target: "docker" });
    for (const [key, entry] of Object.entries(project.config)) {
      if (key === "target") continue;
      expect(entry.default, `${key} has no default in Pulumi.yaml`).toBeDefined();
      const asPulumiHandsItOver = typeof entry.default === "string" ? entry.default : JSON.stringify(entry.default);
      expect(parseStackSettings({ target: "docker", [key]: asPulumiHandsItOver }), key).toEqual(unset);
    }
  });
});

describe("traffic settings", () => {
  const parse = (extra: Record<string, unknown>) => parseStackSettings({ target: "kubernetes", ...extra });

  it("reads canaries, faults, rate limits and the rollout policy, with their defaults", () => {
    const settings = parse({
      canaries: JSON.stringify({ catalog: { weightPercent: 10 } }),
      faults: { catalog: { abortPercent: 20, abortStatus: 500, release: "canary" } },
      rateLimits: { "/api/orders": { requestsPerSecond: 50 } },
      rollout: { steps: [10, 100], holdSeconds: 30 },
    });
    expect(settings.traffic.canaries).toEqual({ catalog: { weightPercent: 10, replicas: 1 } });
    expect(settings.traffic.faults.catalog).toEqual({ release: "canary", abortPercent: 20, abortStatus: 500, delayPercent: 0, delayMs: 0, fromHeaders: false });
    expect(settings.traffic.rateLimits).toEqual({ "/api/orders": { requestsPerSecond: 50, burst: 50 } });
    expect(settings.rollout).toMatchObject({ steps: [10, 100], holdSeconds: 30, maxP99Ratio: 1.5 });
    expect(meshModelFor(settings).traffic).toBe(settings.traffic);
    expect(parse({}).traffic).toEqual({ canaries: {}, faults: {}, rateLimits: {} });
  });

  it("names the key and what was expected when a value is wrong", () => {
    expect(() => parse({ canaries: { basket: { weightPercent: 5 } } })).toThrow('"mesh:canaries.basket": expected a known service (catalog, cart, orders, order-worker), got "basket"');
    expect(() => parse({ canaries: { catalog: { weightPercent: 101 } } })).toThrow('"mesh:canaries.catalog.weightPercent": expected an integer from 0 to 100, got 101');
    expect(() => parse({ canaries: { catalog: { weight: 5 } } })).toThrow('"mesh:canaries.catalog.weight": expected one of weightPercent, replicas');
    expect(() => parse({ faults: { cart: { abortStatus: 200 } } })).toThrow('"mesh:faults.cart.abortStatus": expected an integer from 400 to 599, got 200');
    expect(() => parse({ faults: { cart: { release: "beta" } } })).toThrow('"mesh:faults.cart.release": expected one of stable, canary, all, got "beta"');
    expect(() => parse({ rateLimits: { "/api/basket": { requestsPerSecond: 5 } } })).toThrow('"mesh:rateLimits./api/basket": expected a public route prefix');
    expect(() => parse({ rateLimits: { "/api/carts": { requestsPerSecond: 0 } } })).toThrow('"mesh:rateLimits./api/carts.requestsPerSecond": expected an integer from 1 to 1000000, got 0');
    expect(() => parse({ rollout: { steps: [50, 25, 100] } })).toThrow('"mesh:rollout.steps": expected a list of canary weights (%) rising from 1 to 100');
    expect(() => parse({ rollout: { steps: [5, 50] } })).toThrow('"mesh:rollout.steps"');
  });
});

describe("canaries on the docker target", () => {
  it("are refused, naming the targets that run them", () => {
    expect(() => parseStackSettings({ target: "docker", canaries: { catalog: { weightPercent: 5 } } })).toThrow(
      '"mesh:canaries": expected no canary on the docker target (canary releases run on the kubernetes target and the local runner)',
    );
    expect(parseStackSettings({ target: "docker", faults: { catalog: { abortPercent: 1 } } }).traffic.faults.catalog?.abortPercent).toBe(1);
  });
});
