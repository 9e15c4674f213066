// The access log modes (mesh:accessLog) on a real edge and catalog sidecar: "errors"
// writes a line for a failed request at each hop it failed through and none for a
// served one; "all" writes one per request at each hop; "off" writes none.
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { ORIGINAL_PATH_HEADER } from "../../envoy-templates/builders/index.js";
import { type AccessLogMode, PORTS } from "../../infra/model.js";
import type { RunningEnvoy } from "../support/envoy.js";
import { waitFor } from "../support/net.js";
import { edgePairLayout, startEdgePair } from "./edge-pair.js";

/** Envoy writes buffered access log lines out this often here (its default is 10 s). */
const FLUSH_MS = 100;

/** A stand-in catalog: /products/missing is 404, everything else (its readiness included) 200. */
function startApp(address: string): Promise<Server> {
  const server = createServer((req, res) => {
    const status = req.url?.startsWith("/products/missing") ? 404 : 200;
    res.writeHead(status, { "content-type": "application/json" }).end(status === 404 ? '{"error":"not_found"}' : "[]");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(PORTS.app, address, () => resolve(server));
  });
}

interface LogLine {
  path: string;
  response_code: number;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/**
 * Starts the pair in `mode` and sends one served, one app-404 and one unrouted request,
 * each tagged with `?req=<mode>` (the edge sets its own x-request-id on public requests,
 * so the query tells the test's lines from the start-up checks').
 */
async function run(mode: AccessLogMode) {
  const layout = edgePairLayout({ accessLog: mode });
  const app = await startApp(layout.catalogPod);
  cleanups.push(() => new Promise((resolve) => app.close(() => resolve())));
  const pair = await startEdgePair(layout, { fileFlushIntervalMs: FLUSH_MS });
  cleanups.push(pair.stop);
  const tag = `?req=${mode}`;
  for (const [path, status] of [["/api/products", 200], ["/api/products/missing", 404], ["/nowhere", 404]] as const) {
    // A client's own claim of the original path must not reach any log.
    const res = await fetch(`http://${layout.edgePod}:${PORTS.edgeHttp}${path}${tag}`, { headers: { [ORIGINAL_PATH_HEADER]: `/forged${tag}` }, signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    expect(res.status, path).toBe(status);
  }
  const lines = (envoy: RunningEnvoy): LogLine[] =>
    envoy.process
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as LogLine)
      .filter((line) => line.path.endsWith(tag));
  return { pair, lines };
}

/** Long enough for several flushes: a line that was written would be out by then. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20 * FLUSH_MS));

describe("access log modes on real Envoys", () => {
  it('"errors" logs the app\'s 404 at both hops and the unrouted request at the edge, and nothing for the served one', async () => {
    const { pair, lines } = await run("errors");
    await waitFor("the error lines", async () => lines(pair.edge).length >= 2 && lines(pair.sidecar).length >= 1, 10_000);
    await settle();
    // The edge logs the public path the client asked for; the unrouted request is answered by the edge itself.
    // The sidecar logs the path its app got, as the edge's route rewrote it.
    expect(lines(pair.edge).map((l) => [l.path, l.response_code])).toEqual([
      ["/api/products/missing?req=errors", 404],
      ["/nowhere?req=errors", 404],
    ]);
    expect(lines(pair.sidecar).map((l) => [l.path, l.response_code])).toEqual([["/products/missing?req=errors", 404]]);
  });

  it('"all" logs every request at every hop it took', async () => {
    const { pair, lines } = await run("all");
    await waitFor("every line", async () => lines(pair.edge).length >= 3 && lines(pair.sidecar).length >= 2, 10_000);
    await settle();
    expect(lines(pair.edge).map((l) => [l.path, l.response_code])).toEqual([
      ["/api/products?req=all", 200],
      ["/api/products/missing?req=all", 404],
      ["/nowhere?req=all", 404],
    ]);
    expect(lines(pair.sidecar).map((l) => l.path)).toEqual(["/products?req=all", "/products/missing?req=all"]);
  });

  it('"off" logs nothing', async () => {
    const { pair, lines } = await run("off");
    await settle();
    expect(lines(pair.edge)).toEqual([]);
    expect(lines(pair.sidecar)).toEqual([]);
  });
});
