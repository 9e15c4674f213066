// One way to call an app for tests, two transports: Fastify's `inject` (no
// socket) and real HTTP over a socket, so every route is exercised both ways.
import type { FastifyInstance } from "fastify";

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly contentType: string;
}

/** `body` as a string is sent verbatim (for malformed JSON); anything else is JSON-encoded. */
export type Call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) => Promise<Answer>;

function encode(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  return typeof body === "string" ? body : JSON.stringify(body);
}

function decode(text: string, contentType: string): unknown {
  return contentType.includes("json") && text ? JSON.parse(text) : text;
}

export function viaInject(app: FastifyInstance): Call {
  return async (method, url, body, headers = {}) => {
    const payload = encode(body);
    const res = await app.inject({
      method: method as "GET",
      url,
      payload,
      headers: payload === undefined ? headers : { "content-type": "application/json", ...headers },
    });
    const contentType = String(res.headers["content-type"] ?? "");
    return { status: res.statusCode, body: decode(res.body, contentType), contentType };
  };
}

export function viaSocket(baseUrl: string): Call {
  return async (method, url, body, headers = {}) => {
    const payload = encode(body);
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      body: payload,
      headers: payload === undefined ? headers : { "content-type": "application/json", ...headers },
      signal: AbortSignal.timeout(10_000),
    });
    const contentType = res.headers.get("content-type") ?? "";
    return { status: res.status, body: decode(await res.text(), contentType), contentType };
  };
}

/** Listens on a kernel-chosen loopback port and returns the base URL. */
export async function listenOnLoopback(app: FastifyInstance): Promise<string> {
  return app.listen({ host: "127.0.0.1", port: 0 });
}

/** An error answer as the API promises: 4xx, JSON `{ error, message }`. */
export function isClientErrorJson(answer: Answer): boolean {
  const body = answer.body as { error?: unknown; message?: unknown };
  return answer.status >= 400 && answer.status < 500 && answer.contentType.includes("application/json") && typeof body.error === "string" && typeof body.message === "string";
}
