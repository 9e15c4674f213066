// A data store on its own internal network (no route out; only the sidecars of
// the services that use it join), with a named volume and a health check.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Addressing } from "../addressing.js";
import { POSTGRES_DATABASE, POSTGRES_SUPERUSER, RABBITMQ_USER, type MeshSecrets } from "../mesh-secrets.js";
import type { DataStoreName } from "../model.js";
import { POSTGRES_APP_PASSWORD_ENV, POSTGRES_INIT_SCRIPT_NAME, postgresInitScript } from "../postgres-init.js";
import { REDIS_PASSWORD_ENV, redisHealthCheck, redisServerCommand } from "../redis-auth.js";
import { IMAGES } from "../versions.js";
import { WORKLOAD_SIZES } from "../workload-sizes.js";
import { type ConfigDir, configVolumes } from "./config-volumes.js";
import { HEALTHCHECK_TIMING, containerOptions, hardened } from "./hardening.js";

export interface DataStoreArgs {
  readonly store: DataStoreName;
  readonly image: pulumi.Input<string>;
  readonly addressing: Addressing;
  readonly secrets: MeshSecrets;
}

interface StoreSpec {
  readonly dataPath: string;
  readonly env: pulumi.Output<string[]>;
  readonly command?: string[];
  readonly healthcheck: string[];
  readonly readOnlyRoot: boolean;
  readonly tmpfs: string[];
  /** Generated files, in read-only volumes (config-volumes.ts). */
  readonly config: ConfigDir[];
}

const POSTGRES_DATA = "/var/lib/postgresql/data";

function storeSpec(store: DataStoreName, secrets: MeshSecrets): StoreSpec {
  switch (store) {
    case "postgres":
      return {
        dataPath: POSTGRES_DATA,
        env: pulumi.all([secrets.postgresSuperuserPassword, secrets.postgresAppPassword]).apply(([superuser, app]) => [
          `POSTGRES_USER=${POSTGRES_SUPERUSER}`,
          `POSTGRES_PASSWORD=${superuser}`,
          `POSTGRES_DB=${POSTGRES_DATABASE}`,
          `${POSTGRES_APP_PASSWORD_ENV}=${app}`,
          // A subdirectory: initdb refuses a volume root that is not empty.
          `PGDATA=${POSTGRES_DATA}/pgdata`,
        ]),
        healthcheck: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", POSTGRES_SUPERUSER, "-d", POSTGRES_DATABASE],
        readOnlyRoot: true,
        tmpfs: ["/tmp", "/var/run/postgresql"],
        // The entrypoint runs executable *.sh files there on first start (empty data directory).
        config: [
          { label: "initdb", mountPath: "/docker-entrypoint-initdb.d", files: [{ path: POSTGRES_INIT_SCRIPT_NAME, content: postgresInitScript, permissions: "0555" }] },
        ],
      };
    case "redis":
      return {
        dataPath: "/data",
        // Only the cart sidecar can reach it (internal network), and only with the password:
        // in the environment, never in the command (see redis-auth.ts).
        env: secrets.redisPassword.apply((password) => [`${REDIS_PASSWORD_ENV}=${password}`]),
        command: redisServerCommand("redis-server", ["--appendonly", "yes"]),
        healthcheck: ["CMD", ...redisHealthCheck],
        readOnlyRoot: true,
        tmpfs: ["/tmp"],
        config: [],
      };
    case "rabbitmq":
      return {
        dataPath: "/var/lib/rabbitmq",
        env: secrets.rabbitmqPassword.apply((password) => [`RABBITMQ_DEFAULT_USER=${RABBITMQ_USER}`, `RABBITMQ_DEFAULT_PASS=${password}`]),
        healthcheck: ["CMD", "rabbitmq-diagnostics", "-q", "ping"],
        // The image's entrypoint writes its generated config under /etc/rabbitmq.
        readOnlyRoot: false,
        tmpfs: ["/tmp"],
        config: [],
      };
  }
}

export class DataStore extends pulumi.ComponentResource {
  /** The internal network the store's clients' sidecars join. */
  readonly network: docker.Network;
  readonly container: docker.Container;

  constructor(name: string, args: DataStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:docker:DataStore", name, {}, opts);
    const spec = storeSpec(args.store, args.secrets);
    const image = IMAGES[args.store];

    this.network = new docker.Network(`${name}-network`, { driver: "bridge", internal: true }, { parent: this });
    const volume = new docker.Volume(`${name}-data`, {}, { parent: this });
    const config = spec.config.length > 0 ? configVolumes(name, args.image, spec.config, this) : undefined;

    this.container = new docker.Container(
      `${name}-server`,
      {
        image: args.image,
        // A fixed hostname: RabbitMQ names its node (and data directory) after it.
        hostname: args.store,
        envs: spec.env,
        command: spec.command,
        networksAdvanced: [{ name: this.network.name, aliases: [args.addressing.dataStoreHost(args.store)] }],
        volumes: [{ volumeName: volume.name, containerPath: spec.dataPath }, ...(config?.volumes ?? [])],
        healthcheck: { tests: spec.healthcheck, ...HEALTHCHECK_TIMING },
        // Creation waits for the health check, so dependents start against a ready store.
        wait: true,
        waitTimeout: 180,
        stopTimeout: 30,
        ...hardened(image, WORKLOAD_SIZES[args.store], { readOnlyRoot: spec.readOnlyRoot, tmpfs: spec.tmpfs }),
      },
      // Delete first: a replacement created beside the old server would open the same data
      // volume while the old one still runs (two Postgres on one data directory).
      containerOptions({ parent: this, deleteBeforeReplace: true, dependsOn: config ? [config.seed] : [] }),
    );
    this.registerOutputs({});
  }
}
