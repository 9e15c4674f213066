// The server entry point's half: listen, then shut down gracefully on SIGTERM or
// SIGINT with close-with-grace. Order matters: readiness fails first (so the
// sidecar's health checks and Kubernetes stop routing here), then Fastify stops
// accepting and lets in-flight requests finish, then the onClose hooks cancel
// consumers and close backend connections; the whole sequence is bounded by
// SHUTDOWN_TIMEOUT_MS, after which the process exits anyway.
import closeWithGrace from "close-with-grace";
import type { FastifyInstance } from "fastify";
import type { BaseConfig } from "./env.js";
import type { Tracing } from "./tracing.js";

export async function serve(app: FastifyInstance, config: Pick<BaseConfig, "host" | "port" | "shutdownTimeoutMs">, tracing: Tracing): Promise<void> {
  closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, "fatal error, shutting down");
    else app.log.info({ signal }, "shutting down");
    app.readiness.beginShutdown();
    await app.close();
    await tracing.shutdown();
  });
  await app.listen({ host: config.host, port: config.port });
}

/**
 * Runs a service's start-up; a failure (a bad environment variable, migrations
 * that never succeed, a port in use) is printed on stderr and exits with code 1.
 */
export async function runMain(start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (err) {
    process.stderr.write(`start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
