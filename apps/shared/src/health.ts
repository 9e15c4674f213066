// Liveness and readiness. /healthz says the process is alive; /readyz says it can
// serve: every registered backend check passes and no shutdown has begun. A
// shutdown flips readiness first, so Envoy's health checks and Kubernetes stop
// sending new traffic while in-flight requests finish.
import fp from "fastify-plugin";
import { Type } from "typebox";
import type { FastifyInstance } from "fastify";
import { HIDDEN_FROM_OPENAPI } from "./openapi.js";

export type ReadinessCheck = () => Promise<void>;

export interface Readiness {
  /** Registers a backend check; it throws (or times out) when the backend is unreachable. */
  add(name: string, check: ReadinessCheck): void;
  /** Marks the app as draining: /readyz answers 503 from now on. */
  beginShutdown(): void;
  readonly shuttingDown: boolean;
}

declare module "fastify" {
  interface FastifyInstance {
    readiness: Readiness;
  }
}

const CHECK_TIMEOUT_MS = 1500;

function withTimeout(check: ReadinessCheck): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    check().then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

const HealthBody = Type.Object({ status: Type.String() });
const ReadyBody = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) });

export const healthPlugin = fp(
  async (app: FastifyInstance) => {
    const checks = new Map<string, ReadinessCheck>();
    let shuttingDown = false;
    app.decorate("readiness", {
      add: (name: string, check: ReadinessCheck) => void checks.set(name, check),
      beginShutdown: () => void (shuttingDown = true),
      get shuttingDown() {
        return shuttingDown;
      },
    });

    app.get("/healthz", { schema: { ...HIDDEN_FROM_OPENAPI, response: { 200: HealthBody } }, logLevel: "warn" }, async () => ({ status: "ok" }));

    app.get("/readyz", { schema: { ...HIDDEN_FROM_OPENAPI, response: { 200: ReadyBody, 503: ReadyBody } }, logLevel: "warn" }, async (_request, reply) => {
      const results: Record<string, string> = {};
      await Promise.all(
        [...checks].map(async ([name, check]) => {
          try {
            await withTimeout(check);
            results[name] = "ok";
          } catch (err) {
            results[name] = (err as Error).message || "failed";
          }
        }),
      );
      const ready = !shuttingDown && Object.values(results).every((r) => r === "ok");
      return reply.code(ready ? 200 : 503).send({ status: shuttingDown ? "shutting_down" : ready ? "ready" : "unavailable", checks: results });
    });
  },
  { name: "mesh-health" },
);
