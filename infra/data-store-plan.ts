// What each data store's server runs with on every target: its data folder, its
// environment (secrets by name, resolved by each target), its command,
// its readiness check, its writable paths and its first-start scripts. The Docker
// and Kubernetes targets only map this onto a container.
import type { EnvEntry } from "./environment.js";
import { POSTGRES_DATABASE, POSTGRES_SUPERUSER, RABBITMQ_USER } from "./accounts.js";
import type { DataStoreName } from "./model.js";
import { POSTGRES_APP_PASSWORD_ENV, POSTGRES_INIT_SCRIPT_NAME, postgresInitScript } from "./postgres-init.js";
import { REDIS_PASSWORD_ENV, redisHealthCheck, redisServerCommand } from "./redis-auth.js";

/** A writable scratch folder (tmpfs on Docker, a memory emptyDir on Kubernetes). */
export interface ScratchPath {
  readonly name: string;
  readonly path: string;
}

export interface InitScripts {
  readonly mountPath: string;
  readonly files: ReadonlyArray<{ readonly path: string; readonly content: string }>;
}

export interface DataStorePlan {
  readonly dataPath: string;
  /** In the order the server sees it. */
  readonly env: readonly EnvEntry[];
  readonly args?: readonly string[];
  /** Readiness, run inside the container. */
  readonly probe: readonly string[];
  /** False only where the image writes outside its volumes at start. */
  readonly readOnlyRoot: boolean;
  readonly scratch: readonly ScratchPath[];
  /** Executable scripts the image's entrypoint runs on first start (empty data folder). */
  readonly initScripts?: InitScripts;
}

const POSTGRES_DATA = "/var/lib/postgresql/data";
const TMP: ScratchPath = { name: "tmp", path: "/tmp" };

export function dataStorePlan(store: DataStoreName): DataStorePlan {
  switch (store) {
    case "postgres":
      return {
        dataPath: POSTGRES_DATA,
        env: [
          { name: "POSTGRES_USER", value: POSTGRES_SUPERUSER },
          { name: "POSTGRES_PASSWORD", secret: { password: "postgresSuperuser" } },
          { name: "POSTGRES_DB", value: POSTGRES_DATABASE },
          { name: POSTGRES_APP_PASSWORD_ENV, secret: { password: "postgresApp" } },
          // A subdirectory: initdb refuses a volume root that is not empty (lost+found).
          { name: "PGDATA", value: `${POSTGRES_DATA}/pgdata` },
        ],
        probe: ["pg_isready", "-h", "127.0.0.1", "-U", POSTGRES_SUPERUSER, "-d", POSTGRES_DATABASE],
        readOnlyRoot: true,
        scratch: [{ name: "run", path: "/var/run/postgresql" }, TMP],
        initScripts: { mountPath: "/docker-entrypoint-initdb.d", files: [{ path: POSTGRES_INIT_SCRIPT_NAME, content: postgresInitScript }] },
      };
    case "redis":
      return {
        dataPath: "/data",
        // The password in the environment, never in the command (see redis-auth.ts).
        env: [{ name: REDIS_PASSWORD_ENV, secret: { password: "redis" } }],
        args: redisServerCommand("redis-server", ["--appendonly", "yes"]),
        probe: redisHealthCheck,
        readOnlyRoot: true,
        scratch: [TMP],
      };
    case "rabbitmq":
      return {
        dataPath: "/var/lib/rabbitmq",
        env: [
          { name: "RABBITMQ_DEFAULT_USER", value: RABBITMQ_USER },
          { name: "RABBITMQ_DEFAULT_PASS", secret: { password: "rabbitmq" } },
        ],
        probe: ["rabbitmq-diagnostics", "-q", "ping"],
        // The image's entrypoint writes its generated config under /etc/rabbitmq.
        readOnlyRoot: false,
        scratch: [TMP],
      };
  }
}
