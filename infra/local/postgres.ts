// A private Postgres instance for one run: its own data directory, listening on
// the run's Postgres address at the well-known port. Private so that tests can
// stop and restart it without disturbing anything else. As on Docker and
// Kubernetes, the apps log in as the unprivileged role that owns the mesh
// database (postgres-init.ts), with a password generated for the run; the
// superuser "mesh" only administers.
import { execFile } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { POSTGRES_DATABASE } from "../accounts.js";
import { DATA_STORES } from "../model.js";
import { APP_ROLE_SQL } from "../postgres-init.js";
import { tcpAccepts, waitUntil } from "./readiness.js";
import { runPassword } from "./run-password.js";
import type { ManagedProcess, Supervisor } from "./supervisor.js";

const run = promisify(execFile);

const SUPERUSER = "mesh";
const SUPERUSER_PASSWORD = "mesh";
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
  /** The apps' role's password; the same across restarts of this instance. */
  readonly appPassword = runPassword();

  /** initdb, start, then create the mesh database and the apps' role that owns it. */
  async start(supervisor: Supervisor): Promise<void> {
    await this.initialise();
    await this.launch(supervisor);
    await run(join(this.binDir, "createdb"), [...this.asSuperuser(), POSTGRES_DATABASE], { env: this.superuserEnv() });
    await this.createAppRole();
  }

  /** Starts the server again on the same data (after `stop` or a crash). */
  async restart(supervisor: Supervisor): Promise<void> {
    await this.launch(supervisor);
  }

  /** Fast shutdown: Postgres aborts open transactions and disconnects clients. */
  async stop(): Promise<void> {
    await this.process?.stop();
  }

  private asSuperuser(): string[] {
    return ["-h", this.address, "-p", String(this.port), "-U", SUPERUSER];
  }

  private superuserEnv(): NodeJS.ProcessEnv {
    return { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD };
  }

  /**
   * The deploys' own SQL. psql reads the password from its standard input (\set, as
   * -v would set it), so it is on no command line that ps shows.
   */
  private async createAppRole(): Promise<void> {
    const psql = run(join(this.binDir, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...this.asSuperuser(), "-d", POSTGRES_DATABASE], { env: this.superuserEnv() });
    psql.child.stdin?.end(`\\set app_password '${this.appPassword}'\n${APP_ROLE_SQL}`);
    await psql;
  }

  private async initialise(): Promise<void> {
    const user = serverUser();
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const pwFile = join(this.dataDir, "..", "postgres-password");
    writeFileSync(pwFile, `${SUPERUSER_PASSWORD}\n`, { mode: 0o644 });
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
      "-U", SUPERUSER,
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
