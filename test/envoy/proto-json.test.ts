// The strict proto3-JSON parse, piece by piece, on small Envoy messages.
import { describe, expect, it } from "vitest";
import { checkProtoJson, envoyProtoRoot } from "../../envoy-templates/validate/index.js";

const root = envoyProtoRoot();
const check = (type: string, value: unknown, options = {}) => () => checkProtoJson(root, type, value, options);
const CLUSTER = "envoy.config.cluster.v3.Cluster";

describe("checkProtoJson", () => {
  it("accepts proto names and JSON (lowerCamel) names, durations, wrappers and enums by name or number", () => {
    expect(check(CLUSTER, { name: "a", connectTimeout: "0.25s", per_connection_buffer_limit_bytes: 1024, lbPolicy: "MAGLEV" })).not.toThrow();
    expect(check(CLUSTER, { name: "a", lb_policy: 1, common_lb_config: { healthy_panic_threshold: { value: 0 } } })).not.toThrow();
    expect(check(CLUSTER, { name: "a", circuit_breakers: { thresholds: [{ max_connections: "100" }] } })).not.toThrow();
  });

  it("rejects the same field given under both names", () => {
    expect(check(CLUSTER, { connect_timeout: "1s", connectTimeout: "1s" })).toThrow('connectTimeout: field given twice, as "connect_timeout" and "connectTimeout"');
  });

  it("rejects two members of one oneof", () => {
    expect(check("envoy.config.route.v3.RouteMatch", { prefix: "/", path: "/x" })).toThrow(/^path: "path" and "prefix" are both set, but only one of oneof "path_specifier" may be$/);
  });

  it("rejects wrong scalar kinds and out-of-range integers", () => {
    expect(check(CLUSTER, { respect_dns_ttl: "true" })).toThrow('respect_dns_ttl: bad bool "true" (expected true or false)');
    expect(check(CLUSTER, { per_connection_buffer_limit_bytes: { value: -1 } })).toThrow("per_connection_buffer_limit_bytes: bad uint32");
    expect(check(CLUSTER, { common_lb_config: { healthy_panic_threshold: { value: "half" } } })).toThrow('common_lb_config.healthy_panic_threshold.value: bad double "half"');
    expect(check(CLUSTER, { circuit_breakers: { thresholds: [{ max_connections: 4294967296 }] } })).toThrow("circuit_breakers.thresholds[0].max_connections: uint32 4294967296 out of range");
  });

  it("rejects malformed durations", () => {
    for (const bad of ["5", "5 s", "1m", "1.0000000001s", 5]) expect(check(CLUSTER, { connect_timeout: bad })).toThrow(/^connect_timeout: bad duration/);
  });

  it("checks Any payloads as the message their @type names, including well-known types", () => {
    const any = (typedConfig: unknown) => ({ name: "envoy.filters.http.router", typed_config: typedConfig });
    const FILTER = "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter";
    expect(check(FILTER, any({ "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", suppress_envoy_headers: true }))).not.toThrow();
    expect(check(FILTER, any({ "@type": "type.googleapis.com/google.protobuf.Duration", value: "1s" }))).not.toThrow();
    expect(check(FILTER, any({ "@type": "type.googleapis.com/google.protobuf.Duration", value: "1" }))).toThrow('typed_config.value: bad duration "1"');
    expect(check(FILTER, any({ suppress_envoy_headers: true }))).toThrow('typed_config: missing "@type"');
    expect(check(FILTER, any({ "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", supress_envoy_headers: true }))).toThrow(
      'typed_config.supress_envoy_headers: unknown field "supress_envoy_headers" in envoy.extensions.filters.http.router.v3.Router (did you mean "suppress_envoy_headers"?)',
    );
  });

  it("checks a TypedStruct's value as the message its type_url names", () => {
    const typedStruct = (value: unknown) => ({
      name: "x",
      typed_config: { "@type": "type.googleapis.com/xds.type.v3.TypedStruct", type_url: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", value },
    });
    const FILTER = "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter";
    expect(check(FILTER, typedStruct({ suppress_envoy_headers: true }))).not.toThrow();
    expect(check(FILTER, typedStruct({ nope: 1 }))).toThrow('typed_config.value.nope: unknown field "nope"');
  });

  it("rejects deprecated fields when asked to", () => {
    expect(check(CLUSTER, { max_requests_per_connection: 10 }, { rejectDeprecated: true })).toThrow(
      'max_requests_per_connection: field "max_requests_per_connection" of envoy.config.cluster.v3.Cluster is deprecated',
    );
    expect(check(CLUSTER, { max_requests_per_connection: 10 })).not.toThrow();
  });

  it("validates maps by key and value", () => {
    const options = { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": { "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", bogus: 1 } };
    expect(check(CLUSTER, { typed_extension_protocol_options: options })).toThrow(
      'typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].bogus: unknown field "bogus"',
    );
  });
});
