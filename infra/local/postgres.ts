// A private Postgres instance for one run: its own data directory, listening on
// the run's Postgres address at the well-known port, superuser "mesh". Private so
// that tests can stop and restart it without disturbing anything else.
import { execFile } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DATA_STORES } from "../model.js";
import { tcpAccepts, waitUntil } from "./readiness.js";
import type { ManagedProcess, Supervisor } from "./supervisor.js";

const run = promisify(execFile);

export const POSTGRES_USER = "mesh";
export const POSTGRES_PASSWORD = "mesh";
const PROCESS_NAME = "postgres";

/** Postgres refuses to run as root; as root we run it as the Debian "postgres" user. */
function serverUser(): string | undefined {
  return userInfo().uid === 0 ? "postgres" : undefined;
}

export class PrivatePostgres {
  private readonly dataDir: string;
  private process: ManagedProcess | undefined;

  constructor(
    private readonly binDir: string,
    private readonly setpriv: string,
    stateDir: string,
    readonly address: string,
  ) {
    this.dataDir = join(stateDir, "postgres");
  }

  readonly port = DATA_STORES.postgres.port;

  /** initdb (once), start, and create `databases`. */
  async start(supervisor: Supervisor, databases: readonly string[]): Promise<void> {
    await this.initialise();
    await this.launch(supervisor);
    for (const db of databases) {
      await run(join(this.binDir, "createdb"), ["-h", this.address, "-p", String(this.port), "-U", POSTGRES_USER, db], {
        env: { ...process.env, PGPASSWORD: POSTGRES_PASSWORD },
      });
    }
  }

  /** Starts the server again on the same data (after `stop` or a crash). */
  async restart(supervisor: Supervisor): Promise<void> {
    await this.launch(supervisor);
  }

  /** Fast shutdown: Postgres aborts open transactions and disconnects clients. */
  async stop(): Promise<void> {
    await this.process?.stop();
  }

  private async initialise(): Promise<void> {
    const user = serverUser();
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const pwFile = join(this.dataDir, "..", "postgres-password");
    writeFileSync(pwFile, `${POSTGRES_PASSWORD}\n`, { mode: 0o644 });
    if (user) {
      const { stdout } = await run("id", ["-u", user]);
      const uid = Number(stdout.trim());
      const gid = Number((await run("id", ["-g", user])).stdout.trim());
      chownSync(this.dataDir, uid, gid);
    }
    chmodSync(this.dataDir, 0o700);
    const privileges = user ? ["--reuid", user, "--regid", user, "--init-groups"] : [];
    await run(this.setpriv, [
      ...privileges,
      join(this.binDir, "initdb"),
      "-D", this.dataDir,
      "-U", POSTGRES_USER,
      `--pwfile=${pwFile}`,
      "--auth=scram-sha-256",
      "--encoding=UTF8",
      "--locale=C.UTF-8",
      "--no-sync",
    ]);
  }

  private async launch(supervisor: Supervisor): Promise<void> {
    this.process = supervisor.start({
      name: PROCESS_NAME,
      command: join(this.binDir, "postgres"),
      args: [
        "-D", this.dataDir,
        "-c", `listen_addresses=${this.address}`,
        "-c", `port=${this.port}`,
        // TCP only: no socket files left in shared directories.
        "-c", "unix_socket_directories=",
        // Throwaway data: durability costs time and buys nothing here.
        "-c", "fsync=off",
        "-c", "max_connections=200",
      ],
      user: serverUser(),
      stopSignal: "SIGINT",
      graceMs: 10_000,
    });
    await waitUntil(`postgres on ${this.address}:${this.port}`, async () => {
      if (!(await tcpAccepts(this.address, this.port))) return false;
      const ready = await run(join(this.binDir, "pg_isready"), ["-q", "-h", this.address, "-p", String(this.port)]).then(() => true, () => false);
      return ready;
    }, { process: this.process, timeoutMs: 30_000, intervalMs: 200 });
  }
}
