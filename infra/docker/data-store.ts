// A data store on its own internal network (no route out; only the sidecars of
// the services that use it join), with a named volume and a health check.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Addressing } from "../addressing.js";
import { type DataStorePlan, dataStorePlan } from "../data-store-plan.js";
import type { MeshSecrets } from "../mesh-secrets.js";
import type { DataStoreName } from "../model.js";
import { IMAGES } from "../versions.js";
import { WORKLOAD_SIZES } from "../workload-sizes.js";
import { type ConfigDir, configVolumes } from "./config-volumes.js";
import { dockerEnv } from "./env.js";
import { HEALTHCHECK_TIMING, HEALTHY_WAIT_SECONDS, containerOptions, hardened } from "./hardening.js";

export interface DataStoreArgs {
  readonly store: DataStoreName;
  readonly image: pulumi.Input<string>;
  readonly addressing: Addressing;
  readonly secrets: MeshSecrets;
}

/** First-start scripts as a read-only config volume (config-volumes.ts). */
function initScriptDirs(plan: DataStorePlan): ConfigDir[] {
  const scripts = plan.initScripts;
  if (!scripts) return [];
  return [{ label: "initdb", mountPath: scripts.mountPath, files: scripts.files.map((f) => ({ ...f, permissions: "0555" as const })) }];
}

export class DataStore extends pulumi.ComponentResource {
  /** The internal network the store's clients' sidecars join. */
  readonly network: docker.Network;
  readonly container: docker.Container;

  constructor(name: string, args: DataStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:docker:DataStore", name, {}, opts);
    const plan = dataStorePlan(args.store);
    const initScripts = initScriptDirs(plan);
    const image = IMAGES[args.store];

    this.network = new docker.Network(`${name}-network`, { driver: "bridge", internal: true }, { parent: this });
    const volume = new docker.Volume(`${name}-data`, {}, { parent: this });
    const config = initScripts.length > 0 ? configVolumes(name, args.image, initScripts, this) : undefined;

    this.container = new docker.Container(
      `${name}-server`,
      {
        image: args.image,
        // A fixed hostname: RabbitMQ names its node (and data directory) after it.
        hostname: args.store,
        envs: dockerEnv(plan.env, args.secrets),
        command: plan.args ? [...plan.args] : undefined,
        networksAdvanced: [{ name: this.network.name, aliases: [args.addressing.dataStoreHost(args.store)] }],
        volumes: [{ volumeName: volume.name, containerPath: plan.dataPath }, ...(config?.volumes ?? [])],
        healthcheck: { tests: ["CMD", ...plan.probe], ...HEALTHCHECK_TIMING },
        // Creation waits for the health check, so dependents start against a ready store.
        wait: true,
        waitTimeout: HEALTHY_WAIT_SECONDS,
        stopTimeout: 30,
        ...hardened(image, WORKLOAD_SIZES[args.store], { readOnlyRoot: plan.readOnlyRoot, tmpfs: plan.scratch.map((s) => s.path) }),
      },
      // Delete first: a replacement created beside the old server would open the same data
      // volume while the old one still runs (two Postgres on one data directory).
      containerOptions({ parent: this, deleteBeforeReplace: true, dependsOn: config ? [config.seed] : [] }),
    );
    this.registerOutputs({});
  }
}
