// A data store as a StatefulSet with a persistent volume, behind a headless
// Service named as the store (the sidecars' egress clusters resolve it).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { POSTGRES_DATABASE, POSTGRES_SUPERUSER, RABBITMQ_USER, type MeshSecrets } from "../mesh-secrets.js";
import { DATA_STORES, type DataStoreName } from "../model.js";
import { POSTGRES_APP_PASSWORD_ENV, POSTGRES_INIT_SCRIPT_NAME, postgresInitScript } from "../postgres-init.js";
import { REDIS_PASSWORD_ENV, redisHealthCheck, redisServerCommand } from "../redis-auth.js";
import type { PinnedImage } from "../versions.js";
import { WORKLOAD_SIZES } from "../workload-sizes.js";
import { type Container, componentLabels, execProbe, resources, restrictedContainer, restrictedPod, scratchVolume, selectorFor } from "./workload.js";

export interface DataStoreArgs {
  readonly store: DataStoreName;
  readonly namespace: pulumi.Input<string>;
  readonly secrets: MeshSecrets;
  readonly storageSize: string;
  readonly image: PinnedImage;
}

type Volume = k8s.types.input.core.v1.Volume;

interface StoreSpec {
  readonly dataPath: string;
  readonly env: Container["env"];
  readonly args?: string[];
  readonly probe: string[];
  readonly readOnlyRoot: boolean;
  /** Extra writable or configuration mounts beyond the data volume. */
  readonly mounts: Array<{ volume: Volume; mountPath: string }>;
}

const POSTGRES_DATA = "/var/lib/postgresql/data";

function storeSecrets(store: DataStoreName, secrets: MeshSecrets): Record<string, pulumi.Output<string>> {
  switch (store) {
    case "postgres":
      return { POSTGRES_PASSWORD: secrets.postgresSuperuserPassword, [POSTGRES_APP_PASSWORD_ENV]: secrets.postgresAppPassword };
    case "rabbitmq":
      return { RABBITMQ_DEFAULT_PASS: secrets.rabbitmqPassword };
    case "redis":
      return { [REDIS_PASSWORD_ENV]: secrets.redisPassword };
  }
}

function storeSpec(store: DataStoreName, initScript: k8s.core.v1.ConfigMap | undefined, secretName: pulumi.Input<string>): StoreSpec {
  const fromSecret = (name: string) => ({ name, valueFrom: { secretKeyRef: { name: secretName, key: name } } });
  switch (store) {
    case "postgres":
      return {
        dataPath: POSTGRES_DATA,
        env: [
          { name: "POSTGRES_USER", value: POSTGRES_SUPERUSER },
          { name: "POSTGRES_DB", value: POSTGRES_DATABASE },
          // A subdirectory: initdb refuses a volume root that holds lost+found.
          { name: "PGDATA", value: `${POSTGRES_DATA}/pgdata` },
          fromSecret("POSTGRES_PASSWORD"),
          fromSecret(POSTGRES_APP_PASSWORD_ENV),
        ],
        probe: ["pg_isready", "-h", "127.0.0.1", "-U", POSTGRES_SUPERUSER, "-d", POSTGRES_DATABASE],
        readOnlyRoot: true,
        mounts: [
          { volume: scratchVolume("run"), mountPath: "/var/run/postgresql" },
          { volume: scratchVolume("tmp"), mountPath: "/tmp" },
          {
            volume: { name: "init", configMap: { name: initScript?.metadata.name ?? "", defaultMode: 0o555 } },
            mountPath: "/docker-entrypoint-initdb.d",
          },
        ],
      };
    case "redis":
      return {
        dataPath: "/data",
        // The password in the environment, never in the args (see redis-auth.ts); the probes authenticate with it.
        env: [fromSecret(REDIS_PASSWORD_ENV)],
        args: redisServerCommand("redis-server", ["--appendonly", "yes"]),
        probe: redisHealthCheck,
        readOnlyRoot: true,
        mounts: [{ volume: scratchVolume("tmp"), mountPath: "/tmp" }],
      };
    case "rabbitmq":
      return {
        dataPath: "/var/lib/rabbitmq",
        env: [{ name: "RABBITMQ_DEFAULT_USER", value: RABBITMQ_USER }, fromSecret("RABBITMQ_DEFAULT_PASS")],
        probe: ["rabbitmq-diagnostics", "-q", "ping"],
        // The image's entrypoint writes its generated config under /etc/rabbitmq.
        readOnlyRoot: false,
        mounts: [{ volume: scratchVolume("tmp"), mountPath: "/tmp" }],
      };
  }
}

export class DataStore extends pulumi.ComponentResource {
  readonly statefulSet: k8s.apps.v1.StatefulSet;

  constructor(name: string, args: DataStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:kubernetes:DataStore", name, {}, opts);
    const { store, namespace } = args;
    const labels = componentLabels(store);
    const image = args.image;
    const port = DATA_STORES[store].port;

    const initScript =
      store === "postgres"
        ? new k8s.core.v1.ConfigMap(`${name}-init`, { metadata: { namespace, labels }, data: { [POSTGRES_INIT_SCRIPT_NAME]: postgresInitScript } }, { parent: this })
        : undefined;
    // Referenced by name from the pod's env, which also orders the Secret first.
    const credentials = new k8s.core.v1.Secret(`${name}-credentials`, { metadata: { namespace, labels }, stringData: storeSecrets(store, args.secrets) }, { parent: this });
    const spec = storeSpec(store, initScript, credentials.metadata.name);
    const service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: store, namespace, labels },
        spec: { clusterIP: "None", selector: selectorFor(store), ports: [{ name: "tcp", port, targetPort: port }] },
      },
      { parent: this },
    );

    this.statefulSet = new k8s.apps.v1.StatefulSet(
      `${name}-statefulset`,
      {
        metadata: { namespace, labels },
        spec: {
          serviceName: service.metadata.name,
          replicas: 1,
          selector: { matchLabels: selectorFor(store) },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              // The data volume is writable by the store's group.
              securityContext: restrictedPod(image.gid),
              terminationGracePeriodSeconds: 30,
              containers: [
                {
                  name: store,
                  image: image.ref,
                  args: spec.args,
                  env: spec.env,
                  ports: [{ name: "tcp", containerPort: port }],
                  readinessProbe: execProbe(spec.probe),
                  livenessProbe: { ...execProbe(spec.probe, 20, 10), initialDelaySeconds: 30 },
                  startupProbe: { ...execProbe(spec.probe, 5, 10), failureThreshold: 36 },
                  resources: resources(WORKLOAD_SIZES[store]),
                  securityContext: restrictedContainer(image, spec.readOnlyRoot),
                  volumeMounts: [{ name: "data", mountPath: spec.dataPath }, ...spec.mounts.map((m) => ({ name: m.volume.name, mountPath: m.mountPath }))],
                },
              ],
              volumes: spec.mounts.map((m) => m.volume),
            },
          },
          volumeClaimTemplates: [
            { metadata: { name: "data", labels }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: args.storageSize } } } },
          ],
        },
      },
      // Children do not inherit the component's dependsOn: pass it on.
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.registerOutputs({});
  }
}
