// A data store as a StatefulSet with a persistent volume, behind a headless
// Service named as the store (the sidecars' egress clusters resolve it).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { type DataStorePlan, dataStorePlan } from "../data-store-plan.js";
import type { MeshSecrets } from "../mesh-secrets.js";
import { DATA_STORES, type DataStoreName } from "../model.js";
import type { PinnedImage } from "../versions.js";
import { WORKLOAD_SIZES } from "../workload-sizes.js";
import { componentLabels, execProbe, podEnv, resources, restrictedContainer, restrictedPod, scratchVolume, selectorFor } from "./workload.js";

export interface DataStoreArgs {
  readonly store: DataStoreName;
  readonly namespace: pulumi.Input<string>;
  readonly secrets: MeshSecrets;
  readonly storageSize: string;
  readonly image: PinnedImage;
}

type Volume = k8s.types.input.core.v1.Volume;

/** Scratch folders and the first-start scripts, as volumes and where they mount. */
function podMounts(plan: DataStorePlan, initScripts: k8s.core.v1.ConfigMap | undefined): Array<{ volume: Volume; mountPath: string }> {
  const scratch = plan.scratch.map((s) => ({ volume: scratchVolume(s.name), mountPath: s.path }));
  if (!plan.initScripts || !initScripts) return scratch;
  return [...scratch, { volume: { name: "init", configMap: { name: initScripts.metadata.name, defaultMode: 0o555 } }, mountPath: plan.initScripts.mountPath }];
}

export class DataStore extends pulumi.ComponentResource {
  readonly statefulSet: k8s.apps.v1.StatefulSet;

  constructor(name: string, args: DataStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:kubernetes:DataStore", name, {}, opts);
    const { store, namespace } = args;
    const labels = componentLabels(store);
    const image = args.image;
    const port = DATA_STORES[store].port;

    const plan = dataStorePlan(store);
    const initScripts = plan.initScripts
      ? new k8s.core.v1.ConfigMap(
          `${name}-init`,
          { metadata: { namespace, labels }, data: Object.fromEntries(plan.initScripts.files.map((f) => [f.path, f.content])) },
          { parent: this },
        )
      : undefined;
    // Referenced by name from the pod's env, which also orders the Secret first.
    const credentials = new k8s.core.v1.Secret(`${name}-credentials`, { metadata: { namespace, labels }, stringData: args.secrets.values(plan.env) }, { parent: this });
    const mounts = podMounts(plan, initScripts);
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
                  args: plan.args ? [...plan.args] : undefined,
                  env: podEnv(plan.env, credentials.metadata.name),
                  ports: [{ name: "tcp", containerPort: port }],
                  readinessProbe: execProbe([...plan.probe]),
                  livenessProbe: { ...execProbe([...plan.probe], 20, 10), initialDelaySeconds: 30 },
                  startupProbe: { ...execProbe([...plan.probe], 5, 10), failureThreshold: 36 },
                  resources: resources(WORKLOAD_SIZES[store]),
                  securityContext: restrictedContainer(image, plan.readOnlyRoot),
                  volumeMounts: [{ name: "data", mountPath: plan.dataPath }, ...mounts.map((m) => ({ name: m.volume.name, mountPath: m.mountPath }))],
                },
              ],
              volumes: mounts.map((m) => m.volume),
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
