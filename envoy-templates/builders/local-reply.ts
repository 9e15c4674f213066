// Answers Envoy makes itself (no route, a timeout, an upstream that is down, a request
// it refuses) in the API's error shape: JSON `{ error, message }`, like every answer
// from the services, so clients and the OpenAPI document see one error format.
import { STATUS_CODES } from "node:http";
import type { EnvoyObject } from "./common.js";

/** The statuses Envoy answers with on its own (bad request, a caller not authorised, no route, timeouts, too large, rate limited, upstream down); others get a generic code. */
const LOCAL_REPLY_STATUSES = [400, 403, 404, 408, 413, 429, 431, 502, 503, 504];

/** "Request Timeout" -> "request_timeout": the `error` code the services use for the same status. */
export function errorCode(status: number): string {
  return (STATUS_CODES[status] ?? "error").toLowerCase().replace(/[^a-z0-9]+/g, "_");
}

function errorFormat(code: string): EnvoyObject {
  // %LOCAL_REPLY_BODY% is Envoy's own text ("upstream request timeout", "no healthy upstream").
  return { json_format: { error: code, message: "%LOCAL_REPLY_BODY%" } };
}

export function jsonLocalReplies(): EnvoyObject {
  return {
    mappers: LOCAL_REPLY_STATUSES.map((status) => ({
      filter: { status_code_filter: { comparison: { op: "EQ", value: { default_value: status, runtime_key: `local_reply.json.${status}` } } } },
      body_format_override: errorFormat(errorCode(status)),
    })),
    body_format: errorFormat("proxy_error"),
  };
}
