// Every rendered config of every stack (and of a local-runner style addressing) passes the
// consistency check, a strict parse against Envoy's v3 protos, and the real binary's
// `--mode validate`; and broken configs are rejected by both validators, for the right reason.
import { describe, expect, it } from "vitest";
import { buildMeshModel } from "../../infra/model.js";
import { dockerAddressing } from "../../infra/docker/addressing.js";
import { checkEnvoyConfig, envoyYaml, proxyBootstrap, type EnvoyObject } from "../../envoy-templates/index.js";
import { checkBootstrapSchema, envoyProtoRoot, unloadableProtos } from "../../envoy-templates/validate/index.js";
import { validateWithEnvoy } from "../support/envoy.js";
import { everyRenderedConfig } from "./stacks.js";

const configs = everyRenderedConfig();

describe("every rendered Envoy config", () => {
  it("covers both stacks and the local addressing", () => {
    const labels = configs.map((c) => c.label);
    for (const prefix of ["dev/", "kind/", "local/"]) expect(labels.filter((l) => l.startsWith(prefix)).length).toBeGreaterThanOrEqual(5);
    expect(labels).toContain("local/catalog-sidecar#1");
  });

  it.each(configs.map((c) => [c.label, c] as const))("%s is consistent", (_label, config) => {
    expect(checkEnvoyConfig(config.bootstrap)).toEqual([]);
  });

  it.each(configs.map((c) => [c.label, c] as const))("%s parses strictly as envoy.config.bootstrap.v3.Bootstrap", (_label, config) => {
    const types = checkBootstrapSchema(config.bootstrap);
    expect(types).toContain("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
  });

  it("passes envoy --mode validate, without deprecated fields", async () => {
    const results = await Promise.all(configs.map(async (c) => ({ label: c.label, ...(await validateWithEnvoy(c.yaml)) })));
    const failures = results.filter((r) => !r.ok || /deprecated/i.test(r.output)).map((r) => `${r.label}:\n${r.output.slice(0, 2000)}`);
    expect(failures).toEqual([]);
    for (const r of results) expect(r.output).toMatch(/configuration '.*' OK/);
  });

  it("uses only @types whose protos the package ships", () => {
    const used = new Set(configs.flatMap((c) => [...checkBootstrapSchema(c.bootstrap)]));
    // The resolver only appears where the addressing names one (local runner).
    expect(used).toContain("envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig");
    const root = envoyProtoRoot();
    for (const type of used) expect(root.lookup(type), type).not.toBeNull();
    // validate.proto here lacks StringRules.ignore_empty; protobufjs keeps option values
    // uninterpreted, so protos using it (OAuth2 here) still load without a patched copy.
    expect(root.lookup("envoy.extensions.filters.http.oauth2.v3.OAuth2Config")).not.toBeNull();
    expect(root.lookupType("validate.StringRules").fields.ignore_empty).toBeUndefined();
    // What the package cannot load (imports it does not ship); none of it is used here.
    const missingV3 = unloadableProtos().filter((p) => !/\/v2(alpha\d*)?\//.test(p.file));
    expect(missingV3.map((p) => `${p.file} <- ${p.missing}`)).toEqual([
      "envoy/config/trace/v3/opencensus.proto <- opencensus/proto/trace/v1/trace_config.proto",
      "envoy/config/trace/v3/trace.proto <- opencensus/proto/trace/v1/trace_config.proto",
      "envoy/extensions/access_loggers/open_telemetry/v3/logs_service.proto <- opentelemetry/proto/common/v1/common.proto",
      "envoy/service/metrics/v3/metrics_service.proto <- io/prometheus/client/metrics.proto",
      "envoy/service/trace/v3/trace_service.proto <- opencensus/proto/trace/v1/trace.proto",
    ]);
  });
});

// Broken variants of a real config: each must fail both validators, naming the problem.
type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function brokenEdge(mutate: (config: Mutable) => void): EnvoyObject {
  const config = structuredClone(proxyBootstrap(buildMeshModel(), "edge", dockerAddressing())) as Mutable;
  mutate(config);
  return config;
}

/** Envoy's own complaint: its critical line, whitespace collapsed (it pads with odd spaces). */
async function envoyRejection(config: EnvoyObject): Promise<string> {
  const result = await validateWithEnvoy(envoyYaml(config));
  expect(result.ok, result.output.slice(0, 2000)).toBe(false);
  const critical = result.output.split("\n").find((line) => line.includes("[critical]")) ?? result.output;
  return critical.replace(/\s+/g, " ").slice(0, 1500);
}

const NEGATIVE_CASES = [
  {
    name: "a misspelled field",
    mutate: (c: Mutable) => {
      const cluster = c.static_resources.clusters[0];
      cluster.conect_timeout = cluster.connect_timeout;
      delete cluster.connect_timeout;
    },
    schema: /^static_resources\.clusters\[0\]\.conect_timeout: unknown field "conect_timeout" in envoy\.config\.cluster\.v3\.Cluster \(did you mean "connect_timeout"\?\)$/,
    envoy: /static_resources\.clusters\[0\].*no such field: 'conect_timeout'/,
  },
  {
    name: "a misspelled field inside typed_config",
    mutate: (c: Mutable) => {
      const route = c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route;
      route.timout = route.timeout;
      delete route.timeout;
    },
    schema: /^static_resources\.listeners\[0\]\.filter_chains\[0\]\.filters\[0\]\.typed_config\.route_config\.virtual_hosts\[0\]\.routes\[0\]\.route\.timout: unknown field "timout" in envoy\.config\.route\.v3\.RouteAction/,
    envoy: /typed_config\.<any>\.route_config\.virtual_hosts\[0\]\.routes\[0\]\.route.*no such field: 'timout'/,
  },
  {
    name: "a bad enum",
    mutate: (c: Mutable) => {
      c.static_resources.clusters[0].lb_policy = "ROUND_ROBIN_PLEASE";
    },
    schema: /^static_resources\.clusters\[0\]\.lb_policy: bad enum value "ROUND_ROBIN_PLEASE" for envoy\.config\.cluster\.v3\.Cluster\.LbPolicy/,
    envoy: /unknown enum value: 'ROUND_ROBIN_PLEASE'/,
  },
  {
    name: "a bad duration",
    mutate: (c: Mutable) => {
      c.static_resources.clusters[2].connect_timeout = "5";
    },
    schema: /^static_resources\.clusters\[2\]\.connect_timeout: bad duration "5"/,
    envoy: /static_resources\.clusters\[2\]\.connect_timeout: message google\.protobuf\.Duration.*duration must end with a single 's'/,
  },
  {
    name: "an unknown @type",
    mutate: (c: Mutable) => {
      c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config["@type"] =
        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManagr";
    },
    schema: /^static_resources\.listeners\[0\]\.filter_chains\[0\]\.filters\[0\]\.typed_config\.@type: unknown @type "type\.googleapis\.com\/envoy\.extensions\.filters\.network\.http_connection_manager\.v3\.HttpConnectionManagr"/,
    envoy: /could not find @type 'type\.googleapis\.com\/envoy\.extensions\.filters\.network\.http_connection_manager\.v3\.HttpConnectionManagr'/,
  },
];

describe("a broken config", () => {
  it.each(NEGATIVE_CASES.map((c) => [c.name, c] as const))("with %s is rejected by both validators", async (_name, testCase) => {
    const config = brokenEdge(testCase.mutate);
    expect(() => checkBootstrapSchema(config)).toThrow(testCase.schema);
    expect(await envoyRejection(config)).toMatch(testCase.envoy);
  });
});
