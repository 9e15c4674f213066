// Zipkin for one run: the server's exec jar with in-memory storage, bound to the
// run's Zipkin address only (Armeria's port settings; the default binds every interface).
import { PORTS } from "../model.js";
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
      "-Xmx384m",
      "-jar",
      jar,
      `--armeria.ports[0].ip=${address}`,
      `--armeria.ports[0].port=${port}`,
      "--armeria.ports[0].protocols[0]=http",
    ],
    env: { ...process.env, STORAGE_TYPE: "mem", QUERY_PORT: String(port), SELF_TRACING_ENABLED: "false" },
    graceMs: 10_000,
  });
  await waitUntil(`zipkin on ${address}:${port}`, () => httpOk(`http://${address}:${port}/health`), { process: zipkin, timeoutMs: 90_000, intervalMs: 250 });
}
