// Private data-store instances for fault tests: their own port (kernel-chosen)
// and data directory on 127.0.0.1, so a test can stop and restart them without
// disturbing the shared instances other suites use at the same time.
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, waitFor } from "../../../../test/support/net.js";
import { startProcess, type RunningProcess } from "../../../../test/support/process.js";
import { rabbitmqctl, uniqueName } from "./backends.js";

const run = promisify(execFile);
const SETUP_HINT = 'run "bash scripts/setup.sh" first';

function requireFile(path: string, what: string): string {
  if (!existsSync(path)) throw new Error(`${what} not found at ${path}: ${SETUP_HINT}`);
  return path;
}

async function stopProcess(proc: RunningProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.child.once("exit", () => resolve()));
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

async function uidGid(user: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run("id", ["-u", user])).stdout.trim());
  const gid = Number((await run("id", ["-g", user])).stdout.trim());
  return { uid, gid };
}

export class PrivateRedis {
  private proc: RunningProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), "mesh-redis-"));
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.resume();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async resume(): Promise<void> {
    requireFile("/usr/bin/redis-server", "redis-server");
    this.proc = startProcess("/usr/bin/redis-server", ["--bind", "127.0.0.1", "--port", String(this.port), "--save", "", "--appendonly", "no", "--dir", this.dir]);
    await waitFor(`private redis on ${this.port}`, async () => (await run("redis-cli", ["-p", String(this.port), "ping"])).stdout.includes("PONG"), 15_000);
  }

  async stop(): Promise<void> {
    await stopProcess(this.proc, "SIGTERM");
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const PG_BIN = "/usr/lib/postgresql/15/bin";

/** Postgres refuses to run as root, so the server runs as the Debian "postgres" user. */
export class PrivatePostgres {
  private proc: RunningProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), "mesh-pg-"));
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivatePostgres> {
    const server = new PrivatePostgres(await freePort());
    const { uid, gid } = await uidGid("postgres");
    chownSync(server.dir, uid, gid);
    const pwFile = join(server.dir, "pw");
    writeFileSync(pwFile, "mesh\n", { mode: 0o644 });
    await run("setpriv", ["--reuid", "postgres", "--regid", "postgres", "--init-groups", requireFile(`${PG_BIN}/initdb`, "initdb"),
      "-D", join(server.dir, "data"), "-U", "mesh", `--pwfile=${pwFile}`, "--auth=scram-sha-256", "--no-sync"]);
    await server.resume();
    return server;
  }

  /** Server URL without a database name. */
  get url(): string {
    return `postgres://mesh:mesh@127.0.0.1:${this.port}`;
  }

  async resume(): Promise<void> {
    this.proc = startProcess("setpriv", ["--reuid", "postgres", "--regid", "postgres", "--init-groups", `${PG_BIN}/postgres`,
      "-D", join(this.dir, "data"), "-c", "listen_addresses=127.0.0.1", "-c", `port=${this.port}`, "-c", "unix_socket_directories=", "-c", "fsync=off"]);
    await waitFor(`private postgres on ${this.port}`, async () => {
      await run(`${PG_BIN}/pg_isready`, ["-q", "-h", "127.0.0.1", "-p", String(this.port)]);
      return true;
    }, 30_000, 200);
  }

  /** Fast shutdown: open transactions are aborted and clients disconnected, as in a real restart. */
  async stop(): Promise<void> {
    await stopProcess(this.proc, "SIGINT");
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A RabbitMQ node of its own: own node name, AMQP and distribution ports and
 * data directory (owned by the "rabbitmq" user the Debian scripts run it as).
 * Restarting it keeps durable queues and persistent messages, like a real broker restart.
 */
export class PrivateRabbitMq {
  private proc: RunningProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), "mesh-rabbit-"));
  private readonly node = `${uniqueName("meshtest")}@localhost`;
  private constructor(
    readonly port: number,
    private readonly distPort: number,
  ) {}

  static async start(): Promise<PrivateRabbitMq> {
    const broker = new PrivateRabbitMq(await freePort(), await freePort());
    const { uid, gid } = await uidGid("rabbitmq");
    chownSync(broker.dir, uid, gid);
    writeFileSync(join(broker.dir, "rabbitmq-env.conf"), "");
    await broker.resume();
    return broker;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  private env(): NodeJS.ProcessEnv {
    const d = this.dir;
    return {
      ...process.env,
      HOME: d,
      RABBITMQ_CONF_ENV_FILE: join(d, "rabbitmq-env.conf"),
      RABBITMQ_NODENAME: this.node,
      RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
      ERL_EPMD_ADDRESS: "127.0.0.1",
      RABBITMQ_MNESIA_BASE: join(d, "mnesia"),
      RABBITMQ_LOG_BASE: join(d, "log"),
      RABBITMQ_LOGS: "-",
      RABBITMQ_CONFIG_FILE: join(d, "rabbitmq"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(d, "enabled_plugins"),
      RABBITMQ_FEATURE_FLAGS_FILE: join(d, "feature_flags"),
      RABBITMQ_PLUGINS_EXPAND_DIR: join(d, "plugins-expand"),
      RABBITMQ_PID_FILE: join(d, "rabbit.pid"),
    };
  }

  async resume(): Promise<void> {
    this.proc = startProcess(requireFile("/usr/sbin/rabbitmq-server", "rabbitmq-server"), [], { env: this.env() });
    await waitFor(`private rabbitmq ${this.node}`, async () => {
      if (this.proc?.child.exitCode !== null) throw new Error(`rabbitmq-server exited: ${this.proc?.output().slice(-2000)}`);
      await rabbitmqctl(["await_startup", "--timeout", "2"], { node: this.node, env: this.env() });
      return true;
    }, 60_000, 250);
  }

  async stop(): Promise<void> {
    if (!this.proc || this.proc.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc!.child.once("exit", () => resolve()));
    await rabbitmqctl(["stop"], { node: this.node, env: this.env() });
    await exited;
  }

  async destroy(): Promise<void> {
    try {
      await this.stop();
    } finally {
      await this.proc?.stop();
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
