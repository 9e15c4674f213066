// Strict schema check of a rendered bootstrap against Envoy's own v3 protos (test-time only:
// it needs the devDependencies protobufjs and @grpc/grpc-js-xds).
import type { EnvoyObject } from "../builders/index.js";
import { envoyProtoRoot } from "./envoy-protos.js";
import { checkProtoJson } from "./proto-json.js";

export const BOOTSTRAP_TYPE = "envoy.config.bootstrap.v3.Bootstrap";

/** Throws a ProtoJsonError naming the path of the first problem; returns every @type used. */
export function checkBootstrapSchema(bootstrap: EnvoyObject | unknown): Set<string> {
  return checkProtoJson(envoyProtoRoot(), BOOTSTRAP_TYPE, bootstrap, { rejectDeprecated: true });
}

export { ProtoJsonError, checkProtoJson } from "./proto-json.js";
export { envoyProtoRoot, unloadableProtos, type UnloadableProto } from "./envoy-protos.js";
