// Ports and readiness for tests: ports are chosen by the kernel, readiness is polled, never slept on.
import { createServer } from "node:net";
import { waitUntil } from "../../infra/local/readiness.js";

/** A port that was free on `host` a moment ago (the kernel picks it). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Polls `check` until it returns true or `timeoutMs` passes; throws naming `what` (the local runner's poller). */
export function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
  return waitUntil(what, check, { timeoutMs, intervalMs });
}

/** True once `url` answers with a status below 500. */
export async function httpAnswers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status < 500;
}
