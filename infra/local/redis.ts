// A private Redis instance for one run, on the run's Redis address at the
// well-known port, without persistence (throwaway data), requiring a password
// generated for the run. It starts with the containers' command (redis-auth.ts),
// so the password stays out of its argv here too.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DATA_STORES } from "../model.js";
import { REDIS_PASSWORD_ENV, redisServerCommand } from "../redis-auth.js";
import { tcpAccepts, waitUntil } from "./readiness.js";
import { runPassword } from "./run-password.js";
import type { ManagedProcess, Supervisor } from "./supervisor.js";

export class PrivateRedis {
  private readonly dir: string;
  private process: ManagedProcess | undefined;
  readonly port = DATA_STORES.redis.port;
  /** The same across restarts of this instance. */
  readonly password = runPassword();

  constructor(
    private readonly redisServer: string,
    stateDir: string,
    readonly address: string,
  ) {
    this.dir = join(stateDir, "redis");
    mkdirSync(this.dir, { recursive: true });
  }

  async start(supervisor: Supervisor): Promise<void> {
    const [shell, ...args] = redisServerCommand(this.redisServer, [
      "--bind", this.address, "--port", String(this.port), "--dir", this.dir, "--save", "", "--appendonly", "no", "--daemonize", "no",
    ]);
    this.process = supervisor.start({
      name: "redis",
      command: shell,
      args,
      env: { ...process.env, [REDIS_PASSWORD_ENV]: this.password },
      graceMs: 5_000,
    });
    await waitUntil(`redis on ${this.address}:${this.port}`, () => tcpAccepts(this.address, this.port), { process: this.process, timeoutMs: 15_000 });
  }

  async stop(): Promise<void> {
    await this.process?.stop();
  }
}
