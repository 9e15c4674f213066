// Zipkin for one run: the server's exec jar with in-memory storage, bound to the
// run's Zipkin address only (Armeria's port settings; the default binds every interface).
// Storage and heap are bounded as on the targets (infra/zipkin-storage.ts).
import { PORTS } from "../model.js";
import { ZIPKIN_MAX_HEAP, ZIPKIN_STORAGE_ENV } from "../zipkin-storage.js";
import { httpOk, waitUntil } from "./readiness.js";
import type { Supervisor } from "./supervisor.js";

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
      `-Xmx${ZIPKIN_MAX_HEAP}`,
      "-jar",
      jar,
      `--armeria.ports[0].ip=${address}`,
      `--armeria.ports[0].port=${port}`,
      "--armeria.ports[0].protocols[0]=http",
    ],
    env: { ...process.env, ...ZIPKIN_STORAGE_ENV, QUERY_PORT: String(port), SELF_TRACING_ENABLED: "false" },
    graceMs: 10_000,
  });
  await waitUntil(`zipkin on ${address}:${port}`, () => httpOk(`http://${address}:${port}/health`), { process: zipkin, timeoutMs: 90_000, intervalMs: 250 });
}
