// Access logs: one JSON line per request (HTTP) or connection (TCP) on stdout,
// for every one or only for those that went wrong (the stack's mesh:accessLog).
import type { AccessLogMode } from "../../infra/model.js";
import { type EnvoyObject, typed } from "./common.js";

const HTTP_ACCESS_LOG_FORMAT = {
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

const TCP_ACCESS_LOG_FORMAT = {
  start_time: "%START_TIME%",
  downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS%",
  upstream_cluster: "%UPSTREAM_CLUSTER%",
  upstream_host: "%UPSTREAM_HOST%",
  response_flags: "%RESPONSE_FLAGS%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  duration_ms: "%DURATION%",
};

/** The lowest status an "errors" log records; a runtime key lets an operator move it on a running proxy. */
const ERROR_STATUS = { default_value: 400, runtime_key: "access_log.error_status_min" };
/** Any Envoy response flag (no healthy upstream, a reset, a timeout, rate limited ...): an empty list matches them all. */
const ANY_RESPONSE_FLAG = { response_flag_filter: {} };

function stdoutJsonLog(format: EnvoyObject, filter: EnvoyObject | undefined): EnvoyObject {
  return {
    name: "envoy.access_loggers.stdout",
    ...(filter !== undefined ? { filter } : {}),
    typed_config: typed("envoy.extensions.access_loggers.stream.v3.StdoutAccessLog", { log_format: { json_format: format } }),
  };
}

/** An HTTP connection manager's access_log list for the mode. */
export function httpAccessLog(mode: AccessLogMode): EnvoyObject[] {
  if (mode === "off") return [];
  const errorsOnly = { or_filter: { filters: [{ status_code_filter: { comparison: { op: "GE", value: ERROR_STATUS } } }, ANY_RESPONSE_FLAG] } };
  return [stdoutJsonLog(HTTP_ACCESS_LOG_FORMAT, mode === "errors" ? errorsOnly : undefined)];
}

/** A TCP proxy's access_log list for the mode: a connection has no status, so "errors" means a response flag. */
export function tcpAccessLog(mode: AccessLogMode): EnvoyObject[] {
  if (mode === "off") return [];
  return [stdoutJsonLog(TCP_ACCESS_LOG_FORMAT, mode === "errors" ? ANY_RESPONSE_FLAG : undefined)];
}
