// The consistency check catches what a schema cannot: dangling cluster references,
// an address:port bound twice, listeners or network filters without a stat_prefix.
import { describe, expect, it } from "vitest";
import { dockerAddressing } from "../../infra/docker/addressing.js";
import { kubernetesAddressing } from "../../infra/kubernetes/addressing.js";
import { buildMeshModel } from "../../infra/model.js";
import { NO_TRAFFIC_POLICY } from "../../infra/traffic.js";
import { checkEnvoyConfig, findProxy, renderProxies, renderProxyConfig, sidecarBootstrap, type EnvoyObject } from "../../envoy-templates/index.js";

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function ordersSidecar(mutate: (config: Mutable) => void = () => undefined): EnvoyObject {
  const config = structuredClone(sidecarBootstrap(buildMeshModel(), "orders", dockerAddressing())) as Mutable;
  mutate(config);
  return config;
}

const hcmOf = (config: Mutable, listener: number) => config.static_resources.listeners[listener].filter_chains[0].filters[0].typed_config;

describe("checkEnvoyConfig", () => {
  it("finds nothing wrong in a rendered sidecar", () => {
    expect(checkEnvoyConfig(ordersSidecar())).toEqual([]);
  });

  it("reports a route to a missing cluster", () => {
    const config = ordersSidecar((c) => {
      hcmOf(c, 0).route_config.virtual_hosts[0].routes[3].route.cluster = "no_such_app";
    });
    expect(checkEnvoyConfig(config)).toEqual([
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[3].route.cluster: refers to cluster "no_such_app", which is not defined',
    ]);
  });

  it("reports a TCP proxy and a tracer pointing at a removed cluster", () => {
    const config = ordersSidecar((c) => {
      c.static_resources.clusters = c.static_resources.clusters.filter((cluster: Mutable) => cluster.name !== "zipkin");
    });
    const problems = checkEnvoyConfig(config);
    expect(problems.some((p) => /tracing\.provider\.typed_config\.collector_cluster: refers to cluster "zipkin"/.test(p))).toBe(true);
    expect(problems.some((p) => /filters\[0\]\.typed_config\.cluster: refers to cluster "zipkin"/.test(p))).toBe(true);
  });

  it("reports an address:port bound twice, including under a wildcard", () => {
    const sameAddress = ordersSidecar((c) => {
      c.static_resources.listeners[3].address.socket_address.port_value = 5432;
    });
    expect(checkEnvoyConfig(sameAddress)).toEqual([
      "static_resources.listeners[3].address: 127.0.0.1:5432 is already bound by static_resources.listeners[2].address",
    ]);
    const underWildcard = ordersSidecar((c) => {
      c.static_resources.listeners[2].address.socket_address.port_value = 10000;
    });
    expect(checkEnvoyConfig(underWildcard)).toEqual([
      "static_resources.listeners[2].address: 127.0.0.1:10000 is already bound by static_resources.listeners[0].address",
    ]);
  });

  it("reports a listener without stat_prefix", () => {
    const config = ordersSidecar((c) => {
      delete c.static_resources.listeners[1].stat_prefix;
    });
    expect(checkEnvoyConfig(config)).toEqual(['static_resources.listeners[1]: listener "metrics" has no stat_prefix']);
  });

  it("reports a network filter without stat_prefix", () => {
    const config = ordersSidecar((c) => {
      delete c.static_resources.listeners[2].filter_chains[0].filters[0].typed_config.stat_prefix;
    });
    expect(checkEnvoyConfig(config)).toEqual([
      'static_resources.listeners[2].filter_chains[0].filters[0]: filter "envoy.filters.network.tcp_proxy" has no stat_prefix',
    ]);
  });

  it("reports a cluster defined twice", () => {
    const config = ordersSidecar((c) => {
      c.static_resources.clusters.push(structuredClone(c.static_resources.clusters[0]));
    });
    expect(checkEnvoyConfig(config)).toEqual([`static_resources.clusters[${(config as Mutable).static_resources.clusters.length - 1}]: cluster "local_app" defined twice`]);
  });

  it("is applied by the renderer, which also refuses unknown proxies", () => {
    expect(() => renderProxyConfig(buildMeshModel(), "billing-sidecar", dockerAddressing())).toThrow(/unknown proxy "billing-sidecar" \(known: edge, catalog-sidecar/);
  });
});

describe("renderProxies, what the targets deploy", () => {
  const traffic = { ...NO_TRAFFIC_POLICY, canaries: { catalog: { weightPercent: 10, replicas: 2 } } };
  const model = buildMeshModel({ catalog: 3, orders: 2 }, { traffic });

  it("lists the edge, then every replica of every release of every service", () => {
    const listed = renderProxies(model, kubernetesAddressing("mesh")).map((p) => `${p.proxy}/${p.release}/${p.replica}`);
    expect(listed).toEqual([
      "edge/stable/0",
      "catalog-sidecar/stable/0",
      "catalog-sidecar/stable/1",
      "catalog-sidecar/stable/2",
      "catalog-sidecar/canary/0",
      "catalog-sidecar/canary/1",
      "cart-sidecar/stable/0",
      "orders-sidecar/stable/0",
      "orders-sidecar/stable/1",
      "order-worker-sidecar/stable/0",
    ]);
  });

  it("renders every replica of a Kubernetes release alike (its pods share one ConfigMap), and each Docker replica its own admin bind", () => {
    const k8s = renderProxies(model, kubernetesAddressing("mesh"));
    for (const p of k8s) expect(p, `${p.proxy}/${p.release}/${p.replica}`).toEqual({ ...findProxy(k8s, p.proxy, 0, p.release), replica: p.replica });
    const docker = renderProxies(buildMeshModel({ catalog: 2 }), dockerAddressing());
    expect(findProxy(docker, "catalog-sidecar", 1).bootstrap).not.toBe(findProxy(docker, "catalog-sidecar", 0).bootstrap);
  });

  it("says which proxy it cannot find", () => {
    expect(() => findProxy(renderProxies(model, dockerAddressing()), "cart-sidecar", 1)).toThrow("no rendered config for cart-sidecar replica 1 (stable): the model runs no such proxy");
  });
});
