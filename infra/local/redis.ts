// A private Redis instance for one run, on the run's Redis address at the
// well-known port, without persistence (throwaway data).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DATA_STORES } from "../model.js";
import { tcpAccepts, waitUntil } from "./readiness.js";
import type { ManagedProcess, Supervisor } from "./supervisor.js";

export class PrivateRedis {
  private readonly dir: string;
  private process: ManagedProcess | undefined;
  readonly port = DATA_STORES.redis.port;

  constructor(
    private readonly redisServer: string,
    stateDir: string,
    readonly address: string,
  ) {
    this.dir = join(stateDir, "redis");
    mkdirSync(this.dir, { recursive: true });
  }

  async start(supervisor: Supervisor): Promise<void> {
    this.process = supervisor.start({
      name: "redis",
      command: this.redisServer,
      args: ["--bind", this.address, "--port", String(this.port), "--dir", this.dir, "--save", "", "--appendonly", "no", "--daemonize", "no"],
      graceMs: 5_000,
    });
    await waitUntil(`redis on ${this.address}:${this.port}`, () => tcpAccepts(this.address, this.port), { process: this.process, timeoutMs: 15_000 });
  }

  async stop(): Promise<void> {
    await this.process?.stop();
  }
}
