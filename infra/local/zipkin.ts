// Zipkin for one run: the server's exec jar with in-memory storage, bound to the
// run's Zipkin address only (Armeria's port settings; the default binds every interface).
// The in-memory store keeps at most MEM_MAX_SPANS spans (oldest traces are evicted). Zipkin's
// default, 500 000, does not fit the heap below (a stored span takes about 2.5 KB of it): under
// sustained traffic the store filled the heap within a minute, and the JVM then spent a whole core
// in garbage collection (OutOfMemoryError, spans refused) until it was stopped.
import { PORTS } from "../model.js";
import { httpOk, waitUntil } from "./readiness.js";
import type { Supervisor } from "./supervisor.js";

/** About 125 MB of the 384 MB heap; far more than any test or benchmark reads back. */
export const MAX_STORED_SPANS = 50_000;

export async function startZipkin(supervisor: Supervisor, java: string, jar: string, address: string): Promise<void> {
  const port = PORTS.zipkin;
  const zipkin = supervisor.start({
    name: "zipkin",
    command: java,
    args: [
      // Small and quick to start: a test server holds few traces.
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-Xms64m",
      "-Xmx384m",
      "-jar",
      jar,
      `--armeria.ports[0].ip=${address}`,
      `--armeria.ports[0].port=${port}`,
      "--armeria.ports[0].protocols[0]=http",
    ],
    env: { ...process.env, STORAGE_TYPE: "mem", MEM_MAX_SPANS: String(MAX_STORED_SPANS), QUERY_PORT: String(port), SELF_TRACING_ENABLED: "false" },
    graceMs: 10_000,
  });
  await waitUntil(`zipkin on ${address}:${port}`, () => httpOk(`http://${address}:${port}/health`), { process: zipkin, timeoutMs: 90_000, intervalMs: 250 });
}
