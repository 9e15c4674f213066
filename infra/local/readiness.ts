// Readiness polling for the local runner: poll, never sleep-and-hope; give up early
// when the process being waited for has already died, quoting its log.
import { Socket } from "node:net";
import type { ManagedProcess } from "./supervisor.js";

export async function waitUntil(what: string, check: () => Promise<boolean>, options: { timeoutMs?: number; intervalMs?: number; process?: ManagedProcess } = {}): Promise<void> {
  const { timeoutMs = 60_000, intervalMs = 100, process } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (process && !process.running) {
      throw new Error(`${process.spec.name} exited while waiting for ${what}; its log (${process.logFile}) ends with:\n${process.logTail()}`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const tail = process ? `\n${process.spec.name}'s log (${process.logFile}) ends with:\n${process.logTail()}` : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}${tail}`);
}

/** True when `url` answers 200. */
export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === 200;
}

/** True when a TCP connection to address:port succeeds. */
export async function tcpAccepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, address, () => done(true));
  });
}
