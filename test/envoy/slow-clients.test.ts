// The edge bounds slow clients, for real: a rendered edge and catalog sidecar in front of
// a stand-in app that echoes how much body reached it. Headers sent a line every second
// and a body sent a byte every second are both cut off with a JSON 408 within the bound;
// a large body the services allow, sent at full speed, still gets through; and an answer
// Envoy makes itself (a service with no healthy replica) is JSON like the services' own.
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EDGE_REQUEST_TIMEOUT_MS, REQUEST_HEADERS_TIMEOUT_MS } from "../../envoy-templates/builders/listener.js";
import { PORTS } from "../../infra/model.js";
import { edgePairLayout, startEdgePair } from "./edge-pair.js";

const layout = edgePairLayout();
const { edgePod, catalogPod } = layout;
/** The services' body limit (apps/shared DEFAULT_BODY_LIMIT_BYTES): the largest request anyone may send. */
const LARGEST_ALLOWED_BODY = 64 * 1024;
/** Slack for Envoy's timer granularity and this machine's load. */
const SLACK_MS = 3000;

/** A stand-in catalog: answers with the number of body bytes it received. */
function startApp(): Promise<Server> {
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on("data", (chunk: Buffer) => (bytes += chunk.length));
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ bytes })));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(PORTS.app, catalogPod, () => resolve(server));
  });
}

interface DripResult {
  readonly response: string;
  readonly elapsedMs: number;
}

/** Sends `head`, then `drip` once a second until the edge answers and closes, or `giveUpMs` passed. */
function drip(head: string, dripChunk: string, giveUpMs: number): Promise<DripResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(PORTS.edgeHttp, edgePod);
    let response = "";
    const timer = setInterval(() => socket.writable && socket.write(dripChunk), 1000);
    const giveUp = setTimeout(() => finish(new Error(`no answer within ${giveUpMs} ms; got so far: ${JSON.stringify(response)}`)), giveUpMs);
    function finish(err?: Error) {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      if (err) reject(err);
      else resolve({ response, elapsedMs: Date.now() - started });
    }
    socket.on("connect", () => socket.write(head));
    socket.on("data", (chunk: Buffer) => (response += chunk.toString("latin1")));
    socket.on("close", () => finish());
    // Envoy may reset the connection after its answer (the client was still writing): the answer counts.
    socket.on("error", (err) => finish(response ? undefined : err));
  });
}

function statusAndBody(raw: string): { status: number; contentType: string; body: unknown } {
  const [head = "", body = ""] = raw.split("\r\n\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const contentType = /^content-type: *(.+)$/im.exec(head)?.[1]?.trim() ?? "";
  return { status, contentType, body: body ? JSON.parse(body) : undefined };
}

describe("the edge and slow clients", () => {
  let app: Server;
  let envoys: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    app = await startApp();
    envoys = await startEdgePair(layout);
  });

  afterAll(async () => {
    await envoys?.stop();
    await new Promise((resolve) => app?.close(resolve));
  });

  it("cuts off headers sent a line a second, with a JSON 408, once the headers timeout passed", async () => {
    const { response, elapsedMs } = await drip("GET /api/products HTTP/1.1\r\nHost: shop\r\n", "x-drip: 1\r\n", REQUEST_HEADERS_TIMEOUT_MS + 10_000);
    expect(statusAndBody(response)).toMatchObject({ status: 408, contentType: "application/json", body: { error: "request_timeout" } });
    expect(elapsedMs).toBeGreaterThanOrEqual(REQUEST_HEADERS_TIMEOUT_MS - 500);
    expect(elapsedMs).toBeLessThan(REQUEST_HEADERS_TIMEOUT_MS + SLACK_MS);
  });

  it("cuts off a body sent a byte a second, with a JSON 408, once the whole-request timeout passed", async () => {
    const head = "POST /api/products HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    const { response, elapsedMs } = await drip(head, " ", EDGE_REQUEST_TIMEOUT_MS + 10_000);
    expect(statusAndBody(response)).toMatchObject({ status: 408, contentType: "application/json", body: { error: "request_timeout" } });
    expect(elapsedMs).toBeGreaterThanOrEqual(EDGE_REQUEST_TIMEOUT_MS - 500);
    expect(elapsedMs).toBeLessThan(EDGE_REQUEST_TIMEOUT_MS + SLACK_MS);
  });

  it("passes the largest body the services allow, sent at full speed", async () => {
    const body = JSON.stringify({ name: "x".repeat(LARGEST_ALLOWED_BODY - 20) });
    const res = await fetch(`http://${edgePod}:${PORTS.edgeHttp}/api/products`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ bytes: Buffer.byteLength(body) });
  });

  it("answers for a service with no healthy replica in the API's JSON error shape", async () => {
    // No cart sidecar runs in this test.
    const res = await fetch(`http://${edgePod}:${PORTS.edgeHttp}/api/carts/c1`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ error: "service_unavailable", message: expect.stringMatching(/healthy upstream/) });
  });
});
