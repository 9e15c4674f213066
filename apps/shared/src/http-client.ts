// Outgoing HTTP to other services (through the caller's sidecar egress in the
// mesh). Each call carries the active trace as B3 headers and Envoy's
// x-request-id, so the callee's sidecar and app join the same trace and logs.
import { ServiceUnavailableError } from "./errors.js";
import { injectTraceHeaders, SpanKind, withSpan } from "./tracing.js";

export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * GETs `url` and parses its JSON answer. A refused connection, a timeout or a
 * 5xx from the callee becomes ServiceUnavailableError(`backend`); 4xx answers
 * are returned for the caller to interpret.
 */
export async function getJson(backend: string, url: string, options: { requestId?: string; timeoutMs?: number } = {}): Promise<JsonResponse> {
  return withSpan(`GET ${backend}`, SpanKind.CLIENT, { "http.request.method": "GET", "url.full": url, "peer.service": backend }, async (span) => {
    const headers = injectTraceHeaders({ accept: "application/json" });
    if (options.requestId) headers["x-request-id"] = options.requestId;
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 3000) });
    } catch (err) {
      throw new ServiceUnavailableError(backend, err);
    }
    span.setAttribute("http.response.status_code", response.status);
    const text = await response.text().catch(() => "");
    if (response.status >= 500) throw new ServiceUnavailableError(backend, new Error(`${backend} answered ${response.status}`));
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ServiceUnavailableError(backend, new Error(`${backend} answered non-JSON`));
    }
    return { status: response.status, body };
  });
}
