// Access logs: one JSON line per request (HTTP) or connection (TCP) on stdout.
import { type EnvoyObject, typed } from "./common.js";

export const HTTP_ACCESS_LOG_FORMAT = {
  start_time: "%START_TIME%",
  method: "%REQ(:METHOD)%",
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  protocol: "%PROTOCOL%",
  response_code: "%RESPONSE_CODE%",
  response_flags: "%RESPONSE_FLAGS%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  duration_ms: "%DURATION%",
  upstream_cluster: "%UPSTREAM_CLUSTER%",
  upstream_host: "%UPSTREAM_HOST%",
  route: "%ROUTE_NAME%",
  x_forwarded_for: "%REQ(X-FORWARDED-FOR)%",
  user_agent: "%REQ(USER-AGENT)%",
  x_request_id: "%REQ(X-REQUEST-ID)%",
  trace_id: "%TRACE_ID%",
};

export const TCP_ACCESS_LOG_FORMAT = {
  start_time: "%START_TIME%",
  downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS%",
  upstream_cluster: "%UPSTREAM_CLUSTER%",
  upstream_host: "%UPSTREAM_HOST%",
  response_flags: "%RESPONSE_FLAGS%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  duration_ms: "%DURATION%",
};

export function stdoutJsonLog(format: EnvoyObject): EnvoyObject {
  return {
    name: "envoy.access_loggers.stdout",
    typed_config: typed("envoy.extensions.access_loggers.stream.v3.StdoutAccessLog", { log_format: { json_format: format } }),
  };
}
